/**
 * Named record batches handed to another thread without Arrow IPC: each batch's buffers (values,
 * string offsets, validity) are copied into one ArrayBuffer that is transferred, not cloned, and
 * the other thread wraps them again as Arrow data of the same types, offsets and null counts. A
 * schema crosses once: its IPC bytes go with the first batch that has it, later batches name it by
 * number. Used by the store worker (store-worker.ts), whose DuckDB appends run off the thread that
 * receives and decodes the batches.
 */
import { Data, RecordBatch, Struct, Table, makeData, tableFromIPC, tableToIPC, type Schema } from 'apache-arrow';
import { ErrorCode, HeirError } from './errors.ts';
import type { Tables } from './types.ts';

/** One column's Arrow data: its buffers are views into the packed tables' buffer. */
interface PackedColumn {
  readonly offset: number;
  readonly length: number;
  readonly nullCount: number;
  readonly offsets?: Int32Array;
  readonly values?: ArrayBufferView;
  readonly validity?: Uint8Array;
}

/** One named batch. */
interface PackedBatch {
  readonly name: string;
  /** Number of its schema, as the packer numbered them. */
  readonly schema: number;
  /** The schema as Arrow IPC, the first time this number is sent. */
  readonly schemaIpc?: Uint8Array;
  readonly rows: number;
  readonly columns: PackedColumn[];
}

/** Named batches ready for `postMessage(packed, [packed.buffer])`. */
export interface PackedTables {
  readonly batches: PackedBatch[];
  /** Every buffer of every batch, copied once; transfer it. */
  readonly buffer: ArrayBuffer;
}

/** A view's bytes start on a multiple of 8 in the packed buffer (BigInt64Array and Float64Array need it). */
const ALIGN = 8;

/** Packed buffers are allocated in multiples of this, so a returned one fits most later batches. */
const BLOCK = 256 * 1024;

/**
 * Packs batches on the sending side; numbers each distinct schema once. Buffers come back with
 * `release` once the other side is done with them and are used again: writing into freshly
 * allocated memory costs its page faults every time (1.5–5 ms per MB measured here, far more
 * than the copy itself).
 */
export class TablePacker {
  private readonly bySchema = new WeakMap<Schema, number>();
  private readonly byShape = new Map<string, number>();
  private readonly free: ArrayBuffer[] = [];
  private readonly keep: number;

  /** `keep`: most returned buffers held for reuse (about the batches in flight). */
  constructor(keep = 64) {
    this.keep = keep;
  }

  /** A buffer the other side no longer needs (transferred back to this thread). */
  release(buffer: ArrayBuffer): void {
    if (this.free.length < this.keep) this.free.push(buffer);
  }

  pack(tables: Tables): PackedTables {
    const entries = Object.entries(tables);
    let size = 0;
    for (const [, batch] of entries) for (const data of batch.data.children) for (const view of buffersOf(data)) size += align(view.byteLength);
    const buffer = this.take(size);
    const bytes = new Uint8Array(buffer);
    let at = 0;
    const copy = <T extends ArrayBufferView>(view: T | undefined): T | undefined => {
      if (!view) return undefined;
      const source = new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
      bytes.set(source, at);
      const copied = new (view.constructor as new (buffer: ArrayBuffer, offset: number, length: number) => T)(buffer, at, view.byteLength / elementSize(view));
      at += align(view.byteLength);
      return copied;
    };
    const batches: PackedBatch[] = entries.map(([name, batch]) => {
      const [schema, schemaIpc] = this.number(batch.schema);
      const columns = batch.data.children.map((data): PackedColumn => {
        const [offsets, values, validity] = buffersOf(data, true);
        return { offset: data.offset, length: data.length, nullCount: data.nullCount, offsets: copy(offsets as Int32Array | undefined), values: copy(values), validity: copy(validity as Uint8Array | undefined) };
      });
      return { name, schema, schemaIpc, rows: batch.numRows, columns };
    });
    return { batches, buffer };
  }

  /**
   * A free buffer of at least `size` bytes (the smallest that fits), or a new one; when none
   * fits, the smallest free one is dropped, so buffers outgrown by the batches do not stay.
   */
  private take(size: number): ArrayBuffer {
    let pick = -1;
    let smallest = -1;
    for (let i = 0; i < this.free.length; i++) {
      const n = this.free[i].byteLength;
      if (n >= size && (pick < 0 || n < this.free[pick].byteLength)) pick = i;
      if (smallest < 0 || n < this.free[smallest].byteLength) smallest = i;
    }
    if (pick >= 0) return this.free.splice(pick, 1)[0];
    if (smallest >= 0) this.free.splice(smallest, 1);
    return new ArrayBuffer(Math.max(BLOCK, Math.ceil(size / BLOCK) * BLOCK));
  }

  /** The schema's number, and its IPC bytes when it is new. */
  private number(schema: Schema): [number, Uint8Array | undefined] {
    const known = this.bySchema.get(schema);
    if (known !== undefined) return [known, undefined];
    const shape = shapeOf(schema);
    let id = this.byShape.get(shape);
    let ipc: Uint8Array | undefined;
    if (id === undefined) {
      id = this.byShape.size;
      this.byShape.set(shape, id);
      ipc = tableToIPC(new Table(schema), 'stream');
    }
    this.bySchema.set(schema, id);
    return [id, ipc];
  }
}

/** Unpacks on the receiving side; remembers the schemas sent with the first batch of each. */
export class TableUnpacker {
  private readonly schemas = new Map<number, Schema>();

  unpack(packed: PackedTables): Tables {
    const tables: Record<string, RecordBatch> = {};
    for (const b of packed.batches) {
      if (b.schemaIpc) this.schemas.set(b.schema, tableFromIPC(b.schemaIpc).schema);
      const schema = this.schemas.get(b.schema);
      if (!schema) throw new HeirError(ErrorCode.SCHEMA_MISMATCH, `table ${b.name} names schema ${b.schema}, which was never sent`);
      const children = b.columns.map((c, i) => {
        const type = schema.fields[i].type;
        return new Data(type, c.offset, c.length, c.nullCount, { 0: c.offsets, 1: c.values, 2: c.validity } as never);
      });
      tables[b.name] = new RecordBatch(schema, makeData({ type: new Struct(schema.fields), length: b.rows, nullCount: 0, children }));
    }
    return tables;
  }
}

/** A column's buffers: offsets, values, validity (with `slots`, in those positions, absent ones undefined). */
function buffersOf(data: Data, slots: true): (ArrayBufferView | undefined)[];
function buffersOf(data: Data): ArrayBufferView[];
function buffersOf(data: Data, slots = false): (ArrayBufferView | undefined)[] {
  if (data.children.length > 0) throw new HeirError(ErrorCode.SCHEMA_MISMATCH, `column of type ${String(data.type)} has child columns, which the store does not take`);
  const all = [data.valueOffsets as ArrayBufferView | undefined, data.values as ArrayBufferView | undefined, data.nullBitmap as ArrayBufferView | undefined];
  return slots ? all : all.filter((v): v is ArrayBufferView => v !== undefined);
}

function elementSize(view: ArrayBufferView): number {
  return (view as unknown as { BYTES_PER_ELEMENT?: number }).BYTES_PER_ELEMENT ?? 1;
}

function align(n: number): number {
  return Math.ceil(n / ALIGN) * ALIGN;
}

/** What identifies a schema: its fields (name, type, nullability, metadata) and its own metadata. */
function shapeOf(schema: Schema): string {
  const meta = (m: Map<string, string>) => [...m].map(([k, v]) => `${k}=${v}`).join('\u0002');
  return `${meta(schema.metadata)}\u0000${schema.fields.map((f) => `${f.name}\u0001${String(f.type)}\u0001${f.nullable}\u0001${meta(f.metadata)}`).join('\u0000')}`;
}
