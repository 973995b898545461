/**
 * The thread behind a StoreWorker (store-worker.ts): opens the DuckDB store and serves the
 * requests of the thread that owns it, in the order they arrive. Writes go straight into the
 * store's group commit, so batches that arrive while a group commits form the next group; each
 * write is answered once its transaction committed (or with its error).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { Store } from './store.ts';
import { TableUnpacker } from './store-transfer.ts';
import type { StoreReply, StoreRequest, StoreThreadData, RemoteError } from './store-worker.ts';

const port = parentPort!;
const { path, readOnly } = workerData as StoreThreadData;
const unpacker = new TableUnpacker();

function remote(error: unknown): RemoteError {
  if (error instanceof Error) return { name: error.name, message: error.message, code: (error as { code?: string }).code };
  return { name: 'Error', message: String(error) };
}

async function open(): Promise<Store | undefined> {
  try {
    return await Store.open(path, { readOnly });
  } catch (error) {
    // Answered and done: with the port closed nothing keeps this thread alive.
    port.postMessage({ seq: 0, ok: false, error: remote(error) } satisfies StoreReply);
    port.close();
    return undefined;
  }
}

const opened = await open();
if (opened) serveRequests(opened);

function serveRequests(store: Store): void {
  port.postMessage({ seq: 0, ok: true, value: null, counters: store.counters } satisfies StoreReply);

  /** Start one request; it resolves with the reply's value. */
  const serve = (request: Exclude<StoreRequest, { op: 'write' }>): Promise<unknown> => {
    switch (request.op) {
      case 'deadLetter':
        return store.deadLetter(...request.entries);
      case 'all':
        return store.all(request.sql);
      case 'count':
        return store.count(request.table);
      case 'tables':
        return store.tables();
      case 'exportParquet':
        return store.exportParquet(request.dir, request.tables);
      case 'close':
        return store.close();
    }
  };

  const answer = (seq: number, work: Promise<unknown>, buffer?: ArrayBuffer, then?: () => void) => {
    const transfer = buffer ? [buffer] : [];
    work.then(
      (value) => {
        port.postMessage({ seq, ok: true, value: value ?? null, counters: store.counters, buffer } satisfies StoreReply, transfer);
        then?.();
      },
      (error) => port.postMessage({ seq, ok: false, error: remote(error), counters: store.counters, buffer } satisfies StoreReply, transfer),
    );
  };
  const attempt = (start: () => Promise<unknown>): Promise<unknown> => {
    try {
      return start();
    } catch (error) {
      return Promise.reject(error);
    }
  };

  port.on('message', (request: StoreRequest) => {
    if (request.op === 'write') {
      // Every write of the message enters the store's pending group before it commits. A write's
      // rows are in DuckDB once it has settled: its buffer goes back for the next batch.
      for (const w of request.writes) answer(w.seq, attempt(() => store.write(w.batchId, unpacker.unpack(w.tables))), w.tables.buffer);
      return;
    }
    answer(request.seq, attempt(() => serve(request)), undefined, request.op === 'close' ? () => port.close() : undefined);
  });
}
