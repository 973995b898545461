/**
 * Reading whole Arrow columns into plain JS arrays fast: numeric and timestamp columns through their
 * typed value buffers, strings by slicing the UTF-8 buffer once per value with the null bitmap
 * honoured. `Vector.get(i)` costs about 1 µs per value (5 µs for timestamps); this is several times
 * faster and is what the hunt and inventory operators use once per column per batch.
 */
import { Type, type Data, type RecordBatch } from 'apache-arrow';

function valid(d: Data, i: number): boolean {
  if (d.nullCount === 0 || !d.nullBitmap || d.nullBitmap.length === 0) return true;
  const j = d.offset + i;
  return ((d.nullBitmap[j >> 3] >> (j & 7)) & 1) === 1;
}

/**
 * Values of a column as an array with null for missing values; timestamps (µs) and 64-bit
 * integers as numbers. A column the batch lacks reads as all null.
 */
export function columnValues(batch: RecordBatch, name: string): unknown[] {
  const n = batch.numRows;
  const out: unknown[] = new Array(n);
  const vector = batch.getChild(name);
  if (!vector) return out.fill(null);
  let at = 0;
  for (const d of vector.data) {
    const len = d.length;
    switch (d.typeId) {
      case Type.Utf8: {
        const offsets = d.valueOffsets as Int32Array;
        const bytes = d.values as Uint8Array;
        const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
        // Arrow JS slices value and offset buffers with the data; only the validity bitmap keeps `offset`.
        for (let i = 0; i < len; i++) out[at + i] = valid(d, i) ? buf.toString('utf8', offsets[i], offsets[i + 1]) : null;
        break;
      }
      case Type.Int:
      case Type.Float:
      case Type.Timestamp: {
        const values = d.values as Int32Array | Float64Array | BigInt64Array;
        // 64-bit values may sit in an Int32Array pair view; read them through a BigInt64 view then.
        const wide = d.typeId === Type.Timestamp || (d.typeId === Type.Int && (d.type as { bitWidth: number }).bitWidth === 64);
        const view = wide && !(values instanceof BigInt64Array) ? new BigInt64Array(values.buffer, values.byteOffset, values.byteLength >> 3) : values;
        for (let i = 0; i < len; i++) out[at + i] = valid(d, i) ? Number(view[i]) : null;
        break;
      }
      case Type.Bool: {
        // Bit-packed values, least significant bit first; like the bitmap, they keep the data's offset.
        const bits = d.values as Uint8Array;
        for (let i = 0; i < len; i++) {
          const j = d.offset + i;
          out[at + i] = valid(d, i) ? ((bits[j >> 3] >> (j & 7)) & 1) === 1 : null;
        }
        break;
      }
      default:
        for (let i = 0; i < len; i++) {
          const v = vector.get(at + i);
          out[at + i] = v === undefined ? null : typeof v === 'bigint' ? Number(v) : v;
        }
    }
    at += len;
  }
  return out;
}
