/**
 * Flow records of export datagrams (IPFIX / NetFlow), held column by column while they are
 * decoded: growable Float64Arrays for numbers (NaN = null) and UTF-8 byte columns (offsets + bytes)
 * for text. No object per record: the decoder writes straight into these arrays, and a flush
 * turns them into one flow-schema Arrow batch (the arrays are handed over, not copied) or into
 * JSON lines written into one reused megabyte buffer (constant key text copied, no string per line).
 *
 * Only the flow-schema columns an export record can fill live here; every other column of the
 * batch is all-null.
 */
import { DataType, RecordBatch, Struct, makeData, type Field, type Float64, type TimestampMicrosecond, type Utf8 } from 'apache-arrow';
import { FLOW_COLUMNS, FLOW_SCHEMA, type FlowArrow, type FlowRow } from '../pipeline/flow-schema.ts';

/** Text columns, in the order of the `text` array. */
export const TEXT = {
  flow_id: 0,
  community_id: 1,
  site_id: 2,
  sensor_id: 3,
  source: 4,
  end_reason: 5,
  src_addr: 6,
  dst_addr: 7,
  src_mac: 8,
  dst_mac: 9,
  features: 10,
} as const;

/**
 * Numeric columns (NaN = null): their place in each row's NUM_COUNT numbers of `numbers`.
 * `duration_s` is derived.
 */
export const NUM = {
  ts_start: 0,
  ts_end: 1,
  ip_version: 2,
  src_port: 3,
  dst_port: 4,
  ip_proto: 5,
  vlan_id: 6,
  fwd_packets: 7,
  bwd_packets: 8,
  fwd_bytes: 9,
  bwd_bytes: 10,
  tcp_flags_fwd: 11,
  tcp_flags_bwd: 12,
} as const;

const TEXT_NAMES = Object.keys(TEXT) as (keyof typeof TEXT)[];
const NUM_NAMES = Object.keys(NUM) as (keyof typeof NUM)[];
/** Numbers per row. */
export const NUM_COUNT = NUM_NAMES.length;
const INITIAL_ROWS = 256;

/** One UTF-8 text column: `bytes[offsets[i] .. offsets[i+1])` is row i; `nulls[i]` 1 = null. */
export interface TextColumn {
  bytes: Uint8Array;
  /** Bytes written so far (the end of the row being written). */
  end: number;
  offsets: Int32Array;
  nulls: Uint8Array;
  nullCount: number;
}

function textColumn(rows: number): TextColumn {
  return { bytes: new Uint8Array(rows * 24), end: 0, offsets: new Int32Array(rows + 1), nulls: new Uint8Array(rows), nullCount: 0 };
}

/** "00".."99": two digits at a time. */
const DIGIT_PAIRS = Uint8Array.from({ length: 200 }, (_, i) => 48 + (i & 1 ? (i >> 1) % 10 : Math.floor((i >> 1) / 10)));

/** Decimal digits of a non-negative safe integer, written at `at`; returns the new end. */
export function writeDigits(out: Uint8Array, at: number, v: number): number {
  if (v < 10) {
    out[at] = 48 + v;
    return at + 1;
  }
  if (v <= 0x7fffffff) return writeSmall(out, at, v);
  // Larger (microsecond timestamps): the high part, then the low 8 digits zero-padded, each in
  // 32-bit integer arithmetic.
  const high = Math.floor(v / 1e8);
  let low = v - high * 1e8;
  at = high <= 0x7fffffff ? writeSmall(out, at, high) : writeDigits(out, at, high);
  for (let i = at + 6; i >= at; i -= 2) {
    const q = (low / 100) | 0;
    const r = (low - q * 100) << 1;
    out[i] = DIGIT_PAIRS[r];
    out[i + 1] = DIGIT_PAIRS[r + 1];
    low = q;
  }
  return at + 8;
}

/** Digits of 0 <= v < 2^31. */
function writeSmall(out: Uint8Array, at: number, v: number): number {
  const n = v < 100 ? (v < 10 ? 1 : 2) : v < 10000 ? (v < 1000 ? 3 : 4) : v < 1000000 ? (v < 100000 ? 5 : 6) : v < 100000000 ? (v < 10000000 ? 7 : 8) : v < 1000000000 ? 9 : 10;
  let i = at + n;
  let x = v;
  while (x >= 100) {
    const q = (x / 100) | 0;
    const r = (x - q * 100) << 1;
    out[--i] = DIGIT_PAIRS[r + 1];
    out[--i] = DIGIT_PAIRS[r];
    x = q;
  }
  if (x >= 10) {
    out[--i] = DIGIT_PAIRS[(x << 1) + 1];
    out[--i] = DIGIT_PAIRS[x << 1];
  } else out[--i] = 48 + x;
  return at + n;
}

/** ASCII/UTF-8 text of a JavaScript number exactly as String(v) gives it; returns the new end. */
function writeNumber(out: Uint8Array, at: number, v: number): number {
  if (Number.isSafeInteger(v)) {
    if (v < 0) {
      out[at++] = 45;
      return writeDigits(out, at, -v);
    }
    return writeDigits(out, at, v);
  }
  const s = String(v);
  for (let i = 0; i < s.length; i++) out[at + i] = s.charCodeAt(i);
  return at + s.length;
}

/**
 * `String(micros / 1e6)` of a duration in microseconds, without the string: whole microseconds
 * below 10^12 (11 days) are written as decimal seconds with up to 6 fractional digits, which is
 * the shortest text that reads back as that double (any other decimal of at most 6 fractional
 * digits is at least 1e-6 away, far beyond half its ulp); anything else goes through String().
 */
export function writeSeconds(out: Uint8Array, at: number, micros: number): number {
  if (!(Number.isInteger(micros) && micros >= 0 && micros < 1e12)) return writeNumber(out, at, micros / 1e6);
  const whole = Math.floor(micros / 1e6);
  let fraction = micros - whole * 1e6;
  at = writeDigits(out, at, whole);
  if (fraction === 0) return at;
  out[at] = 46; // .
  let digits = 6;
  while (fraction % 10 === 0) {
    fraction /= 10;
    digits--;
  }
  for (let i = at + digits; i > at; i--) {
    const q = (fraction / 10) | 0;
    out[i] = 48 + fraction - q * 10;
    fraction = q;
  }
  return at + digits + 1;
}

const JSON_NULL = Uint8Array.from([110, 117, 108, 108]);
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** How a flow column is written into a JSON line. */
const enum JsonKind {
  Null = 0,
  Text = 1,
  F64 = 2,
  I32 = 3,
  Ts = 4,
  Duration = 5,
  /** Text that never needs escaping: copied as it is. */
  PlainText = 6,
}

/**
 * Text columns the decoder fills only from alphabets JSON needs no escape for (hex, base64,
 * address and MAC text, fixed words): their bytes go into JSON lines as they are. Site, sensor
 * and features text are checked byte by byte.
 */
const PLAIN_TEXT: ReadonlySet<string> = new Set(['flow_id', 'community_id', 'source', 'end_reason', 'src_addr', 'dst_addr', 'src_mac', 'dst_mac']);

interface JsonPart {
  /** Key text before the value (`{"flow_id":`, `,"x":null,"y":`, …). */
  readonly prefix: Uint8Array;
  readonly kind: JsonKind;
  readonly index: number;
}

/**
 * The JSON line program: constant key text (runs of always-null columns folded in) between the
 * values this module holds, in flow-schema column order.
 */
const JSON_PROGRAM: readonly JsonPart[] = (() => {
  const parts: JsonPart[] = [];
  let text = '';
  FLOW_COLUMNS.forEach((c, i) => {
    text += (i ? ',' : '{') + JSON.stringify(c.name) + ':';
    const name = c.name as string;
    if (name in TEXT) parts.push({ prefix: encoder.encode(text), kind: PLAIN_TEXT.has(name) ? JsonKind.PlainText : JsonKind.Text, index: TEXT[name as keyof typeof TEXT] });
    else if (name in NUM) parts.push({ prefix: encoder.encode(text), kind: c.kind === 'i32' ? JsonKind.I32 : c.kind === 'ts' ? JsonKind.Ts : JsonKind.F64, index: NUM[name as keyof typeof NUM] });
    else if (name === 'duration_s') parts.push({ prefix: encoder.encode(text), kind: JsonKind.Duration, index: 0 });
    else {
      text += 'null';
      return;
    }
    text = '';
  });
  parts.push({ prefix: encoder.encode(text + '}\n'), kind: JsonKind.Null, index: 0 });
  return parts;
})();

/** Bytes of a JSON line besides its text values: the constant text and up to 32 per number. */
const JSON_LINE_FIXED = JSON_PROGRAM.reduce((n, part) => n + part.prefix.length + 32, 0);
/** Bytes of JSON lines handed out at a time. */
const JSON_CHUNK = 1 << 20;
/**
 * The buffer JSON lines are written into, shared by every ExportColumns (a call fills and hands
 * it out synchronously): a collector opening many batches does not allocate a megabyte for each.
 */
let jsonBuffer = new Uint8Array(JSON_CHUNK);

/**
 * Struct-of-arrays flow records. Write a row by `reserveRow` (or `reserveRows` for many), filling
 * `numbers[length × NUM_COUNT + k]`, writing each text column's bytes at its `end` (or `putNull`),
 * then `endRow()`.
 * The columns listed in PLAIN_TEXT must only get bytes JSON needs no escape for.
 */
export class ExportColumns {
  /** Rows complete so far. */
  length = 0;
  private capacity: number;
  /**
   * The numeric columns row by row (row i's at i × NUM_COUNT, in NUM order): a row's numbers are
   * written together, and a decoder copies many rows' numbers in one call. Arrow batches get
   * them column by column (`toBatch`).
   */
  numbers: Float64Array;
  text: TextColumn[];

  constructor(rows = INITIAL_ROWS) {
    this.capacity = rows;
    this.numbers = new Float64Array(rows * NUM_COUNT);
    this.text = TEXT_NAMES.map(() => textColumn(rows));
  }

  /**
   * Make room for one more row (call before writing it), with at least `textBytes` free bytes in
   * every text column (then the row's text may be written without `reserveText`).
   */
  reserveRow(textBytes = 0): void {
    this.reserveRows(1, textBytes);
  }

  /** Make room for `rows` more rows, each with `textBytes` free bytes in every text column. */
  reserveRows(rows: number, textBytes = 0): void {
    const text = this.text;
    for (let k = 0; k < text.length; k++) {
      const t = text[k];
      if (t.end + rows * textBytes > t.bytes.length) this.reserveText(k, rows * textBytes);
    }
    if (this.length + rows > this.capacity) this.grow(this.length + rows);
  }

  private grow(minRows: number): void {
    let rows = Math.max(1, this.capacity * 2);
    while (rows < minRows) rows *= 2;
    const numbers = new Float64Array(rows * NUM_COUNT);
    numbers.set(this.numbers);
    this.numbers = numbers;
    for (const t of this.text) {
      const offsets = new Int32Array(rows + 1);
      offsets.set(t.offsets);
      t.offsets = offsets;
      const nulls = new Uint8Array(rows);
      nulls.set(t.nulls);
      t.nulls = nulls;
    }
    this.capacity = rows;
  }

  /** Make room for `extra` more bytes in a text column; returns the column. */
  reserveText(index: number, extra: number): TextColumn {
    const t = this.text[index];
    if (t.end + extra > t.bytes.length) {
      const bytes = new Uint8Array(Math.max(t.bytes.length * 2, t.end + extra));
      bytes.set(t.bytes.subarray(0, t.end));
      t.bytes = bytes;
    }
    return t;
  }

  /** Mark the current row of a text column null (nothing may have been appended to it). */
  putNull(index: number): void {
    const t = this.text[index];
    t.nulls[this.length] = 1;
    t.nullCount++;
  }

  /** Close the current row. */
  endRow(): void {
    const i = this.length++;
    for (let k = 0; k < this.text.length; k++) {
      const t = this.text[k];
      t.offsets[i + 1] = t.end;
    }
  }

  /** Forget every row, keeping the buffers. */
  clear(): void {
    this.length = 0;
    for (const t of this.text) {
      t.end = 0;
      t.nullCount = 0;
      t.nulls.fill(0);
    }
  }

  /** Text of one cell, or null (tests, row objects). */
  textAt(index: number, row: number): string | null {
    const t = this.text[index];
    if (t.nulls[row]) return null;
    return decoder.decode(t.bytes.subarray(t.offsets[row], t.offsets[row + 1]));
  }

  /** Row `i` as a flow row object (tests and small outputs; the hot paths use the columns). */
  row(i: number): Partial<FlowRow> {
    const row: Record<string, unknown> = {};
    for (const name of TEXT_NAMES) row[name] = this.textAt(TEXT[name], i);
    for (const name of NUM_NAMES) {
      const v = this.numbers[i * NUM_COUNT + NUM[name]];
      row[name] = Number.isNaN(v) ? null : v;
    }
    row.duration_s = (this.numbers[i * NUM_COUNT + NUM.ts_end] - this.numbers[i * NUM_COUNT + NUM.ts_start]) / 1e6;
    return row as Partial<FlowRow>;
  }

  /** Every row as flow row objects. */
  rows(): Partial<FlowRow>[] {
    const out: Partial<FlowRow>[] = new Array(this.length);
    for (let i = 0; i < this.length; i++) out[i] = this.row(i);
    return out;
  }

  /**
   * The rows as one flow-schema Arrow batch. The text arrays move into the batch (the text
   * columns start afresh with new buffers) and the numbers are copied into arrays of its own, so
   * the batch stays valid while the store writes it asynchronously.
   */
  toBatch(): RecordBatch<FlowArrow> {
    const n = this.length;
    const children = FLOW_SCHEMA.fields.map((field: Field) => {
      const name = field.name;
      if (name in TEXT) return this.textData(field.type as Utf8, TEXT[name as keyof typeof TEXT], n, field.nullable);
      if (name === 'duration_s') {
        const numbers = this.numbers;
        const out = new Float64Array(n);
        for (let i = 0, k = 0; i < n; i++, k += NUM_COUNT) out[i] = (numbers[k + NUM.ts_end] - numbers[k + NUM.ts_start]) / 1e6;
        return makeData({ type: field.type as Float64, length: n, nullCount: 0, data: out });
      }
      if (name in NUM) return this.numData(field.type, NUM[name as keyof typeof NUM], n, field.nullable, name);
      return nullData(field.type, n);
    });
    const batch = new RecordBatch(FLOW_SCHEMA, makeData({ type: new Struct(FLOW_SCHEMA.fields), length: n, nullCount: 0, children }));
    // The text bytes and offsets now belong to the batch; the numbers were copied out of theirs
    // (every row writes all its numbers, so the old ones need no clearing).
    const rows = Math.max(INITIAL_ROWS, this.capacity);
    this.text = TEXT_NAMES.map((_, k) => textColumn(Math.max(rows, Math.ceil(this.text[k].bytes.length / 24))));
    this.capacity = rows;
    if (this.numbers.length < rows * NUM_COUNT) this.numbers = new Float64Array(rows * NUM_COUNT);
    this.length = 0;
    return batch as RecordBatch<FlowArrow>;
  }

  private textData(type: Utf8, index: number, n: number, nullable: boolean) {
    const t = this.text[index];
    if (t.nullCount > 0 && !nullable) throw new Error(`column ${TEXT_NAMES[index]} must not hold null`);
    return makeData({ type, length: n, nullCount: t.nullCount, nullBitmap: t.nullCount ? validity(t.nulls, n) : undefined, valueOffsets: t.offsets.subarray(0, n + 1), data: t.bytes.subarray(0, t.end) });
  }

  /**
   * Numeric column k of the first n rows as Arrow data: read from the rows' numbers (value of row
   * i at i × NUM_COUNT + k), each column written once in its Arrow form.
   */
  private numData(type: DataType, k: number, n: number, nullable: boolean, name: string) {
    const values = this.numbers;
    const end = n * NUM_COUNT;
    let nullCount = 0;
    for (let j = k; j < end; j += NUM_COUNT) if (values[j] !== values[j]) nullCount++;
    if (nullCount > 0 && !nullable) throw new Error(`column ${name} must not hold null`);
    let bitmap: Uint8Array | undefined;
    if (nullCount > 0) {
      bitmap = new Uint8Array((n + 7) >> 3);
      for (let i = 0, j = k; i < n; i++, j += NUM_COUNT) if (values[j] === values[j]) bitmap[i >> 3] |= 1 << (i & 7);
    }
    if (DataType.isFloat(type)) {
      const out = new Float64Array(n);
      for (let i = 0, j = k; i < n; i++, j += NUM_COUNT) out[i] = values[j];
      return makeData({ type, length: n, nullCount, nullBitmap: bitmap, data: out });
    }
    if (DataType.isInt(type)) {
      const out = new Int32Array(n);
      for (let i = 0, j = k; i < n; i++, j += NUM_COUNT) out[i] = values[j] === values[j] ? values[j] : 0;
      return makeData({ type, length: n, nullCount, nullBitmap: bitmap, data: out });
    }
    // Timestamps: µs since the epoch as int64, written as two 32-bit halves (no BigInt per value).
    const out = new Int32Array(n * 2);
    for (let i = 0; i < n; i++) {
      const v = Math.round(values[i * NUM_COUNT + k]);
      if (v !== v) continue;
      if (v >= 0 && v <= Number.MAX_SAFE_INTEGER) {
        const high = Math.floor(v / 4294967296);
        out[2 * i] = v - high * 4294967296;
        out[2 * i + 1] = high;
      } else {
        const big = BigInt.asIntN(64, BigInt(v));
        out[2 * i] = Number(BigInt.asIntN(32, big));
        out[2 * i + 1] = Number(BigInt.asIntN(32, big >> 32n));
      }
    }
    return makeData({ type: type as TimestampMicrosecond, length: n, nullCount, nullBitmap: bitmap, data: new BigInt64Array(out.buffer) } as never);
  }

  /**
   * The rows as JSON lines (flow-schema field names, column order, null for absent values): the
   * same text as JSON.stringify of each row of the Arrow batch, plus '\n'. The text goes to
   * `write` in chunks of whole lines (about JSON_CHUNK bytes), each a view of one buffer reused by
   * the next chunk: valid only during the call (fresh buffers per chunk cost more in page faults
   * than a copy by a callee that must keep one).
   */
  jsonLines(write: (chunk: Uint8Array) => void): void {
    let out = jsonBuffer;
    let at = 0;
    const numbers = this.numbers;
    const text = this.text;
    for (let i = 0; i < this.length; i++) {
      // Room for the whole line: constant text, numbers, and text values escaped at worst.
      let need = JSON_LINE_FIXED;
      for (let k = 0; k < text.length; k++) need += 6 * (text[k].offsets[i + 1] - text[k].offsets[i]);
      if (at + need > out.length) {
        if (at > 0) write(out.subarray(0, at));
        at = 0;
        if (need > out.length) out = jsonBuffer = new Uint8Array(need);
      }
      for (let p = 0; p < JSON_PROGRAM.length; p++) {
        const part = JSON_PROGRAM[p];
        at = copy(out, at, part.prefix, 0, part.prefix.length);
        switch (part.kind) {
          case JsonKind.PlainText: {
            const t = text[part.index];
            if (t.nulls[i]) at = copy(out, at, JSON_NULL, 0, 4);
            else {
              const bytes = t.bytes;
              out[at++] = 0x22;
              for (let j = t.offsets[i], end = t.offsets[i + 1]; j < end; j++) out[at++] = bytes[j];
              out[at++] = 0x22;
            }
            break;
          }
          case JsonKind.Text: {
            const t = text[part.index];
            if (t.nulls[i]) at = copy(out, at, JSON_NULL, 0, 4);
            else at = writeJsonText(out, at, t.bytes, t.offsets[i], t.offsets[i + 1]);
            break;
          }
          case JsonKind.F64:
          case JsonKind.I32:
          case JsonKind.Ts: {
            const v = numbers[i * NUM_COUNT + part.index];
            if (v !== v) at = copy(out, at, JSON_NULL, 0, 4);
            // The values the Arrow batch holds: int32 wraps, timestamps are whole microseconds.
            else at = writeNumber(out, at, part.kind === JsonKind.I32 ? v | 0 : part.kind === JsonKind.Ts ? Math.round(v) : v);
            break;
          }
          case JsonKind.Duration:
            at = writeSeconds(out, at, numbers[i * NUM_COUNT + NUM.ts_end] - numbers[i * NUM_COUNT + NUM.ts_start]);
            break;
          default:
            break;
        }
      }
    }
    if (at > 0) write(out.subarray(0, at));
  }
}

/**
 * Copy bytes [start, end) of `src` to `out` at `at`; returns the new end. Short runs by hand
 * (set() costs more than it copies), a whole array of more than 16 bytes by set() (no subarray:
 * that would be an object per call).
 */
function copy(out: Uint8Array, at: number, src: Uint8Array, start: number, end: number): number {
  if (end - start > 16 && start === 0 && end === src.length) {
    out.set(src, at);
    return at + end;
  }
  if (end - start > 64) {
    out.set(src.subarray(start, end), at);
    return at + end - start;
  }
  for (let j = start; j < end; j++) out[at++] = src[j];
  return at;
}

/** A quoted JSON string of UTF-8 bytes: quotes and backslashes escaped; control characters through JSON.stringify. */
function writeJsonText(out: Uint8Array, at: number, bytes: Uint8Array, start: number, end: number): number {
  const begin = at;
  out[at++] = 0x22;
  for (let j = start; j < end; j++) {
    const c = bytes[j];
    if (c === 0x22 || c === 0x5c) {
      out[at++] = 0x5c;
      out[at++] = c;
    } else if (c < 0x20) {
      // Rare (a site or sensor name with a control character): JSON.stringify's escapes.
      return begin + encoder.encodeInto(JSON.stringify(decoder.decode(bytes.subarray(start, end))), out.subarray(begin)).written;
    } else out[at++] = c;
  }
  out[at++] = 0x22;
  return at;
}

/** Arrow validity bitmap (1 = valid) of a null-flag array. */
function validity(nulls: Uint8Array, n: number): Uint8Array {
  const bitmap = new Uint8Array((n + 7) >> 3);
  for (let i = 0; i < n; i++) if (!nulls[i]) bitmap[i >> 3] |= 1 << (i & 7);
  return bitmap;
}

/** An all-null column of `n` rows. */
function nullData(type: DataType, n: number) {
  const nullBitmap = new Uint8Array((n + 7) >> 3);
  if (DataType.isUtf8(type)) return makeData({ type, length: n, nullCount: n, nullBitmap, valueOffsets: new Int32Array(n + 1), data: new Uint8Array(0) });
  if (DataType.isBool(type)) return makeData({ type, length: n, nullCount: n, nullBitmap, data: new Uint8Array((n + 7) >> 3) });
  if (DataType.isFloat(type)) return makeData({ type, length: n, nullCount: n, nullBitmap, data: new Float64Array(n) });
  if (DataType.isInt(type)) return makeData({ type, length: n, nullCount: n, nullBitmap, data: new Int32Array(n) });
  return makeData({ type: type as TimestampMicrosecond, length: n, nullCount: n, nullBitmap, data: new BigInt64Array(n) } as never);
}
