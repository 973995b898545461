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
import { ConfigError, messageOf } from '../errors.ts';
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

  private constructor(options: EdgeGatewayOptions, socket: Router) {
    this.options = options;
    this.socket = socket;
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
    let ackId: string | undefined;
    try {
      if (!message.ok) {
        ackId = message.id;
        const id = message.id ?? `edge-bad:${digest(parts)}`;
        await this.refuse(id, { input, stage: 'edge', reason: message.reason, batchId: id, payload: kept(Buffer.concat(parts)) });
        status = 'dead-letter';
      } else {
        ackId = message.id;
        let tables: Tables | undefined;
        let reason: string | undefined;
        try {
          tables = decodeTables(message.frame, `${input} batch ${message.id}`);
          if (Object.keys(tables).length === 0) reason = `${input} batch ${message.id}: frame holds no tables`;
        } catch (error) {
          reason = messageOf(error);
        }
        if (reason !== undefined || !tables) {
          await this.refuse(message.id, { input, stage: 'edge', reason: reason ?? 'undecodable frame', batchId: message.id, payload: kept(message.frame) });
          status = 'dead-letter';
        } else {
          const fresh = await this.options.sink.accept(message.id, message.frame, tables);
          if (fresh) {
            this.counters.accepted++;
            this.counters.rows += tables.flows?.numRows ?? 0;
          } else this.counters.duplicates++;
          status = fresh ? 'stored' : 'duplicate';
        }
      }
    } catch (error) {
      // Not acknowledged: the sensor sends the batch again after its timeout.
      this.counters.sinkFailures++;
      warn(`edge gateway: batch ${ackId ?? '(no id)'} from ${input} not accepted, left for the sensor to resend: ${messageOf(error)}`);
      return;
    }
    if (ackId === undefined || this.socket.closed) return;
    const id = ackId;
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
