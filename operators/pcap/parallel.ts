/**
 * Several capture files parsed at once on worker threads, one file per worker at a time, with the
 * output of every file handed back in the order the files were given: each file is parsed from
 * its first byte by its own `parsePcap` (as `heir ingest` parses files one after the other), so
 * flows, flow ids, batches and offsets are the same as a sequential parse, only sooner.
 *
 * Workers load the TypeScript sources themselves (a few hundred milliseconds each), so a pool
 * pays off on inputs that take longer than that to parse: start it once and reuse it.
 *
 * @example
 * const pool = await PcapWorkerPool.start();
 * for await (const r of pool.parseFiles(paths, { site: 's', sensor: 'x', batchSize: 2000 })) …
 * await pool.close();
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { Data, Float64, Int32, RecordBatch, Struct, TimestampMicrosecond } from 'apache-arrow';
import { ErrorCode, HeirError, InputError, UserError } from '../../pipeline/errors.ts';
import { FLOW_SCHEMA } from '../../pipeline/flow-schema.ts';
import type { DeadLetter, ParseOutput } from '../../pipeline/types.ts';
import type { PcapParseOptions, PcapStats } from '../ingest-pcap.ts';
import { columnData } from './flow-columns.ts';

/** Options of every file of a `parseFiles` call (no input name, counters or signal: per file). */
export type PoolParseOptions = Omit<PcapParseOptions, 'input' | 'stats' | 'signal'>;

/** One request to a worker. */
export interface FileJob {
  readonly id: number;
  readonly path: string;
  readonly options: PoolParseOptions;
}

/**
 * A flow batch as one buffer (moved, not copied, to the main thread) and, per column, its length,
 * null count and the byte offset and length of its validity bitmap, value offsets and values
 * (-1 when absent): 8 numbers per column.
 */
export interface PackedBatch {
  readonly bytes: ArrayBuffer;
  readonly layout: Float64Array;
}

/** One output of a file's parse. */
export interface OutputReply {
  job: number;
  kind: 'output';
  flows?: PackedBatch;
  deadLetters?: readonly DeadLetter[];
  offset: number;
}

/** What a worker posts back (`done` carries the file's last output, if any). */
export type WorkerReply =
  | { job: number; kind: 'ready' }
  | OutputReply
  | { job: number; kind: 'done'; stats: PcapStats; last?: OutputReply }
  | { job: number; kind: 'error'; name: string; code?: string; message: string; stats: PcapStats };

/** One step of a file's result: an output of its parse, then its end (counters, or the error that stopped it). */
export interface FileResult {
  /** Index of the file in the list given. */
  readonly index: number;
  readonly input: string;
  readonly output?: ParseOutput;
  /** Set on the file's last result. */
  readonly end?: { readonly stats: PcapStats; readonly error?: Error };
}

const FIELDS_PER_COLUMN = 8;

/** A flow batch's buffers copied into one (8-byte aligned parts), to be moved to another thread. */
export function packBatch(batch: RecordBatch): PackedBatch {
  const children = batch.data.children as Data[];
  const layout = new Float64Array(children.length * FIELDS_PER_COLUMN);
  const parts = (d: Data) => [d.nullBitmap, d.valueOffsets, d.values] as (ArrayBufferView | undefined | null)[];
  let total = 0;
  for (const d of children) for (const p of parts(d)) if (p) total += (p.byteLength + 7) & ~7;
  const bytes = new ArrayBuffer(total);
  const out = new Uint8Array(bytes);
  let at = 0;
  children.forEach((d, c) => {
    const o = c * FIELDS_PER_COLUMN;
    layout[o] = d.length;
    layout[o + 1] = d.nullCount;
    parts(d).forEach((p, k) => {
      if (!p || p.byteLength === 0) {
        layout[o + 2 + 2 * k] = p ? at : -1;
        layout[o + 3 + 2 * k] = 0;
        return;
      }
      out.set(new Uint8Array(p.buffer, p.byteOffset, p.byteLength), at);
      layout[o + 2 + 2 * k] = at;
      layout[o + 3 + 2 * k] = p.byteLength;
      at += (p.byteLength + 7) & ~7;
    });
  });
  return { bytes, layout };
}

/** The flow batch of a packed one: the flow schema's types over views of the one buffer. */
export function unpackBatch(packed: PackedBatch): RecordBatch {
  const fields = FLOW_SCHEMA.fields;
  const { bytes, layout } = packed;
  if (layout.length !== fields.length * FIELDS_PER_COLUMN) throw new Error(`worker sent ${layout.length / FIELDS_PER_COLUMN} flow columns, the schema has ${fields.length}`);
  const length = fields.length > 0 ? layout[0] : 0;
  const children = fields.map((field, c) => {
    const o = c * FIELDS_PER_COLUMN;
    const view = <T>(k: number, make: (offset: number, count: number) => T, width: number): T | undefined =>
      layout[o + 2 + 2 * k] < 0 ? undefined : make(layout[o + 2 + 2 * k], layout[o + 3 + 2 * k] / width);
    const values =
      field.type instanceof Float64 ? view(2, (a, n) => new Float64Array(bytes, a, n), 8)
      : field.type instanceof Int32 ? view(2, (a, n) => new Int32Array(bytes, a, n), 4)
      : field.type instanceof TimestampMicrosecond ? view(2, (a, n) => new BigInt64Array(bytes, a, n), 8)
      : view(2, (a, n) => new Uint8Array(bytes, a, n), 1);
    return columnData(field.type, layout[o], layout[o + 1], view(0, (a, n) => new Uint8Array(bytes, a, n), 1), values as ArrayBufferView, view(1, (a, n) => new Int32Array(bytes, a, n), 4));
  });
  return new RecordBatch(FLOW_SCHEMA, new Data(new Struct(fields), 0, length, 0, [undefined, undefined, new Uint8Array(0)] as never, children));
}

/** The error a worker reported, as the same kind of error (so callers tell user errors apart). */
function rebuildError(reply: { name: string; code?: string; message: string }, input: string): Error {
  if (reply.name === 'InputError') {
    const e = new InputError(input, '');
    e.message = reply.message;
    return e;
  }
  if (reply.name === 'UserError' && reply.code !== undefined) return new UserError(reply.code as ErrorCode, reply.message);
  if (reply.code !== undefined) return new HeirError(reply.code as ErrorCode, reply.message);
  const e = new Error(reply.message);
  e.name = reply.name;
  return e;
}

interface Slot {
  readonly worker: Worker;
  /** Files sent to this worker and not ended yet. */
  inFlight: number;
}

/** Young generation of a worker, MB (semi-spaces of 32 MB; V8's default is 16). */
const WORKER_YOUNG_MB = 96;

/** Files queued at each worker, so it never waits for the main thread between files. */
const IN_FLIGHT_PER_WORKER = 2;

/** Worker threads that parse capture files. */
export class PcapWorkerPool {
  private readonly slots: Slot[];
  private onReply: ((slot: Slot, reply: WorkerReply) => void) | null = null;
  private failure: Error | null = null;
  private wake: (() => void) | null = null;
  private busy = false;
  private nextJob = 0;

  private constructor(slots: Slot[]) {
    this.slots = slots;
    for (const slot of slots) {
      slot.worker.on('message', (reply: WorkerReply) => this.onReply?.(slot, reply));
      slot.worker.on('error', (error) => this.fail(error));
      slot.worker.on('exit', (code) => {
        if (code !== 0) this.fail(new Error(`pcap parse worker exited with code ${code}`));
      });
    }
  }

  /** Start `workers` threads (default: one per core) and wait until each has loaded the parser. */
  static async start(workers = availableParallelism()): Promise<PcapWorkerPool> {
    if (!Number.isInteger(workers) || workers < 1) throw new RangeError(`invalid worker count: ${workers}`);
    // The worker registers the TypeScript loader first (it is not inherited from this thread).
    const loader = import.meta.resolve('tsx/esm/api');
    const body = new URL('./parse-worker.ts', import.meta.url).href;
    const source = `import(${JSON.stringify(loader)}).then((m) => { m.register(); return import(${JSON.stringify(body)}); })`;
    const slots: Slot[] = [];
    const ready: Promise<void>[] = [];
    for (let i = 0; i < workers; i++) {
      // A young generation larger than the default: parsing makes many short-lived objects per
      // flow, and fewer scavenges cost less CPU (about a tenth of a parse in a measured run).
      const worker = new Worker(source, { eval: true, resourceLimits: { maxYoungGenerationSizeMb: WORKER_YOUNG_MB } });
      slots.push({ worker, inFlight: 0 });
      ready.push(
        new Promise<void>((resolve, reject) => {
          const onMessage = (reply: WorkerReply) => {
            if (reply.kind !== 'ready') return;
            worker.off('message', onMessage);
            worker.off('error', reject);
            resolve();
          };
          worker.on('message', onMessage);
          worker.once('error', reject);
        }),
      );
    }
    try {
      await Promise.all(ready);
    } catch (error) {
      await Promise.all(slots.map((s) => s.worker.terminate()));
      throw error;
    }
    for (const s of slots) s.worker.unref();
    return new PcapWorkerPool(slots);
  }

  /** Threads in the pool. */
  get size(): number {
    return this.slots.length;
  }

  private fail(error: Error): void {
    this.failure ??= error;
    this.wake?.();
  }

  /**
   * Parse `paths`, each as its own input (flows do not continue from one file into the next),
   * and yield every file's outputs and then its end, file after file in the order given. A file
   * that cannot be read ends with its error; the others go on.
   */
  async *parseFiles(paths: readonly string[], options: PoolParseOptions): AsyncGenerator<FileResult> {
    if (this.busy) throw new Error('this pool is already parsing files');
    if (this.failure) throw this.failure;
    this.busy = true;
    const pending = paths.map((path) => ({ path, results: [] as FileResult[], read: 0, ended: false }));
    const base = this.nextJob;
    this.nextJob += paths.length;
    let next = 0;
    const dispatch = () => {
      for (let round = 0; round < IN_FLIGHT_PER_WORKER; round++) {
        for (const slot of this.slots) {
          if (next >= paths.length) return;
          if (slot.inFlight > round) continue;
          slot.inFlight++;
          slot.worker.postMessage({ id: base + next, path: paths[next], options } satisfies FileJob);
          next++;
        }
      }
    };
    this.onReply = (slot, reply) => {
      const index = reply.job - base;
      const file = pending[index];
      if (file === undefined) return;
      const output = reply.kind === 'output' ? reply : reply.kind === 'done' ? reply.last : undefined;
      if (output !== undefined) {
        file.results.push({ index, input: file.path, output: { flows: output.flows ? unpackBatch(output.flows) : undefined, deadLetters: output.deadLetters, offset: output.offset } });
      }
      if (reply.kind === 'done' || reply.kind === 'error') {
        const error = reply.kind === 'error' ? rebuildError(reply, file.path) : undefined;
        file.results.push({ index, input: file.path, end: { stats: reply.stats, error } });
        file.ended = true;
        slot.inFlight--;
        dispatch();
      }
      this.wake?.();
    };
    for (const s of this.slots) s.worker.ref();
    try {
      dispatch();
      for (const file of pending) {
        for (;;) {
          while (file.read < file.results.length) {
            const r = file.results[file.read];
            file.results[file.read++] = undefined as never;
            yield r;
          }
          if (file.ended) break;
          if (this.failure) throw this.failure;
          await new Promise<void>((resolve) => (this.wake = resolve));
          this.wake = null;
        }
      }
    } finally {
      this.onReply = null;
      this.busy = false;
      for (const s of this.slots) s.worker.unref();
      // Abandoned part-way: the files sent must end before the pool takes new ones.
      const busy = () => this.slots.some((s) => s.inFlight > 0);
      if (busy() && !this.failure) {
        await new Promise<void>((resolve) => {
          this.onReply = (slot, reply) => {
            if (reply.kind === 'done' || reply.kind === 'error') slot.inFlight--;
            if (!busy()) resolve();
          };
          for (const s of this.slots) s.worker.ref();
        });
        this.onReply = null;
        for (const s of this.slots) s.worker.unref();
      }
    }
  }

  /** Stop the threads. */
  async close(): Promise<void> {
    this.onReply = null;
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
  }
}
