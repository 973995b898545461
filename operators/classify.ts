/**
 * The classify operator: scores every row of the `flows` table with a random-forest model and
 * writes one `detections` row per flow: label, probability, the label's threat taxonomy and the
 * features that drove the decision. The model's features are looked up as columns of the batch
 * (a featurize operator adds them) or inside the `features` JSON column that dataset parsers
 * fill; a feature found in neither is an error naming it.
 */
import { Bool, DataType, Float64, makeData, Precision, RecordBatch, Struct, TimestampMicrosecond, TimeUnit, Utf8, type Data, type Float, type Int, type Timestamp, type Vector } from 'apache-arrow';
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

const HEX = utf8.encode('0123456789abcdef');

/** detectionId's 16 hex digits written as bytes at `out[at]`, for the detection_id column. */
function detectionIdInto(flowId: Uint8Array, start: number, end: number, modelHash: readonly [number, number], out: Uint8Array, at: number): void {
  const [hi, lo] = fnv64(flowId, start, end, modelHash[0], modelHash[1]);
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

const SHARE = utf8.encode(',"share":');

/**
 * A Utf8 column written row by row as bytes: offsets, a growing byte buffer and a validity bitmap.
 * `number` writes what JSON.stringify writes for a number (null when not finite).
 */
class Utf8Writer {
  private buf: Uint8Array;
  private at = 0;
  private row = 0;
  private nullCount = 0;
  private readonly offsets: Int32Array;
  private readonly validity: Uint8Array;

  constructor(private readonly rows: number, bytesPerRow: number, private readonly numbers: NumberMemo | null = null) {
    this.buf = new Uint8Array(Math.max(64, rows * bytesPerRow));
    this.offsets = new Int32Array(rows + 1);
    this.validity = new Uint8Array((rows + 7) >> 3);
  }

  private room(n: number): void {
    if (this.at + n <= this.buf.length) return;
    const grown = new Uint8Array(Math.max(this.buf.length * 2, this.at + n));
    grown.set(this.buf.subarray(0, this.at));
    this.buf = grown;
  }

  byte(b: number): void {
    this.room(1);
    this.buf[this.at++] = b;
  }

  bytes(b: Uint8Array): void {
    const n = b.length;
    this.room(n);
    // JSON keys and feature names are short: a byte loop beats set().
    const buf = this.buf;
    let at = this.at;
    for (let i = 0; i < n; i++) buf[at++] = b[i];
    this.at = at;
  }

  /** ASCII text (number formatting only). */
  ascii(s: string): void {
    this.room(s.length);
    for (let i = 0; i < s.length; i++) this.buf[this.at++] = s.charCodeAt(i);
  }

  number(v: number): void {
    if (!Number.isFinite(v)) this.ascii('null');
    else if (Number.isInteger(v) && v >= 0 && v < 1e15) {
      // Counts and sizes, the common case: digits without a string (-0 is written as 0, as JSON does).
      this.room(16);
      if (v < 2147483648) {
        // Within 31 bits the digits come from integer arithmetic.
        let n = v | 0;
        let digits = 1;
        for (let p = 10; p <= n && digits < 10; p *= 10) digits++;
        const buf = this.buf;
        for (let i = this.at + digits - 1; i >= this.at; i--) {
          const q = (n / 10) | 0;
          buf[i] = 0x30 + n - q * 10;
          n = q;
        }
        this.at += digits;
        return;
      }
      let n = v;
      let digits = 1;
      for (let p = 10; p <= n; p *= 10) digits++;
      for (let i = digits - 1; i >= 0; i--) {
        this.buf[this.at + i] = 0x30 + (n % 10);
        n = Math.floor(n / 10);
      }
      this.at += digits;
    } else this.formatted(v);
  }

  /**
   * String(v), through the writer's memo of formatted numbers when it has one: flows of one flood
   * or scan carry the same rates and means, and formatting a fraction costs far more than looking
   * up its bits. A slot holds the number's two 32-bit halves and its text; a hit needs both equal.
   */
  private formatted(v: number): void {
    const memo = this.numbers;
    if (!memo) {
      if (!this.fixed(v)) this.ascii(String(v));
      return;
    }
    memo.value[0] = v;
    const lo = memo.bits[0];
    const hi = memo.bits[1];
    const slot = (Math.imul(lo ^ Math.imul(hi, 0x9e3779b1), 0x85ebca6b) >>> (32 - NUMBER_SLOT_BITS));
    const at = slot * NUMBER_TEXT;
    if (memo.stamp[slot] === memo.generation && memo.lo[slot] === lo && memo.hi[slot] === hi) {
      const n = memo.length[slot];
      this.room(n);
      for (let i = 0; i < n; i++) this.buf[this.at++] = memo.text[at + i];
      return;
    }
    const start = this.at;
    if (!this.fixed(v)) this.ascii(String(v));
    const n = this.at - start;
    if (n > NUMBER_TEXT) return;
    memo.stamp[slot] = memo.generation;
    memo.lo[slot] = lo;
    memo.hi[slot] = hi;
    memo.length[slot] = n;
    for (let i = 0; i < n; i++) memo.text[at + i] = this.buf[start + i];
  }

  /**
   * String(v) for a fraction that JavaScript writes in fixed notation (1e-6 ≤ |v| < 1e15) with at
   * most 15 significant digits, written without a string; false (nothing written) for any other.
   * The fewest decimals k for which an integer m over 10^k is v again is the shortest text; with
   * at most 15 digits only one m can be (10^-k is then more than four units in the last place
   * of v), and m is the rounded v × 10^k because that product is within 0.1 of it.
   */
  private fixed(v: number): boolean {
    const a = v < 0 ? -v : v;
    if (!(a >= 1e-6 && a < 1e15)) return false;
    for (let k = 1; k < 16; k++) {
      const m = Math.round(a * POW10[k]);
      if (m >= 1e15) return false;
      if (m / POW10[k] !== a) continue;
      let digits = 1;
      for (let p = 10; p <= m; p *= 10) digits++;
      const whole = digits - k;
      const length = (v < 0 ? 1 : 0) + (whole > 0 ? digits + 1 : k + 2);
      this.room(length);
      const buf = this.buf;
      if (v < 0) buf[this.at] = 0x2d; // -
      // Digits from the last: k decimals (leading zeros included), the point, the whole part or 0.
      let i = this.at + length - 1;
      let n = m;
      for (let j = 0; j < k; j++) {
        const q = Math.floor(n / 10);
        buf[i--] = 0x30 + n - q * 10;
        n = q;
      }
      buf[i--] = 0x2e;
      if (whole <= 0) buf[i] = 0x30;
      else
        for (let j = 0; j < whole; j++) {
          const q = Math.floor(n / 10);
          buf[i--] = 0x30 + n - q * 10;
          n = q;
        }
      this.at += length;
      return true;
    }
    return false;
  }

  /** m / 1000 for an integer m in [0, 1000], as String(m / 1000) writes it. */
  thousandths(m: number): void {
    if (m >= 1000 || m <= 0 || !Number.isInteger(m)) {
      this.ascii(String(m / 1000));
      return;
    }
    this.room(5);
    this.buf[this.at++] = 0x30;
    this.buf[this.at++] = 0x2e;
    const digits = [Math.floor(m / 100), Math.floor(m / 10) % 10, m % 10];
    let last = 2;
    while (digits[last] === 0) last--;
    for (let i = 0; i <= last; i++) this.buf[this.at++] = 0x30 + digits[i];
  }

  endRow(): void {
    this.validity[this.row >> 3] |= 1 << (this.row & 7);
    this.offsets[++this.row] = this.at;
  }

  nullRow(): void {
    this.nullCount++;
    this.offsets[++this.row] = this.at;
  }

  finish(): Data<Utf8> {
    if (this.row !== this.rows) throw new Error(`Utf8Writer: ${this.row} of ${this.rows} rows written`);
    return makeData({ type: new Utf8(), length: this.rows, nullCount: this.nullCount, nullBitmap: this.nullCount > 0 ? this.validity : undefined, valueOffsets: this.offsets, data: this.buf.subarray(0, this.at) });
  }
}

const NUMBER_SLOT_BITS = 14;
const POW10 = Array.from({ length: 16 }, (_, k) => 10 ** k);
/** Longest text a number memo slot holds (String of a double is at most 24 characters). */
const NUMBER_TEXT = 24;

/** Formatted numbers by their bits, direct-mapped; `stamp` marks the slots of the current batch. */
interface NumberMemo {
  readonly value: Float64Array;
  readonly bits: Uint32Array;
  readonly stamp: Int32Array;
  readonly lo: Uint32Array;
  readonly hi: Uint32Array;
  readonly length: Uint8Array;
  readonly text: Uint8Array;
  generation: number;
}

function numberMemo(): NumberMemo {
  const value = new Float64Array(1);
  const slots = 1 << NUMBER_SLOT_BITS;
  return { value, bits: new Uint32Array(value.buffer), stamp: new Int32Array(slots), lo: new Uint32Array(slots), hi: new Uint32Array(slots), length: new Uint8Array(slots), text: new Uint8Array(slots * NUMBER_TEXT), generation: 0 };
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
  const featurePrefix = meta.features.map((f) => utf8.encode(`{"feature":${JSON.stringify(f)},"value":`));
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
  const bytesOf = (v: string | null) => (v === null ? null : utf8.encode(v));
  const labelBytes = meta.classes.map((c) => utf8.encode(c));
  const threatBytes = tagText.map((t) => bytesOf(t.threat));
  const owaspBytes = tagText.map((t) => bytesOf(t.owasp));
  const owaspIotBytes = tagText.map((t) => bytesOf(t.owaspIot));
  const attackIcsBytes = tagText.map((t) => bytesOf(t.attackIcs));
  const memo = explanationMemo(explainTrees, top);
  const paths = explainTrees > 0 ? forest.leafPaths(explainTrees) : null;
  const numbers = numberMemo();
  const scratch = { x: new Float64Array(0), proba: new Float64Array(0) };
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
      const proba = scratch.proba.subarray(0, rows * K);
      proba.fill(0);
      forest.predictProba(x, rows, proba);
      const flowIds = batch.getChild('flow_id');
      const sites = batch.getChild('site_id');
      const deviceCol = batch.getChild('device') ?? batch.getChild('src_addr');
      const tsCol = batch.getChild('ts_start') ?? batch.getChild('ts');
      // Label, confidence and benign flag per row; the class-valued columns are then written
      // straight into Arrow buffers from per-class bytes, with no string per row.
      const best = new Int32Array(rows);
      const confidence = new Float64Array(rows);
      const benignBits = new Uint8Array((rows + 7) >> 3);
      for (let r = 0; r < rows; r++) {
        const o = r * K;
        let b = 0;
        for (let k = 1; k < K; k++) if (proba[o + k] > proba[o + b]) b = k;
        best[r] = b;
        confidence[r] = proba[o + b];
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
        for (let r = 0; r < rows; r++) detectionIdInto(bytes, offsets[r], offsets[r + 1], idHash, idBytesOut, r * 16);
        flowColumn = flowData;
      } else {
        const list = new Array<string>(rows);
        for (let r = 0; r < rows; r++) {
          const flowId = flowIds ? String(flowIds.get(r)) : `${context.batchId}:${r}`;
          const bytes = utf8.encode(flowId);
          detectionIdInto(bytes, 0, bytes.length, idHash, idBytesOut, r * 16);
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
      // features_top is written as JSON bytes straight into its Arrow buffers (no string per row).
      const counts = new Float64Array(meta.features.length);
      const touched = new Int32Array(meta.features.length);
      // The explanation trees are walked for all rows at once, in the forest's fast walk.
      const leaves = explainTrees > 0 ? forest.leaves(x, rows, 0, explainTrees) : new Int32Array(0);
      const top3 = new Utf8Writer(rows, 48 * top, numbers);
      // A new generation empties the memos: they live for this batch only.
      for (const m of [memo, numbers]) {
        m.generation = (m.generation + 1) | 0;
        if (m.generation === 0) {
          m.stamp.fill(0);
          m.generation = 1;
        }
      }
      for (let r = 0; r < rows; r++) {
        if (best[r] === benignIndex || explainTrees === 0) top3.nullRow();
        else explain(r, best[r]);
      }
      const children: Record<(typeof DETECTION_COLUMNS)[number]['name'], Data> = {
        detection_id: fixedWidthUtf8(idBytesOut, 16, rows),
        flow_id: flowColumn,
        site_id: siteColumn,
        device: deviceColumn,
        ts: timestampData(tsCol, rows),
        model: repeatedUtf8(id, rows),
        label: classUtf8(best, labelBytes, rows),
        confidence: makeData({ type: new Float64(), length: rows, data: confidence }),
        threat: classUtf8(best, threatBytes, rows),
        owasp: classUtf8(best, owaspBytes, rows),
        owasp_iot: classUtf8(best, owaspIotBytes, rows),
        attack_ics: classUtf8(best, attackIcsBytes, rows),
        features_top: top3.finish(),
        benign: makeData({ type: new Bool(), length: rows, data: benignBits }),
      };
      const detections = new RecordBatch(DETECTIONS_SCHEMA, makeData({ type: new Struct(DETECTIONS_SCHEMA.fields), length: rows, nullCount: 0, children: DETECTION_COLUMNS.map((c) => children[c.name]) }));
      return { ...tables, detections };

      // The features that decided most splits on the paths of the first trees whose leaf votes for
      // the label. Rows that reach the same leaves with the same label get the same features and
      // shares (floods and scans repeat them): those come from the memo, and only the values,
      // which are the row's own, are written anew.
      function explain(r: number, label: number): void {
        const E = explainTrees;
        let h = Math.imul(label + 1, 0x9e3779b1);
        for (let t = 0; t < E; t++) {
          h = Math.imul(h ^ leaves[t * rows + r], 0x85ebca6b);
          h ^= h >>> 15;
        }
        const slot = h & memo.mask;
        const keys = memo.keys;
        const at = slot * (E + 1);
        let hit = memo.stamp[slot] === memo.generation && keys[at] === label;
        for (let t = 0; hit && t < E; t++) hit = keys[at + 1 + t] === leaves[t * rows + r];
        const picked = memo.features;
        const shares = memo.shares;
        const o = slot * top;
        if (!hit) {
          memo.stamp[slot] = memo.generation;
          keys[at] = label;
          for (let t = 0; t < E; t++) keys[at + 1 + t] = leaves[t * rows + r];
          rank(r, label, o);
        }
        const base = r * forest.features;
        top3.byte(0x5b); // [
        for (let k = 0; k < top; k++) {
          const f = picked[o + k];
          if (f < 0) break;
          if (k > 0) top3.byte(0x2c); // ,
          // {"feature":NAME,"value":V,"share":S}
          top3.bytes(featurePrefix[f]);
          top3.number(x[base + f]);
          top3.bytes(SHARE);
          top3.thousandths(shares[o + k]);
          top3.byte(0x7d); // }
        }
        top3.byte(0x5d); // ]
        top3.endRow();
      }

      // Row r's top features (by split count, ties by feature order) and their shares in
      // thousandths, into the memo at `o`; -1 ends a shorter list.
      function rank(r: number, label: number, o: number): void {
        let total = 0;
        let seen = 0;
        const { start, depth, vote, features: pathFeatures, counts: pathCounts } = paths!;
        for (let t = 0; t < explainTrees; t++) {
          const leaf = leaves[t * rows + r];
          if (vote[leaf] !== label) continue;
          // The path's splits, summed per feature once at load; the features met are listed once.
          for (let i = start[leaf]; i < start[leaf + 1]; i++) {
            const f = pathFeatures[i];
            if (counts[f] === 0) touched[seen++] = f;
            counts[f] += pathCounts[i];
          }
          total += depth[leaf];
        }
        // A few passes of selection, no sorting.
        for (let k = 0; k < top; k++) {
          let bestF = -1;
          for (let i = 0; i < seen; i++) {
            const f = touched[i];
            const c = counts[f];
            if (c > 0 && (bestF < 0 || c > counts[bestF] || (c === counts[bestF] && f < bestF))) bestF = f;
          }
          memo.features[o + k] = bestF;
          if (bestF < 0) break;
          memo.shares[o + k] = Math.round((1000 * counts[bestF]) / total);
          counts[bestF] = 0;
        }
        for (let i = 0; i < seen; i++) counts[touched[i]] = 0;
      }
    },
  };
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

/** A Utf8 column of fixed-width values laid end to end in `bytes`. */
function fixedWidthUtf8(bytes: Uint8Array, width: number, rows: number): Data<Utf8> {
  const offsets = new Int32Array(rows + 1);
  for (let i = 1; i <= rows; i++) offsets[i] = i * width;
  return makeData({ type: new Utf8(), length: rows, nullCount: 0, valueOffsets: offsets, data: bytes });
}

/** A Utf8 column whose row r holds the bytes of class `cls[r]` (null where that class has none). */
function classUtf8(cls: Int32Array, perClass: readonly (Uint8Array | null)[], rows: number): Data<Utf8> {
  const offsets = new Int32Array(rows + 1);
  let total = 0;
  let nullCount = 0;
  for (let r = 0; r < rows; r++) {
    const b = perClass[cls[r]];
    if (b) total += b.length;
    else nullCount++;
    offsets[r + 1] = total;
  }
  const bytes = new Uint8Array(total);
  let validity: Uint8Array | undefined;
  if (nullCount > 0) validity = new Uint8Array((rows + 7) >> 3);
  for (let r = 0; r < rows; r++) {
    const b = perClass[cls[r]];
    if (!b) continue;
    if (validity) validity[r >> 3] |= 1 << (r & 7);
    // Labels and taxonomy ids are short: a byte loop beats set() on a subarray.
    const at = offsets[r];
    for (let j = 0; j < b.length; j++) bytes[at + j] = b[j];
  }
  return makeData({ type: new Utf8(), length: rows, nullCount, nullBitmap: validity, valueOffsets: offsets, data: bytes });
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
