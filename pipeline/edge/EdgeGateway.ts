/**
 * The gateway end of the ZeroMQ edge: a ROUTER socket takes batches from any number of sensors,
 * checks each frame, and hands it to a `GatewaySink` (the bus, or the in-process pipeline into
 * the store). Only once the sink has durably accepted the batch does the gateway acknowledge it
 * to the sensor that sent it. A message that is not a valid batch is dead-lettered with the reason
 * (and acknowledged when it carries a batch id, so the sensor does not send it forever); the
 * gateway goes on.
 */
import { createHash } from 'node:crypto';
import { Router } from 'zeromq';
import { ConfigError, InputError, messageOf } from '../errors.ts';
import { decodeTables } from '../ipc.ts';
import type { DeadLetter, Tables } from '../types.ts';
import { warn } from '../warn.ts';
import { ackMessage, readBatch, type AckStatus } from './protocol.ts';

/** Where the gateway puts batches. Each method resolves once its effect is durable. */
export interface GatewaySink {
  /** Accept one checked batch: `frame` is its encoded form, `tables` the decoded one. Resolves true when new. */
  accept(id: string, frame: Uint8Array, tables: Tables): Promise<boolean>;
  /** Keep a refused message under a deterministic id. */
  reject(id: string, entry: DeadLetter): Promise<void>;
}

/** Options of a gateway. */
export interface EdgeGatewayOptions {
  /** Endpoint to bind, e.g. tcp://0.0.0.0:5555. */
  readonly bind: string;
  readonly sink: GatewaySink;
  /** Batches handed to the sink at once (default 8); past that the socket is not read. */
  readonly maxInFlight?: number;
  /** Failed attempts to hand one batch to the sink before it is dead-lettered (default 5). */
  readonly maxFailures?: number;
  /** ZeroMQ receive high-water mark in messages (default 32). */
  readonly highWaterMark?: number;
}

/** What a gateway has done. */
export interface EdgeGatewayCounters {
  received: number;
  accepted: number;
  duplicates: number;
  rows: number;
  deadLetters: number;
  acked: number;
  sinkFailures: number;
}

/** Receives sensor batches until stopped. */
export class EdgeGateway {
  readonly counters: EdgeGatewayCounters = { received: 0, accepted: 0, duplicates: 0, rows: 0, deadLetters: 0, acked: 0, sinkFailures: 0 };
  private readonly options: EdgeGatewayOptions;
  private readonly socket: Router;
  private acking: Promise<void> = Promise.resolve();
  /** Failed attempts per batch id (bounded: cleared on success or dead-letter, capped in size). */
  private readonly failures = new Map<string, number>();
  private readonly maxFailures: number;

  private constructor(options: EdgeGatewayOptions, socket: Router) {
    this.options = options;
    this.socket = socket;
    this.maxFailures = options.maxFailures ?? 5;
  }

  /** Bind the ROUTER socket; an endpoint in use or malformed is a ConfigError naming it. */
  static async bind(options: EdgeGatewayOptions): Promise<EdgeGateway> {
    const hwm = options.highWaterMark ?? 32;
    if (!Number.isInteger(hwm) || hwm < 1) throw new ConfigError(`invalid high-water mark: ${options.highWaterMark}`);
    const socket = new Router({ receiveHighWaterMark: hwm, sendHighWaterMark: Math.max(hwm * 4, 256), linger: 1000, heartbeatInterval: 1000, heartbeatTimeout: 5000 });
    try {
      await socket.bind(options.bind);
    } catch (error) {
      socket.close();
      throw new ConfigError(`cannot bind ${options.bind}: ${messageOf(error)}`, { cause: error });
    }
    return new EdgeGateway(options, socket);
  }

  /** Receive and handle messages until the signal aborts; in-flight batches finish first. */
  async run(signal?: AbortSignal): Promise<void> {
    const limit = this.options.maxInFlight ?? 8;
    const inFlight = new Set<Promise<void>>();
    const stop = () => this.socket.close();
    signal?.addEventListener('abort', stop, { once: true });
    if (signal?.aborted) stop();
    try {
      for await (const [peer, ...parts] of this.socket) {
        this.counters.received++;
        const work = this.handle(peer, parts).finally(() => inFlight.delete(work));
        inFlight.add(work);
        // Back-pressure: stop reading while the sink is busy; the sensors' queues fill and they wait.
        while (inFlight.size >= limit) await Promise.race(inFlight);
      }
    } catch (error) {
      if (!this.socket.closed) throw error;
    } finally {
      signal?.removeEventListener('abort', stop);
      await Promise.all(inFlight);
      await this.acking;
      if (!this.socket.closed) this.socket.close();
    }
  }

  private async handle(peer: Uint8Array, parts: Uint8Array[]): Promise<void> {
    const input = `edge ${this.options.bind} peer ${Buffer.from(peer).toString('hex')}`;
    const message = readBatch(parts);
    let status: AckStatus;
    try {
      if (message.ok) status = await this.admit(input, message.id, message.frame);
      else {
        const id = message.id ?? `edge-bad:${digest(parts)}`;
        await this.refuse(id, { input, stage: 'edge', reason: message.reason, batchId: id, payload: kept(Buffer.concat(parts)) });
        status = 'dead-letter';
      }
    } catch (error) {
      // Not acknowledged: the sensor sends the batch again after its timeout.
      this.counters.sinkFailures++;
      warn(`edge gateway: batch ${message.id ?? '(no id)'} from ${input} not accepted, left for the sensor to resend: ${messageOf(error)}`);
      return;
    }
    if (message.id !== undefined) await this.acknowledge(peer, message.id, status);
  }

  /** Decode a batch and hand it to the sink; input it can never take is dead-lettered with the reason. */
  private async admit(input: string, id: string, frame: Uint8Array): Promise<AckStatus> {
    let reason: string;
    try {
      const tables = decodeTables(frame, `${input} batch ${id}`);
      if (Object.keys(tables).length === 0) throw new InputError(`${input} batch ${id}`, 'frame holds no tables');
      const fresh = await this.options.sink.accept(id, frame, tables);
      this.failures.delete(id);
      if (!fresh) {
        this.counters.duplicates++;
        return 'duplicate';
      }
      this.counters.accepted++;
      this.counters.rows += tables.flows?.numRows ?? 0;
      return 'stored';
    } catch (error) {
      // A malformed frame never becomes valid; another failure (bus down, store busy) may pass, so it
      // is left to the sensor's resend until it has failed `maxFailures` times.
      const failures = (this.failures.get(id) ?? 0) + 1;
      if (!(error instanceof InputError) && failures < this.maxFailures) {
        this.failures.set(id, failures);
        if (this.failures.size > 10_000) this.failures.delete(this.failures.keys().next().value!);
        throw error;
      }
      this.failures.delete(id);
      reason = error instanceof InputError ? messageOf(error) : `${messageOf(error)} (after ${failures} attempts)`;
    }
    await this.refuse(id, { input, stage: 'edge', reason, batchId: id, payload: kept(frame) });
    return 'dead-letter';
  }

  private async acknowledge(peer: Uint8Array, id: string, status: AckStatus): Promise<void> {
    if (this.socket.closed) return;
    // One send at a time on a ZeroMQ socket. A ROUTER drops a reply to a peer that has gone; that
    // sensor resends the batch and gets a duplicate acknowledgement.
    this.acking = this.acking.then(async () => {
      if (this.socket.closed) return;
      try {
        await this.socket.send([peer, ...ackMessage(id, status)]);
        this.counters.acked++;
      } catch (error) {
        if (!this.socket.closed) warn(`edge gateway: acknowledgement of ${id} not sent: ${messageOf(error)}`);
      }
    });
    await this.acking;
  }

  private async refuse(id: string, entry: DeadLetter): Promise<void> {
    await this.options.sink.reject(id, entry);
    this.counters.deadLetters++;
    warn(`edge gateway: dead-lettered ${id}: ${entry.reason}`);
  }
}

/** Bytes of a refused message kept for inspection: enough to see what it was, small enough for any bus message. */
export const KEPT_PAYLOAD = 64 * 1024;

function kept(bytes: Uint8Array): Uint8Array {
  return bytes.length > KEPT_PAYLOAD ? bytes.subarray(0, KEPT_PAYLOAD) : bytes;
}

function digest(parts: readonly Uint8Array[]): string {
  const hash = createHash('sha256');
  for (const p of parts) hash.update(p);
  return hash.digest('hex').slice(0, 32);
}
