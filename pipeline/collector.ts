/**
 * The IPFIX / NetFlow collector behind `heir collect`: a UDP socket with a large receive buffer,
 * the pure decoder (operators/ingest-ipfix.ts), and two outputs: flow rows as JSON lines and/or the
 * store (one batch per datagram, id `<ipfix|netflow9|netflow5>:<exporter>:<domain>:<sequence>`,
 * so a replayed datagram adds nothing).
 */
import { createSocket, type Socket } from 'node:dgram';
import { once } from 'node:events';
import { ErrorCode, UserError, messageOf } from './errors.ts';
import { FLOW_COLUMNS, flowBatch, type FlowRow } from './flow-schema.ts';
import type { BatchSink, DeadLetter } from './types.ts';
import { FlowDecoder, type DecoderStats } from '../operators/ingest-ipfix.ts';

/** Socket receive buffer asked for (the kernel may cap it at net.core.rmem_max). */
const RECEIVE_BUFFER = 8 << 20;

/** Where and how to collect. */
export interface CollectorOptions {
  /** `udp://host:port` (IPv6 as `udp://[::1]:4739`); port 0 picks a free one. */
  readonly listen: string;
  readonly site: string;
  /** Sensor id of the flows; defaults to each exporter's address. */
  readonly sensor?: string;
  /** Flows as JSON lines (flow-schema field names): one call per datagram, every line ending in \n. */
  readonly json?: (lines: string) => void;
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
  /** Batches the sink stored as new (0 without a sink). */
  readonly batchesStored: number;
}

const JSON_KEYS = FLOW_COLUMNS.map((c, i) => (i ? ',' : '{') + JSON.stringify(c.name) + ':');

/**
 * One flow as a JSON line in flow-schema column order with null for absent values: the same text as
 * JSON.stringify of the flowRows() row + '\n', at a fraction of the cost (keys quoted once).
 */
export function flowJsonLine(row: Partial<FlowRow>): string {
  let out = '';
  for (let i = 0; i < FLOW_COLUMNS.length; i++) {
    const v = (row as Record<string, unknown>)[FLOW_COLUMNS[i].name];
    out += JSON_KEYS[i] + (v === null || v === undefined ? 'null' : typeof v === 'string' ? JSON.stringify(v) : typeof v === 'number' ? (Number.isFinite(v) ? String(v) : 'null') : String(v));
  }
  return out + '}\n';
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
 * counters. Socket errors at bind time (port in use, no permission) are UserErrors.
 */
export async function collect(options: CollectorOptions): Promise<CollectorSummary> {
  const { host, port, type } = parseListen(options.listen);
  const decoder = new FlowDecoder({ site: options.site, sensor: options.sensor });
  const socket: Socket = createSocket({ type, recvBufferSize: RECEIVE_BUFFER });
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
  let idleTimer: NodeJS.Timeout | undefined;
  const armIdle = () => {
    if (options.idleExitMs === undefined) return;
    clearTimeout(idleTimer);
    idleTimer = setTimeout(resolveStop, options.idleExitMs);
  };

  socket.on('message', (datagram, remote) => {
    armIdle();
    const decoded = decoder.decode(datagram, `${remote.address}:${remote.port}`);
    for (const entry of decoded.deadLetters) deadLetter({ ...entry, batchId: decoded.batchId });
    if (decoded.flows.length === 0) return;
    const sink = options.sink;
    if (sink) {
      let batch;
      try {
        batch = flowBatch(decoded.flows);
      } catch (error) {
        deadLetter({ input: `udp:${remote.address}:${remote.port}`, stage: 'ingest-ipfix', reason: `flows do not fit the flow schema: ${messageOf(error)}`, batchId: decoded.batchId, payload: datagram });
        return;
      }
      // Handed to the store at once: writes that arrive while a commit runs share the next one
      // (the store's group commit), each still under its own batch id.
      const write: Promise<void> = sink
        .write(decoded.batchId, { flows: batch })
        .then((fresh) => void (fresh && batchesStored++))
        .catch((error) => {
          writeError ??= error;
          resolveStop();
        })
        .finally(() => writes.delete(write));
      writes.add(write);
    }
    if (options.json) {
      // Written from the decoded rows, one write per datagram: an Arrow batch per datagram only to
      // read it back (flowRows) cost 4x the decoding; the lines are identical (checked by a test).
      let lines = '';
      for (const row of decoded.flows) lines += flowJsonLine(row);
      options.json(lines);
    }
  });

  const bindError = once(socket, 'error').then(([error]) => {
    throw new UserError(ErrorCode.USAGE, `cannot listen on ${options.listen}: ${messageOf(error)}`, { cause: error });
  });
  socket.bind(port, host);
  await Promise.race([once(socket, 'listening'), bindError]);
  bindError.catch(() => undefined);
  const bound = socket.address();
  const listening = `udp://${type === 'udp6' ? `[${bound.address}]` : bound.address}:${bound.port}`;
  options.onListening?.(listening);

  const onAbort = () => resolveStop();
  options.signal?.addEventListener('abort', onAbort, { once: true });
  if (options.signal?.aborted) resolveStop();
  armIdle();
  await stopped;
  clearTimeout(idleTimer);
  options.signal?.removeEventListener('abort', onAbort);
  socket.close();
  for (const entry of decoder.flushPending()) deadLetter(entry);
  await Promise.all(writes);
  if (writeError !== null) throw writeError;
  return { ...decoder.stats, listen: listening, batchesStored };
}
