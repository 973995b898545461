/**
 * The NATS JetStream bus: one file-backed stream for `heir.>`, durable pull consumers per stage,
 * `Nats-Msg-Id` deduplication keyed on batch ids, acknowledgement only after the handler's effect
 * is durable, bounded in-flight work, redelivery with back-off and a dead-letter subject after
 * `maxDeliver` deliveries. The client reconnects by itself when the server restarts.
 *
 * The client runs on a worker thread of its own (pipeline/bus-nats-thread.ts): this side hands it
 * messages to publish, runs the handler for each message it delivers and tells it how the handler
 * ended; the thread acknowledges only then.
 */
import { Worker } from 'node:worker_threads';
import { ErrorCode, HeirError, UserError, messageOf } from './errors.ts';
import type { FromThread, ThreadOptions, ToThread } from './bus-nats-thread.ts';
import { deadLetterSubject } from './subjects.ts';
import type { Bus, BusCounters, ConsumeOptions, MessageHandler } from './types.ts';

/** Options of the NATS bus. */
export interface NatsBusOptions {
  /** Server URL, e.g. nats://127.0.0.1:4222. */
  readonly url: string;
  /** Stream name. */
  readonly stream?: string;
  /** How long JetStream remembers a message id for deduplication, ms. */
  readonly duplicateWindowMs?: number;
  /** AckWait of consumers, ms: longer than a batch takes (handlers also send in-progress acks). */
  readonly ackWaitMs?: number;
  /** How long to try the first connection before giving up, ms. */
  readonly connectTimeoutMs?: number;
}

interface Reply {
  resolve(message: FromThread): void;
  reject(error: Error): void;
}

interface Consumer {
  readonly handler: MessageHandler;
  readonly running: Set<Promise<void>>;
  resolve(): void;
  reject(error: Error): void;
}

/** Start the client thread; it registers the TypeScript loader first (threads do not inherit it). */
function startThread(options: ThreadOptions): Worker {
  const loader = import.meta.resolve('tsx/esm/api');
  const body = new URL('./bus-nats-thread.ts', import.meta.url).href;
  const source = `import(${JSON.stringify(loader)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(body)}); })`;
  return new Worker(source, { eval: true, workerData: options });
}

/** A bus on NATS JetStream. Create it with `NatsBus.connect`. */
export class NatsBus implements Bus {
  readonly kind = 'nats' as const;
  readonly counters: BusCounters = { published: 0, duplicates: 0, delivered: 0, acked: 0, redelivered: 0, deadLettered: 0 };
  readonly stream: string;
  private readonly thread: Worker;
  private readonly serverMaxPayload: number;
  private readonly replies = new Map<number, Reply>();
  private readonly consumers = new Map<number, Consumer>();
  private nextSeq = 0;
  private closing: Promise<void> | undefined;
  private failure: Error | undefined;

  private constructor(thread: Worker, stream: string, maxPayload: number) {
    this.thread = thread;
    this.stream = stream;
    this.serverMaxPayload = maxPayload;
    thread.on('message', (m: FromThread) => this.receive(m));
    const fail = (error: Error) => {
      this.failure = new HeirError(ErrorCode.NATS_UNREACHABLE, `NATS client thread stopped: ${messageOf(error)}`, { cause: error });
      for (const r of this.replies.values()) r.reject(this.failure);
      for (const c of this.consumers.values()) c.reject(this.failure);
      this.replies.clear();
      this.consumers.clear();
    };
    thread.on('error', fail);
    thread.on('exit', () => {
      if (!this.closing) fail(new Error('it exited'));
    });
  }

  /** Connect and create the stream if it is missing (idempotent). Unreachable servers give one UserError. */
  static async connect(options: NatsBusOptions): Promise<NatsBus> {
    const stream = options.stream ?? 'HEIR';
    const thread = startThread({
      url: options.url,
      stream,
      duplicateWindowMs: options.duplicateWindowMs ?? 120_000,
      ackWaitMs: options.ackWaitMs ?? 60_000,
      connectTimeoutMs: options.connectTimeoutMs ?? 3000,
    });
    let onMessage!: (m: FromThread) => void;
    let onError!: (error: Error) => void;
    let onExit!: (code: number) => void;
    const first = await new Promise<FromThread>((resolve, reject) => {
      onMessage = resolve;
      onError = reject;
      onExit = (code) => reject(new Error(`NATS client thread exited (${code}) before connecting`));
      thread.once('message', onMessage).once('error', onError).once('exit', onExit);
    })
      .catch((error: unknown) => {
        void thread.terminate();
        throw new UserError(ErrorCode.NATS_UNREACHABLE, `cannot reach NATS at ${options.url}: ${messageOf(error)}`, { cause: error });
      })
      .finally(() => thread.off('message', onMessage).off('error', onError).off('exit', onExit));
    if (first.kind !== 'ready') {
      await thread.terminate();
      throw new UserError(ErrorCode.NATS_UNREACHABLE, first.kind === 'unreachable' ? first.message : `cannot reach NATS at ${options.url}: unexpected ${first.kind}`);
    }
    return new NatsBus(thread, stream, first.maxPayload);
  }

  /** The server's max_payload (1 MiB by default); the runner splits larger batches. */
  get maxPayload(): number {
    return this.serverMaxPayload;
  }

  async publish(subject: string, id: string, data: Uint8Array): Promise<void> {
    const reply = await this.request((seq) => ({ kind: 'publish', seq, subject, id, data }));
    if (reply.kind !== 'published') throw new HeirError(ErrorCode.NATS_UNREACHABLE, reply.kind === 'failed' ? reply.message : `publish of ${id}: unexpected ${reply.kind}`);
    if (reply.duplicate) this.counters.duplicates++;
    else this.counters.published++;
  }

  async consume(subject: string, handler: MessageHandler, options: ConsumeOptions): Promise<void> {
    if (this.failure) throw this.failure;
    const cid = this.nextSeq++;
    const running = new Set<Promise<void>>();
    const ended = new Promise<void>((resolve, reject) => this.consumers.set(cid, { handler, running, resolve, reject }));
    const stop = () => this.send({ kind: 'stop', cid });
    options.signal?.addEventListener('abort', stop, { once: true });
    this.send({
      kind: 'consume',
      cid,
      subject,
      durable: options.durable,
      maxInFlight: options.maxInFlight ?? 4,
      maxDeliver: options.maxDeliver ?? 5,
      idleExitMs: options.idleExitMs,
    });
    try {
      await ended;
    } finally {
      options.signal?.removeEventListener('abort', stop);
      this.consumers.delete(cid);
      await Promise.all(running);
    }
  }

  deadLetterSubject(subject: string): string {
    return deadLetterSubject(subject);
  }

  /** Messages the stream holds on a subject (tests, counters). */
  async streamCount(subject: string): Promise<number> {
    const reply = await this.request((seq) => ({ kind: 'streamCount', seq, subject }));
    if (reply.kind !== 'count') throw new HeirError(ErrorCode.NATS_UNREACHABLE, reply.kind === 'failed' ? reply.message : `stream count: unexpected ${reply.kind}`);
    return reply.value;
  }

  async close(): Promise<void> {
    this.closing ??= (async () => {
      if (this.failure) return;
      const closed = new Promise<void>((resolve) => {
        this.thread.once('exit', () => resolve());
        this.replies.set(-1, { resolve: () => resolve(), reject: () => resolve() });
      });
      this.send({ kind: 'close' });
      await closed;
      await this.thread.terminate();
    })();
    return this.closing;
  }

  private send(message: ToThread): void {
    this.thread.postMessage(message);
  }

  private request(make: (seq: number) => ToThread): Promise<FromThread> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.closing) return Promise.reject(new HeirError(ErrorCode.BUS_CLOSED, 'NATS bus is closed'));
    const seq = this.nextSeq++;
    return new Promise((resolve, reject) => {
      this.replies.set(seq, { resolve, reject });
      this.send(make(seq));
    });
  }

  private receive(m: FromThread): void {
    switch (m.kind) {
      case 'published':
      case 'failed':
      case 'count': {
        const reply = this.replies.get(m.seq);
        this.replies.delete(m.seq);
        reply?.resolve(m);
        return;
      }
      case 'closed':
        this.replies.get(-1)?.resolve(m);
        this.replies.delete(-1);
        return;
      case 'message': {
        const consumer = this.consumers.get(m.cid);
        const run = async () => {
          let error: string | undefined;
          try {
            if (!consumer) throw new Error('no handler: the consumer has ended');
            await consumer.handler({ id: m.id, subject: m.subject, data: m.data, deliveries: m.deliveries });
          } catch (failure) {
            error = messageOf(failure);
          }
          this.send({ kind: 'done', mid: m.mid, error });
        };
        const work = run().finally(() => consumer?.running.delete(work));
        consumer?.running.add(work);
        return;
      }
      case 'counters':
        Object.assign(this.counters, m.counters);
        return;
      case 'consumed': {
        const consumer = this.consumers.get(m.cid);
        if (m.error === undefined) consumer?.resolve();
        else consumer?.reject(new HeirError(ErrorCode.NATS_UNREACHABLE, `consumer on ${this.stream}: ${m.error}`));
        return;
      }
      case 'ready':
      case 'unreachable':
        return;
    }
  }
}
