/**
 * Column specs: one declaration per table drives its Arrow schema, its TypeScript row type, its
 * DuckDB DDL and its documentation. Every table HEIR stores (flows, detections, findings, …) is
 * declared with these, so the store never guesses a type.
 */
import {
  Bool,
  Field,
  Float64,
  Int32,
  RecordBatch,
  Schema,
  Struct,
  TimestampMicrosecond,
  Utf8,
  makeData,
  type DataType,
} from 'apache-arrow';

/** The kinds of value a column holds. `ts` is a UTC timestamp with microsecond precision. */
export type ColumnKind = 'utf8' | 'f64' | 'i32' | 'bool' | 'ts';

/** One column: name, kind, whether it may be null, and its documentation. */
export interface ColumnSpec {
  readonly name: string;
  readonly kind: ColumnKind;
  readonly nullable: boolean;
  readonly doc: string;
}

/** TypeScript value per kind. Timestamps are epoch microseconds as a number (exact until year 2255). */
export interface KindValue {
  utf8: string;
  f64: number;
  i32: number;
  bool: boolean;
  ts: number;
}

/** Arrow type per kind. */
export interface KindArrow {
  utf8: Utf8;
  f64: Float64;
  i32: Int32;
  bool: Bool;
  ts: TimestampMicrosecond;
}

/** The row type of a table declared as a const array of specs. */
export type RowOf<S extends readonly ColumnSpec[]> = {
  [C in S[number] as C['name']]: C['nullable'] extends true ? KindValue[C['kind']] | null : KindValue[C['kind']];
};

/** The Arrow type map of a table (for `RecordBatch<T>`). */
export type ArrowOf<S extends readonly ColumnSpec[]> = {
  [C in S[number] as C['name']]: KindArrow[C['kind']];
};

/** DuckDB column type per kind. */
export const DUCK_TYPE: Readonly<Record<ColumnKind, string>> = {
  utf8: 'VARCHAR',
  f64: 'DOUBLE',
  i32: 'INTEGER',
  bool: 'BOOLEAN',
  ts: 'TIMESTAMPTZ',
};

/** A fresh Arrow data type for a kind. */
export function arrowType(kind: ColumnKind): DataType {
  switch (kind) {
    case 'utf8':
      return new Utf8();
    case 'f64':
      return new Float64();
    case 'i32':
      return new Int32();
    case 'bool':
      return new Bool();
    case 'ts':
      return new TimestampMicrosecond('UTC');
  }
}

/** The Arrow schema of a table, with its name and version in the schema metadata. */
export function arrowSchema(table: string, version: number, specs: readonly ColumnSpec[]): Schema {
  const fields = specs.map((c) => new Field(c.name, arrowType(c.kind), c.nullable));
  return new Schema(fields, new Map([['heir.table', table], ['heir.version', String(version)]]));
}

/** Field metadata naming the family of a sparse column: the store keeps such columns apart (pipeline/store.ts). */
export const SPARSE_METADATA = 'heir.sparse';

/** The schema with `heir.sparse` set on each field that `familyOf` gives a family. */
export function withSparseFamilies(schema: Schema, familyOf: (column: string) => string | undefined): Schema {
  const fields = schema.fields.map((f) => {
    const family = familyOf(f.name);
    return family === undefined ? f : new Field(f.name, f.type, f.nullable, new Map([[SPARSE_METADATA, family]]));
  });
  return new Schema(fields, schema.metadata);
}

/**
 * Build one Arrow record batch from columns of plain values (one array per column, all the same
 * length). Numeric columns go through typed arrays with a validity bitmap; nulls are allowed only
 * where the spec says so.
 */
export function batchFromColumns(schema: Schema, specs: readonly ColumnSpec[], columns: Record<string, ArrayLike<unknown>>, length: number): RecordBatch {
  const children = specs.map((spec) => columnData(spec, columns[spec.name], length));
  const struct = makeData({ type: new Struct(schema.fields), length, nullCount: 0, children });
  return new RecordBatch(schema, struct);
}

function columnData(spec: ColumnSpec, values: ArrayLike<unknown> | undefined, length: number) {
  const type = arrowType(spec.kind);
  if (values === undefined) {
    if (!spec.nullable) throw new Error(`column ${spec.name} is required but missing`);
    return makeNullColumn(spec.kind, type, length);
  }
  if (values.length !== length) throw new Error(`column ${spec.name} has ${values.length} values, expected ${length}`);
  if (spec.kind === 'utf8') return utf8Data(spec, type as Utf8, values, length);
  if (spec.kind === 'bool') return boolData(spec, type as Bool, values, length);
  // Numeric kinds: copy into a typed array once; null/undefined/NaN-for-i32 become invalid slots.
  const isTs = spec.kind === 'ts';
  const out = spec.kind === 'f64' ? new Float64Array(length) : spec.kind === 'i32' ? new Int32Array(length) : new BigInt64Array(length);
  let bitmap: Uint8Array | undefined;
  let nullCount = 0;
  for (let i = 0; i < length; i++) {
    const v = values[i] as number | null | undefined;
    if (v === null || v === undefined) {
      if (!spec.nullable) throw new Error(`column ${spec.name} must not hold null (row ${i})`);
      bitmap ??= new Uint8Array((length + 7) >> 3).fill(0xff);
      bitmap[i >> 3] &= ~(1 << (i & 7));
      nullCount++;
    } else if (isTs) {
      (out as BigInt64Array)[i] = BigInt(Math.round(v));
    } else {
      (out as Float64Array | Int32Array)[i] = v;
    }
  }
  return makeData({ type, length, nullCount, nullBitmap: bitmap, data: out } as never);
}

/**
 * Utf8 column data built directly (offsets + one byte buffer + validity bitmap): Arrow's generic
 * vectorFromArray builder costs milliseconds per column, which dominated small batches (one
 * IPFIX datagram, a few CSV lines).
 */
function utf8Data(spec: ColumnSpec, type: Utf8, values: ArrayLike<unknown>, length: number) {
  const offsets = new Int32Array(length + 1);
  let bitmap: Uint8Array | undefined;
  let nullCount = 0;
  let total = 0;
  for (let i = 0; i < length; i++) {
    const v = values[i];
    if (v === null || v === undefined) {
      if (!spec.nullable) throw new Error(`column ${spec.name} must not hold null (row ${i})`);
      bitmap ??= new Uint8Array((length + 7) >> 3).fill(0xff);
      bitmap[i >> 3] &= ~(1 << (i & 7));
      nullCount++;
    } else total += Buffer.byteLength(String(v), 'utf8');
    offsets[i + 1] = total;
  }
  const bytes = Buffer.allocUnsafe(total);
  for (let i = 0; i < length; i++) {
    const v = values[i];
    if (v !== null && v !== undefined) bytes.write(String(v), offsets[i], 'utf8');
  }
  const data = new Uint8Array(bytes.buffer, bytes.byteOffset, total);
  return makeData({ type, length, nullCount, nullBitmap: bitmap, valueOffsets: offsets, data });
}

/** Bool column data: values and validity as bitmaps. */
function boolData(spec: ColumnSpec, type: Bool, values: ArrayLike<unknown>, length: number) {
  const data = new Uint8Array((length + 7) >> 3);
  let bitmap: Uint8Array | undefined;
  let nullCount = 0;
  for (let i = 0; i < length; i++) {
    const v = values[i];
    if (v === null || v === undefined) {
      if (!spec.nullable) throw new Error(`column ${spec.name} must not hold null (row ${i})`);
      bitmap ??= new Uint8Array((length + 7) >> 3).fill(0xff);
      bitmap[i >> 3] &= ~(1 << (i & 7));
      nullCount++;
    } else if (v) data[i >> 3] |= 1 << (i & 7);
  }
  return makeData({ type, length, nullCount, nullBitmap: bitmap, data });
}

/** A column of `length` nulls. */
function makeNullColumn(kind: ColumnKind, type: DataType, length: number) {
  const nullBitmap = new Uint8Array((length + 7) >> 3);
  switch (kind) {
    case 'utf8':
      return makeData({ type: type as Utf8, length, nullCount: length, nullBitmap, valueOffsets: new Int32Array(length + 1), data: new Uint8Array(0) });
    case 'bool':
      return makeData({ type: type as Bool, length, nullCount: length, nullBitmap, data: new Uint8Array((length + 7) >> 3) });
    case 'f64':
      return makeData({ type: type as Float64, length, nullCount: length, nullBitmap, data: new Float64Array(length) });
    case 'i32':
      return makeData({ type: type as Int32, length, nullCount: length, nullBitmap, data: new Int32Array(length) });
    case 'ts':
      return makeData({ type: type as TimestampMicrosecond, length, nullCount: length, nullBitmap, data: new BigInt64Array(length) } as never);
  }
}

/** Read one row of a batch as a plain object with timestamps in epoch microseconds. */
export function rowAt<S extends readonly ColumnSpec[]>(batch: RecordBatch, specs: S, index: number): RowOf<S> {
  const row: Record<string, unknown> = {};
  for (const spec of specs) {
    const column = batch.getChild(spec.name);
    if (!column) {
      row[spec.name] = null;
      continue;
    }
    const v = column.get(index);
    row[spec.name] = spec.kind === 'ts' && v !== null ? Math.round((v as number) * 1000) : v;
  }
  return row as RowOf<S>;
}

/** All rows of a batch as plain objects (for tests, the CLI's --json and small tables, not hot paths). */
export function rowsOf<S extends readonly ColumnSpec[]>(batch: RecordBatch, specs: S): RowOf<S>[] {
  // Each column is read once, front to back, not looked up and get() per row and column. Columns
  // that are all null (most flow columns of most sources) and numeric columns without nulls take
  // shortcuts; the rest go through the vector's iterator (null for invalid slots).
  const n = batch.numRows;
  const values = specs.map((spec): ArrayLike<unknown> | null => {
    const column = batch.getChild(spec.name);
    if (!column || column.nullCount === n) return null;
    if ((spec.kind === 'f64' || spec.kind === 'i32') && column.nullCount === 0) return column.toArray() as Float64Array | Int32Array;
    return Array.from(column) as unknown[];
  });
  const rows: RowOf<S>[] = new Array(batch.numRows);
  for (let i = 0; i < batch.numRows; i++) {
    const row: Record<string, unknown> = {};
    for (let c = 0; c < specs.length; c++) {
      const column = values[c];
      const v = column === null ? null : column[i];
      row[specs[c].name] = specs[c].kind === 'ts' && v !== null ? Math.round((v as number) * 1000) : v;
    }
    rows[i] = row as RowOf<S>;
  }
  return rows;
}

/**
 * Build a batch from row objects (small tables: detections, findings). Hot paths (parsers)
 * fill columns directly and call `batchFromColumns`.
 */
export function batchFromRows<S extends readonly ColumnSpec[]>(schema: Schema, specs: S, rows: readonly Partial<RowOf<S>>[]): RecordBatch {
  const columns: Record<string, unknown[]> = {};
  for (const spec of specs) {
    const values = new Array(rows.length);
    for (let i = 0; i < rows.length; i++) values[i] = (rows[i] as Record<string, unknown>)[spec.name] ?? null;
    columns[spec.name] = values;
  }
  return batchFromColumns(schema, specs, columns, rows.length);
}
