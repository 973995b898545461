/**
 * The sensor's bounded window: with no gateway listening it reads no further than the window
 * allows (back-pressure on its source), resends what is unacknowledged, and a gateway that
 * appears later gets every batch.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Router } from 'zeromq';
import { EdgeSensor } from '../../../pipeline/edge/EdgeSensor.ts';
import { ackMessage, readBatch } from '../../../pipeline/edge/protocol.ts';
import { syntheticSource } from '../../../pipeline/synthetic-source.ts';
import type { SourceBatch } from '../../../pipeline/types.ts';
import { freePort } from '../../helpers/nats.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('no gateway: the source is read only as far as the window; a late gateway gets every batch once acknowledged', async () => {
  const endpoint = `tcp://127.0.0.1:${await freePort()}`;
  let pulled = 0;
  async function* counted(): AsyncIterable<SourceBatch> {
    for await (const b of syntheticSource({ site: 's', sensor: 'x', count: 2000, batchSize: 100, seed: 3 }).batches()) {
      pulled++;
      yield b;
    }
  }
  const sensor = new EdgeSensor({ connect: endpoint, window: 4, resendMs: 100 });
  const running = sensor.run(counted());
  await sleep(800);
  // The window holds 4 batches; the loop may have pulled one more that waits for room.
  assert.ok(pulled <= 5, `pulled ${pulled} batches with nobody acknowledging`);
  assert.is(sensor.counters.acked, 0);

  // Now a gateway: it acknowledges every batch, and counts how often each id arrived.
  const router = new Router({ linger: 0 });
  await router.bind(endpoint);
  const seen = new Map<string, number>();
  const serving = (async () => {
    for await (const [peer, ...parts] of router) {
      const read = readBatch(parts);
      if (!read.ok) throw new Error(read.reason);
      seen.set(read.id, (seen.get(read.id) ?? 0) + 1);
      await router.send([peer, ...ackMessage(read.id, 'stored')]);
    }
  })().catch(() => undefined);
  const counters = await running;
  router.close();
  await serving;
  assert.is(counters.batches, 20);
  assert.is(counters.rows, 2000);
  assert.is(counters.acked, 20);
  assert.is(counters.unacked, 0);
  assert.is(seen.size, 20, 'every batch arrived');
  assert.ok(counters.resent > 0, 'batches sent before the gateway existed were sent again');
});

test('abort: stops reading and reports what is unacknowledged', async () => {
  const endpoint = `tcp://127.0.0.1:${await freePort()}`;
  const controller = new AbortController();
  const sensor = new EdgeSensor({ connect: endpoint, window: 3, resendMs: 1000 });
  const running = sensor.run(syntheticSource({ site: 's', sensor: 'x', count: 1000, batchSize: 100 }).batches(), controller.signal);
  await sleep(300);
  controller.abort();
  const counters = await running;
  assert.is(counters.unacked, 3);
  assert.is(counters.batches, 3);
});

test('invalid options are refused at construction', () => {
  assert.throws(() => new EdgeSensor({ connect: 'tcp://127.0.0.1:1', window: 0 }), /invalid window: 0/);
  assert.throws(() => new EdgeSensor({ connect: 'nonsense' }), /invalid --connect nonsense/);
});

test.run();
