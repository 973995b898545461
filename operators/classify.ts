/**
 * The classify operator: scores every row of the `flows` table with a random-forest model and
 * writes one `detections` row per flow: label, probability, the label's threat taxonomy and the
 * features that drove the decision. The model's features are looked up as columns of the batch
 * (a featurize operator adds them) or inside the `features` JSON column that dataset parsers
 * fill; a feature found in neither is an error naming it.
 */
import { Bool, DataType, Float64, makeData, Precision, RecordBatch, Struct, TimestampMicrosecond, Utf8, type Data, type Float, type Int, type Vector } from 'apache-arrow';
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
  /** Trees whose paths explain a detection (default 8; fewer is faster; 0 leaves features_top null). */
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

const utf8 = new TextEncoder();

/** FNV-1a (64-bit, as two 32-bit halves) of bytes [start, end), continuing from (hi, lo). */
function fnv64(bytes: Uint8Array, start: number, end: number, hi = 0xcbf29ce4, lo = 0x84222325): [number, number] {
  for (let i = start; i < end; i++) {
    lo ^= bytes[i];
    // Multiply the 64-bit state by the FNV prime 2^40 + 0x1b3 in 32-bit halves.
    const l = Math.imul(lo, 0x1b3);
    const carry = Math.floor(((lo >>> 0) * 0x1b3) / 4294967296);
    hi = (Math.imul(hi, 0x1b3) + Math.imul(lo, 0x100) + carry) | 0;
    lo = l;
  }
  return [hi >>> 0, lo >>> 0];
}

/** Deterministic detection id: 16 hex digits of FNV-1a over the model id, a NUL and the flow id's UTF-8 bytes. */
export function detectionId(flowId: Uint8Array, start: number, end: number, modelHash: readonly [number, number]): string {
  const [hi, lo] = fnv64(flowId, start, end, modelHash[0], modelHash[1]);
  return hi.toString(16).padStart(8, '0') + lo.toString(16).padStart(8, '0');
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
  const idBytes = utf8.encode(id + '\0');
  const idHash = fnv64(idBytes, 0, idBytes.length);
  const { forest, meta } = model;
  const K = forest.classes;
  const tags: ThreatTags[] = meta.classes.map((c) => meta.threatMap[c] ?? threatOf(c));
  const benignIndex = meta.benign === null ? -1 : meta.classes.indexOf(meta.benign);
  const explainTrees = Math.min(forest.trees, options.explainTrees ?? 8);
  const quotedNames = meta.features.map((f) => JSON.stringify(f));
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
      // Flow id, site and device pass through as the input's own Arrow buffers where they are plain
      // Utf8 columns; ids are hashed from those bytes, so nothing is decoded per row.
      const flowData = plainUtf8(flowIds, false);
      const siteData = plainUtf8(sites, false);
      const deviceData = plainUtf8(deviceCol, true);
      const cols: Record<string, (string | null)[] | Float64Array | boolean[] | Data> = {
        detection_id: new Array<string>(rows),
        flow_id: flowData ?? new Array<string>(rows),
        site_id: siteData ?? new Array<string>(rows),
        device: deviceData ?? new Array<string | null>(rows),
        ts: new Float64Array(rows),
        model: repeatedUtf8(id, rows),
        label: new Array<string>(rows),
        confidence: new Float64Array(rows),
        threat: new Array<string | null>(rows),
        owasp: new Array<string | null>(rows),
        owasp_iot: new Array<string | null>(rows),
        attack_ics: new Array<string | null>(rows),
        features_top: new Array<string | null>(rows),
        benign: new Array<boolean>(rows),
      };
      const detectionIds = cols.detection_id as string[];
      const labels = cols.label as string[];
      const confidence = cols.confidence as Float64Array;
      const benignFlags = cols.benign as boolean[];
      const threat = cols.threat as (string | null)[];
      const owasp = cols.owasp as (string | null)[];
      const owaspIot = cols.owasp_iot as (string | null)[];
      const attackIcs = cols.attack_ics as (string | null)[];
      const featuresTop = cols.features_top as (string | null)[];
      const ts = cols.ts as Float64Array;
      const flowBytes = flowData ? (flowData.values as Uint8Array) : null;
      const flowOffsets = flowData ? (flowData.valueOffsets as Int32Array) : null;
      const counts = new Float64Array(meta.features.length);
      const pathFeatures = new Int32Array(4096);
      for (let r = 0; r < rows; r++) {
        let best = 0;
        for (let k = 1; k < K; k++) if (proba[r * K + k] > proba[r * K + best]) best = k;
        if (flowBytes && flowOffsets) detectionIds[r] = detectionId(flowBytes, flowOffsets[r], flowOffsets[r + 1], idHash);
        else {
          const flowId = flowIds ? String(flowIds.get(r)) : `${context.batchId}:${r}`;
          const bytes = utf8.encode(flowId);
          detectionIds[r] = detectionId(bytes, 0, bytes.length, idHash);
          (cols.flow_id as string[])[r] = flowId;
        }
        if (!siteData) (cols.site_id as string[])[r] = sites ? String(sites.get(r)) : context.site;
        if (!deviceData) {
          const dev = deviceCol?.get(r);
          (cols.device as (string | null)[])[r] = dev === null || dev === undefined ? null : String(dev);
        }
        ts[r] = tsMicros(r);
        labels[r] = meta.classes[best];
        confidence[r] = proba[r * K + best];
        const benign = best === benignIndex;
        benignFlags[r] = benign;
        const t = tagText[best];
        threat[r] = t.threat;
        owasp[r] = t.owasp;
        owaspIot[r] = t.owaspIot;
        attackIcs[r] = t.attackIcs;
        featuresTop[r] = benign || explainTrees === 0 ? null : explain(r, best);
      }
      const detections = detectionsBatch(cols, rows);
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
          out += `{"feature":${quotedNames[bestF]},"value":${jsonNumber(x[base + bestF])},"share":${Math.round((1000 * counts[bestF]) / total) / 1000}}`;
          counts[bestF] = 0;
        }
        return out + ']';
      }
    },
  };
}

/** The detections columns as built per batch. */
interface DetectionColumns {
  readonly [name: string]: (string | null)[] | Float64Array | boolean[] | Data;
}

/**
 * The detections batch, built straight into Arrow buffers (the generic row builder costs more
 * than the forest on large batches). Columns follow DETECTION_COLUMNS.
 */
function detectionsBatch(cols: DetectionColumns, rows: number): RecordBatch {
  const children: Data[] = DETECTION_COLUMNS.map((spec) => {
    const values = cols[spec.name];
    if (values instanceof Object && 'valueOffsets' in values && 'type' in values) return values as Data;
    if (spec.kind === 'utf8') return utf8Data(values as (string | null)[], rows);
    if (spec.kind === 'f64') return makeData({ type: new Float64(), length: rows, data: values as Float64Array });
    if (spec.kind === 'ts') {
      const micros = values as Float64Array;
      const data = new BigInt64Array(rows);
      for (let i = 0; i < rows; i++) data[i] = BigInt(micros[i]);
      return makeData({ type: new TimestampMicrosecond('UTC'), length: rows, data });
    }
    const bits = new Uint8Array((rows + 7) >> 3);
    const flags = values as boolean[];
    for (let i = 0; i < rows; i++) if (flags[i]) bits[i >> 3] |= 1 << (i & 7);
    return makeData({ type: new Bool(), length: rows, data: bits });
  });
  return new RecordBatch(DETECTIONS_SCHEMA, makeData({ type: new Struct(DETECTIONS_SCHEMA.fields), length: rows, nullCount: 0, children }));
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
