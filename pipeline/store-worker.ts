/**
 * The DuckDB store on a thread of its own, behind the store's interface (BatchSink, counters and
 * the reading calls): `heir run`'s workers write through it. The thread that receives batches
 * (NATS client, IPC decode, operators) then only copies each batch's buffers once and hands them
 * over (store-transfer.ts); filling DuckDB's data chunks, the appender flush and the wait for
 * the commit happen on the store's thread. While one group of batches is appended and committed
 * there, the next is received and decoded here, and joins the following group commit.
 *
 * Every guarantee is the store's own (store.ts): a write resolves only after its transaction
 * committed, a batch id seen before adds nothing, open errors are the same one-line UserErrors.
 */
import { Worker } from 'node:worker_threads';
import { ErrorCode, HeirError, UserError } from './errors.ts';
import type { Store, StoreOptions } from './store.ts';
import { TablePacker, type PackedTables } from './store-transfer.ts';
import type { BatchSink, DeadLetter, Tables } from './types.ts';

/** What the store's thread starts with. */
export interface StoreThreadData {
  readonly path: string;
  readonly readOnly: boolean;
}

/** An error as it crosses threads. */
export interface RemoteError {
  readonly name: string;
  readonly message: string;
  readonly code?: string;
}

type StoreCounters = Store['counters'];

/** A request to the store's thread, numbered by `seq`. */
export type StoreRequest = { readonly seq: number } & (
  | { readonly op: 'write'; readonly writes: readonly { readonly seq: number; readonly batchId: string; readonly tables: PackedTables }[] }
  | { readonly op: 'deadLetter'; readonly entries: DeadLetter[] }
  | { readonly op: 'all'; readonly sql: string }
  | { readonly op: 'count'; readonly table: string }
  | { readonly op: 'tables' }
  | { readonly op: 'exportParquet'; readonly dir: string; readonly tables?: readonly string[] }
  | { readonly op: 'close' }
);

/** The answer to request `seq` (0: the open); a write gives its packed buffer back for reuse. */
export type StoreReply = { readonly seq: number; readonly counters?: StoreCounters; readonly buffer?: ArrayBuffer } & ({ readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly error: RemoteError });

interface Waiter {
  resolve(value: unknown): void;
  reject(error: Error): void;
}

/** A DuckDB store served by a worker thread. Open it with `StoreWorker.open`. */
export class StoreWorker implements BatchSink {
  readonly path: string;
  readonly readOnly: boolean;
  /** The store's counters, as of its latest answer. */
  readonly counters: StoreCounters = { batches: 0, duplicates: 0, rows: 0, deadLetters: 0 };
  private readonly worker: Worker;
  private readonly packer = new TablePacker();
  private readonly waiting = new Map<number, Waiter>();
  /** Writes made in this turn of the event loop, not yet posted. */
  private readonly outbox: { seq: number; batchId: string; tables: PackedTables }[] = [];
  private readonly exited: Promise<void>;
  private seq = 0;
  private failure: Error | undefined;
  private closing: Promise<void> | undefined;

  private constructor(path: string, readOnly: boolean) {
    this.path = path;
    this.readOnly = readOnly;
    // The thread registers the TypeScript loader first (a worker does not inherit it).
    const loader = import.meta.resolve('tsx/esm/api');
    const body = new URL('./store-thread.ts', import.meta.url).href;
    const source = `import(${JSON.stringify(loader)}).then((m) => { m.register(); return import(${JSON.stringify(body)}); })`;
    this.worker = new Worker(source, { eval: true, workerData: { path, readOnly } satisfies StoreThreadData });
    this.worker.on('message', (reply: StoreReply) => this.answer(reply));
    this.worker.on('error', (error) => this.fail(new HeirError(ErrorCode.STORE_OPEN, `store thread of ${path} failed: ${error.message}`, { cause: error })));
    this.exited = new Promise((resolve) =>
      this.worker.once('exit', (code) => {
        this.fail(new HeirError(ErrorCode.STORE_OPEN, `store thread of ${path} has stopped${code ? ` (exit code ${code})` : ''}`));
        resolve();
      }),
    );
  }

  /** Open (and migrate) the store on its thread. Locked or read-only files give the store's one clear UserError. */
  static async open(path: string, options: StoreOptions = {}): Promise<StoreWorker> {
    const store = new StoreWorker(path, options.readOnly === true);
    const opened = new Promise<unknown>((resolve, reject) => store.waiting.set(0, { resolve, reject }));
    store.worker.ref();
    try {
      await opened;
    } catch (error) {
      // The thread ends by itself after a failed open; it keeps the process alive until then.
      store.worker.ref();
      await store.exited;
      throw error;
    }
    store.seq = 1;
    store.worker.unref();
    return store;
  }

  /**
   * Write all tables of one batch atomically with its id; resolves after the commit (false: a
   * redelivery). The writes made in one turn of this thread's event loop cross in one message, so
   * the store's thread takes them into one group commit, as the store does with writes that
   * arrive together on its own thread.
   */
  write(batchId: string, tables: Tables): Promise<boolean> {
    if (this.failure) return Promise.reject(this.failure);
    const packed = this.packer.pack(tables);
    const seq = this.seq++;
    if (this.outbox.length === 0) setImmediate(() => this.send());
    this.outbox.push({ seq, batchId, tables: packed });
    return this.expect(seq) as Promise<boolean>;
  }

  /** Post the writes of this turn. */
  private send(): void {
    const writes = this.outbox.splice(0);
    // Empty when a request in the same turn has posted them already; after a failure every waiting write has been rejected.
    if (writes.length === 0 || this.failure) return;
    this.worker.postMessage({ op: 'write', seq: writes[0].seq, writes } satisfies StoreRequest, writes.map((w) => w.tables.buffer));
  }

  /** Keep records that could not be processed, with their reasons. */
  async deadLetter(...entries: DeadLetter[]): Promise<void> {
    // A payload may be a view into a larger buffer (a socket's): send only its bytes.
    const own = entries.map((e) => (e.payload instanceof Uint8Array ? { ...e, payload: e.payload.slice() } : e));
    await this.request({ op: 'deadLetter', entries: own });
  }

  /** Run a query and return rows as plain objects (as Store.all, without parameters). */
  all<T = Record<string, unknown>>(sql: string): Promise<T[]> {
    return this.request({ op: 'all', sql }) as Promise<T[]>;
  }

  /** Row count of a table (0 when it does not exist yet). */
  count(table: string): Promise<number> {
    return this.request({ op: 'count', table }) as Promise<number>;
  }

  /** Names of the user tables. */
  tables(): Promise<string[]> {
    return this.request({ op: 'tables' }) as Promise<string[]>;
  }

  /** Export each table to `<dir>/<table>.parquet` (ZSTD). */
  exportParquet(dir: string, tables?: readonly string[]): Promise<{ table: string; file: string; rows: number }[]> {
    return this.request({ op: 'exportParquet', dir, tables }) as Promise<{ table: string; file: string; rows: number }[]>;
  }

  /** Wait for pending writes, checkpoint, close the store and end its thread. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      try {
        if (!this.failure) await this.request({ op: 'close' });
      } finally {
        this.worker.ref();
        await this.worker.terminate();
        await this.exited;
      }
    })();
    return this.closing;
  }

  private request(body: DistributiveOmit<Exclude<StoreRequest, { op: 'write' }>, 'seq'>): Promise<unknown> {
    if (this.failure) return Promise.reject(this.failure);
    // Writes of this turn go first: a request sees every write made before it.
    if (this.outbox.length > 0) this.send();
    const seq = this.seq++;
    const answer = this.expect(seq);
    this.worker.postMessage({ ...body, seq });
    return answer;
  }

  /** The answer to `seq`, once it comes. */
  private expect(seq: number): Promise<unknown> {
    return new Promise((resolve, reject) => {
      // The thread keeps the process alive only while it owes an answer.
      if (this.waiting.size === 0) this.worker.ref();
      this.waiting.set(seq, { resolve, reject });
    });
  }

  private answer(reply: StoreReply): void {
    if (reply.counters) Object.assign(this.counters, reply.counters);
    if (reply.buffer) this.packer.release(reply.buffer);
    const waiter = this.waiting.get(reply.seq);
    if (!waiter) return;
    this.waiting.delete(reply.seq);
    if (this.waiting.size === 0) this.worker.unref();
    if (reply.ok) waiter.resolve(reply.value);
    else waiter.reject(localError(reply.error));
  }

  /** The thread is gone: every open request fails, and so does every later one. */
  private fail(error: Error): void {
    this.failure ??= error;
    for (const waiter of this.waiting.values()) waiter.reject(this.failure);
    this.waiting.clear();
  }
}

/** Open a store on its own thread: `const store = await openStoreWorker('site.duckdb')`. */
export function openStoreWorker(path: string, options?: StoreOptions): Promise<StoreWorker> {
  return StoreWorker.open(path, options);
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

const CODES = new Set<string>(Object.values(ErrorCode));

/** The error as this thread's class: a UserError stays one (printed without a stack), coded errors keep their code. */
function localError(remote: RemoteError): Error {
  const code = remote.code !== undefined && CODES.has(remote.code) ? (remote.code as ErrorCode) : undefined;
  const error = code === undefined ? new Error(remote.message) : remote.name === 'UserError' || remote.name === 'ConfigError' ? new UserError(code, remote.message) : new HeirError(code, remote.message);
  error.name = remote.name;
  return error;
}
