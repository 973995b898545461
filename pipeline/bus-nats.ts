/**
 * The NATS JetStream bus: one file-backed stream for `heir.>`, durable pull consumers per stage,
 * `Nats-Msg-Id` deduplication keyed on batch ids, acknowledgement only after the handler's effect
 * is durable, bounded in-flight work, redelivery with back-off and a dead-letter subject after
 * `maxDeliver` deliveries. The client reconnects by itself when the server restarts.
 */
import { AckPolicy, DeliverPolicy, RetentionPolicy, StorageType, jetstream, jetstreamManager, type JetStreamClient, type JetStreamManager, type JsMsg } from '@nats-io/jetstream';
import { connect, headers, nanos, type NatsConnection } from '@nats-io/transport-node';
import { ErrorCode, HeirError, UserError, messageOf } from './errors.ts';
import { alignFrame } from './ipc.ts';
import { deadLetterSubject } from './subjects.ts';
import type { Bus, BusCounters, ConsumeOptions, MessageHandler } from './types.ts';

/** Bytes of messages one pull may ask for at most (well under nats-server's 64 MiB slow-consumer limit). */
const PULL_BYTES = 32 * 1024 * 1024;

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

/** A bus on NATS JetStream. Create it with `NatsBus.connect`. */
export class NatsBus implements Bus {
  readonly kind = 'nats' as const;
  readonly counters: BusCounters = { published: 0, duplicates: 0, delivered: 0, acked: 0, redelivered: 0, deadLettered: 0 };
  readonly stream: string;
  private readonly nc: NatsConnection;
  private readonly js: JetStreamClient;
  private readonly jsm: JetStreamManager;
  private readonly ackWaitMs: number;

  private constructor(nc: NatsConnection, js: JetStreamClient, jsm: JetStreamManager, stream: string, ackWaitMs: number) {
    this.nc = nc;
    this.js = js;
    this.jsm = jsm;
    this.stream = stream;
    this.ackWaitMs = ackWaitMs;
  }

  /** Connect and create the stream if it is missing (idempotent). Unreachable servers give one UserError. */
  static async connect(options: NatsBusOptions): Promise<NatsBus> {
    let nc: NatsConnection;
    try {
      nc = await connect({
        servers: options.url,
        timeout: options.connectTimeoutMs ?? 3000,
        maxReconnectAttempts: -1,
        reconnectTimeWait: 250,
        name: 'heir',
      });
    } catch (error) {
      throw new UserError(ErrorCode.NATS_UNREACHABLE, `cannot reach NATS at ${options.url}: ${messageOf(error)} (is nats-server running with JetStream enabled, -js?)`, { cause: error });
    }
    try {
      const jsm = await jetstreamManager(nc, { timeout: 10_000 });
      const stream = options.stream ?? 'HEIR';
      const config = {
        name: stream,
        subjects: ['heir.>'],
        storage: StorageType.File,
        retention: RetentionPolicy.Limits,
        duplicate_window: nanos(options.duplicateWindowMs ?? 120_000),
      };
      try {
        const info = await jsm.streams.info(stream);
        if (!info.config.subjects?.includes('heir.>')) await jsm.streams.update(stream, { ...info.config, subjects: [...(info.config.subjects ?? []), 'heir.>'] });
      } catch {
        await jsm.streams.add(config);
      }
      return new NatsBus(nc, jetstream(nc, { timeout: 10_000 }), jsm, stream, options.ackWaitMs ?? 60_000);
    } catch (error) {
      await nc.close().catch(() => undefined);
      const text = messageOf(error);
      const hint = /jetstream not enabled|no responders|503/i.test(text) ? ' (start nats-server with -js)' : '';
      throw new UserError(ErrorCode.NATS_UNREACHABLE, `NATS at ${options.url}: cannot set up stream ${options.stream ?? 'HEIR'}: ${text}${hint}`, { cause: error });
    }
  }

  /** The server's max_payload (1 MiB by default); the runner splits larger batches. */
  get maxPayload(): number {
    return this.nc.info?.max_payload ?? 1024 * 1024;
  }

  async publish(subject: string, id: string, data: Uint8Array): Promise<void> {
    // Retry through a server restart: the same msgID makes a retry that already landed a duplicate.
    for (let attempt = 0; ; attempt++) {
      try {
        const ack = await this.js.publish(subject, data, { msgID: id, timeout: 10_000 });
        if (ack.duplicate) this.counters.duplicates++;
        else this.counters.published++;
        return;
      } catch (error) {
        if (this.nc.isClosed() || attempt >= 120) throw new HeirError(ErrorCode.NATS_UNREACHABLE, `publish of ${id} to ${subject} failed: ${messageOf(error)}`, { cause: error });
        await sleep(Math.min(1000, 50 * (attempt + 1)));
      }
    }
  }

  async consume(subject: string, handler: MessageHandler, options: ConsumeOptions): Promise<void> {
    const maxInFlight = options.maxInFlight ?? 4;
    const maxDeliver = options.maxDeliver ?? 5;
    await this.ensureConsumer(options.durable, subject, maxInFlight);
    const consumer = await this.js.consumers.get(this.stream, options.durable);
    const inFlight = new Set<Promise<void>>();
    let lastActivity = Date.now();
    let stopped = false;
    // Pull twice what is worked on, but never more than PULL_BYTES of messages at their largest:
    // the server drops a client with more than 64 MiB pending as a slow consumer, and the pull
    // then stalls until it expires.
    const pull = Math.max(1, Math.min(maxInFlight * 2, Math.floor(PULL_BYTES / this.maxPayload)));
    const messages = await consumer.consume({ max_messages: pull });
    const stop = () => {
      stopped = true;
      messages.stop();
    };
    options.signal?.addEventListener('abort', stop, { once: true });
    // Idle means nothing in hand, nothing pending and nothing awaiting redelivery on the server.
    let checking = false;
    const idle = options.idleExitMs === undefined ? undefined : setInterval(() => {
      if (checking || inFlight.size > 0 || Date.now() - lastActivity < options.idleExitMs!) return;
      checking = true;
      this.jsm.consumers
        .info(this.stream, options.durable)
        .then((info) => {
          if (info.num_pending === 0 && info.num_ack_pending === 0 && inFlight.size === 0) stop();
        })
        .catch(() => undefined)
        .finally(() => (checking = false));
    }, Math.min(250, options.idleExitMs));
    try {
      for await (const m of messages) {
        lastActivity = Date.now();
        if (stopped) {
          m.nak();
          continue;
        }
        const work = this.handle(m, handler, maxDeliver).finally(() => {
          inFlight.delete(work);
          lastActivity = Date.now();
        });
        inFlight.add(work);
        while (inFlight.size >= maxInFlight) await Promise.race(inFlight);
      }
    } finally {
      if (idle) clearInterval(idle);
      options.signal?.removeEventListener('abort', stop);
      await Promise.all(inFlight);
    }
  }

  deadLetterSubject(subject: string): string {
    return deadLetterSubject(subject);
  }

  /** Messages the stream holds on a subject (tests, counters). */
  async streamCount(subject: string): Promise<number> {
    const info = await this.jsm.streams.info(this.stream, { subjects_filter: subject });
    const counts = info.state.subjects ?? {};
    return Object.values(counts).reduce((a, b) => a + b, 0);
  }

  async close(): Promise<void> {
    if (this.nc.isClosed()) return;
    await this.nc.drain().catch(() => this.nc.close());
  }

  private async handle(m: JsMsg, handler: MessageHandler, maxDeliver: number): Promise<void> {
    const deliveries = m.info.deliveryCount;
    this.counters.delivered++;
    if (deliveries > 1) this.counters.redelivered++;
    const id = m.headers?.get('Nats-Msg-Id') || `${m.info.stream}:${m.info.streamSequence}`;
    const data = payload(m);
    // Long work keeps the message ours: an in-progress ack well before AckWait runs out.
    const keepAlive = setInterval(() => m.working(), Math.max(1000, this.ackWaitMs / 3));
    try {
      await handler({ id, subject: m.subject, data, deliveries });
      clearInterval(keepAlive);
      // The handler's effect is durable: acknowledge without waiting for the server's reply. An
      // ack that never arrives (connection lost, process killed) means one more delivery, which
      // the store recognises by the batch id and does not write again.
      m.ack();
      this.counters.acked++;
    } catch (error) {
      clearInterval(keepAlive);
      if (deliveries >= maxDeliver) {
        const h = headers();
        h.set('Nats-Msg-Id', `dlq:${id}`);
        h.set('Heir-Reason', messageOf(error).slice(0, 1000).replace(/[\r\n]+/g, ' '));
        h.set('Heir-Subject', m.subject);
        await this.js.publish(deadLetterSubject(m.subject), data, { headers: h, msgID: `dlq:${id}` }).catch(() => undefined);
        // No reason text: nats-server 2.9 (Debian 12) ignores a +TERM that carries one.
        m.term();
        this.counters.deadLettered++;
      } else {
        m.nak(Math.min(5000, 100 * 2 ** deliveries));
      }
    }
  }

  private async ensureConsumer(durable: string, subject: string, maxInFlight: number): Promise<void> {
    const config = {
      durable_name: durable,
      filter_subject: subject,
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.All,
      ack_wait: nanos(this.ackWaitMs),
      // Unlimited on the server: a message whose worker crashed must come back; our handler
      // dead-letters it after maxDeliver failed deliveries.
      max_deliver: -1,
      max_ack_pending: Math.max(maxInFlight * 4, 16),
    };
    try {
      await this.jsm.consumers.info(this.stream, durable);
      await this.jsm.consumers.update(this.stream, durable, { ack_wait: config.ack_wait, max_ack_pending: config.max_ack_pending });
    } catch {
      await this.jsm.consumers.add(this.stream, config);
    }
  }
}

/** The last bytes of a NATS header block; the payload follows them directly. */
const HEADER_END = [13, 10, 13, 10];

/**
 * A message's payload, placed for decoding. The client hands the payload as a view into the
 * bytes it received, right after the message's header block (at least 12 bytes, already read
 * here); when the four bytes before the payload are the header block's end, the bytes before it
 * are this message's own and the frame may move back into up to 7 of them so that Arrow reads the
 * batch's columns in place (`alignFrame`). Use only the returned view afterwards.
 */
function payload(m: JsMsg): Uint8Array {
  const data = m.data;
  if (!m.headers || data.byteOffset < 12) return data;
  const before = new Uint8Array(data.buffer, data.byteOffset - 4, 4);
  return before.every((b, i) => b === HEADER_END[i]) ? alignFrame(data, 7) : data;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
