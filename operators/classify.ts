/**
 * The classify operator: scores every row of the `flows` table with a random-forest model and
 * writes one `detections` row per flow: label, probability, the label's threat taxonomy and the
 * features that drove the decision. The model's features are looked up as columns of the batch
 * (a featurize operator adds them) or inside the `features` JSON column that dataset parsers
 * fill; a feature found in neither is an error naming it.
 */
import { Bool, DataType, Float64, makeData, Precision, RecordBatch, Struct, TimestampMicrosecond, TimeUnit, Utf8, type Data, type Float, type Int, type Timestamp, type Vector } from 'apache-arrow';
import { ErrorCode, HeirError, UserError } from '../pipeline/errors.ts';
import type { Operator, OperatorContext, Tables } from '../pipeline/types.ts';
import { DETECTION_COLUMNS, DETECTIONS_SCHEMA, EXPLANATION_SLOTS } from './detections-schema.ts';
import type { LeafPaths } from './forest/flat-forest.ts';
import { loadModel, modelId, type Model } from './forest/model-file.ts';
import { threatOf, type ThreatTags } from './threat-map.ts';

/** Options of the classify operator. */
export interface ClassifyOptions {
  /** Table to read (default `flows`). */
  readonly input?: string;
  /** Features an explanation names, 0–3 (default 3: the top1…top3 columns). */
  readonly topFeatures?: number;
  /** Trees whose paths explain a detection (default 8; fewer is faster; 0 leaves the explanation null). */
  readonly explainTrees?: number;
}

/** The features of a batch as a row-major matrix, or the names of the features it lacks. */
export function featureMatrix(batch: RecordBatch, names: readonly string[], scratch?: Float64Array): { x: Float64Array } | { missing: string[] } {
  const rows = batch.numRows;
  const d = names.length;
  // Every value is written below, so a scratch matrix from an earlier batch serves as it is.
  const x = scratch && scratch.length >= rows * d ? scratch.subarray(0, rows * d) : new Float64Array(rows * d);
  const fromJson: number[] = [];
  const dense: number[] = [];
  const denseValues: ArrayLike<number>[] = [];
  for (let f = 0; f < d; f++) {
    const column = batch.getChild(names[f]);
    if (!column || !isPlainNumber(column)) fromJson.push(f);
    else if (column.nullCount === 0) {
      dense.push(f);
      denseValues.push(column.toArray() as ArrayLike<number>);
    } else copyColumn(column, x, f, d, rows);
  }
  // Null-free columns are transposed a block of rows at a time, so the rows written stay in cache.
  for (let r0 = 0; r0 < rows; r0 += 64) {
    const r1 = Math.min(rows, r0 + 64);
    for (let i = 0; i < dense.length; i++) {
      const f = dense[i];
      const values = denseValues[i];
      for (let r = r0; r < r1; r++) x[r * d + f] = values[r];
    }
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

/** A column with nulls, value by value (null becomes NaN). */
function copyColumn(column: Vector, x: Float64Array, f: number, d: number, rows: number): void {
  for (let r = 0; r < rows; r++) {
    const v = column.get(r) as number | null;
    x[r * d + f] = v === null ? NaN : v;
  }
}

const utf8 = new TextEncoder();

/**
 * The state fnv64Into leaves: the hash's high and low 32 bits, as signed 32-bit integers. Every
 * half the hash passes through is an int32 (a small integer to the engine, whatever the model):
 * with unsigned halves, a model whose hash half is at or above 2^31 handed the hot functions a
 * heap number where another model's was a small integer, and they were deoptimized and compiled
 * again for both when a second model came.
 */
const fnvState = new Int32Array(2);

/** FNV-1a (64-bit, as two 32-bit halves) of bytes [start, end), continuing from (hi, lo), into fnvState. */
function fnv64Into(bytes: Uint8Array, start: number, end: number, hi: number, lo: number): void {
  for (let i = start; i < end; i++) {
    lo ^= bytes[i];
    // Multiply the 64-bit state by the FNV prime 2^40 + 0x1b3 in 32-bit halves.
    const l = Math.imul(lo, 0x1b3);
    // The product's bits above 32: it is below 2^41, so scaling by 2^-32 is exact and | 0 floors it.
    const carry = ((lo >>> 0) * 0x1b3 * 2.3283064365386963e-10) | 0;
    hi = (Math.imul(hi, 0x1b3) + Math.imul(lo, 0x100) + carry) | 0;
    lo = l;
  }
  fnvState[0] = hi;
  fnvState[1] = lo;
}

const FNV_OFFSET_HI = 0xcbf29ce4 | 0;
const FNV_OFFSET_LO = 0x84222325 | 0;

/** Deterministic detection id: 16 hex digits of FNV-1a over the model id, a NUL and the flow id's UTF-8 bytes. */
export function detectionId(flowId: Uint8Array, start: number, end: number, modelHash: readonly [number, number]): string {
  fnv64Into(flowId, start, end, modelHash[0] | 0, modelHash[1] | 0);
  const hex = (v: number) => (v >>> 0).toString(16).padStart(8, '0');
  return hex(fnvState[0]) + hex(fnvState[1]);
}

const HEX = utf8.encode('0123456789abcdef');

/**
 * detectionId's 16 hex digits written as bytes at `out[at]`, for the detection_id column; the
 * model's hash comes as its two halves (int32), not as an array whose elements kind would differ
 * from model to model.
 */
function detectionIdInto(flowId: Uint8Array, start: number, end: number, modelHi: number, modelLo: number, out: Uint8Array, at: number): void {
  fnv64Into(flowId, start, end, modelHi, modelLo);
  const hi = fnvState[0];
  const lo = fnvState[1];
  for (let i = 0; i < 8; i++) {
    out[at + i] = HEX[(hi >>> (28 - 4 * i)) & 15];
    out[at + 8 + i] = HEX[(lo >>> (28 - 4 * i)) & 15];
  }
}

/** The column's Arrow data when it is one plain Utf8 chunk (without nulls unless allowed), to pass through. */
function plainUtf8(column: Vector | null, nullable: boolean): Data<Utf8> | null {
  if (!column || column.data.length !== 1 || !DataType.isUtf8(column.type)) return null;
  if (!nullable && column.nullCount > 0) return null;
  const data = column.data[0] as Data<Utf8>;
  return data.offset === 0 ? data : null;
}

/** A Utf8 column holding one string in every row. */
function repeatedUtf8(value: string, rows: number): Data<Utf8> {
  const one = utf8.encode(value);
  const bytes = new Uint8Array(one.length * rows);
  const offsets = new Int32Array(rows + 1);
  for (let i = 0; i < rows; i++) {
    bytes.set(one, i * one.length);
    offsets[i + 1] = (i + 1) * one.length;
  }
  return makeData({ type: new Utf8(), length: rows, nullCount: 0, valueOffsets: offsets, data: bytes });
}

function joined(list: readonly string[]): string | null {
  return list.length > 0 ? list.join(',') : null;
}

/** A classify operator for a loaded model. */
export function classifyOperator(model: Model, options: ClassifyOptions = {}): Operator {
  const input = options.input ?? 'flows';
  const top = options.topFeatures ?? EXPLANATION_SLOTS;
  if (!Number.isInteger(top) || top < 0 || top > EXPLANATION_SLOTS) throw new UserError(ErrorCode.CONFIG_INVALID, `classify: topFeatures ${top} is not an integer from 0 to ${EXPLANATION_SLOTS} (the detections table has ${EXPLANATION_SLOTS} explanation columns)`);
  const id = modelId(model);
  const idBytes = utf8.encode(id + '\0');
  fnv64Into(idBytes, 0, idBytes.length, FNV_OFFSET_HI, FNV_OFFSET_LO);
  const idHi = fnvState[0];
  const idLo = fnvState[1];
  const { forest, meta } = model;
  const K = forest.classes;
  const tags: ThreatTags[] = meta.classes.map((c) => meta.threatMap[c] ?? threatOf(c));
  const benignIndex = meta.benign === null ? -1 : meta.classes.indexOf(meta.benign);
  const explainTrees = Math.min(forest.trees, options.explainTrees ?? 8);
  const featureBytes = classBytes(meta.features);
  // The taxonomy columns of each class, joined once.
  const tagText = tags.map((tag, k) => {
    const benign = k === benignIndex;
    return {
      threat: benign ? null : (tag.enisa[0] ?? null),
      owasp: benign ? null : joined(tag.owasp),
      owaspIot: benign ? null : joined(tag.owaspIot),
      attackIcs: benign ? null : joined(tag.attackIcs),
    };
  });
  const labelBytes = classBytes(meta.classes);
  const threatBytes = classBytes(tagText.map((t) => t.threat));
  const owaspBytes = classBytes(tagText.map((t) => t.owasp));
  const owaspIotBytes = classBytes(tagText.map((t) => t.owaspIot));
  const attackIcsBytes = classBytes(tagText.map((t) => t.attackIcs));
  const memo = explanationMemo(explainTrees, top);
  const paths = explainTrees > 0 ? leafRecords(forest.leafPaths(explainTrees)) : null;
  const explainer: Explainer = { trees: explainTrees, top, features: forest.features, memo, paths, counts: new Int32Array(forest.features), touched: new Int32Array(forest.features), records: new Int32Array(2 * explainTrees) };
  const scratch = { x: new Float64Array(0), proba: new Float64Array(0), best: new Int32Array(0), leaves: new Int32Array(0), why: [new Int32Array(0), new Int32Array(0), new Int32Array(0)] };
  // The model column is the same for every batch of a size: made once per size seen last.
  let model1: Data<Utf8> | null = null;
  const modelColumn = (rows: number) => (model1 && model1.length === rows ? model1 : (model1 = repeatedUtf8(id, rows)));
  // So are the detection ids' offsets (16 bytes each) and a column that is null for every class.
  let idOffsets: Int32Array<ArrayBuffer> = new Int32Array(1);
  let allNull: Data<Utf8> | null = null;
  const classColumn = (cls: Int32Array, texts: ClassBytes, rows: number) => {
    if (!texts.allNull) return classUtf8(cls, texts, rows);
    return allNull && allNull.length === rows ? allNull : (allNull = nullUtf8(rows));
  };
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
      // The matrix and the sums are scratch, kept from batch to batch (nothing returned points into them).
      if (scratch.x.length < rows * meta.features.length) scratch.x = new Float64Array(rows * meta.features.length);
      if (scratch.proba.length < rows * K) scratch.proba = new Float64Array(rows * K);
      const m = featureMatrix(batch, meta.features, scratch.x);
      if ('missing' in m) {
        throw new HeirError(ErrorCode.FEATURES_MISSING, `classify: the ${input} batch lacks the model's feature column(s) ${m.missing.join(', ')} (feature set ${meta.featureSet.name}@${meta.featureSet.version}); add them with a featurize operator or a parser that fills the features column`);
      }
      const x = m.x;
      const explaining = explainTrees > 0 && top > 0;
      // The explanation trees' leaves come from the same pass as the probabilities.
      if (explaining && scratch.leaves.length < rows * explainTrees) scratch.leaves = new Int32Array(rows * explainTrees);
      // The class sums unscaled: each row's probabilities are taken (sum × 1 / trees, as
      // predictProba has them) where the argmax reads them, with no pass over rows × classes.
      const { proba: sums, leaves } = forest.predictProbaWithLeaves(x, rows, scratch.proba.subarray(0, rows * K), explaining ? explainTrees : 0, scratch.leaves, false);
      const scale = 1 / forest.trees;
      const flowIds = batch.getChild('flow_id');
      const sites = batch.getChild('site_id');
      const deviceCol = batch.getChild('device') ?? batch.getChild('src_addr');
      const tsCol = batch.getChild('ts_start') ?? batch.getChild('ts');
      // Label, confidence and benign flag per row; the class-valued columns are then written
      // straight into Arrow buffers from per-class bytes, with no string per row.
      if (scratch.best.length < rows) scratch.best = new Int32Array(rows);
      const best = scratch.best;
      const confidence = new Float64Array(rows);
      const benignBits = new Uint8Array((rows + 7) >> 3);
      for (let r = 0; r < rows; r++) {
        const o = r * K;
        let b = 0;
        let bestP = sums[o] * scale;
        for (let k = 1; k < K; k++) {
          const p = sums[o + k] * scale;
          if (p > bestP) {
            bestP = p;
            b = k;
          }
        }
        best[r] = b;
        confidence[r] = bestP;
        if (b === benignIndex) benignBits[r >> 3] |= 1 << (r & 7);
      }
      // Flow id, site and device pass through as the input's own Arrow buffers where they are plain
      // Utf8 columns; ids are hashed from those bytes, so nothing is decoded per row.
      const flowData = plainUtf8(flowIds, false);
      const siteData = plainUtf8(sites, false);
      const deviceData = plainUtf8(deviceCol, true);
      let flowColumn: Data<Utf8>;
      const idBytesOut = new Uint8Array(rows * 16);
      if (flowData) {
        const bytes = flowData.values as Uint8Array;
        const offsets = flowData.valueOffsets as Int32Array;
        for (let r = 0; r < rows; r++) detectionIdInto(bytes, offsets[r], offsets[r + 1], idHi, idLo, idBytesOut, r * 16);
        flowColumn = flowData;
      } else {
        const list = new Array<string>(rows);
        for (let r = 0; r < rows; r++) {
          const flowId = flowIds ? String(flowIds.get(r)) : `${context.batchId}:${r}`;
          const bytes = utf8.encode(flowId);
          detectionIdInto(bytes, 0, bytes.length, idHi, idLo, idBytesOut, r * 16);
          list[r] = flowId;
        }
        flowColumn = utf8Data(list, rows);
      }
      let siteColumn = siteData;
      if (!siteColumn) {
        const list = new Array<string>(rows);
        for (let r = 0; r < rows; r++) list[r] = sites ? String(sites.get(r)) : context.site;
        siteColumn = utf8Data(list, rows);
      }
      let deviceColumn = deviceData;
      if (!deviceColumn) {
        const list = new Array<string | null>(rows);
        for (let r = 0; r < rows; r++) {
          const dev = deviceCol?.get(r);
          list[r] = dev === null || dev === undefined ? null : String(dev);
        }
        deviceColumn = utf8Data(list, rows);
      }
      // The explanation: per slot, the feature index (-1: none), the row's value and the share.
      // The feature indices are scratch (read into the columns below); values and shares are the columns' own buffers.
      const why = scratch.why.map((f, k) => {
        if (f.length < rows) scratch.why[k] = f = new Int32Array(rows);
        return { feature: f.subarray(0, rows).fill(-1), value: new Float64Array(rows), share: new Float64Array(rows) };
      });
      // Slots where some explained row's value is NaN (their value columns need a bitmap of their own).
      const valueNaN = [false, false, false];
      // A new generation empties the memo: it lives for this batch only.
      memo.generation = (memo.generation + 1) | 0;
      if (memo.generation === 0) {
        memo.stamp.fill(0);
        memo.generation = 1;
      }
      if (explaining) explainRows(explainer, rows, best, benignIndex, leaves, x, why, valueNaN);
      // Per slot: the feature, value and share columns (arrays indexed by slot, not an object
      // keyed by column name, whose map would be built anew key by key in every batch).
      const featureCols: Data<Utf8>[] = [];
      const valueCols: Data<Float64>[] = [];
      const shareCols: Data<Float64>[] = [];
      for (let k = 0; k < EXPLANATION_SLOTS; k++) {
        const w = why[k];
        // Feature names are never null: a slot's share is valid exactly where its feature column
        // is, and so is its value unless a row lacked the feature (NaN), so they share its bitmap.
        const feature = classUtf8(w.feature, featureBytes, rows);
        const bitmap = feature.nullCount > 0 ? feature.nullBitmap : undefined;
        featureCols.push(feature);
        valueCols.push(valueNaN[k] ? float64Valid(w.value, w.feature, rows, true) : makeData({ type: new Float64(), length: rows, nullCount: feature.nullCount, nullBitmap: bitmap, data: w.value }));
        shareCols.push(makeData({ type: new Float64(), length: rows, nullCount: feature.nullCount, nullBitmap: bitmap, data: w.share }));
      }
      const children: Record<(typeof DETECTION_COLUMNS)[number]['name'], Data> = {
        detection_id: makeData({ type: new Utf8(), length: rows, nullCount: 0, valueOffsets: idOffsets.length === rows + 1 ? idOffsets : (idOffsets = fixedOffsets(16, rows)), data: idBytesOut }),
        flow_id: flowColumn,
        site_id: siteColumn,
        device: deviceColumn,
        ts: timestampData(tsCol, rows),
        model: modelColumn(rows),
        label: classColumn(best, labelBytes, rows),
        confidence: makeData({ type: new Float64(), length: rows, data: confidence }),
        threat: classColumn(best, threatBytes, rows),
        owasp: classColumn(best, owaspBytes, rows),
        owasp_iot: classColumn(best, owaspIotBytes, rows),
        attack_ics: classColumn(best, attackIcsBytes, rows),
        top1_feature: featureCols[0],
        top1_value: valueCols[0],
        top1_share: shareCols[0],
        top2_feature: featureCols[1],
        top2_value: valueCols[1],
        top2_share: shareCols[1],
        top3_feature: featureCols[2],
        top3_value: valueCols[2],
        top3_share: shareCols[2],
        benign: makeData({ type: new Bool(), length: rows, data: benignBits }),
      };
      const detections = new RecordBatch(DETECTIONS_SCHEMA, makeData({ type: new Struct(DETECTIONS_SCHEMA.fields), length: rows, nullCount: 0, children: DETECTION_COLUMNS.map((c) => children[c.name]) }));
      return { ...tables, detections };
    },
  };
}

/** What explaining a batch's rows needs: the operator's memo, leaf paths and scratch. */
interface Explainer {
  /** Explanation trees (the first trees of the forest) and features named per row. */
  readonly trees: number;
  readonly top: number;
  readonly features: number;
  readonly memo: ExplanationMemo;
  readonly paths: LeafRecords | null;
  /** Split counts per feature and the features met, while one row is ranked (zero between rows). */
  readonly counts: Int32Array;
  readonly touched: Int32Array;
  /** Per explanation tree, the record of the leaf a row reached and then that leaf's vote, while one row is ranked. */
  readonly records: Int32Array;
}

/** One explanation slot's columns: feature index (-1: none), the row's value and the share. */
interface Why {
  readonly feature: Int32Array;
  readonly value: Float64Array;
  readonly share: Float64Array;
}

/**
 * The explanation of every row whose label is not benign: the features that decided most splits
 * on the paths of the first trees whose leaf votes for the label. Rows that reach the same leaves
 * with the same label get the same features and shares (floods and scans repeat them): those come
 * from the memo, and only the values, which are the row's own, are read anew. (Functions at module
 * level, not closures made per batch: their call targets stay the same from batch to batch.)
 */
function explainRows(e: Explainer, rows: number, best: Int32Array, benignIndex: number, leaves: Int32Array, x: Float64Array, why: readonly Why[], valueNaN: boolean[]): void {
  const E = e.trees;
  const top = e.top;
  const memo = e.memo;
  const keys = memo.keys;
  const d = e.features;
  for (let r = 0; r < rows; r++) {
    const label = best[r];
    if (label === benignIndex) continue;
    let h = Math.imul(label + 1, 0x9e3779b1);
    for (let t = 0; t < E; t++) {
      h = Math.imul(h ^ leaves[t * rows + r], 0x85ebca6b);
      h ^= h >>> 15;
    }
    const slot = h & memo.mask;
    const at = slot * (E + 1);
    let hit = memo.stamp[slot] === memo.generation && keys[at] === label;
    for (let t = 0; hit && t < E; t++) hit = keys[at + 1 + t] === leaves[t * rows + r];
    const o = slot * top;
    if (!hit) {
      memo.stamp[slot] = memo.generation;
      keys[at] = label;
      for (let t = 0; t < E; t++) keys[at + 1 + t] = leaves[t * rows + r];
      rank(e, leaves, rows, r, label, o);
    }
    const base = r * d;
    for (let k = 0; k < top; k++) {
      const f = memo.features[o + k];
      if (f < 0) break;
      const w = why[k];
      w.feature[r] = f;
      const v = x[base + f];
      if (v !== v) valueNaN[k] = true;
      w.value[r] = v;
      w.share[r] = memo.shares[o + k] / 1000;
    }
  }
}

/**
 * Row r's top features (by split count, ties by feature order) and their shares in thousandths,
 * into the memo at `o`; -1 ends a shorter list.
 */
function rank(e: Explainer, leaves: Int32Array, rows: number, r: number, label: number, o: number): void {
  const { counts, touched, memo, top } = e;
  const { at, data } = e.paths!;
  const records = e.records;
  const E = e.trees;
  // The records first, in passes without a branch, so that the eight trees' cache misses overlap
  // instead of each waiting for the one before.
  for (let t = 0; t < E; t++) records[t] = at[leaves[t * rows + r]];
  for (let t = 0; t < E; t++) records[E + t] = data[records[t]];
  let total = 0;
  let seen = 0;
  for (let t = 0; t < E; t++) {
    if (records[E + t] !== label) continue;
    const p = records[t];
    total += data[p + 1];
    // The path's splits, summed per feature once at load; the features met are listed once.
    for (let i = p + 3, end = p + 3 + 2 * data[p + 2]; i < end; i += 2) {
      // Listed when first met, without a branch (whether a feature is new is a coin toss for the
      // predictor): the slot is written either way and kept only when its count was 0.
      const f = data[i];
      const c = counts[f];
      touched[seen] = f;
      seen += (c - 1) >>> 31;
      counts[f] = c + data[i + 1];
    }
  }
  // A few passes of selection, no sorting. Each feature's key, count · d + (d − 1 − f), orders by
  // count and then by the lower feature index (exact in doubles); the largest is kept by Math.max,
  // with no branch on the data. A count of 0 keys at most d − 1: no feature left, and the slot
  // gets -1. Both outcomes run the same operations (a path with fewer than `top` features is rare
  // in some models and never met in others: code that only it ran would have no type feedback,
  // and the function would be deoptimized the first time a model met it).
  const d = e.features;
  for (let k = 0; k < top; k++) {
    let bestKey = d - 1;
    for (let i = 0; i < seen; i++) {
      const f = touched[i];
      bestKey = Math.max(bestKey, counts[f] * d + (d - 1 - f));
    }
    const bestC = Math.floor(bestKey / d);
    const bestF = d - 1 - (bestKey - bestC * d);
    const none = bestC === 0;
    memo.features[o + k] = none ? -1 : bestF;
    memo.shares[o + k] = none ? 0 : Math.round((1000 * bestC) / total);
    counts[bestF] = 0;
    if (none) break;
  }
  for (let i = 0; i < seen; i++) counts[touched[i]] = 0;
}

/**
 * The explanation trees' leaf paths as one record per leaf: `data[at[leaf]]` is the leaf's vote,
 * then its depth, the number of features on its path and those features' (feature, splits) pairs,
 * so a memo miss finds a leaf's facts and the start of its path in one cache line (the tables are
 * larger than the caches, and a miss reads eight leaves). 16-bit when every value fits (always,
 * short of 65,536 features, classes or splits), a quarter of the bytes of 32-bit pairs.
 */
interface LeafRecords {
  /** The record's offset in `data` per node (-1 for split nodes). */
  readonly at: Int32Array;
  readonly data: Uint16Array | Int32Array;
}

function leafRecords(paths: LeafPaths): LeafRecords {
  const nodes = paths.depth.length;
  const at = new Int32Array(nodes).fill(-1);
  let size = 0;
  let wide = false;
  for (let n = 0; n < nodes; n++) {
    if (paths.vote[n] < 0) continue;
    const pairs = paths.start[n + 1] - paths.start[n];
    size += 3 + 2 * pairs;
    if (paths.vote[n] > 0xffff || paths.depth[n] > 0xffff || pairs > 0xffff) wide = true;
  }
  for (let i = 0; i < paths.features.length; i++) if (paths.features[i] > 0xffff || paths.counts[i] > 0xffff) wide = true;
  const data = wide ? new Int32Array(size) : new Uint16Array(size);
  let p = 0;
  for (let n = 0; n < nodes; n++) {
    if (paths.vote[n] < 0) continue;
    at[n] = p;
    data[p++] = paths.vote[n];
    data[p++] = paths.depth[n];
    data[p++] = paths.start[n + 1] - paths.start[n];
    for (let i = paths.start[n]; i < paths.start[n + 1]; i++) {
      data[p++] = paths.features[i];
      data[p++] = paths.counts[i];
    }
  }
  return { at, data };
}

/**
 * The explanations of one batch by the label and leaves a row reached, direct-mapped: a slot holds
 * the key it was filled for (label, then one leaf per explanation tree), which a lookup compares
 * value by value, and the ranked features with their shares. `stamp` marks the slots filled in the
 * current batch, so the memo never carries an explanation from one batch to the next.
 */
interface ExplanationMemo {
  readonly mask: number;
  readonly keys: Int32Array;
  readonly stamp: Int32Array;
  readonly features: Int32Array;
  readonly shares: Int32Array;
  generation: number;
}

const MEMO_SLOTS = 8192;

function explanationMemo(trees: number, top: number): ExplanationMemo {
  return {
    mask: MEMO_SLOTS - 1,
    keys: new Int32Array(MEMO_SLOTS * (trees + 1)),
    stamp: new Int32Array(MEMO_SLOTS),
    features: new Int32Array(MEMO_SLOTS * Math.max(1, top)),
    shares: new Int32Array(MEMO_SLOTS * Math.max(1, top)),
    generation: 0,
  };
}

/** The offsets of a Utf8 column of fixed-width values laid end to end. */
function fixedOffsets(width: number, rows: number): Int32Array<ArrayBuffer> {
  const offsets = new Int32Array(rows + 1);
  for (let i = 1; i <= rows; i++) offsets[i] = i * width;
  return offsets;
}

/** A Utf8 column of nulls only. */
function nullUtf8(rows: number): Data<Utf8> {
  return makeData({ type: new Utf8(), length: rows, nullCount: rows, nullBitmap: new Uint8Array((rows + 7) >> 3), valueOffsets: new Int32Array(rows + 1), data: new Uint8Array(0) });
}

/**
 * The texts of a class-valued column, laid end to end: class c is flat[start[c] … start[c] + length[c]),
 * or null when length[c] < 0. `bytes1` and `valid1` are indexed by class + 1 (index 0: no class):
 * the text's length (0 for null) and 1 where it is not null, so rows are laid out without a branch.
 */
interface ClassBytes {
  readonly flat: Uint8Array;
  readonly start: Int32Array;
  readonly length: Int32Array;
  readonly bytes1: Int32Array;
  readonly valid1: Uint8Array;
  /** No class has a text: the column is null in every row. */
  readonly allNull: boolean;
}

function classBytes(texts: readonly (string | null)[]): ClassBytes {
  const encoded = texts.map((t) => (t === null ? null : utf8.encode(t)));
  const start = new Int32Array(texts.length);
  const length = new Int32Array(texts.length);
  const bytes1 = new Int32Array(texts.length + 1);
  const valid1 = new Uint8Array(texts.length + 1);
  let total = 0;
  encoded.forEach((b, c) => {
    start[c] = total;
    length[c] = b ? b.length : -1;
    bytes1[c + 1] = b ? b.length : 0;
    valid1[c + 1] = b ? 1 : 0;
    total += b ? b.length : 0;
  });
  const flat = new Uint8Array(total);
  encoded.forEach((b, c) => b && flat.set(b, start[c]));
  return { flat, start, length, bytes1, valid1, allNull: encoded.every((b) => b === null) };
}

/** A Utf8 column whose row r holds the text of class `cls[r]` (null where that class has none, or cls[r] < 0). */
function classUtf8(cls: Int32Array, texts: ClassBytes, rows: number): Data<Utf8> {
  const { flat, start, bytes1, valid1 } = texts;
  const offsets = new Int32Array(rows + 1);
  const validity = new Uint8Array((rows + 7) >> 3);
  let total = 0;
  let valid = 0;
  // Offsets and validity by table lookups (no branch on the class), eight rows per validity byte.
  let r = 0;
  for (let byte = 0; r < rows; byte++) {
    let bits = 0;
    const end = Math.min(rows, r + 8);
    for (let bit = 0; r < end; r++, bit++) {
      const c1 = cls[r] + 1;
      total += bytes1[c1];
      offsets[r + 1] = total;
      bits |= valid1[c1] << bit;
    }
    validity[byte] = bits;
    valid += BIT_COUNT[bits];
  }
  const nullCount = rows - valid;
  const bytes = new Uint8Array(total);
  // Run by run of rows of one class (floods and scans come in runs): its text once by a byte loop
  // (texts are short: that beats set() on a subarray), then the run's copies from the bytes
  // already written, doubling with copyWithin when the run is long.
  for (let r = 0; r < rows; ) {
    const c = cls[r];
    let r1 = r + 1;
    while (r1 < rows && cls[r1] === c) r1++;
    const at = offsets[r];
    const end = offsets[r1];
    r = r1;
    if (at === end) continue;
    const n = bytes1[c + 1];
    for (let i = 0, j = start[c]; i < n; i++) bytes[at + i] = flat[j + i];
    let filled = n;
    if (end - at <= 256) for (let i = at + n; i < end; i++) bytes[i] = bytes[i - n];
    else
      while (at + filled < end) {
        const m = Math.min(filled, end - at - filled);
        bytes.copyWithin(at + filled, at, at + m);
        filled += m;
      }
  }
  return makeData({ type: new Utf8(), length: rows, nullCount, nullBitmap: nullCount > 0 ? validity : undefined, valueOffsets: offsets, data: bytes });
}

/** Set bits of each byte value. */
const BIT_COUNT = Uint8Array.from({ length: 256 }, (_, b) => {
  let n = 0;
  for (let v = b; v; v >>= 1) n += v & 1;
  return n;
});

/**
 * A Float64 column of `values`, valid where `feature[r]` names a feature (and, for values, where
 * the value is not NaN: a feature the flow lacks).
 */
function float64Valid(values: Float64Array, feature: Int32Array, rows: number, nanIsNull: boolean): Data<Float64> {
  const validity = new Uint8Array((rows + 7) >> 3);
  let nullCount = 0;
  for (let r = 0; r < rows; r++) {
    const v = values[r];
    if (feature[r] < 0 || (nanIsNull && v !== v)) nullCount++;
    else validity[r >> 3] |= 1 << (r & 7);
  }
  return makeData({ type: new Float64(), length: rows, nullCount, nullBitmap: nullCount > 0 ? validity : undefined, data: values });
}

/**
 * The ts column: the input's microsecond values as they are when it is a null-free microsecond
 * timestamp column, else each row's time (Arrow gives milliseconds) in microseconds, 0 for null.
 */
function timestampData(column: Vector | null, rows: number): Data {
  const type = new TimestampMicrosecond('UTC');
  if (column && column.nullCount === 0 && column.data.length === 1 && DataType.isTimestamp(column.type) && (column.type as Timestamp).unit === TimeUnit.MICROSECOND) {
    const values = column.data[0].values as unknown;
    if (values instanceof BigInt64Array) return makeData({ type, length: rows, data: values.subarray(0, rows) });
  }
  const data = new BigInt64Array(rows);
  for (let r = 0; r < rows; r++) {
    const t = column?.get(r) as number | null | undefined;
    data[r] = t === null || t === undefined ? 0n : BigInt(Math.round(Number(t) * 1000));
  }
  return makeData({ type, length: rows, data });
}

const encoder = new TextEncoder();

/** A Utf8 column from strings and nulls: offsets, bytes (ASCII copied directly) and a validity bitmap. */
function utf8Data(values: readonly (string | null)[], rows: number): Data<Utf8> {
  const offsets = new Int32Array(rows + 1);
  let bytes = new Uint8Array(Math.max(64, rows * 16));
  let at = 0;
  let nullCount = 0;
  let validity: Uint8Array | undefined;
  for (let i = 0; i < rows; i++) {
    const v = values[i];
    if (v === null || v === undefined) {
      validity ??= new Uint8Array((rows + 7) >> 3).fill(0xff);
      validity[i >> 3] &= ~(1 << (i & 7));
      nullCount++;
    } else {
      if (at + v.length * 3 > bytes.length) {
        const grown = new Uint8Array(Math.max(bytes.length * 2, at + v.length * 3));
        grown.set(bytes.subarray(0, at));
        bytes = grown;
      }
      let ascii = true;
      for (let j = 0; j < v.length; j++) {
        const ch = v.charCodeAt(j);
        if (ch > 0x7f) {
          ascii = false;
          break;
        }
        bytes[at + j] = ch;
      }
      at += ascii ? v.length : encoder.encodeInto(v, bytes.subarray(at)).written;
    }
    offsets[i + 1] = at;
  }
  return makeData({ type: new Utf8(), length: rows, nullCount, nullBitmap: validity, valueOffsets: offsets, data: bytes.subarray(0, at) });
}

/** A classify operator for a model file. */
export function classifyFromFile(path: string, options: ClassifyOptions = {}): Operator {
  return classifyOperator(loadModel(path), options);
}
