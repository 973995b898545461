/**
 * The bytes on the bus: named Arrow record batches as IPC streams in one frame
 * (`u32 count`, then per table `u16 name length, name, u32 IPC length, IPC stream`).
 *
 * Copies. An IPC stream is written straight into the frame (Arrow's own `tableToIPC` joins its
 * pieces into a buffer of their own first, which the frame then copied again), into memory that is
 * not zero-filled first (every byte of the frame is written). Arrow reads a record batch's buffers
 * in place only when its body starts on an 8-byte boundary, and copies the body otherwise; so the
 * frame is placed in its buffer where the first table's stream starts on such a boundary, and
 * `alignFrame` lets a receiver that owns a few bytes before a frame move it there.
 */
import { RecordBatch, RecordBatchStreamWriter, Schema, Table, tableFromIPC, type TypeMap } from 'apache-arrow';
import { InputError } from './errors.ts';
import type { Tables } from './types.ts';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * A schema's stream message (continuation marker, length, flatbuffer, padding), encoded once per
 * Schema object: encoding the flow schema's 92 fields with their metadata took longer than
 * writing the record batch itself, and batches of one source share their schema object.
 */
const schemaMessages = new WeakMap<Schema, Uint8Array>();

/** Arrow's stream writer, keeping the pieces it writes (flatbuffers, padding, column buffers) instead of queueing them. */
class PieceWriter extends RecordBatchStreamWriter<TypeMap> {
  pieces: Uint8Array[] = [];
  size = 0;

  protected override _writeSchema(schema: Schema<TypeMap>): this {
    const known = schemaMessages.get(schema);
    if (known) return this._write(known);
    const from = this.pieces.length;
    super._writeSchema(schema);
    const written = this.pieces.slice(from);
    const message = new Uint8Array(written.reduce((n, p) => n + p.length, 0));
    written.reduce((o, p) => (message.set(p, o), o + p.length), 0);
    schemaMessages.set(schema, message);
    return this;
  }
  protected override _write(chunk: ArrayBufferView | ArrayBuffer | ArrayLike<number> | string | null | undefined): this {
    if (!this._started || !chunk) return this;
    const view = ArrayBuffer.isView(chunk) ? new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength) : chunk instanceof ArrayBuffer ? new Uint8Array(chunk) : encoder.encode(String(chunk));
    if (view.byteLength === 0) return this;
    this.pieces.push(view);
    this.size += view.byteLength;
    this._position += view.byteLength;
    return this;
  }
}

/** One table's IPC stream as the pieces the writer made (schema, record batch, end of stream). */
function streamPieces(batch: RecordBatch): PieceWriter {
  const writer = new PieceWriter();
  writer.write(batch);
  writer.finish();
  return writer;
}

/**
 * Frame buffers used again: a frame is written into a free buffer that is large enough, and its
 * buffer comes back with `release` once nothing refers to the frame any more (for the NATS bus:
 * once its publish resolved, as the client has copied the bytes into its socket buffer by then).
 * Writing into fresh memory costs its page faults every time (on the benchmark machine more than
 * the copy itself); reused buffers are warm.
 */
export class FramePool {
  private readonly free: ArrayBuffer[] = [];
  private readonly mine = new WeakSet<ArrayBuffer>();
  /** Most buffers kept free (more in flight at once are allocated and dropped on release). */
  private readonly keep: number;

  constructor(keep = 64) {
    this.keep = keep;
  }

  /** A buffer of at least `size` bytes: a free one if there is one, else a new one. */
  take(size: number): ArrayBuffer {
    for (let i = this.free.length - 1; i >= 0; i--) {
      const buffer = this.free[i];
      if (buffer.byteLength >= size) {
        this.free[i] = this.free[this.free.length - 1];
        this.free.pop();
        return buffer;
      }
    }
    // Room to spare (64 KiB steps), so a buffer serves later frames of a slightly larger size.
    const buffer = Buffer.allocUnsafeSlow(Math.ceil((size + 1) / 65536) * 65536).buffer as ArrayBuffer;
    this.mine.add(buffer);
    return buffer;
  }

  /** Give a frame's buffer back; frames that did not come from this pool are ignored. */
  release(frame: Uint8Array): void {
    const buffer = frame.buffer as ArrayBuffer;
    if (!this.mine.has(buffer) || this.free.length >= this.keep || this.free.includes(buffer)) return;
    this.free.push(buffer);
  }
}

/** Encode named batches as one message body (into a buffer of `pool` when one is given). */
export function encodeTables(tables: Tables, pool?: FramePool): Uint8Array {
  const parts: { name: Uint8Array; ipc: PieceWriter }[] = [];
  for (const [name, batch] of Object.entries(tables)) parts.push({ name: encoder.encode(name), ipc: streamPieces(batch) });
  const size = 4 + parts.reduce((n, p) => n + 2 + p.name.length + 4 + p.ipc.size, 0);
  // Place the frame so that its first stream starts on an 8-byte boundary of the buffer.
  const first = parts.length > 0 ? 4 + 2 + parts[0].name.length + 4 : 0;
  const lead = (8 - (first % 8)) % 8;
  const out = new Uint8Array(pool ? pool.take(size + lead) : Buffer.allocUnsafeSlow(size + lead).buffer, lead, size);
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
  view.setUint32(0, parts.length);
  let o = 4;
  for (const p of parts) {
    view.setUint16(o, p.name.length);
    out.set(p.name, o + 2);
    o += 2 + p.name.length;
    view.setUint32(o, p.ipc.size);
    o += 4;
    for (const piece of p.ipc.pieces) {
      out.set(piece, o);
      o += piece.length;
    }
  }
  return out;
}

/** Byte offset of a frame's first IPC stream, or -1 when the frame holds none (or is too short to say). */
function firstStreamOffset(data: Uint8Array): number {
  if (data.length < 6) return -1;
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  if (view.getUint32(0) === 0) return -1;
  const o = 4 + 2 + view.getUint16(4) + 4;
  return o <= data.length ? o : -1;
}

/**
 * A frame received into memory the caller owns from `slack` bytes before it (at most 7 are
 * used): when its first IPC stream does not start on an 8-byte boundary, the frame is moved back
 * within the same buffer so that it does, and the moved view is returned (the bytes at the old
 * place are no longer the frame). Arrow then reads the batch's columns in place instead of
 * copying its body. Anything else is returned as it is.
 */
export function alignFrame(data: Uint8Array, slack: number): Uint8Array {
  const first = firstStreamOffset(data);
  if (first < 0) return data;
  const shift = (data.byteOffset + first) % 8;
  if (shift === 0 || shift > slack) return data;
  const whole = new Uint8Array(data.buffer, data.byteOffset - shift, data.length + shift);
  whole.copyWithin(0, shift);
  return whole.subarray(0, data.length);
}

/** Decode a message body; a malformed frame is an InputError naming the message. */
export function decodeTables(data: Uint8Array, input: string): Tables {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const fail = (why: string): never => {
    throw new InputError(input, `malformed batch frame: ${why}`);
  };
  if (data.length < 4) fail('shorter than its header');
  const count = view.getUint32(0);
  if (count > 64) fail(`claims ${count} tables`);
  const tables: Record<string, RecordBatch> = {};
  let o = 4;
  for (let i = 0; i < count; i++) {
    if (o + 2 > data.length) fail('truncated table name');
    const nameLength = view.getUint16(o);
    if (o + 2 + nameLength + 4 > data.length) fail('truncated table name');
    const name = decoder.decode(data.subarray(o + 2, o + 2 + nameLength));
    o += 2 + nameLength;
    const length = view.getUint32(o);
    if (o + 4 + length > data.length) fail(`table ${name} claims ${length} bytes, ${data.length - o - 4} remain`);
    let table: Table;
    try {
      table = tableFromIPC(data.subarray(o + 4, o + 4 + length));
    } catch (error) {
      throw new InputError(input, `table ${name} is not an Arrow IPC stream`, { cause: error });
    }
    // encodeTables writes exactly one batch per table; an empty table has none.
    if (table.batches.length > 1) fail(`table ${name} holds ${table.batches.length} record batches, expected one`);
    tables[name] = table.batches[0] ?? new RecordBatch(table.schema);
    o += 4 + length;
  }
  return tables;
}
