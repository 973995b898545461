/**
 * The in-process bus: the embedded default for a laptop, `heir demo` and tests. It keeps the
 * JetStream contract that the runner relies on — deduplication by message id within a window,
 * acknowledgement after the handler's effect, redelivery on failure, a dead-letter subject after
 * `maxDeliver` deliveries, bounded queues — without a server. Messages live in memory: durability
 * across processes is what the NATS bus is for.
 */
import { ErrorCode, HeirError } from './errors.ts';
import { deadLetterSubject, subjectMatches } from './subjects.ts';
import type { Bus, BusCounters, BusMessage, ConsumeOptions, MessageHandler } from './types.ts';

/** Options of the in-process bus. */
export interface MemoryBusOptions {
  /** Messages waiting per subject before `publish` waits for room (back-pressure). */
  readonly maxPending?: number;
  /** How long a message id is remembered for deduplication, in ms. */
  readonly duplicateWindowMs?: number;
}

interface Pending {
  id: string;
  subject: string;
  data: Uint8Array;
  deliveries: number;
}

/** A bus inside one process. */
export class MemoryBus implements Bus {
  readonly kind = 'memory' as const;
  readonly maxPayload = Number.POSITIVE_INFINITY;
  readonly counters: BusCounters = { published: 0, duplicates: 0, delivered: 0, acked: 0, redelivered: 0, deadLettered: 0 };
  private readonly maxPending: number;
  private readonly windowMs: number;
  private readonly queues = new Map<string, Pending[]>();
  private readonly seen = new Map<string, number>();
  private wake: (() => void)[] = [];
  private room: (() => void)[] = [];
  private closed = false;

  constructor(options: MemoryBusOptions = {}) {
    this.maxPending = options.maxPending ?? 64;
    this.windowMs = options.duplicateWindowMs ?? 120_000;
    if (!(this.maxPending >= 1)) throw new HeirError(ErrorCode.CONFIG_INVALID, `invalid maxPending: ${this.maxPending}`);
  }

  async publish(subject: string, id: string, data: Uint8Array): Promise<void> {
    if (this.closed) throw new HeirError(ErrorCode.BUS_CLOSED, 'in-process bus is closed');
    const now = Date.now();
    this.forget(now);
    if (this.seen.has(id)) {
      this.counters.duplicates++;
      return;
    }
    const queue = this.queue(subject);
    while (queue.length >= this.maxPending) {
      await new Promise<void>((resolve) => this.room.push(resolve));
      if (this.closed) throw new HeirError(ErrorCode.BUS_CLOSED, 'in-process bus is closed');
    }
    this.seen.set(id, now);
    queue.push({ id, subject, data, deliveries: 0 });
    this.counters.published++;
    this.notify();
  }

  async consume(pattern: string, handler: MessageHandler, options: ConsumeOptions): Promise<void> {
    const maxInFlight = options.maxInFlight ?? 4;
    const maxDeliver = options.maxDeliver ?? 5;
    const inFlight = new Set<Promise<void>>();
    let idleSince = Date.now();
    while (!options.signal?.aborted && !this.closed) {
      const next = inFlight.size < maxInFlight ? this.take(pattern) : undefined;
      if (next) {
        idleSince = Date.now();
        const work = this.deliver(next, handler, maxDeliver).finally(() => inFlight.delete(work));
        inFlight.add(work);
        continue;
      }
      if (inFlight.size > 0) {
        await Promise.race([...inFlight, this.nextWake()]);
        continue;
      }
      if (options.idleExitMs !== undefined && Date.now() - idleSince >= options.idleExitMs) break;
      await this.waitForWork(options);
    }
    await Promise.all(inFlight);
  }

  deadLetterSubject(subject: string): string {
    return deadLetterSubject(subject);
  }

  /** Messages waiting on subjects that match `pattern` (tests and counters). */
  pending(pattern: string): number {
    let n = 0;
    for (const [subject, queue] of this.queues) if (subjectMatches(pattern, subject)) n += queue.length;
    return n;
  }

  async close(): Promise<void> {
    this.closed = true;
    this.notify();
    for (const resolve of this.room.splice(0)) resolve();
  }

  private async deliver(message: Pending, handler: MessageHandler, maxDeliver: number): Promise<void> {
    message.deliveries++;
    this.counters.delivered++;
    if (message.deliveries > 1) this.counters.redelivered++;
    const view: BusMessage = { id: message.id, subject: message.subject, data: message.data, deliveries: message.deliveries };
    try {
      await handler(view);
      this.counters.acked++;
    } catch {
      if (message.deliveries >= maxDeliver) {
        this.counters.deadLettered++;
        this.queue(deadLetterSubject(message.subject)).push({ ...message, subject: deadLetterSubject(message.subject), deliveries: 0 });
      } else {
        this.queue(message.subject).push(message);
      }
      this.notify();
    }
  }

  private take(pattern: string): Pending | undefined {
    for (const [subject, queue] of this.queues) {
      if (queue.length > 0 && subjectMatches(pattern, subject)) {
        const message = queue.shift()!;
        const waiting = this.room.shift();
        waiting?.();
        return message;
      }
    }
    return undefined;
  }

  private queue(subject: string): Pending[] {
    let queue = this.queues.get(subject);
    if (!queue) this.queues.set(subject, (queue = []));
    return queue;
  }

  private nextWake(): Promise<void> {
    return new Promise((resolve) => this.wake.push(resolve));
  }

  private waitForWork(options: ConsumeOptions): Promise<void> {
    return new Promise((resolve) => {
      const timer = options.idleExitMs !== undefined ? setTimeout(resolve, options.idleExitMs) : undefined;
      const done = () => {
        if (timer) clearTimeout(timer);
        options.signal?.removeEventListener('abort', done);
        resolve();
      };
      options.signal?.addEventListener('abort', done, { once: true });
      this.wake.push(done);
    });
  }

  private notify(): void {
    for (const resolve of this.wake.splice(0)) resolve();
  }

  private forget(now: number): void {
    // Ids are remembered in publish order, so the oldest are first.
    for (const [id, at] of this.seen) {
      if (now - at < this.windowMs) break;
      this.seen.delete(id);
    }
  }
}
