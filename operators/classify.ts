/**
 * The classify operator: scores every row of the `flows` table with a random-forest model and
 * writes one `detections` row per flow: label, probability, the label's threat taxonomy and the
 * features that drove the decision. The model's features are looked up as columns of the batch
 * (a featurize operator adds them) or inside the `features` JSON column that dataset parsers
 * fill; a feature found in neither is an error naming it.
 */
import { DataType, Precision, type Float, type Int, type RecordBatch, type Vector } from 'apache-arrow';
import { batchFromColumns } from '../pipeline/columns.ts';
import { ErrorCode, HeirError } from '../pipeline/errors.ts';
import type { Operator, OperatorContext, Tables } from '../pipeline/types.ts';
import { DETECTION_COLUMNS, DETECTIONS_SCHEMA } from './detections-schema.ts';
import { loadModel, modelId, type Model } from './forest/model-file.ts';
import { threatOf, type ThreatTags } from './threat-map.ts';

/** Options of the classify operator. */
export interface ClassifyOptions {
  /** Table to read (default `flows`). */
  readonly input?: string;
  /** Features named in `features_top` (default 3). */
  readonly topFeatures?: number;
  /** Trees whose paths explain a detection (default 8; fewer is faster). */
  readonly explainTrees?: number;
}

/** The features of a batch as a row-major matrix, or the names of the features it lacks. */
export function featureMatrix(batch: RecordBatch, names: readonly string[]): { x: Float64Array } | { missing: string[] } {
  const rows = batch.numRows;
  const d = names.length;
  const x = new Float64Array(rows * d);
  const fromJson: number[] = [];
  for (let f = 0; f < d; f++) {
    const column = batch.getChild(names[f]);
    if (column && isPlainNumber(column)) copyColumn(column, x, f, d, rows);
    else fromJson.push(f);
  }
  if (fromJson.length === 0) return { x };
  const json = batch.getChild('features');
  if (!json) return { missing: fromJson.map((f) => names[f]) };
  // Each feature must appear in at least one row's JSON; absent or null values become NaN.
  const seen = new Uint8Array(d);
  for (let r = 0; r < rows; r++) {
    const text = json.get(r) as string | null;
    const values = text ? (JSON.parse(text) as Record<string, number | null>) : {};
    for (const f of fromJson) {
      const v = values[names[f]];
      if (v !== undefined) seen[f] = 1;
      x[r * d + f] = typeof v === 'number' ? v : NaN;
    }
  }
  const missing = fromJson.filter((f) => !seen[f]).map((f) => names[f]);
  return missing.length > 0 && rows > 0 ? { missing } : { x };
}

/** Float32/64 and integers up to 32 bits: their values are plain numbers. */
function isPlainNumber(column: Vector): boolean {
  const type = column.type;
  if (DataType.isFloat(type)) return (type as Float).precision !== Precision.HALF;
  if (DataType.isInt(type)) return (type as Int).bitWidth <= 32;
  return false;
}

function copyColumn(column: Vector, x: Float64Array, f: number, d: number, rows: number): void {
  if (column.nullCount === 0) {
    const values = column.toArray() as ArrayLike<number>;
    for (let r = 0; r < rows; r++) x[r * d + f] = values[r];
  } else {
    for (let r = 0; r < rows; r++) {
      const v = column.get(r) as number | null;
      x[r * d + f] = v === null ? NaN : v;
    }
  }
}

/** FNV-1a (64-bit, as two 32-bit halves) of a string, continuing from `h`. */
function fnv64(s: string, hi = 0xcbf29ce4, lo = 0x84222325): [number, number] {
  for (let i = 0; i < s.length; i++) {
    lo ^= s.charCodeAt(i);
    // Multiply the 64-bit state by the FNV prime 0x100000001b3 in 32-bit halves.
    const l = Math.imul(lo, 0x1b3);
    const carry = Math.floor(((lo >>> 0) * 0x1b3) / 4294967296);
    hi = (Math.imul(hi, 0x1b3) + Math.imul(lo, 0x100) + carry) | 0;
    lo = l;
  }
  return [hi >>> 0, lo >>> 0];
}

/** Deterministic detection id: 16 hex digits of FNV-1a over the flow id, a separator and the model id. */
export function detectionId(flowId: string, modelHash: [number, number]): string {
  const [hi, lo] = fnv64(flowId, modelHash[0], modelHash[1]);
  return hi.toString(16).padStart(8, '0') + lo.toString(16).padStart(8, '0');
}

function jsonNumber(v: number): string {
  return Number.isFinite(v) ? String(v) : 'null';
}

function joined(list: readonly string[]): string | null {
  return list.length > 0 ? list.join(',') : null;
}

/** A classify operator for a loaded model. */
export function classifyOperator(model: Model, options: ClassifyOptions = {}): Operator {
  const input = options.input ?? 'flows';
  const top = options.topFeatures ?? 3;
  const id = modelId(model);
  const idHash = fnv64('\0' + id);
  const { forest, meta } = model;
  const K = forest.classes;
  const tags: ThreatTags[] = meta.classes.map((c) => meta.threatMap[c] ?? threatOf(c));
  const benignIndex = meta.benign === null ? -1 : meta.classes.indexOf(meta.benign);
  const explainTrees = Math.min(forest.trees, options.explainTrees ?? 8);
  return {
    descriptor: {
      name: 'classify',
      version: '1',
      summary: `random-forest classification of ${input} with model ${id}`,
      reads: [input],
      writes: ['detections'],
    },
    apply(tables: Tables, context: OperatorContext): Tables {
      const batch = tables[input];
      if (!batch) throw new HeirError(ErrorCode.SCHEMA_MISMATCH, `classify: no ${input} table in the batch`);
      const rows = batch.numRows;
      const m = featureMatrix(batch, meta.features);
      if ('missing' in m) {
        throw new HeirError(ErrorCode.FEATURES_MISSING, `classify: the ${input} batch lacks the model's feature column(s) ${m.missing.join(', ')} (feature set ${meta.featureSet.name}@${meta.featureSet.version}); add them with a featurize operator or a parser that fills the features column`);
      }
      const x = m.x;
      const proba = forest.predictProba(x, rows);
      const flowIds = batch.getChild('flow_id');
      const sites = batch.getChild('site_id');
      const deviceCol = batch.getChild('device') ?? batch.getChild('src_addr');
      const tsCol = batch.getChild('ts_start') ?? batch.getChild('ts');
      // Timestamps: the raw int64 microseconds where the column has no nulls, else Arrow's milliseconds.
      const tsRaw = tsCol && tsCol.nullCount === 0 && tsCol.data.length === 1 ? (tsCol.data[0].values as unknown) : null;
      const tsMicros = (r: number): number => {
        if (tsRaw instanceof BigInt64Array) return Number(tsRaw[r]);
        const t = tsCol?.get(r) as number | null | undefined;
        return t === null || t === undefined ? 0 : Math.round(Number(t) * 1000);
      };
      const cols = {
        detection_id: new Array<string>(rows),
        flow_id: new Array<string>(rows),
        site_id: new Array<string>(rows),
        device: new Array<string | null>(rows),
        ts: new Float64Array(rows),
        model: new Array<string>(rows).fill(id),
        label: new Array<string>(rows),
        confidence: new Float64Array(rows),
        threat: new Array<string | null>(rows),
        owasp: new Array<string | null>(rows),
        owasp_iot: new Array<string | null>(rows),
        attack_ics: new Array<string | null>(rows),
        features_top: new Array<string | null>(rows),
        benign: new Array<boolean>(rows),
      };
      const counts = new Float64Array(meta.features.length);
      const pathFeatures = new Int32Array(4096);
      for (let r = 0; r < rows; r++) {
        let best = 0;
        for (let k = 1; k < K; k++) if (proba[r * K + k] > proba[r * K + best]) best = k;
        const flowId = flowIds ? String(flowIds.get(r)) : `${context.batchId}:${r}`;
        cols.detection_id[r] = detectionId(flowId, idHash);
        cols.flow_id[r] = flowId;
        cols.site_id[r] = sites ? String(sites.get(r)) : context.site;
        const dev = deviceCol?.get(r);
        cols.device[r] = dev === null || dev === undefined ? null : String(dev);
        cols.ts[r] = tsMicros(r);
        cols.label[r] = meta.classes[best];
        cols.confidence[r] = proba[r * K + best];
        const benign = best === benignIndex;
        cols.benign[r] = benign;
        const tag = tags[best];
        cols.threat[r] = benign ? null : (tag.enisa[0] ?? null);
        cols.owasp[r] = benign ? null : joined(tag.owasp);
        cols.owasp_iot[r] = benign ? null : joined(tag.owaspIot);
        cols.attack_ics[r] = benign ? null : joined(tag.attackIcs);
        cols.features_top[r] = benign ? null : explain(r, best);
      }
      const detections = batchFromColumns(DETECTIONS_SCHEMA, DETECTION_COLUMNS, cols as unknown as Record<string, ArrayLike<unknown>>, rows);
      return { ...tables, detections };

      // The features that decided most splits on the paths of the first trees whose leaf votes for
      // the label (walked inline: this runs for every detection).
      function explain(r: number, label: number): string {
        counts.fill(0);
        let total = 0;
        const d = forest.features;
        const base = r * d;
        const feature = forest.feature;
        const threshold = forest.threshold;
        const right = forest.right;
        for (let t = 0; t < explainTrees; t++) {
          let used = 0;
          let node = forest.roots[t];
          let f = feature[node];
          while (f >= 0) {
            pathFeatures[used++] = f;
            node = x[base + f] <= threshold[node] ? node + 1 : right[node];
            f = feature[node];
          }
          if ((f === -1 ? right[node] : forest.leafClass(node)) !== label) continue;
          for (let i = 0; i < used; i++) counts[pathFeatures[i]]++;
          total += used;
        }
        let out = '[';
        // Top features by count, ties by feature order: a few passes of selection, no sorting.
        for (let k = 0; k < top; k++) {
          let bestF = -1;
          for (let f2 = 0; f2 < d; f2++) if (counts[f2] > 0 && (bestF < 0 || counts[f2] > counts[bestF])) bestF = f2;
          if (bestF < 0) break;
          if (k > 0) out += ',';
          out += `{"feature":${JSON.stringify(meta.features[bestF])},"value":${jsonNumber(x[base + bestF])},"share":${Math.round((1000 * counts[bestF]) / total) / 1000}}`;
          counts[bestF] = 0;
        }
        return out + ']';
      }
    },
  };
}

/** A classify operator for a model file. */
export function classifyFromFile(path: string, options: ClassifyOptions = {}): Operator {
  return classifyOperator(loadModel(path), options);
}
