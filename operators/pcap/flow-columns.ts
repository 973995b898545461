/**
 * Flow rows accumulated straight into Arrow-shaped column storage: numbers in typed arrays, one
 * validity byte per row, text as UTF-8 bytes written as rows are set (addresses and ids with no
 * string on the way). No row object, no per-value array growth, and a null costs nothing (a
 * validity byte left at 0). Every nullable column the flow writer does not set by name takes its
 * value from the L7 facts of the same name, so a column added to the flow schema for a new
 * dissector is filled without touching this file.
 */
import { Data, RecordBatch, Struct, type DataType } from 'apache-arrow';
import type { ColumnKind } from '../../pipeline/columns.ts';
import { writeAddressText } from '../../pipeline/flow-id.ts';
import { FLOW_COLUMNS, FLOW_SCHEMA, type FlowArrow, type FlowColumn } from '../../pipeline/flow-schema.ts';
import type { EndReason, Flow } from './flow-assembler.ts';
import { literalMaker } from './fact-columns.ts';
import { FlowIdentities } from './flow-identity.ts';
import { writeFlowRecord } from './flow-record.ts';

const FIRST_CAPACITY = 64;
const FIRST_TEXT_BYTES = 4096;
/** Strings at most this long are written character by character (longer ones natively). */
const SHORT_TEXT = 48;
/** Texts of this many characters or more are copied from the last row when they repeat (see ColumnStore.lastStr); shorter ones are as cheap to write again. */
const REPEAT_MIN = 12;
const EMPTY_F64 = new Float64Array(0);
const EMPTY_I32 = new Int32Array(0);
const EMPTY_U8 = new Uint8Array(0);
const HEX = Uint8Array.from('0123456789abcdef', (c) => c.charCodeAt(0));
const UTF8 = new TextEncoder();

/**
 * Where the number columns of the batch being gathered take their arrays: carved from one buffer
 * per batch, sized by what the previous batch took, instead of one allocation per column per
 * batch (about sixty typed arrays, each a backing store for the collector to track). The batch
 * keeps the buffer with its arrays; the next batch carves from a new one. Fresh memory only (zeroed
 * like a new typed array): nothing carved is ever handed out twice.
 */
export class NumberArena {
  private buffer = new ArrayBuffer(0);
  private used = 0;
  /** Bytes carved for the batch being gathered. */
  private taken = 0;
  /** Bytes the last batch took. */
  private last = 0;

  f64(n: number): Float64Array<ArrayBuffer> {
    const at = this.carve(8 * n);
    return new Float64Array(this.buffer, at, n);
  }

  i32(n: number): Int32Array<ArrayBuffer> {
    const at = this.carve(4 * n);
    return new Int32Array(this.buffer, at, n);
  }

  private carve(bytes: number): number {
    const size = (bytes + 7) & ~7;
    if (this.used + size > this.buffer.byteLength) {
      this.buffer = new ArrayBuffer(Math.max(size, this.last - this.taken, 16 * 1024));
      this.used = 0;
    }
    const at = this.used;
    this.used += size;
    this.taken += size;
    return at;
  }

  /** The batch was cut: what was carved is its own, and the next batch carves from a new buffer. */
  cut(): void {
    this.last = this.taken;
    this.taken = 0;
    this.buffer = new ArrayBuffer(0);
    this.used = 0;
  }
}

/**
 * Storage of one column. Arrays are allocated when the column is first set (most fact columns of
 * most batches never are) and grow by doubling; a cut batch keeps them and the next starts afresh
 * at the size the column reached. Text rows are set in row order: each row's bytes follow the
 * previous row's.
 */
export class ColumnStore {
  readonly name: string;
  readonly kind: ColumnKind;
  readonly nullable: boolean;
  /** f64 and ts values (ts as whole microseconds). */
  num = EMPTY_F64;
  /** i32 values, and bool as 0/1. */
  int = EMPTY_I32;
  /** utf8: the rows' bytes (kept from batch to batch; a batch gets a copy of its part). */
  text: Buffer = Buffer.alloc(0);
  /** utf8: bytes used. */
  textEnd = 0;
  /** utf8: where each row's bytes end, up to the last row set (a null row: where the row before it ended); the batch's offsets. */
  ends = EMPTY_I32;
  /** 1 where the row holds a value; rows at or past its length are null. */
  valid = EMPTY_U8;
  /** Rows to allocate for at the first value. */
  private start = FIRST_CAPACITY;
  /** utf8: the last row set (rows are set in order). */
  private lastText = -1;
  /**
   * utf8: the last text of REPEAT_MIN characters or more set with `setStr` in this batch, and where
   * its bytes lie in `text` (fingerprints, server names, user agents: the same text often comes again
   * in the next flow, and copying its bytes costs less than writing it character by character).
   */
  private lastStr: string | null = null;
  private lastStrAt = 0;
  private lastStrEnd = 0;
  /** utf8: rows 0 .. sameRows - 1 all hold `sameText`, not yet written as bytes (see `setSame`). */
  private sameText = '';
  private sameRows = 0;

  /** The Arrow type (the flow schema's own object: batches share it). */
  private readonly type: DataType;

  /** Where number arrays come from. */
  private readonly arena: NumberArena;

  constructor(name: string, kind: ColumnKind, nullable: boolean, type: DataType, arena = new NumberArena()) {
    this.name = name;
    this.kind = kind;
    this.nullable = nullable;
    this.type = type;
    this.arena = arena;
  }

  /** Room for row `i`. */
  ensure(i: number): void {
    let capacity = Math.max(this.start, this.valid.length);
    while (capacity <= i) capacity *= 2;
    if (this.valid.length < capacity) {
      const valid = new Uint8Array(capacity);
      valid.set(this.valid);
      this.valid = valid;
    }
    if (this.kind === 'f64' || this.kind === 'ts') {
      const num = this.arena.f64(capacity);
      num.set(this.num);
      this.num = num;
    } else if (this.kind === 'i32' || this.kind === 'bool') {
      const int = this.arena.i32(capacity);
      int.set(this.int);
      this.int = int;
    } else if (this.ends.length < capacity) {
      const ends = new Int32Array(capacity);
      ends.set(this.ends);
      this.ends = ends;
    }
  }

  /** Hand the values to a batch (the next ones go to new arrays) and clear the validity bytes of its `length` rows. */
  detach(length: number): void {
    if (this.valid.length > 0) this.start = this.valid.length;
    this.num = EMPTY_F64;
    this.int = EMPTY_I32;
    this.valid.fill(0, 0, length);
    this.textEnd = 0;
    this.lastText = -1;
    this.lastStr = null;
    this.sameText = '';
    this.sameRows = 0;
  }

  /** Whether a row of the batch being gathered was set. */
  private get touched(): boolean {
    return this.kind === 'utf8' ? this.lastText >= 0 || this.sameRows > 0 : this.kind === 'f64' || this.kind === 'ts' ? this.num.length > 0 : this.int.length > 0;
  }

  /** f64 or ts value of row `i`. */
  setNum(i: number, v: number): void {
    if (i >= this.num.length) this.ensure(i);
    this.num[i] = v;
    this.valid[i] = 1;
  }

  /**
   * `setNum` of a row opened by `FlowColumns.row()`, which made room for it in every number
   * column: no room check, so the flow writer's calls are small enough for V8 to inline them
   * all (with the check, about half were calls, each boxing its number).
   */
  putNum(i: number, v: number): void {
    this.num[i] = v;
    this.valid[i] = 1;
  }

  /** `setInt` of a row opened by `FlowColumns.row()` (see `putNum`). */
  putInt(i: number, v: number): void {
    this.int[i] = v;
    this.valid[i] = 1;
  }

  /** Whether this is a number column (f64, ts, i32 or bool). */
  get numeric(): boolean {
    return this.kind !== 'utf8';
  }

  /** Rows this column has room for. */
  get room(): number {
    return this.kind === 'f64' || this.kind === 'ts' ? this.num.length : this.kind === 'utf8' ? this.ends.length : this.int.length;
  }

  /** i32 value of row `i`. */
  setInt(i: number, v: number): void {
    if (i >= this.int.length) this.ensure(i);
    this.int[i] = v;
    this.valid[i] = 1;
  }

  /**
   * Make row `i` a text of at most `n` bytes; returns where in `text` to write it. Close it with
   * `endText(i, end)` before another row of this column is set.
   */
  beginText(i: number, n: number): number {
    if (this.sameRows > 0) this.writeSame();
    if (i <= this.lastText) throw new Error(`column ${this.name}: row ${i} set after row ${this.lastText}`);
    if (i >= this.valid.length) this.ensure(i);
    const at = this.textEnd;
    if (at + n > this.text.length) {
      const text = Buffer.allocUnsafeSlow(Math.max(FIRST_TEXT_BYTES, 2 * this.text.length, at + n));
      this.text.copy(text, 0, 0, at);
      this.text = text;
    }
    return at;
  }

  /** Row `i`, begun by `beginText`, ends at byte `end`. */
  endText(i: number, end: number): void {
    // Rows left null since the last one set end where it ended: `ends` is the offsets column as it goes.
    for (let r = this.lastText + 1; r < i; r++) this.ends[r] = this.textEnd;
    this.ends[i] = end;
    this.textEnd = end;
    this.valid[i] = 1;
    this.lastText = i;
  }

  /** Text of row `i`; null leaves it null. */
  setStr(i: number, v: string | null): void {
    if (v === null) return;
    const n = v.length;
    if (v === this.lastStr) {
      // The text of the last row set with setStr again: its bytes copied (a fact repeats from flow to flow).
      const bytes = this.lastStrEnd - this.lastStrAt;
      const at = this.beginText(i, bytes);
      this.text.copyWithin(at, this.lastStrAt, this.lastStrEnd);
      this.endText(i, at + bytes);
      return;
    }
    const start = this.beginText(i, 3 * n);
    let at = start;
    const text = this.text;
    if (n <= SHORT_TEXT) {
      for (let k = 0; k < n; k++) {
        const c = v.charCodeAt(k);
        if (c >= 0x80) {
          at = start + text.write(v, start, 'utf8');
          break;
        }
        text[at++] = c;
      }
    } else at += text.write(v, at, 'utf8');
    this.endText(i, at);
    if (n >= REPEAT_MIN) {
      this.lastStr = v;
      this.lastStrAt = start;
      this.lastStrEnd = at;
    }
  }

  /**
   * Text of row `i` that is the same on every row of a batch as a rule (site, sensor, source):
   * while every row from the first holds the same text, a row costs a count, and the text is
   * written out once per batch (`writeSame`, at the cut). A row with other text, or after rows
   * left null, writes the run out and is set as by `setStr`.
   */
  setSame(i: number, v: string): void {
    if (i === this.sameRows && this.lastText < 0 && (i === 0 || v === this.sameText)) {
      this.sameText = v;
      this.sameRows = i + 1;
      return;
    }
    this.writeSame();
    this.setStr(i, v);
  }

  /** Write the rows `setSame` holds as text rows: the bytes once, then copied to fill the run. */
  writeSame(): void {
    const n = this.sameRows;
    if (n === 0) return;
    this.sameRows = 0;
    const bytes = UTF8.encode(this.sameText);
    const len = bytes.length;
    const total = len * n;
    this.beginText(n - 1, total);
    const text = this.text;
    if (len > 0) {
      text.set(bytes, 0);
      for (let have = len; have < total; have *= 2) text.copyWithin(have, 0, Math.min(have, total - have));
    }
    const ends = this.ends;
    for (let r = 0, end = len; r < n; r++, end += len) ends[r] = end;
    this.valid.fill(1, 0, n);
    this.textEnd = total;
    this.lastText = n - 1;
  }

  /** Dotted IPv4 or RFC 5952 IPv6 text of the `length` (4 or 16) address bytes `a`. */
  setAddress(i: number, a: ArrayLike<number>, length: number): void {
    const at = this.beginText(i, 45);
    this.endText(i, writeAddressText(this.text, at, a, 0, length));
  }

  /** `aa:bb:cc:dd:ee:ff` of a 48-bit MAC number. */
  setMac(i: number, mac: number): void {
    let at = this.beginText(i, 17);
    const text = this.text;
    for (let k = 5; k >= 0; k--) {
      const b = Math.floor(mac / 2 ** (8 * k)) & 0xff;
      if (k < 5) text[at++] = 58;
      text[at++] = HEX[b >> 4];
      text[at++] = HEX[b & 15];
    }
    this.endText(i, at);
  }

  /** Boolean of row `i`. */
  setBool(i: number, v: boolean): void {
    if (i >= this.int.length) this.ensure(i);
    this.int[i] = v ? 1 : 0;
    this.valid[i] = 1;
  }

  /** Set row `i` from any fact value (the generic path for L7 facts). */
  setAny(i: number, v: unknown): void {
    if (v === null || v === undefined) return;
    switch (this.kind) {
      case 'utf8':
        this.setStr(i, String(v));
        break;
      case 'bool':
        this.setBool(i, Boolean(v));
        break;
      case 'i32':
        this.setInt(i, v as number);
        break;
      default:
        this.setNum(i, v as number);
    }
  }

  /**
   * Arrow data of the first `length` rows, its bitmap and copied values at `at` of `arena` (the
   * batch's buffer, `arenaBytes(length)` of it). A column no row set takes its buffers from the
   * zeros at the start of `arena` (shared by the batch's all-null columns, read-only: a validity
   * bitmap and values or offsets of `length` rows).
   */
  data(length: number, arena: ArrayBuffer, at: number): Data {
    const type = this.type;
    if (!this.touched) return this.nulls(length, arena);
    if (this.valid.length < length || (this.kind !== 'utf8' && Math.max(this.num.length, this.int.length) < length)) this.ensure(length - 1);
    const valid = this.valid;
    const bitmapBytes = (length + 7) >> 3;
    // The validity bitmap and the null count in one pass, eight rows a byte.
    const bitmap = new Uint8Array(arena, at, bitmapBytes);
    at += align8(bitmapBytes);
    let set = 0;
    const whole = length >> 3;
    for (let byte = 0; byte < whole; byte++) {
      const i = byte << 3;
      const bits = valid[i] | (valid[i + 1] << 1) | (valid[i + 2] << 2) | (valid[i + 3] << 3) | (valid[i + 4] << 4) | (valid[i + 5] << 5) | (valid[i + 6] << 6) | (valid[i + 7] << 7);
      bitmap[byte] = bits;
      set += POPCOUNT[bits];
    }
    if (whole < bitmapBytes) {
      let bits = 0;
      for (let i = whole << 3, b = 0; i < length; b++, i++) bits |= valid[i] << b;
      bitmap[whole] = bits;
      set += POPCOUNT[bits];
    }
    // A number column has room from the batch's first row on: no row set is the all-null column.
    if (set === 0 && this.kind !== 'utf8') return this.nulls(length, arena);
    const nullCount = length - set;
    if (nullCount > 0 && !this.nullable) throw new Error(`column ${this.name} must not hold null (row ${valid.indexOf(0)})`);
    const nullBitmap = nullCount > 0 ? bitmap : undefined;
    switch (this.kind) {
      case 'f64':
        return columnData(type, length, nullCount, nullBitmap, this.num.subarray(0, length));
      case 'i32':
        return columnData(type, length, nullCount, nullBitmap, this.int.subarray(0, length));
      case 'ts': {
        // Whole microseconds below 2^53 as 64-bit integers, written as two 32-bit halves.
        const words = new Int32Array(arena, at, length * 2);
        for (let i = 0; i < length; i++) {
          if (valid[i] === 0) continue;
          const v = Math.round(this.num[i]);
          const high = Math.floor(v / 4294967296);
          words[2 * i] = v - high * 4294967296;
          words[2 * i + 1] = high;
        }
        return columnData(type, length, nullCount, nullBitmap, new BigInt64Array(arena, at, length));
      }
      case 'bool': {
        const bits = new Uint8Array(arena, at, bitmapBytes);
        for (let i = 0; i < length; i++) if (valid[i] !== 0 && this.int[i] !== 0) bits[i >> 3] |= 1 << (i & 7);
        return columnData(type, length, nullCount, nullBitmap, bits);
      }
      case 'utf8': {
        const offsets = new Int32Array(arena, at, length + 1);
        const ends = this.ends;
        const end = this.textEnd;
        for (let r = this.lastText + 1; r < length; r++) ends[r] = end;
        offsets.set(ends.subarray(0, length), 1);
        const bytes = new Uint8Array(arena, at + align8(4 * (length + 1)), end);
        bytes.set(this.text.subarray(0, end));
        return columnData(type, length, nullCount, nullBitmap, bytes, offsets);
      }
    }
  }

  /**
   * Bytes `data(length, …)` takes of the batch's arena (zeroed, 8-byte aligned parts): the
   * validity bitmap, and the copies a batch gets (timestamps as 64-bit words, boolean bits, text
   * offsets and bytes); 0 for a column no row set. Numbers go to the batch in their own arrays.
   */
  arenaBytes(length: number): number {
    if (!this.touched) return 0;
    const bitmap = align8((length + 7) >> 3);
    switch (this.kind) {
      case 'ts':
        return bitmap + 8 * length;
      case 'bool':
        return 2 * bitmap;
      case 'utf8':
        return bitmap + align8(4 * (length + 1)) + align8(this.textEnd);
      default:
        return bitmap;
    }
  }

  /** A column no row of the batch set: all null, over the shared zeros. */
  private nulls(length: number, zeros: ArrayBuffer): Data {
    if (!this.nullable && length > 0) throw new Error(`column ${this.name} must not hold null (row 0)`);
    const bitmapBytes = (length + 7) >> 3;
    const bitmap = length > 0 ? new Uint8Array(zeros, 0, bitmapBytes) : undefined;
    const at = zeroValuesAt(length);
    switch (this.kind) {
      case 'f64':
        return columnData(this.type, length, length, bitmap, new Float64Array(zeros, at, length));
      case 'i32':
        return columnData(this.type, length, length, bitmap, new Int32Array(zeros, at, length));
      case 'ts':
        return columnData(this.type, length, length, bitmap, new BigInt64Array(zeros, at, length));
      case 'bool':
        return columnData(this.type, length, length, bitmap, new Uint8Array(zeros, at, bitmapBytes));
      case 'utf8':
        return columnData(this.type, length, length, bitmap, EMPTY_U8, new Int32Array(zeros, at, length + 1));
    }
  }
}

/** `n` rounded up to a multiple of 8. */
const align8 = (n: number) => (n + 7) & ~7;

/** Where the values part of a batch's shared zeros starts (after the bitmap, 8-byte aligned). */
const zeroValuesAt = (length: number) => align8((length + 7) >> 3);

/** Set bits of each byte value. */
const POPCOUNT = Uint8Array.from({ length: 256 }, (_, v) => {
  let n = 0;
  for (let x = v; x > 0; x >>= 1) n += x & 1;
  return n;
});

/**
 * Arrow data of one column from buffers already of the column type's array kind: what `makeData`
 * builds (an absent validity bitmap becomes an empty one), without its per-buffer conversions.
 */
export function columnData(type: DataType, length: number, nullCount: number, nullBitmap: Uint8Array | undefined, values: ArrayBufferView, valueOffsets?: Int32Array): Data {
  return new Data(type, 0, length, nullCount, [valueOffsets, values, nullBitmap ?? EMPTY_U8] as never);
}

/** The columns-by-name object of a builder (one hidden class for all builders). */
const makeColumns = literalMaker<{ readonly [K in FlowColumn]: ColumnStore }>(FLOW_COLUMNS.map((c) => c.name));

/** Accumulates complete flow rows and cuts flow-schema record batches. */
export class FlowColumns {
  /** Append the row of an assembled flow ended for `reason`. */
  appendFlow(flow: Flow, reason: EndReason, site: string, sensor: string): void {
    writeFlowRecord(this, flow, reason, site, sensor);
  }

  /** Columns by name, for the flow writer. */
  readonly col: { readonly [K in FlowColumn]: ColumnStore };
  /** The Community IDs and flow ids of the held rows, hashed when the batch is cut. */
  readonly ids = new FlowIdentities();
  private readonly all: ColumnStore[];
  /** The number arrays of the batch being gathered, all columns' from one buffer. */
  private readonly arena = new NumberArena();
  private n = 0;

  constructor() {
    this.all = FLOW_COLUMNS.map((c, i) => new ColumnStore(c.name, c.kind, c.nullable, FLOW_SCHEMA.fields[i].type, this.arena));
    this.col = makeColumns(this.all);
    this.numbers = this.all.filter((c) => c.numeric);
  }

  /** Rows held. */
  get size(): number {
    return this.n;
  }

  /** Index of a new row (all null until set); `commit()` makes it count. */
  row(): number {
    const n = this.n;
    if (n >= this.capacity) this.makeRoom(n);
    return n;
  }

  /** Rows every number column has room for (set by `row()`; 0 after a cut). */
  private capacity = 0;
  /** The number columns. */
  private readonly numbers: ColumnStore[];

  /** Room for row `n` in every number column (so the writer's `putNum`/`putInt` need no check). */
  private makeRoom(n: number): void {
    let capacity = Infinity;
    for (const c of this.numbers) {
      if (c.room <= n) c.ensure(n);
      capacity = Math.min(capacity, c.room);
    }
    this.capacity = capacity;
  }

  /** The row opened by `row()` is complete. */
  commit(): void {
    this.n++;
  }

  /** The held rows as one batch; the builder starts afresh. */
  build(): RecordBatch<FlowArrow> {
    const length = this.n;
    this.ids.finish(this.col.community_id.text, this.col.flow_id.text);
    for (let k = 0; k < this.all.length; k++) this.all[k].writeSame();
    // One buffer per batch: the zeros the all-null columns share (read-only), then the bitmaps
    // and copied values of every column set.
    const all = this.all;
    const zeroBytes = zeroValuesAt(length) + 8 * (length + 1);
    let size = zeroBytes;
    for (let k = 0; k < all.length; k++) size += all[k].arenaBytes(length);
    const arena = new ArrayBuffer(size);
    const children = new Array<Data>(all.length);
    for (let k = 0, at = zeroBytes; k < all.length; k++) {
      children[k] = all[k].data(length, arena, at);
      at += all[k].arenaBytes(length);
    }
    const struct = new Data(new Struct(FLOW_SCHEMA.fields), 0, length, 0, [undefined, undefined, EMPTY_U8], children);
    // The value arrays now belong to the batch: the next one gets fresh ones.
    for (const c of this.all) c.detach(length);
    this.arena.cut();
    this.capacity = 0;
    this.n = 0;
    return new RecordBatch(FLOW_SCHEMA, struct) as RecordBatch<FlowArrow>;
  }
}
