/**
 * The sensor end of the ZeroMQ edge: batches from a source are framed and sent to the gateway on
 * a DEALER socket; each one is kept until the gateway acknowledges it (after the bus or store has
 * durably accepted it) and sent again when no acknowledgement came within the resend timeout, so
 * a gateway restart loses nothing. The window of unacknowledged batches is bounded: when it is
 * full the source is not read further (back-pressure reaches the capture or file).
 */
import { Dealer } from 'zeromq';
import { ConfigError, messageOf } from '../errors.ts';
import { encodeTables } from '../ipc.ts';
import type { SourceBatch } from '../types.ts';
import { warn } from '../warn.ts';
import { batchMessage, readAck } from './protocol.ts';

/** Options of a sensor. */
export interface EdgeSensorOptions {
  /** Gateway endpoint, e.g. tcp://10.0.0.5:5555. */
  readonly connect: string;
  /** Unacknowledged batches at most (default 16). */
  readonly window?: number;
  /** Send a batch again when unacknowledged this long, ms (default 5000; doubles per resend up to 8×). */
  readonly resendMs?: number;
  /** ZeroMQ high-water marks in messages (default: the window). */
  readonly highWaterMark?: number;
}

/** What a sensor has done. */
export interface EdgeSensorCounters {
  batches: number;
  rows: number;
  sent: number;
  resent: number;
  acked: number;
  duplicateAcks: number;
  deadLettered: number;
  unacked: number;
  bytes: number;
}

interface Unacked {
  readonly parts: Uint8Array[];
  readonly rows: number;
  sentAt: number;
  sends: number;
  queued: boolean;
}

/** Streams batches to a gateway and resolves once every one is acknowledged. */
export class EdgeSensor {
  readonly counters: EdgeSensorCounters = { batches: 0, rows: 0, sent: 0, resent: 0, acked: 0, duplicateAcks: 0, deadLettered: 0, unacked: 0, bytes: 0 };
  private readonly connectTo: string;
  private readonly window: number;
  private readonly resendMs: number;
  private readonly socket: Dealer;
  private readonly unacked = new Map<string, Unacked>();
  private sending: Promise<void> = Promise.resolve();
  private waiters: (() => void)[] = [];
  private failure: unknown;

  constructor(options: EdgeSensorOptions) {
    this.connectTo = options.connect;
    this.window = options.window ?? 16;
    this.resendMs = options.resendMs ?? 5000;
    if (!Number.isInteger(this.window) || this.window < 1) throw new ConfigError(`invalid window: ${options.window}`);
    if (!(this.resendMs >= 10)) throw new ConfigError(`invalid resend timeout: ${options.resendMs} ms`);
    const hwm = options.highWaterMark ?? this.window;
    this.socket = new Dealer({
      sendHighWaterMark: hwm,
      receiveHighWaterMark: Math.max(hwm * 4, 64),
      linger: 0,
      reconnectInterval: 100,
      reconnectMaxInterval: 1000,
      // Notice a gateway that vanished without closing its connection (power loss, cable).
      heartbeatInterval: 1000,
      heartbeatTimeout: 5000,
    });
    try {
      this.socket.connect(options.connect);
    } catch (error) {
      this.socket.close();
      throw new ConfigError(`invalid --connect ${options.connect}: ${messageOf(error)}`, { cause: error });
    }
  }

  /** Send every batch of `source`; resolves when all are acknowledged (or the signal aborts). */
  async run(source: AsyncIterable<SourceBatch>, signal?: AbortSignal): Promise<EdgeSensorCounters> {
    const receiving = this.receiveAcks();
    const timer = setInterval(() => this.resendDue(), Math.max(5, Math.min(1000, this.resendMs / 4)));
    const onAbort = () => this.wake();
    signal?.addEventListener('abort', onAbort);
    try {
      for await (const batch of source) {
        while (this.unacked.size >= this.window && !signal?.aborted && !this.failure) await this.nextChange();
        if (signal?.aborted || this.failure) break;
        if (this.unacked.has(batch.id)) continue;
        const frame = encodeTables(batch.tables);
        const entry: Unacked = { parts: batchMessage(batch.id, frame), rows: batch.tables.flows?.numRows ?? 0, sentAt: 0, sends: 0, queued: false };
        this.unacked.set(batch.id, entry);
        this.counters.batches++;
        this.counters.rows += entry.rows;
        this.counters.bytes += frame.length;
        this.queueSend(batch.id, entry);
      }
      while (this.unacked.size > 0 && !signal?.aborted && !this.failure) await this.nextChange();
      if (this.failure) throw this.failure;
    } finally {
      clearInterval(timer);
      signal?.removeEventListener('abort', onAbort);
      this.counters.unacked = this.unacked.size;
      this.socket.close();
      await receiving;
      await this.sending;
    }
    return this.counters;
  }

  /** The endpoint this sensor sends to. */
  get endpoint(): string {
    return this.connectTo;
  }

  /** Sends are serialised: a ZeroMQ socket takes one send at a time, and blocks at its high-water mark. */
  private queueSend(id: string, entry: Unacked): void {
    entry.queued = true;
    this.sending = this.sending.then(async () => {
      if (!this.unacked.has(id) || this.socket.closed) return;
      try {
        await this.socket.send(entry.parts);
      } catch (error) {
        if (!this.socket.closed) this.failure ??= error;
        this.wake();
        return;
      } finally {
        entry.queued = false;
      }
      if (entry.sends > 0) this.counters.resent++;
      entry.sends++;
      entry.sentAt = Date.now();
      this.counters.sent++;
    });
  }

  private resendDue(): void {
    const now = Date.now();
    for (const [id, entry] of this.unacked) {
      if (entry.queued || entry.sends === 0) continue;
      // Back off on a gateway that stays away: 1×, 2×, 4×, then 8× the timeout.
      const timeout = this.resendMs * 2 ** Math.min(3, entry.sends - 1);
      if (now - entry.sentAt >= timeout) this.queueSend(id, entry);
    }
  }

  private async receiveAcks(): Promise<void> {
    try {
      for await (const parts of this.socket) {
        const ack = readAck(parts);
        if (!ack) {
          warn(`edge sensor: ignored a message from ${this.connectTo} that is not an acknowledgement (${parts.length} parts)`);
          continue;
        }
        if (!this.unacked.delete(ack.id)) {
          this.counters.duplicateAcks++;
          continue;
        }
        this.counters.acked++;
        if (ack.status === 'dead-letter') this.counters.deadLettered++;
        this.wake();
      }
    } catch (error) {
      if (!this.socket.closed) {
        this.failure ??= error;
        this.wake();
      }
    }
  }

  private nextChange(): Promise<void> {
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  private wake(): void {
    for (const resolve of this.waiters.splice(0)) resolve();
  }
}
