/** The same operator graph over the in-process bus and over a real nats-server. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../pipeline/config.ts';
import { defaultOperators } from '../../operators/index.ts';
import { MemoryBus } from '../../pipeline/bus-memory.ts';
import { Runner } from '../../pipeline/runner.ts';
import { openSite, runSite } from '../../pipeline/site.ts';
import { openStore, type Store } from '../../pipeline/store.ts';
import { syntheticSource } from '../../pipeline/synthetic-source.ts';
import type { Operator } from '../../pipeline/types.ts';
import { startNats, type NatsServer } from '../helpers/nats.ts';

const dir = mkdtempSync(join(tmpdir(), 'heir-runner-'));
const FIXTURES = new URL('../fixtures/pcaps/', import.meta.url).pathname;
let nats: NatsServer;
test.before(async () => {
  nats = await startNats();
});
test.after(async () => {
  await nats.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function tableCounts(path: string): Promise<Record<string, number>> {
  const store = await openStore(path, { readOnly: true });
  const out: Record<string, number> = {};
  for (const t of await store.tables()) out[t] = await store.count(t);
  const [{ ids }] = await store.all<{ ids: string }>("SELECT string_agg(flow_id, ',' ORDER BY flow_id) AS ids FROM flows");
  out.flow_ids_hash = [...ids].reduce((h, ch) => (h * 31 + ch.charCodeAt(0)) >>> 0, 7);
  await store.close();
  return out;
}

async function runGraph(db: string, nats?: string, storeThread = false, siteId = 'graph-site'): Promise<Record<string, number>> {
  const base = { ...loadConfig(undefined, { store: db, site: siteId, nats }), storeThread };
  const files = readdirSync(FIXTURES).filter((f) => f.endsWith('.pcap')).sort();
  const config = { ...base, operators: await defaultOperators(), sources: files.map((f) => ({ format: 'pcap', path: join(FIXTURES, f) })) };
  const site = await openSite(config);
  try {
    await runSite(site, new AbortController().signal, 800);
  } finally {
    await site.close();
  }
  return tableCounts(db);
}

test('the default graph over captures gives identical tables on the in-process bus and on NATS JetStream, the store on its own thread or not', async () => {
  const memory = await runGraph(join(dir, 'memory.duckdb'));
  const jetstream = await runGraph(join(dir, 'nats.duckdb'), nats.url);
  // The same site reading the same files again on one stream is deduplicated (the batch ids), so
  // the store-thread run gets a server of its own.
  const other = await startNats();
  const storeThread = await runGraph(join(dir, 'nats-store-thread.duckdb'), other.url, true).finally(() => other.stop());
  assert.ok(memory.flows > 10, `flows: ${memory.flows}`);
  for (const table of ['flows', 'flow_features', 'findings', 'device_observations']) assert.ok(memory[table] > 0, `${table} has rows`);
  assert.equal(jetstream, memory);
  assert.equal(storeThread, memory);
});

test('two sites reading the same captures over one stream each store all of them (batch ids are per site)', async () => {
  const first = await runGraph(join(dir, 'site-a.duckdb'), nats.url, false, 'site-a');
  const second = await runGraph(join(dir, 'site-b.duckdb'), nats.url, false, 'site-b');
  assert.ok(first.flows > 10, `site-a flows: ${first.flows}`);
  assert.is(second.flows, first.flows);
});

test('running the same sources again adds nothing (idempotent batch ids)', async () => {
  const db = join(dir, 'memory.duckdb');
  const before = await tableCounts(db);
  const again = await runGraph(db);
  assert.equal(again, before);
});

function failing(times: number): Operator & { calls: number } {
  const op = {
    calls: 0,
    descriptor: { name: 'flaky', version: '1', summary: 'fails a number of times', reads: ['flows'], writes: [] },
    apply(input: Record<string, never>) {
      op.calls++;
      if (op.calls <= times) throw new Error(`flaky failure ${op.calls}`);
      return input;
    },
  };
  return op;
}

async function withRunner(op: Operator, maxDeliver: number, fn: (runner: Runner, bus: MemoryBus, store: Store) => Promise<void>) {
  const store = await openStore(join(dir, `${op.descriptor.name}-${maxDeliver}-${Math.random()}.duckdb`));
  const bus = new MemoryBus();
  const runner = new Runner({ site: 'r', sensor: 's', bus, sink: store, operators: [op], maxDeliver });
  try {
    await fn(runner, bus, store);
  } finally {
    await bus.close();
    await store.close();
  }
}

test('an operator that fails twice is retried and its batch stored once', async () => {
  const op = failing(2);
  await withRunner(op, 5, async (runner, _bus, store) => {
    await runner.publish(syntheticSource({ site: 'r', sensor: 's', count: 100, batchSize: 100 }));
    await runner.work({ idleExitMs: 300 });
    assert.is(await store.count('flows'), 100);
    assert.is(runner.counters.operatorFailures, 2);
    assert.is(await store.count('dead_letters'), 0);
  });
});

test('an operator that always fails: the batch is dead-lettered with the reason after maxDeliver, nothing lost', async () => {
  await withRunner(failing(1e9), 3, async (runner, _bus, store) => {
    await runner.publish(syntheticSource({ site: 'r', sensor: 's', count: 100, batchSize: 100 }));
    await runner.work({ idleExitMs: 300 });
    assert.is(await store.count('flows'), 0);
    const rows = await store.all<{ stage: string; reason: string; payload: string }>('SELECT stage, reason, payload FROM dead_letters');
    assert.is(rows.length, 1);
    assert.is(rows[0].stage, 'process');
    assert.match(rows[0].reason, /flaky failure 3 \(after 3 deliveries\)/);
    assert.ok(rows[0].payload.startsWith('base64:') && rows[0].payload.length > 1000, 'the whole batch is kept for replay');
  });
});

test('a batch of dead letters only passes operators that read flows, and its dead letters are kept', async () => {
  const { deadLetterBatch } = await import('../../pipeline/dead-letters.ts');
  const { encodeTables } = await import('../../pipeline/ipc.ts');
  const [featurize] = await (await import('../../operators/index.ts')).loadOperators(['featurize-flow']);
  await withRunner(featurize, 2, async (runner, bus, store) => {
    const tables = { dead_letters: deadLetterBatch([{ input: 'x.pcap', stage: 'parse', reason: 'truncated record' }]) };
    await bus.publish(runner.subject, 'only-dead-letters', encodeTables(tables));
    await runner.work({ idleExitMs: 300 });
    assert.equal(await store.all('SELECT input, stage, reason FROM dead_letters'), [{ input: 'x.pcap', stage: 'parse', reason: 'truncated record' }]);
    assert.is(runner.counters.operatorFailures, 0);
  });
});

test('a malformed bus message is dead-lettered once, not retried', async () => {
  await withRunner(failing(0), 5, async (runner, bus, store) => {
    await bus.publish(runner.subject, 'garbage-1', new Uint8Array([0, 0, 0, 9, 1, 2]));
    await runner.work({ idleExitMs: 300 });
    const rows = await store.all<{ stage: string; reason: string; batch_id: string }>('SELECT stage, reason, batch_id FROM dead_letters');
    assert.equal(rows.map((r) => [r.stage, r.batch_id]), [['decode', 'garbage-1']]);
    assert.match(rows[0].reason, /malformed batch frame/);
    assert.is(bus.counters.redelivered, 0);
  });
});

test.run();
