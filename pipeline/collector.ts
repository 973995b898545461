/**
 * The IPFIX / NetFlow collector behind `heir collect`: a UDP socket with a large receive buffer,
 * the pure decoder (operators/ingest-ipfix.ts) writing into columns, and two outputs: flow rows
 * as JSON lines and/or the store.
 *
 * Records are accumulated across datagrams, per exporter and observation domain, and flushed as one
 * Arrow batch (and one block of JSON lines) when the next datagram belongs to another batch, or
 * when the exporter has been quiet for FLUSH_IDLE_MS. Datagrams belong to the same batch while
 * their export time (whole seconds) is the same and their sequence numbers stay in one bucket
 * (SEQUENCE_BUCKET records; NetFlow v9 counts datagrams) and go forward. Both come from the
 * datagrams, not the clock, so a redelivered export is cut into the same batches, and each batch
 * id (`<ipfix|netflow9|netflow5>:<exporter>:<domain>:<first>-<last sequence>:<export time>`) adds
 * nothing the second time. The store sees a few large appends instead of one transaction per
 * datagram.
 */
import { createSocket, type Socket } from 'node:dgram';
import { once } from 'node:events';
import { ErrorCode, UserError, messageOf } from './errors.ts';
import type { BatchSink, DeadLetter } from './types.ts';
import { FlowDecoder, exportHeader, type DecoderStats } from '../operators/ingest-ipfix.ts';
import { ExportColumns } from '../operators/ingest-ipfix-columns.ts';

/** Socket receive buffer asked for (the kernel may cap it at net.core.rmem_max). */
const RECEIVE_BUFFER = 8 << 20;
/** Sequence numbers per batch bucket: IPFIX and NetFlow v5 count records, NetFlow v9 datagrams. */
const SEQUENCE_BUCKET: Readonly<Record<number, number>> = { 10: 16384, 5: 16384, 9: 512 };
/** Rows after which a batch is cut whatever its sequence numbers say (a memory bound). */
const MAX_BATCH_ROWS = 32768;
/** A batch whose exporter sent nothing for this long is flushed. */
const FLUSH_IDLE_MS = 250;
/** How often open batches are checked for idleness. */
const FLUSH_CHECK_MS = 50;

/** Where and how to collect. */
export interface CollectorOptions {
  /** `udp://host:port` (IPv6 as `udp://[::1]:4739`); port 0 picks a free one. */
  readonly listen: string;
  readonly site: string;
  /** Sensor id of the flows; defaults to each exporter's address. */
  readonly sensor?: string;
  /**
   * Flows as JSON lines (flow-schema field names), UTF-8, every line ending in \n: whole lines,
   * about a megabyte per call. The bytes are a view of a reused buffer, valid only during the call.
   */
  readonly json?: (lines: Uint8Array) => void;
  /** Store batches and dead letters here. */
  readonly sink?: BatchSink;
  /** Stop after this long without a datagram (ms). */
  readonly idleExitMs?: number;
  readonly signal?: AbortSignal;
  /** Called once the socket is bound, with the address it listens on. */
  readonly onListening?: (address: string) => void;
  /** Called for each dead letter (the CLI prints them). */
  readonly onDeadLetter?: (entry: DeadLetter) => void;
}

/** What a collector run did. */
export interface CollectorSummary extends DecoderStats {
  readonly listen: string;
  /** Batches flushed (each one store write and/or one block of JSON lines). */
  readonly batches: number;
  /** Batches the sink stored as new (0 without a sink). */
  readonly batchesStored: number;
}

/** Records of one exporter/domain on their way to one batch. */
interface OpenBatch {
  readonly source: string;
  readonly exporter: string;
  readonly domain: number;
  readonly bucket: number;
  readonly exportSeconds: number;
  readonly firstSequence: number;
  lastSequence: number;
  lastArrival: number;
  readonly columns: ExportColumns;
}

/** Host, port and socket type of a `udp://` listen address; a UserError otherwise. */
export function parseListen(listen: string): { host: string; port: number; type: 'udp4' | 'udp6' } {
  const m = /^udp:\/\/(?:\[([0-9a-fA-F:.]+)\]|([^:/[\]]+)):(\d{1,5})$/.exec(listen);
  if (!m) throw new UserError(ErrorCode.USAGE, `invalid --listen ${listen} (expected udp://HOST:PORT, e.g. udp://127.0.0.1:4739 or udp://[::1]:4739)`);
  const port = Number(m[3]);
  if (port > 65535) throw new UserError(ErrorCode.USAGE, `invalid --listen ${listen}: port ${port} is above 65535`);
  const host = m[1] ?? m[2];
  return { host, port, type: m[1] !== undefined ? 'udp6' : 'udp4' };
}

/**
 * Collect until the signal aborts or `idleExitMs` passes without a datagram; resolves with the
 * counters once every batch is flushed and stored. Socket errors at bind time (port in use, no
 * permission) are UserErrors.
 */
export async function collect(options: CollectorOptions): Promise<CollectorSummary> {
  const { host, port, type } = parseListen(options.listen);
  const decoder = new FlowDecoder({ site: options.site, sensor: options.sensor });
  const socket: Socket = createSocket({ type, recvBufferSize: RECEIVE_BUFFER });
  const open = new Map<string, OpenBatch>();
  /** Where datagrams without a readable header decode to (they yield dead letters only). */
  const unreadable = new ExportColumns(1);
  /** Emptied columns of flushed batches, reused when nothing kept their buffers (JSON only). */
  const spare: ExportColumns[] = [];
  let batches = 0;
  let batchesStored = 0;
  // Store writes in flight; the store applies them in call order. The first failure stops the run.
  const writes = new Set<Promise<void>>();
  let writeError: unknown = null;

  const deadLetter = (entry: DeadLetter) => {
    options.onDeadLetter?.(entry);
    const sink = options.sink;
    if (!sink) return;
    const write: Promise<void> = sink
      .deadLetter(entry)
      .catch((error) => void (writeError ??= error))
      .finally(() => writes.delete(write));
    writes.add(write);
  };

  let resolveStop!: () => void;
  const stopped = new Promise<void>((resolve) => (resolveStop = resolve));

  const flush = (key: string, batch: OpenBatch) => {
    open.delete(key);
    const columns = batch.columns;
    if (columns.length === 0) return;
    batches++;
    const batchId = `${batch.source}:${batch.exporter}:${batch.domain}:${batch.firstSequence}-${batch.lastSequence}:${batch.exportSeconds}`;
    if (options.json) {
      columns.jsonLines(options.json);
      if (!options.sink) {
        // Without a store the columns keep their grown buffers for the next batch.
        columns.clear();
        spare.push(columns);
      }
    }
    const sink = options.sink;
    if (!sink) return;
    let flows;
    try {
      flows = columns.toBatch();
    } catch (error) {
      deadLetter({ input: `udp:${batch.exporter}`, stage: 'ingest-ipfix', reason: `flows do not fit the flow schema: ${messageOf(error)}`, batchId });
      return;
    }
    // Handed to the store at once: writes that arrive while a commit runs share the next one
    // (the store's group commit), each still under its own batch id.
    const write: Promise<void> = sink
      .write(batchId, { flows })
      .then((fresh) => void (fresh && batchesStored++))
      .catch((error) => {
        writeError ??= error;
        resolveStop();
      })
      .finally(() => writes.delete(write));
    writes.add(write);
  };
  const flushAll = () => {
    for (const [key, batch] of open) flush(key, batch);
  };

  // The idle exit: one timer, re-armed for the rest of the wait when datagrams came meanwhile
  // (not a clearTimeout + setTimeout per datagram).
  let idleTimer: NodeJS.Timeout | undefined;
  let lastDatagram = Date.now();
  const armIdle = () => {
    const idleExitMs = options.idleExitMs;
    if (idleExitMs === undefined) return;
    const left = lastDatagram + idleExitMs - Date.now();
    if (left <= 0) resolveStop();
    else idleTimer = setTimeout(armIdle, left);
  };
  let now = Date.now();
  const flushTimer = setInterval(() => {
    now = Date.now();
    for (const [key, batch] of open) if (now - batch.lastArrival >= FLUSH_IDLE_MS) flush(key, batch);
  }, FLUSH_CHECK_MS);

  socket.on('message', (datagram, remote) => {
    lastDatagram = Date.now();
    const exporter = `${remote.address}:${remote.port}`;
    const header = exportHeader(datagram);
    let batch: OpenBatch | undefined;
    if (header !== null) {
      const key = `${header.version}/${exporter}/${header.domain}`;
      // Export time, whole seconds: IPFIX at byte 4, NetFlow v9 and v5 (unix_secs) at byte 8.
      const exportSeconds = datagram.readUInt32BE(header.version === 10 ? 4 : 8);
      const bucket = Math.floor(header.sequence / SEQUENCE_BUCKET[header.version]);
      batch = open.get(key);
      if (batch !== undefined && (batch.bucket !== bucket || batch.exportSeconds !== exportSeconds || header.sequence < batch.lastSequence || batch.columns.length >= MAX_BATCH_ROWS)) {
        flush(key, batch);
        batch = undefined;
      }
      if (batch === undefined) {
        const source = header.version === 10 ? 'ipfix' : header.version === 9 ? 'netflow9' : 'netflow5';
        batch = { source, exporter, domain: header.domain, bucket, exportSeconds, firstSequence: header.sequence, lastSequence: header.sequence, lastArrival: now, columns: spare.pop() ?? new ExportColumns() };
        open.set(key, batch);
      }
      batch.lastSequence = header.sequence;
      batch.lastArrival = now;
    }
    const decoded = decoder.decodeInto(datagram, exporter, batch?.columns ?? unreadable);
    for (const entry of decoded.deadLetters) deadLetter({ ...entry, batchId: decoded.batchId });
  });

  const bindError = once(socket, 'error').then(([error]) => {
    throw new UserError(ErrorCode.USAGE, `cannot listen on ${options.listen}: ${messageOf(error)}`, { cause: error });
  });
  socket.bind(port, host);
  try {
    await Promise.race([once(socket, 'listening'), bindError]);
  } catch (error) {
    clearInterval(flushTimer);
    throw error;
  }
  bindError.catch(() => undefined);
  const bound = socket.address();
  const listening = `udp://${type === 'udp6' ? `[${bound.address}]` : bound.address}:${bound.port}`;
  options.onListening?.(listening);

  const onAbort = () => resolveStop();
  options.signal?.addEventListener('abort', onAbort, { once: true });
  if (options.signal?.aborted) resolveStop();
  lastDatagram = Date.now();
  armIdle();
  await stopped;
  clearTimeout(idleTimer);
  clearInterval(flushTimer);
  options.signal?.removeEventListener('abort', onAbort);
  socket.close();
  flushAll();
  for (const entry of decoder.flushPending()) deadLetter(entry);
  await Promise.all(writes);
  if (writeError !== null) throw writeError;
  return { ...decoder.stats, listen: listening, batches, batchesStored };
}
