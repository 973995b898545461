/**
 * Moves Arrow record batches into DuckDB through data chunks (DuckDB's Arrow extension cannot be
 * loaded offline). Fixed-width columns are copied as whole buffers, validity as whole bitmaps,
 * short strings as one block of DuckDB string_t values, long strings with one copy into the
 * vector's string heap per chunk. Never one INSERT per row. A part of a batch (some of its columns, some of its rows, behind a
 * row key) is appended the same way: the store keeps sparse columns apart in side tables.
 */
import {
  DuckDBBigIntType,
  DuckDBBooleanType,
  DuckDBDoubleType,
  DuckDBIntegerType,
  DuckDBTimestampTZType,
  DuckDBVarCharType,
  type DuckDBAppender,
  type DuckDBType,
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

type Vector = ReturnType<typeof bindings.data_chunk_get_vector>;

// Logical types by DuckDB type name, made once.
const logicalTypes = new Map<string, ReturnType<typeof bindings.create_logical_type>>();
function logicalType(field: Field) {
  const name = duckTypeName(field);
  let logical = logicalTypes.get(name);
  if (!logical) logicalTypes.set(name, (logical = duckType(field).toLogicalType().logical_type));
  return logical;
}

/**
 * Copy Arrow's validity bits of the chunk's rows into the vector's validity mask (both are
 * little-endian bit masks, so a byte-aligned run is a plain copy). Columns without nulls keep
 * DuckDB's all-valid default.
 */
function copyValidity(vector: Vector, data: Data, rows: ChunkRows): void {
  if (data.nullCount === 0 || !data.nullBitmap) return;
  const { start, length, pick } = rows;
  const words = new BigUint64Array(Math.ceil(length / 64));
  const bytes = new Uint8Array(words.buffer);
  const bitmap = data.nullBitmap;
  const base = data.offset + start;
  if (!pick && (base & 7) === 0) {
    bytes.set(bitmap.subarray(base >> 3, (base >> 3) + Math.ceil(length / 8)));
    // Bits past `length` in the last byte belong to later rows: clear them.
    if (length & 7) bytes[length >> 3] &= (1 << (length & 7)) - 1;
  } else {
    for (let i = 0; i < length; i++) {
      const bit = data.offset + (pick ? pick[start + i] : start + i);
      if (bitmap[bit >> 3] & (1 << (bit & 7))) bytes[i >> 3] |= 1 << (i & 7);
    }
  }
  bindings.vector_ensure_validity_writable(vector);
  bindings.copy_data_to_vector_validity(vector, 0, words.buffer, 0, words.byteLength);
}

/**
 * The rows of one data chunk: [start, start+length) of the batch, or, when `pick` is given, the
 * batch rows pick[start], …, pick[start+length-1].
 */
interface ChunkRows {
  readonly start: number;
  readonly length: number;
  readonly pick?: Int32Array;
}

// One chunk of picked fixed-width values (as 32-bit words: 8-byte values are two), reused.
const pickedWords = new Int32Array(CHUNK_ROWS * 2);

/**
 * Fill one vector from the chunk's rows of an Arrow column. A sliced column (offset > 0) shares
 * its parent's buffers, and Arrow slices them differently: fixed-width values and string offsets
 * start at the slice's first row, validity bits and boolean bits at the parent's.
 */
function fillVector(vector: Vector, data: Data, rows: ChunkRows): void {
  const { start, length, pick } = rows;
  switch (data.type.typeId) {
    case Type.Float:
    case Type.Int:
    case Type.Timestamp: {
      // Same width and encoding on both sides (f64, i32, µs since the epoch as i64): one copy.
      const values = data.values as Float64Array | Int32Array | BigInt64Array;
      const width = values.BYTES_PER_ELEMENT;
      if (!pick) {
        bindings.copy_data_to_vector(vector, 0, values.buffer as ArrayBuffer, values.byteOffset + start * width, length * width);
      } else {
        // Picked rows are gathered word by word (bit patterns kept: no float conversion).
        const words = new Int32Array(values.buffer, values.byteOffset, (values.length * width) >> 2);
        const per = width >> 2;
        for (let i = 0; i < length; i++) for (let w = 0, from = pick[start + i] * per; w < per; w++) pickedWords[i * per + w] = words[from + w];
        bindings.copy_data_to_vector(vector, 0, pickedWords.buffer, 0, length * width);
      }
      copyValidity(vector, data, rows);
      return;
    }
    case Type.Bool: {
      // Arrow packs booleans in bits; DuckDB keeps a byte per value.
      const bits = data.values as Uint8Array;
      const out = new Uint8Array(length);
      for (let i = 0; i < length; i++) {
        const bit = data.offset + (pick ? pick[start + i] : start + i);
        out[i] = (bits[bit >> 3] >> (bit & 7)) & 1;
      }
      bindings.copy_data_to_vector(vector, 0, out.buffer, 0, length);
      copyValidity(vector, data, rows);
      return;
    }
    default: {
      copyValidity(vector, data, rows);
      if (data.nullCount === data.length) return;
      fillStrings(vector, data, rows);
    }
  }
}

/** Fill a BIGINT vector with row keys: `firstKey` plus each row's index in the batch. */
function fillKeys(vector: Vector, firstKey: number, rows: ChunkRows): void {
  const { start, length, pick } = rows;
  for (let i = 0; i < length; i++) {
    const key = firstKey + (pick ? pick[start + i] : start + i);
    pickedWords[2 * i] = key >>> 0; // little-endian i64: low word, then high word
    pickedWords[2 * i + 1] = Math.floor(key / 2 ** 32);
  }
  bindings.copy_data_to_vector(vector, 0, pickedWords.buffer, 0, length * 8);
}

/** Bytes of DuckDB's string_t: a u32 length, then 12 bytes inline or a 4-byte prefix and a pointer. */
const STRING_T = 16;
/** The longest string DuckDB keeps inline in its string_t. */
const INLINE = 12;
// One chunk's string_t array, reused (appends are synchronous).
const inlineStructs = new Uint8Array(CHUNK_ROWS * STRING_T);
const inlineLengths = new Uint32Array(inlineStructs.buffer);
const longRows = new Int32Array(CHUNK_ROWS);

/**
 * Strings go in DuckDB's own layout where the C API allows it: ASCII strings of up to 12 bytes
 * (addresses, protocol names, short labels: most of a flow's strings) are written inline into the
 * vector's string_t array with one copy for the whole chunk; longer or non-ASCII ones go through
 * the API, which copies them into the vector's heap and checks their UTF-8 (all of a chunk's at
 * once where there are several: fillHeapStrings). Arrow's UTF-8 bytes are used as they are (no
 * decode to JavaScript strings and back); nulls are only a validity bit.
 */
function fillStrings(vector: Vector, data: Data, rows: ChunkRows): void {
  const { start, length, pick } = rows;
  const offsets = data.valueOffsets as Int32Array;
  const bytes = data.values as Uint8Array;
  const bitmap = data.nullCount > 0 ? data.nullBitmap : undefined;
  inlineStructs.fill(0, 0, length * STRING_T);
  let inline = 0;
  let long = 0;
  for (let i = 0; i < length; i++) {
    const row = pick ? pick[start + i] : start + i;
    const bit = data.offset + row;
    if (bitmap && !(bitmap[bit >> 3] & (1 << (bit & 7)))) continue;
    const from = offsets[row];
    const size = offsets[row + 1] - from;
    if (size > INLINE) {
      longRows[long++] = i;
      continue;
    }
    const o = i * STRING_T + 4;
    let ascii = true;
    for (let k = 0; k < size; k++) {
      const b = bytes[from + k];
      if (b & 0x80) {
        ascii = false;
        break;
      }
      inlineStructs[o + k] = b;
    }
    if (!ascii) {
      inlineStructs.fill(0, o, o + INLINE);
      longRows[long++] = i;
      continue;
    }
    inlineLengths[i * (STRING_T / 4)] = size;
    inline++;
  }
  if (inline > 0) bindings.copy_data_to_vector(vector, 0, inlineStructs.buffer, 0, length * STRING_T);
  if (long === 1) {
    const row = pick ? pick[start + longRows[0]] : start + longRows[0];
    bindings.vector_assign_string_element_len(vector, longRows[0], bytes.subarray(offsets[row], offsets[row + 1]));
  } else if (long > 1) {
    fillHeapStrings(vector, data, rows, long);
  }
}

// The chunk's long strings, concatenated (grows as needed).
let heapBytes = new Uint8Array(64 * 1024);

/**
 * The chunk's other strings (longer than 12 bytes, or not ASCII) go through one API call: their
 * concatenation is assigned to the first of their rows, which copies it into the vector's string
 * heap (and checks its UTF-8); then the chunk's string_t array is written again with every such
 * row pointing into that copy at its own offset (the first 4 bytes as the prefix; strings of up to
 * 12 bytes inlined). The heap lives as long as the vector; the appender copies the strings out.
 */
function fillHeapStrings(vector: Vector, data: Data, rows: ChunkRows, long: number): void {
  const { start, length, pick } = rows;
  const offsets = data.valueOffsets as Int32Array;
  const bytes = data.values as Uint8Array;
  let total = 0;
  for (let j = 0; j < long; j++) {
    const row = pick ? pick[start + longRows[j]] : start + longRows[j];
    total += offsets[row + 1] - offsets[row];
  }
  if (heapBytes.length < total) heapBytes = new Uint8Array(Math.max(total, 2 * heapBytes.length));
  for (let j = 0, at = 0; j < long; j++) {
    const row = pick ? pick[start + longRows[j]] : start + longRows[j];
    heapBytes.set(bytes.subarray(offsets[row], offsets[row + 1]), at);
    at += offsets[row + 1] - offsets[row];
  }
  bindings.vector_assign_string_element_len(vector, longRows[0], heapBytes.subarray(0, total));
  // The heap copy's address: the u64 after the length and prefix of that row's string_t.
  const assigned = bindings.vector_get_data(vector, (longRows[0] + 1) * STRING_T);
  const first = new DataView(assigned.buffer, assigned.byteOffset + longRows[0] * STRING_T, STRING_T);
  const low = first.getUint32(8, true);
  const high = first.getUint32(12, true);
  const view = new DataView(inlineStructs.buffer);
  for (let j = 0, at = 0; j < long; j++) {
    const row = pick ? pick[start + longRows[j]] : start + longRows[j];
    const from = offsets[row];
    const size = offsets[row + 1] - from;
    const o = longRows[j] * STRING_T;
    inlineStructs.fill(0, o, o + STRING_T);
    view.setUint32(o, size, true);
    if (size <= INLINE) {
      inlineStructs.set(bytes.subarray(from, from + size), o + 4);
    } else {
      inlineStructs.set(bytes.subarray(from, from + 4), o + 4);
      const address = low + at;
      view.setUint32(o + 8, address >>> 0, true);
      view.setUint32(o + 12, high + (address >= 2 ** 32 ? 1 : 0), true);
    }
    at += size;
  }
  bindings.copy_data_to_vector(vector, 0, inlineStructs.buffer, 0, length * STRING_T);
}

/** The part of a batch to append (by default every column and every row, in order). */
export interface BatchPart {
  /** Indexes of the batch's columns to append, in the target table's order. */
  readonly columns?: readonly number[];
  /** The rows to append, ascending (from `rowsWithValues`). */
  readonly rows?: Int32Array;
  /** When given, the first column of the target is a BIGINT row key: this plus the row's index in the batch. */
  readonly firstKey?: number;
}

/**
 * Append a record batch, or a part of it, through an appender, in data chunks of DuckDB's vector
 * size. The appender's columns must be the part's columns in order (after the row key, if any).
 * This talks to the C API bindings directly: the typed vector wrappers map every vector into
 * JavaScript first, which cost more than the copy itself.
 */
export function appendBatch(appender: DuckDBAppender, batch: RecordBatch, part: BatchPart = {}): void {
  const indexes = part.columns ?? batch.schema.fields.map((_, i) => i);
  const fields = indexes.map((i) => batch.schema.fields[i]);
  const columns = indexes.map((i, k) => {
    const child = batch.data.children[i];
    if (!child) throw new HeirError(ErrorCode.SCHEMA_MISMATCH, `batch has no data for column ${fields[k].name}`);
    return child;
  });
  const keyed = part.firstKey !== undefined;
  const types = [...(keyed ? [BIGINT] : []), ...fields.map(logicalType)];
  const pick = part.rows;
  const total = pick ? pick.length : batch.numRows;
  const raw = (appender as unknown as { appender: Parameters<typeof bindings.append_data_chunk>[0] }).appender;
  const chunk = reusableChunk(types, `${keyed ? 'key,' : ''}${fields.map(duckTypeName).join(',')}`);
  for (let start = 0; start < total; start += CHUNK_ROWS) {
    const rows: ChunkRows = { start, length: Math.min(CHUNK_ROWS, total - start), pick };
    bindings.data_chunk_reset(chunk);
    if (keyed) fillKeys(bindings.data_chunk_get_vector(chunk, 0), part.firstKey!, rows);
    const first = keyed ? 1 : 0;
    for (let c = 0; c < columns.length; c++) fillVector(bindings.data_chunk_get_vector(chunk, first + c), columns[c], rows);
    bindings.data_chunk_set_size(chunk, rows.length);
    bindings.append_data_chunk(raw, chunk);
  }
}

const BIGINT = DuckDBBigIntType.instance.toLogicalType().logical_type;

type DataChunk = ReturnType<typeof bindings.create_data_chunk>;
// One data chunk per column-type list, used again for every chunk appended with those types: the
// appender copies a chunk's rows when it is appended, and a reset chunk starts over with its
// vectors all valid and its string heap empty. A new chunk per 2,048 rows allocated its vectors
// afresh (about 1.5 MB for the flow core) and freed them only when the garbage collector got to it.
const chunks = new Map<string, DataChunk>();
function reusableChunk(types: ReturnType<typeof logicalType>[], key: string): DataChunk {
  let chunk = chunks.get(key);
  if (!chunk) chunks.set(key, (chunk = bindings.create_data_chunk(types)));
  return chunk;
}

/** The rows (ascending) where at least one of the given columns holds a value. */
export function rowsWithValues(batch: RecordBatch, columns: readonly number[]): Int32Array {
  const n = batch.numRows;
  const has = new Uint8Array(n);
  for (const c of columns) {
    const data = batch.data.children[c];
    if (data.nullCount === n) continue;
    if (data.nullCount === 0 || !data.nullBitmap) return Int32Array.from({ length: n }, (_, i) => i);
    const bitmap = data.nullBitmap;
    for (let i = 0; i < n; i++) {
      const bit = data.offset + i;
      has[i] |= (bitmap[bit >> 3] >> (bit & 7)) & 1;
    }
  }
  let count = 0;
  for (let i = 0; i < n; i++) count += has[i];
  const rows = new Int32Array(count);
  for (let i = 0, k = 0; i < n; i++) if (has[i]) rows[k++] = i;
  return rows;
}
