/**
 * The NATS JetStream client of `NatsBus`, on a worker thread of its own: the connection, the
 * stream and consumers, publishing with retries, pulling, in-progress acks, acks, back-off naks
 * and dead letters all happen here, so moving ~1 MB messages through the client (framing,
 * copying, their garbage) overlaps with decoding and storing on the main thread. The main thread
 * sees message bytes and says when a handler has finished; nothing is acknowledged before that.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { AckPolicy, DeliverPolicy, RetentionPolicy, StorageType, jetstream, jetstreamManager, type JetStreamClient, type JetStreamManager, type JsMsg } from '@nats-io/jetstream';
import { connect, headers, nanos, type NatsConnection } from '@nats-io/transport-node';
import { messageOf } from './errors.ts';
import { deadLetterSubject } from './subjects.ts';
import type { BusCounters } from './types.ts';

/** What the thread is started with. */
export interface ThreadOptions {
  readonly url: string;
  readonly stream: string;
  readonly duplicateWindowMs: number;
  readonly ackWaitMs: number;
  readonly connectTimeoutMs: number;
}

/** Counters the thread owns (the main thread counts publishes itself). */
export type ConsumeCounters = Pick<BusCounters, 'delivered' | 'acked' | 'redelivered' | 'deadLettered'>;

/** Main thread → client thread. */
export type ToThread =
  | { kind: 'publish'; seq: number; subject: string; id: string; data: Uint8Array }
  | { kind: 'consume'; cid: number; subject: string; durable: string; maxInFlight: number; maxDeliver: number; idleExitMs?: number }
  | { kind: 'stop'; cid: number }
  | { kind: 'done'; mid: number; error?: string }
  | { kind: 'streamCount'; seq: number; subject: string }
  | { kind: 'close' };

/** Client thread → main thread. */
export type FromThread =
  | { kind: 'ready'; maxPayload: number }
  | { kind: 'unreachable'; message: string }
  | { kind: 'published'; seq: number; duplicate: boolean }
  | { kind: 'failed'; seq: number; message: string }
  | { kind: 'message'; cid: number; mid: number; id: string; subject: string; data: Uint8Array; deliveries: number }
  | { kind: 'counters'; counters: ConsumeCounters }
  | { kind: 'consumed'; cid: number; error?: string }
  | { kind: 'count'; seq: number; value: number }
  | { kind: 'closed' };

const port = parentPort!;
const options = workerData as ThreadOptions;
const counters: ConsumeCounters = { delivered: 0, acked: 0, redelivered: 0, deadLettered: 0 };
const post = (message: FromThread, transfer?: ArrayBuffer[]) => port.postMessage(message, transfer ?? []);
const postCounters = () => post({ kind: 'counters', counters: { ...counters } });

/** Handlers running on the main thread, by message number: resolve with the error text, if any. */
const waiting = new Map<number, (error: string | undefined) => void>();
/** Stop functions of running consumers. */
const stops = new Map<number, () => void>();
let nextMid = 0;

async function open(): Promise<{ nc: NatsConnection; js: JetStreamClient; jsm: JetStreamManager } | undefined> {
  let nc: NatsConnection;
  try {
    nc = await connect({ servers: options.url, timeout: options.connectTimeoutMs, maxReconnectAttempts: -1, reconnectTimeWait: 250, name: 'heir' });
  } catch (error) {
    post({ kind: 'unreachable', message: `cannot reach NATS at ${options.url}: ${messageOf(error)} (is nats-server running with JetStream enabled, -js?)` });
    return undefined;
  }
  try {
    const jsm = await jetstreamManager(nc, { timeout: 10_000 });
    const config = {
      name: options.stream,
      subjects: ['heir.>'],
      storage: StorageType.File,
      retention: RetentionPolicy.Limits,
      duplicate_window: nanos(options.duplicateWindowMs),
    };
    try {
      const info = await jsm.streams.info(options.stream);
      if (!info.config.subjects?.includes('heir.>')) await jsm.streams.update(options.stream, { ...info.config, subjects: [...(info.config.subjects ?? []), 'heir.>'] });
    } catch {
      await jsm.streams.add(config);
    }
    return { nc, js: jetstream(nc, { timeout: 10_000 }), jsm };
  } catch (error) {
    await nc.close().catch(() => undefined);
    const text = messageOf(error);
    const hint = /jetstream not enabled|no responders|503/i.test(text) ? ' (start nats-server with -js)' : '';
    post({ kind: 'unreachable', message: `NATS at ${options.url}: cannot set up stream ${options.stream}: ${text}${hint}` });
    return undefined;
  }
}

const client = await open();
if (!client) port.close();
else {
  const { nc, js, jsm } = client;

  const publish = async (m: Extract<ToThread, { kind: 'publish' }>) => {
    // Retry through a server restart: the same msgID makes a retry that already landed a duplicate.
    for (let attempt = 0; ; attempt++) {
      try {
        const ack = await js.publish(m.subject, m.data, { msgID: m.id, timeout: 10_000 });
        post({ kind: 'published', seq: m.seq, duplicate: ack.duplicate });
        return;
      } catch (error) {
        if (nc.isClosed() || attempt >= 120) {
          post({ kind: 'failed', seq: m.seq, message: `publish of ${m.id} to ${m.subject} failed: ${messageOf(error)}` });
          return;
        }
        await sleep(Math.min(1000, 50 * (attempt + 1)));
      }
    }
  };

  const ensureConsumer = async (durable: string, subject: string, maxInFlight: number) => {
    const config = {
      durable_name: durable,
      filter_subject: subject,
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.All,
      ack_wait: nanos(options.ackWaitMs),
      // Unlimited on the server: a message whose worker crashed must come back; the handler
      // side dead-letters it after maxDeliver failed deliveries.
      max_deliver: -1,
      max_ack_pending: Math.max(maxInFlight * 4, 16),
    };
    try {
      await jsm.consumers.info(options.stream, durable);
      await jsm.consumers.update(options.stream, durable, { ack_wait: config.ack_wait, max_ack_pending: config.max_ack_pending });
    } catch {
      await jsm.consumers.add(options.stream, config);
    }
  };

  // One message: hand it to the main thread, keep it ours while the handler runs, then ack, or
  // nak with back-off, or dead-letter after maxDeliver deliveries.
  const handle = async (cid: number, m: JsMsg, maxDeliver: number) => {
    const deliveries = m.info.deliveryCount;
    counters.delivered++;
    if (deliveries > 1) counters.redelivered++;
    const id = m.headers?.get('Nats-Msg-Id') || `${m.info.stream}:${m.info.streamSequence}`;
    const keepAlive = setInterval(() => m.working(), Math.max(1000, options.ackWaitMs / 3));
    const mid = nextMid++;
    const result = new Promise<string | undefined>((resolve) => waiting.set(mid, resolve));
    // m.data is a view of the client's read buffer (a Buffer, whose slice() is a view too): the
    // main thread gets a copy of its own, moved, not cloned again.
    const data = new Uint8Array(m.data);
    post({ kind: 'message', cid, mid, id, subject: m.subject, data, deliveries }, [data.buffer]);
    const error = await result;
    clearInterval(keepAlive);
    if (error === undefined) {
      await m.ackAck().catch(() => false);
      counters.acked++;
    } else if (deliveries >= maxDeliver) {
      const h = headers();
      h.set('Nats-Msg-Id', `dlq:${id}`);
      h.set('Heir-Reason', error.slice(0, 1000).replace(/[\r\n]+/g, ' '));
      h.set('Heir-Subject', m.subject);
      await js.publish(deadLetterSubject(m.subject), m.data, { headers: h, msgID: `dlq:${id}` }).catch(() => undefined);
      // No reason text: nats-server 2.9 (Debian 12) ignores a +TERM that carries one.
      m.term();
      counters.deadLettered++;
    } else {
      m.nak(Math.min(5000, 100 * 2 ** deliveries));
    }
    postCounters();
  };

  const consume = async (c: Extract<ToThread, { kind: 'consume' }>) => {
    await ensureConsumer(c.durable, c.subject, c.maxInFlight);
    const consumer = await js.consumers.get(options.stream, c.durable);
    const inFlight = new Set<Promise<void>>();
    let lastActivity = Date.now();
    let stopped = false;
    const messages = await consumer.consume({ max_messages: c.maxInFlight * 2 });
    const stop = () => {
      stopped = true;
      messages.stop();
    };
    stops.set(c.cid, stop);
    // Idle means nothing in hand, nothing pending and nothing awaiting redelivery on the server.
    let checking = false;
    const idleExitMs = c.idleExitMs;
    const idle = idleExitMs === undefined ? undefined : setInterval(() => {
      if (checking || inFlight.size > 0 || Date.now() - lastActivity < idleExitMs) return;
      checking = true;
      jsm.consumers
        .info(options.stream, c.durable)
        .then((info) => {
          if (info.num_pending === 0 && info.num_ack_pending === 0 && inFlight.size === 0) stop();
        })
        .catch(() => undefined)
        .finally(() => (checking = false));
    }, Math.min(250, idleExitMs));
    try {
      for await (const m of messages) {
        lastActivity = Date.now();
        if (stopped) {
          m.nak();
          continue;
        }
        const work = handle(c.cid, m, c.maxDeliver).finally(() => {
          inFlight.delete(work);
          lastActivity = Date.now();
        });
        inFlight.add(work);
        while (inFlight.size >= c.maxInFlight) await Promise.race(inFlight);
      }
    } finally {
      if (idle) clearInterval(idle);
      stops.delete(c.cid);
      await Promise.all(inFlight);
    }
  };

  port.on('message', (m: ToThread) => {
    switch (m.kind) {
      case 'publish':
        void publish(m);
        return;
      case 'consume':
        consume(m).then(
          () => post({ kind: 'consumed', cid: m.cid }),
          (error) => post({ kind: 'consumed', cid: m.cid, error: messageOf(error) }),
        );
        return;
      case 'stop':
        stops.get(m.cid)?.();
        return;
      case 'done':
        waiting.get(m.mid)?.(m.error);
        waiting.delete(m.mid);
        return;
      case 'streamCount':
        jsm.streams
          .info(options.stream, { subjects_filter: m.subject })
          .then((info) => Object.values(info.state.subjects ?? {}).reduce((a, b) => a + b, 0))
          .then(
            (value) => post({ kind: 'count', seq: m.seq, value }),
            (error) => post({ kind: 'failed', seq: m.seq, message: `stream ${options.stream}: ${messageOf(error)}` }),
          );
        return;
      case 'close':
        for (const stop of stops.values()) stop();
        (nc.isClosed() ? Promise.resolve() : nc.drain().catch(() => nc.close()))
          .catch(() => undefined)
          .finally(() => {
            post({ kind: 'closed' });
            port.close();
          });
        return;
    }
  });
  post({ kind: 'ready', maxPayload: nc.info?.max_payload ?? 1024 * 1024 });
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
