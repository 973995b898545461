/** The bus contract, driven the same way over the in-process bus and a real nats-server. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { MemoryBus } from '../../pipeline/bus-memory.ts';
import { NatsBus } from '../../pipeline/bus-nats.ts';
import { decodeTables, encodeTables } from '../../pipeline/ipc.ts';
import { syntheticSource } from '../../pipeline/synthetic-source.ts';
import type { Bus } from '../../pipeline/types.ts';
import { startNats, type NatsServer } from '../helpers/nats.ts';

let nats: NatsServer;
test.before(async () => {
  nats = await startNats();
});
test.after(async () => {
  await nats.stop();
});

const kinds: [string, () => Promise<Bus>][] = [
  ['in-process', async () => new MemoryBus({ maxPending: 1000 })],
  ['NATS JetStream', async () => NatsBus.connect({ url: nats.url, ackWaitMs: 2000 })],
];

for (const [name, open] of kinds) {
  test(`${name}: duplicate ids are stored once, failures are redelivered, poison messages dead-lettered`, async () => {
    const bus = await open();
    const subject = `heir.bus-${name.replace(/\W/g, '')}.flows`;
    const publishes: Promise<void>[] = [];
    for (let i = 0; i < 300; i++) publishes.push(bus.publish(subject, `id${i % 200}`, new Uint8Array([i % 200])));
    await Promise.all(publishes);
    assert.is(bus.counters.published, 200);
    assert.is(bus.counters.duplicates, 100);

    const seen = new Map<string, number>();
    await bus.consume(
      subject,
      async (m) => {
        if (m.id === 'id7' && m.deliveries < 3) throw new Error('transient');
        if (m.id === 'id9') throw new Error('poison');
        seen.set(m.id, (seen.get(m.id) ?? 0) + 1);
        assert.is(m.data[0], Number(m.id.slice(2)));
      },
      { durable: 'test', maxDeliver: 3, maxInFlight: 8, idleExitMs: 800 },
    );
    assert.is(seen.size, 199, 'every message but the poison one was handled');
    assert.ok([...seen.values()].every((n) => n === 1), 'each exactly once');
    assert.is(seen.get('id7'), 1);
    assert.is(bus.counters.deadLettered, 1);
    assert.ok(bus.counters.redelivered >= 4);
    // The poison message is kept on the dead-letter subject, not lost.
    const dead: string[] = [];
    await bus.consume(bus.deadLetterSubject(subject), async (m) => void dead.push(String(m.data[0])), { durable: 'dlq', idleExitMs: 800 });
    assert.equal(dead, ['9']);
    await bus.close();
  });
}

test('in-process bus: publish waits for room when the queue is full (bounded)', async () => {
  const bus = new MemoryBus({ maxPending: 2 });
  await bus.publish('heir.s.flows', 'a', new Uint8Array(1));
  await bus.publish('heir.s.flows', 'b', new Uint8Array(1));
  let third = false;
  const p = bus.publish('heir.s.flows', 'c', new Uint8Array(1)).then(() => (third = true));
  await new Promise((r) => setTimeout(r, 50));
  assert.is(third, false, 'the third publish waits');
  const got: string[] = [];
  await bus.consume('heir.s.flows', async (m) => void got.push(m.id), { durable: 'w', idleExitMs: 100 });
  await p;
  assert.equal(got.sort(), ['a', 'b', 'c']);
  await bus.close();
});

test('NATS: an unreachable server is one clear user error', async () => {
  try {
    await NatsBus.connect({ url: 'nats://127.0.0.1:1', connectTimeoutMs: 1000 });
    assert.unreachable('should fail');
  } catch (error) {
    assert.is((error as { code?: string }).code, 'HEIR_NATS_UNREACHABLE');
    assert.match((error as Error).message, /cannot reach NATS at nats:\/\/127\.0\.0\.1:1/);
  }
});

test('NATS: messages published before a broker restart are consumed after it', async () => {
  const bus = await NatsBus.connect({ url: nats.url, ackWaitMs: 2000 });
  for (let i = 0; i < 50; i++) await bus.publish('heir.restart.flows', `r${i}`, new Uint8Array([i]));
  await nats.restart();
  const got = new Set<string>();
  await bus.consume('heir.restart.flows', async (m) => void got.add(m.id), { durable: 'after', idleExitMs: 1500 });
  assert.is(got.size, 50);
  await bus.close();
});

test('NATS: many large batches in flight are pulled within the slow-consumer limit (no stall, no redelivery)', async () => {
  // 48 in flight used to pull 96 messages of up to 1 MiB at once: past nats-server's 64 MiB of
  // pending data the client was dropped as a slow consumer and the pull stalled.
  const bus = await NatsBus.connect({ url: nats.url, ackWaitMs: 30_000 });
  const body = new Uint8Array(1_000_000).fill(7);
  await Promise.all(Array.from({ length: 120 }, (_, i) => bus.publish('heir.large.flows', `l${i}`, body)));
  const got = new Map<string, number>();
  await bus.consume('heir.large.flows', async (m) => {
    got.set(m.id, (got.get(m.id) ?? 0) + 1);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }, { durable: 'large', maxInFlight: 48, idleExitMs: 1500 });
  assert.is(got.size, 120);
  assert.ok([...got.values()].every((n) => n === 1), 'a batch was handled twice');
  assert.is(bus.counters.redelivered, 0);
  await bus.close();
});

test('NATS: batch frames arrive placed for Arrow to read their columns in place; a dead-lettered frame keeps its bytes', async () => {
  const bus = await NatsBus.connect({ url: nats.url, ackWaitMs: 2000 });
  const frames: Uint8Array[] = [];
  // Large frames (received across many socket reads) and small ones (inside one read).
  for await (const b of syntheticSource({ site: 'a', sensor: 's', count: 3000, batchSize: 1500, seed: 4 }).batches()) frames.push(encodeTables(b.tables));
  for await (const b of syntheticSource({ site: 'a', sensor: 's', count: 40, batchSize: 10, seed: 5 }).batches()) frames.push(encodeTables(b.tables));
  for (let i = 0; i < frames.length; i++) await bus.publish('heir.frames.flows', `frame-${i}`, frames[i]);
  const inPlace: boolean[] = [];
  // Bytes compared as bytes: a frame that needed no move is still the client's Buffer.
  const bytes = (d: Uint8Array) => new Uint8Array(d);
  try {
    await bus.consume('heir.frames.flows', async (m) => {
      const i = Number(m.id.slice(6));
      assert.equal(bytes(m.data), frames[i]);
      const flows = decodeTables(m.data, m.id).flows;
      inPlace[i] = flows.data.children.every((d) => !d.values || d.values.buffer === m.data.buffer);
      if (i === 1) throw new Error('poison');
    }, { durable: 'frames', maxDeliver: 1, maxInFlight: 4, idleExitMs: 800 });
    assert.equal(inPlace, frames.map(() => true));
    const dead: Uint8Array[] = [];
    await bus.consume(bus.deadLetterSubject('heir.frames.flows'), async (m) => void dead.push(bytes(m.data)), { durable: 'frames-dlq', idleExitMs: 800 });
    assert.equal(dead, [frames[1]]);
  } finally {
    await bus.close();
  }
});

test.run();
