/**
 * The dataset loader: reads a file through its adapter, cleans it (non-finite values and exact
 * duplicate rows are dropped and counted), guards against leakage (identifier, artefact and
 * constant columns are dropped by default and listed; a column that alone separates the classes
 * raises a warning) and returns a row-major feature matrix with labels at every granularity.
 */
import { ErrorCode, UserError } from '../pipeline/errors.ts';
import { warn } from '../pipeline/warn.ts';
import type { DatasetAdapter, Target } from './adapter.ts';
import { TARGETS } from './adapter.ts';
import { numberOf, readCsvFile, type CsvText } from './csv.ts';
import { LEAK_THRESHOLD, separability, type LeakScore } from './leakage.ts';

/** Labels at one granularity: class names and one code per row. */
export interface Labels {
  readonly classes: readonly string[];
  readonly y: Uint8Array;
}

/** A column of the file and what became of it. */
export interface ColumnReport {
  readonly name: string;
  readonly kind: 'numeric' | 'categorical';
  readonly role: 'feature' | 'label' | 'identifier' | 'artefact' | 'group' | 'constant';
  readonly kept: boolean;
  readonly reason?: string;
}

/** What cleaning removed. */
export interface CleaningReport {
  readonly rowsRead: number;
  /** Rows with the wrong number of cells or unreadable labels. */
  readonly malformed: number;
  readonly malformedExamples: readonly string[];
  /** Rows dropped for a non-finite value in a feature column, and the columns that had them. */
  readonly nonFinite: number;
  readonly nonFiniteByColumn: Readonly<Record<string, number>>;
  /** Exact duplicate rows dropped (the first copy is kept). */
  readonly duplicates: number;
  readonly rowsKept: number;
}

/** A loaded, cleaned dataset. */
export interface Dataset {
  readonly name: string;
  readonly path: string;
  readonly layout: string;
  readonly rows: number;
  /** Feature names, in matrix column order. */
  readonly features: readonly string[];
  /** Row-major `rows × features.length` matrix. */
  readonly x: Float64Array;
  readonly targets: Readonly<Record<Target, Labels>>;
  /** Capture of each row (code into names), or null. */
  readonly groups: { readonly names: readonly string[]; readonly codes: Int32Array } | null;
  readonly columns: readonly ColumnReport[];
  readonly cleaning: CleaningReport;
  /** Codes of categorical feature columns: value → index in this list. */
  readonly encodings: Readonly<Record<string, readonly string[]>>;
  /** One-column separability of every non-label column for `leakTarget`, highest first. */
  readonly leakage: readonly LeakScore[];
  readonly leakTarget: Target;
  readonly benign: string;
}

/** How to load. */
export interface LoadOptions {
  /** Target for the leakage check (default binary). */
  readonly leakTarget?: Target;
  /** Keep these identifier/artefact columns as features anyway. */
  readonly keep?: readonly string[];
  /** Use exactly these features in this order (a model's); a missing one is an error. */
  readonly features?: readonly string[];
  /** Category codes to reuse (a model's). */
  readonly encodings?: Readonly<Record<string, readonly string[]>>;
  /** Class order to reuse per target (a model's); unknown classes are appended. */
  readonly classes?: Partial<Record<Target, readonly string[]>>;
  readonly dropDuplicates?: boolean;
  /** Skip the leakage check (faster, for evaluation files). */
  readonly skipLeakage?: boolean;
}

/** Load and clean a dataset file through its adapter. */
export function loadDataset(adapter: DatasetAdapter, path: string, options: LoadOptions = {}): Dataset {
  return loadCsv(adapter, readCsvFile(path), options);
}

/** Load already-read CSV text through an adapter. */
export function loadCsv(adapter: DatasetAdapter, csv: CsvText, options: LoadOptions = {}): Dataset {
  const { header, rows, path } = csv;
  const layout = adapter.layout(header);
  if ('error' in layout) throw new UserError(ErrorCode.INPUT_MALFORMED, `${path}: ${layout.error}`);
  const index = new Map<string, number>();
  header.forEach((h, i) => index.set(h, i));
  const leakTarget = options.leakTarget ?? 'binary';
  const keep = new Set(options.keep ?? []);

  // Column kinds: numeric when every non-empty cell reads as a number (inf included).
  const numeric = header.map((_, c) => rows.every((r) => r[c].trim() === '' || !Number.isNaN(numberOf(r[c])) || /^[+-]?(inf|infinity|nan)$/i.test(r[c].trim())));

  // Labels and groups per row; rows with unreadable labels are malformed.
  const malformedExamples: string[] = csv.malformed.slice(0, 5).map((m) => `line ${m.line}: ${m.reason}`);
  let malformed = csv.malformed.length;
  const labelOf: { binary: string; category: string; class: string }[] = [];
  const groupOf: (string | null)[] = [];
  const good: number[] = [];
  for (let r = 0; r < rows.length; r++) {
    const row = rows[r];
    const cell = (name: string) => {
      const i = index.get(name);
      return i === undefined ? undefined : row[i];
    };
    const labels = adapter.labels(cell, path);
    if ('error' in labels) {
      malformed++;
      if (malformedExamples.length < 5) malformedExamples.push(`row ${r + 1}: ${labels.error}`);
      continue;
    }
    labelOf.push(labels);
    groupOf.push(adapter.group(cell, path));
    good.push(r);
  }
  if (good.length === 0) throw new UserError(ErrorCode.INPUT_MALFORMED, `${path}: no readable rows (${malformedExamples.join('; ') || 'empty'})`);

  // Roles, then the candidate feature columns.
  const roles = header.map((h) => adapter.role(h));
  const candidates: number[] = [];
  header.forEach((h, c) => {
    const role = roles[c].role;
    if (role === 'feature' || ((role === 'identifier' || role === 'artefact') && keep.has(h))) candidates.push(c);
  });
  let featureCols: number[];
  if (options.features) {
    const missing = options.features.filter((f) => !index.has(f));
    if (missing.length > 0) throw new UserError(ErrorCode.FEATURES_MISSING, `${path}: the model's feature column(s) ${missing.join(', ')} are missing from the file`);
    featureCols = options.features.map((f) => index.get(f)!);
  } else featureCols = candidates;

  // Cleaning: non-finite numeric values in feature columns, then exact duplicate lines.
  const nonFiniteByColumn: Record<string, number> = {};
  let nonFinite = 0;
  let duplicates = 0;
  const seen = new Set<string>();
  const kept: number[] = [];
  for (let j = 0; j < good.length; j++) {
    const row = rows[good[j]];
    let bad = false;
    for (const c of featureCols) {
      if (!numeric[c]) continue;
      if (!Number.isFinite(numberOf(row[c]))) {
        nonFiniteByColumn[header[c]] = (nonFiniteByColumn[header[c]] ?? 0) + 1;
        bad = true;
      }
    }
    if (bad) {
      nonFinite++;
      continue;
    }
    if (options.dropDuplicates !== false) {
      const line = csv.lines[good[j]];
      if (seen.has(line)) {
        duplicates++;
        continue;
      }
      seen.add(line);
    }
    kept.push(j);
  }
  const n = kept.length;
  if (n === 0) throw new UserError(ErrorCode.INPUT_MALFORMED, `${path}: no rows left after cleaning (${nonFinite} non-finite, ${duplicates} duplicates)`);

  // Labels at every granularity (Benign first, then by name, or the model's order).
  const targets = {} as Record<Target, Labels>;
  for (const t of TARGETS) {
    const names = new Set<string>();
    for (const j of kept) names.add(labelOf[j][t]);
    let classes: string[];
    const given = options.classes?.[t];
    if (given) classes = [...given, ...[...names].filter((c) => !given.includes(c)).sort()];
    else if (t === 'binary') classes = [adapter.benign, ...[...names].filter((c) => c !== adapter.benign).sort()];
    else classes = [...names].sort((a, b) => (a === adapter.benign ? -1 : b === adapter.benign ? 1 : a < b ? -1 : a > b ? 1 : 0));
    if (classes.length > 255) throw new UserError(ErrorCode.INPUT_MALFORMED, `${path}: ${classes.length} classes at target ${t} (at most 255)`);
    const code = new Map(classes.map((c, i) => [c, i]));
    const y = new Uint8Array(n);
    for (let i = 0; i < n; i++) y[i] = code.get(labelOf[kept[i]][t])!;
    targets[t] = { classes, y };
  }

  // Groups (captures).
  let groups: Dataset['groups'] = null;
  if (groupOf.some((g) => g !== null)) {
    const names = [...new Set(kept.map((j) => groupOf[j] ?? ''))].sort();
    const code = new Map(names.map((g, i) => [g, i]));
    const codes = new Int32Array(n);
    for (let i = 0; i < n; i++) codes[i] = code.get(groupOf[kept[i]] ?? '')!;
    groups = { names, codes };
  }

  // Leakage check on every non-label column, identifiers included.
  const leakY = targets[leakTarget];
  const leakage: LeakScore[] = [];
  if (!options.skipLeakage) {
    header.forEach((h, c) => {
      const role = roles[c].role;
      if (role === 'label' || role === 'group') return;
      const values = numeric[c] ? Float64Array.from(kept, (j) => numberOf(rows[good[j]][c])) : kept.map((j) => rows[good[j]][c]);
      const score = separability(values, leakY.y, leakY.classes.length);
      if (score !== null) leakage.push({ column: h, score, leaks: score >= LEAK_THRESHOLD });
    });
    leakage.sort((a, b) => b.score - a.score || (a.column < b.column ? -1 : 1));
    for (const l of leakage) if (l.leaks) warn(`${path}: column ${l.column} alone separates the ${leakTarget} classes (balanced accuracy ${l.score.toFixed(3)}): a model may learn it instead of the attack`);
  }

  // Constant columns (after cleaning) are dropped unless the features were given.
  const constant = new Set<number>();
  if (!options.features) {
    for (const c of featureCols) {
      const first = rows[good[kept[0]]][c];
      let same = true;
      for (let i = 1; i < n && same; i++) same = rows[good[kept[i]]][c] === first || (numeric[c] && numberOf(rows[good[kept[i]]][c]) === numberOf(first));
      if (same) constant.add(c);
    }
    featureCols = featureCols.filter((c) => !constant.has(c));
  }

  // Encodings of categorical features (a model's, or sorted distinct values).
  const encodings: Record<string, string[]> = {};
  for (const c of featureCols) {
    if (numeric[c]) continue;
    const given = options.encodings?.[header[c]];
    encodings[header[c]] = given ? [...given] : [...new Set(kept.map((j) => rows[good[j]][c]))].sort();
  }

  const d = featureCols.length;
  const x = new Float64Array(n * d);
  const codeMaps = featureCols.map((c) => (numeric[c] ? null : new Map(encodings[header[c]].map((v, i) => [v, i]))));
  for (let i = 0; i < n; i++) {
    const row = rows[good[kept[i]]];
    for (let f = 0; f < d; f++) {
      const c = featureCols[f];
      const map = codeMaps[f];
      // An unseen category becomes NaN, which every split sends right.
      x[i * d + f] = map ? (map.get(row[c]) ?? NaN) : numberOf(row[c]);
    }
  }

  const featureSet = new Set(featureCols);
  const columns: ColumnReport[] = header.map((h, c) => {
    const r = roles[c];
    const role = constant.has(c) ? 'constant' : r.role;
    const reason = constant.has(c) ? 'one value in every row' : r.reason;
    return { name: h, kind: numeric[c] ? 'numeric' : 'categorical', role, kept: featureSet.has(c), ...(reason ? { reason } : {}) };
  });

  return {
    name: adapter.name,
    path,
    layout: layout.layout,
    rows: n,
    features: featureCols.map((c) => header[c]),
    x,
    targets,
    groups,
    columns,
    cleaning: { rowsRead: rows.length + csv.malformed.length, malformed, malformedExamples, nonFinite, nonFiniteByColumn, duplicates, rowsKept: n },
    encodings,
    leakage,
    leakTarget,
    benign: adapter.benign,
  };
}

/** The rows `idx` of a dataset's matrix and labels (for a split side). */
export function takeRows(data: Dataset, target: Target, idx: Int32Array): { x: Float64Array; y: Uint8Array; rows: number } {
  const d = data.features.length;
  const x = new Float64Array(idx.length * d);
  const y = new Uint8Array(idx.length);
  const src = data.targets[target].y;
  for (let i = 0; i < idx.length; i++) {
    x.set(data.x.subarray(idx[i] * d, (idx[i] + 1) * d), i * d);
    y[i] = src[idx[i]];
  }
  return { x, y, rows: idx.length };
}
