/**
 * Flow rows accumulated straight into Arrow-shaped column storage: numbers in typed arrays, one
 * validity byte per row, text in string arrays encoded once per column when the batch is cut. No
 * row object, no per-value array growth, and a null costs nothing (a validity byte left at 0).
 * Every nullable column the flow writer does not set by name takes its value from the L7 facts
 * of the same name, so a column added to the flow schema for a new dissector is filled without
 * touching this file.
 */
import { Data, RecordBatch, Struct, type DataType } from 'apache-arrow';
import type { ColumnKind } from '../../pipeline/columns.ts';
import { FLOW_COLUMNS, FLOW_SCHEMA, type FlowArrow, type FlowColumn } from '../../pipeline/flow-schema.ts';
import type { EndReason, Flow } from './flow-assembler.ts';
import { writeFlowRecord } from './flow-record.ts';

const FIRST_CAPACITY = 64;
const EMPTY_F64 = new Float64Array(0);
const EMPTY_I32 = new Int32Array(0);
const EMPTY_U8 = new Uint8Array(0);

/**
 * Storage of one column. Arrays are allocated when the column is first set (most fact columns of
 * most batches never are) and grow by doubling; a cut batch keeps them and the next starts afresh
 * at the size the column reached.
 */
export class ColumnStore {
  readonly name: string;
  readonly kind: ColumnKind;
  readonly nullable: boolean;
  /** f64 and ts values (ts as whole microseconds). */
  num = EMPTY_F64;
  /** i32 values, and bool as 0/1. */
  int = EMPTY_I32;
  str: (string | null)[] = [];
  /** 1 where the row holds a value; rows at or past its length are null. */
  valid = EMPTY_U8;
  /** Rows to allocate for at the first value. */
  private start = FIRST_CAPACITY;

  /** The Arrow type (the flow schema's own object: batches share it). */
  private readonly type: DataType;

  constructor(name: string, kind: ColumnKind, nullable: boolean, type: DataType) {
    this.name = name;
    this.kind = kind;
    this.nullable = nullable;
    this.type = type;
  }

  /** Room for row `i`. */
  private ensure(i: number): void {
    let capacity = Math.max(this.start, this.valid.length);
    while (capacity <= i) capacity *= 2;
    const valid = new Uint8Array(capacity);
    valid.set(this.valid);
    this.valid = valid;
    if (this.kind === 'f64' || this.kind === 'ts') {
      const num = new Float64Array(capacity);
      num.set(this.num);
      this.num = num;
    } else if (this.kind === 'i32' || this.kind === 'bool') {
      const int = new Int32Array(capacity);
      int.set(this.int);
      this.int = int;
    }
  }

  /** Hand the storage to a batch: the next values go to new arrays. */
  detach(): void {
    if (this.valid.length > 0) this.start = this.valid.length;
    this.num = EMPTY_F64;
    this.int = EMPTY_I32;
    this.str = [];
    this.valid = EMPTY_U8;
  }

  /** f64 or ts value of row `i`. */
  setNum(i: number, v: number): void {
    if (i >= this.valid.length) this.ensure(i);
    this.num[i] = v;
    this.valid[i] = 1;
  }

  /** i32 value of row `i`. */
  setInt(i: number, v: number): void {
    if (i >= this.valid.length) this.ensure(i);
    this.int[i] = v;
    this.valid[i] = 1;
  }

  /** Text of row `i`; null leaves it null. */
  setStr(i: number, v: string | null): void {
    if (v === null) return;
    if (i >= this.valid.length) this.ensure(i);
    this.str[i] = v;
    this.valid[i] = 1;
  }

  /** Boolean of row `i`. */
  setBool(i: number, v: boolean): void {
    if (i >= this.valid.length) this.ensure(i);
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

  /** Arrow data of the first `length` rows. */
  data(length: number): Data {
    const type = this.type;
    if (this.valid.length < length) this.ensure(length - 1);
    const valid = this.valid;
    let nullCount = 0;
    for (let i = 0; i < length; i++) nullCount += 1 - valid[i];
    if (nullCount > 0 && !this.nullable) throw new Error(`column ${this.name} must not hold null (row ${valid.indexOf(0)})`);
    let nullBitmap: Uint8Array | undefined;
    if (nullCount > 0) {
      nullBitmap = new Uint8Array((length + 7) >> 3).fill(0xff);
      for (let i = 0; i < length; i++) if (valid[i] === 0) nullBitmap[i >> 3] &= ~(1 << (i & 7));
    }
    switch (this.kind) {
      case 'f64':
        return columnData(type, length, nullCount, nullBitmap, this.num.subarray(0, length));
      case 'i32':
        return columnData(type, length, nullCount, nullBitmap, this.int.subarray(0, length));
      case 'ts': {
        // Whole microseconds below 2^53 as 64-bit integers, written as two 32-bit halves.
        const words = new Int32Array(length * 2);
        for (let i = 0; i < length; i++) {
          if (valid[i] === 0) continue;
          const v = Math.round(this.num[i]);
          const high = Math.floor(v / 4294967296);
          words[2 * i] = v - high * 4294967296;
          words[2 * i + 1] = high;
        }
        return columnData(type, length, nullCount, nullBitmap, new BigInt64Array(words.buffer));
      }
      case 'bool': {
        const bits = new Uint8Array((length + 7) >> 3);
        for (let i = 0; i < length; i++) if (valid[i] !== 0 && this.int[i] !== 0) bits[i >> 3] |= 1 << (i & 7);
        return columnData(type, length, nullCount, nullBitmap, bits);
      }
      case 'utf8':
        return utf8Data(type, this.str, valid, length, nullCount, nullBitmap);
    }
  }
}

/**
 * Arrow data of one column from buffers already of the column type's array kind: what `makeData`
 * builds (an absent validity bitmap becomes an empty one), without its per-buffer conversions.
 */
export function columnData(type: DataType, length: number, nullCount: number, nullBitmap: Uint8Array | undefined, values: ArrayBufferView, valueOffsets?: Int32Array): Data {
  return new Data(type, 0, length, nullCount, [valueOffsets, values, nullBitmap ?? new Uint8Array(0)] as never);
}

/**
 * A Utf8 column: the column's strings are joined and encoded in one call; when the bytes are as
 * many as the characters (ASCII, nearly always) the offsets are the string lengths, otherwise
 * each value's UTF-8 length is measured.
 */
function utf8Data(type: DataType, str: (string | null)[], valid: Uint8Array, length: number, nullCount: number, nullBitmap: Uint8Array | undefined): Data {
  const offsets = new Int32Array(length + 1);
  if (nullCount === length) return columnData(type, length, nullCount, nullBitmap, new Uint8Array(0), offsets);
  let joined = '';
  for (let i = 0; i < length; i++) if (valid[i] !== 0) joined += str[i] as string;
  const bytes = Buffer.from(joined, 'utf8');
  const ascii = bytes.length === joined.length;
  let total = 0;
  for (let i = 0; i < length; i++) {
    if (valid[i] !== 0) {
      const s = str[i] as string;
      total += ascii ? s.length : Buffer.byteLength(s, 'utf8');
    }
    offsets[i + 1] = total;
  }
  const data = new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length);
  return columnData(type, length, nullCount, nullBitmap, data, offsets);
}

/** Accumulates complete flow rows and cuts flow-schema record batches. */
export class FlowColumns {
  /** Append the row of an assembled flow ended for `reason`. */
  appendFlow(flow: Flow, reason: EndReason, site: string, sensor: string): void {
    writeFlowRecord(this, flow, reason, site, sensor);
  }

  /** Columns by name, for the flow writer. */
  readonly col: { readonly [K in FlowColumn]: ColumnStore };
  private readonly all: ColumnStore[];
  private n = 0;

  constructor() {
    this.all = FLOW_COLUMNS.map((c, i) => new ColumnStore(c.name, c.kind, c.nullable, FLOW_SCHEMA.fields[i].type));
    const byName: Record<string, ColumnStore> = {};
    for (const c of this.all) byName[c.name] = c;
    this.col = byName as { [K in FlowColumn]: ColumnStore };
  }

  /** Rows held. */
  get size(): number {
    return this.n;
  }

  /** Index of a new row (all null until set); `commit()` makes it count. */
  row(): number {
    return this.n;
  }

  /** The row opened by `row()` is complete. */
  commit(): void {
    this.n++;
  }

  /**
   * Set the columns of row `i` named by the keys of `facts` that are in `columns` (the fact
   * columns); other keys are left out.
   */
  facts(i: number, facts: Readonly<Record<string, unknown>>, columns: ReadonlySet<string>): void {
    for (const name in facts) {
      if (!columns.has(name)) continue;
      (this.col as Record<string, ColumnStore>)[name].setAny(i, facts[name]);
    }
  }

  /** The held rows as one batch; the builder starts afresh. */
  build(): RecordBatch<FlowArrow> {
    const length = this.n;
    const children = this.all.map((c) => c.data(length));
    const struct = new Data(new Struct(FLOW_SCHEMA.fields), 0, length, 0, [undefined, undefined, new Uint8Array(0)], children);
    // The typed arrays now belong to the batch: the next one gets fresh storage.
    for (const c of this.all) c.detach();
    this.n = 0;
    return new RecordBatch(FLOW_SCHEMA, struct) as RecordBatch<FlowArrow>;
  }
}
