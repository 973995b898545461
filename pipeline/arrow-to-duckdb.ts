/**
 * Moves Arrow record batches into DuckDB through data chunks (DuckDB's Arrow extension cannot be
 * loaded offline). Fixed-width columns are copied as whole typed arrays, validity as whole
 * bitmaps; only strings go value by value. Never one INSERT per row.
 */
import {
  DuckDBBooleanType,
  DuckDBDataChunk,
  DuckDBDoubleType,
  DuckDBIntegerType,
  DuckDBTimestampTZType,
  DuckDBVarCharType,
  type DuckDBAppender,
  type DuckDBType,
  type DuckDBVector,
} from '@duckdb/node-api';
import bindings from '@duckdb/node-bindings';
import { Type, type Data, type Field, type RecordBatch } from 'apache-arrow';
import { ErrorCode, HeirError } from './errors.ts';

/** DuckDB's standard vector size: a data chunk holds at most this many rows. */
const CHUNK_ROWS = 2048;

/** DuckDB SQL type of an Arrow field (the kinds of pipeline/columns.ts). */
export function duckTypeName(field: Field): string {
  switch (field.type.typeId) {
    case Type.Utf8:
      return 'VARCHAR';
    case Type.Float:
      return 'DOUBLE';
    case Type.Int:
      return 'INTEGER';
    case Type.Bool:
      return 'BOOLEAN';
    case Type.Timestamp:
      return 'TIMESTAMPTZ';
    default:
      throw new HeirError(ErrorCode.SCHEMA_MISMATCH, `column ${field.name}: Arrow type ${String(field.type)} has no DuckDB mapping`);
  }
}

function duckType(field: Field): DuckDBType {
  switch (duckTypeName(field)) {
    case 'VARCHAR':
      return DuckDBVarCharType.instance;
    case 'DOUBLE':
      return DuckDBDoubleType.instance;
    case 'INTEGER':
      return DuckDBIntegerType.instance;
    case 'BOOLEAN':
      return DuckDBBooleanType.instance;
    default:
      return DuckDBTimestampTZType.instance;
  }
}

// The typed vectors expose their item buffer and validity; writing them whole is the fast path.
interface FixedVector {
  items: Float64Array | Int32Array | BigInt64Array | Uint8Array;
  validity: { data: BigUint64Array | null };
  setItem(index: number, value: unknown): void;
  flush(): void;
}

/** Copy Arrow's validity bits [start, start+length) into a DuckDB validity mask (same LSB order). */
function copyValidity(data: Data, start: number, length: number, vector: FixedVector): void {
  if (data.nullCount === 0 || !data.nullBitmap) return;
  const words = new BigUint64Array(Math.ceil(length / 64));
  const bytes = new Uint8Array(words.buffer);
  const bitmap = data.nullBitmap;
  const base = data.offset + start;
  if ((base & 7) === 0) {
    bytes.set(bitmap.subarray(base >> 3, (base >> 3) + Math.ceil(length / 8)));
  } else {
    for (let i = 0; i < length; i++) {
      const bit = base + i;
      if (bitmap[bit >> 3] & (1 << (bit & 7))) bytes[i >> 3] |= 1 << (i & 7);
    }
  }
  vector.validity.data = words;
}

function fillVector(vector: DuckDBVector, data: Data, start: number, length: number): void {
  const v = vector as unknown as FixedVector;
  const at = data.offset + start;
  switch (data.type.typeId) {
    case Type.Float:
    case Type.Int:
    case Type.Timestamp:
      (v.items as Float64Array).set((data.values as Float64Array).subarray(at, at + length));
      copyValidity(data, start, length, v);
      break;
    case Type.Bool: {
      // Arrow packs booleans in bits; DuckDB keeps a byte per value (behind a DataView).
      const bits = data.values as Uint8Array;
      const out = (v as unknown as { dataView: DataView }).dataView;
      for (let i = 0; i < length; i++) out.setUint8(i, (bits[(at + i) >> 3] >> ((at + i) & 7)) & 1);
      copyValidity(data, start, length, v);
      break;
    }
    default: {
      // Strings: Arrow's UTF-8 bytes go to DuckDB as they are (no decode to a JS string and back);
      // nulls are only a validity bit, so a mostly-null column costs almost nothing.
      const offsets = data.valueOffsets as Int32Array;
      const bytes = data.values as Uint8Array;
      const bitmap = data.nullCount > 0 ? data.nullBitmap : undefined;
      const raw = (v as unknown as { vector: unknown }).vector as Parameters<typeof bindings.vector_assign_string_element_len>[0];
      if (bitmap && data.nullCount === data.length) {
        v.validity.data = new BigUint64Array(Math.ceil(length / 64));
      } else {
        copyValidity(data, start, length, v);
        for (let i = 0; i < length; i++) {
          const row = at + i;
          if (bitmap && !(bitmap[row >> 3] & (1 << (row & 7)))) continue;
          bindings.vector_assign_string_element_len(raw, i, bytes.subarray(offsets[row], offsets[row + 1]));
        }
      }
      (v.validity as unknown as { flush(vector: unknown): void }).flush(raw);
      return;
    }
  }
  v.flush();
}

/**
 * Append a whole record batch through an appender, in chunks of DuckDB's vector size. The
 * appender's columns must be the batch's fields in order.
 */
export function appendBatch(appender: DuckDBAppender, batch: RecordBatch): void {
  const fields = batch.schema.fields;
  const types = fields.map(duckType);
  const columns = fields.map((_, i) => {
    const child = batch.data.children[i];
    if (!child) throw new HeirError(ErrorCode.SCHEMA_MISMATCH, `batch has no data for column ${fields[i].name}`);
    return child;
  });
  for (let start = 0; start < batch.numRows; start += CHUNK_ROWS) {
    const length = Math.min(CHUNK_ROWS, batch.numRows - start);
    const chunk = DuckDBDataChunk.create(types, length);
    for (let c = 0; c < columns.length; c++) fillVector(chunk.getColumnVector(c), columns[c], start, length);
    appender.appendDataChunk(chunk);
  }
}
