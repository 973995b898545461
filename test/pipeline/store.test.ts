import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { arrowSchema, batchFromRows } from '../../pipeline/columns.ts';
import { flowBatch, type FlowRow } from '../../pipeline/flow-schema.ts';
import { openStore } from '../../pipeline/store.ts';

const dir = mkdtempSync(join(tmpdir(), 'heir-store-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

function flows(n: number, from = 0): Partial<FlowRow>[] {
  return Array.from({ length: n }, (_, k) => {
    const i = from + k;
    return {
      flow_id: `f${i}`, site_id: 's', sensor_id: 'x', source: 'synthetic', ts_start: 1_700_000_000_000_000 + i, ts_end: 1_700_000_000_000_000 + i,
      duration_s: 0, fwd_packets: i, bwd_packets: 0, fwd_bytes: 60 * i, bwd_bytes: 0,
      src_addr: i % 3 === 0 ? null : `10.0.0.${i % 250}`, src_port: i % 5 === 0 ? null : i, http_basic_auth: i % 2 === 0 ? true : i % 3 === 0 ? null : false,
    };
  });
}

test('a batch is written once: a redelivered batch id adds no rows', async () => {
  const store = await openStore(join(dir, 'a.duckdb'));
  const batch = flowBatch(flows(5000));
  assert.is(await store.write('b1', { flows: batch }), true);
  assert.is(await store.write('b1', { flows: batch }), false);
  assert.is(await store.count('flows'), 5000);
  assert.is(store.counters.duplicates, 1);
  await store.close();
});

test('values, nulls and timestamps survive the trip through data chunks (across chunk boundaries)', async () => {
  const store = await openStore(join(dir, 'b.duckdb'));
  await store.write('b1', { flows: flowBatch(flows(4100)) });
  const rows = await store.all<{ flow_id: string; src_addr: string | null; src_port: number | null; http_basic_auth: boolean | null; us: number; fwd_bytes: number }>(
    "SELECT flow_id, src_addr, src_port, http_basic_auth, epoch_us(ts_start) AS us, fwd_bytes FROM flows WHERE flow_id IN ('f0','f1','f2049','f2050','f4099') ORDER BY flow_id",
  );
  const byId = Object.fromEntries(rows.map((r) => [r.flow_id, r]));
  assert.equal(byId.f0, { flow_id: 'f0', src_addr: null, src_port: null, http_basic_auth: true, us: 1_700_000_000_000_000, fwd_bytes: 0 });
  assert.equal(byId.f1, { flow_id: 'f1', src_addr: '10.0.0.1', src_port: 1, http_basic_auth: false, us: 1_700_000_000_000_001, fwd_bytes: 60 });
  assert.is(byId.f2049.src_addr, null); // 2049 is a multiple of 3
  assert.is(byId.f2049.http_basic_auth, null);
  assert.is(byId.f2050.src_port, null);
  assert.is(byId.f4099.src_port, 4099);
  assert.is(byId.f4099.us, 1_700_000_000_000_000 + 4099);
  await store.close();
});

test('strings of every length and script survive the trip (inline ≤ 12 bytes, long, non-ASCII, empty, null), also from a sliced batch', async () => {
  const store = await openStore(join(dir, 'strings.duckdb'));
  const samples = ['', 'a', '10.0.0.1', '123456789012', '1234567890123', 'é', 'ééééé', 'ééééééé', '日本語テキスト', '2001:db8::1', 'fe80::1ff:fe23:4567:890a', 'x'.repeat(300)];
  const rows = Array.from({ length: 5000 }, (_, i) => ({ ...flows(1, i)[0], l7_proto: i % 7 === 3 ? null : samples[i % samples.length], http_user_agent: samples[(i * 5) % samples.length] }));
  const whole = flowBatch(rows);
  // A slice starts at an offset inside the Arrow buffers (the runner splits batches this way).
  assert.ok(await store.write('whole', { flows: whole.slice(0, 2100) }));
  assert.ok(await store.write('slice', { flows: whole.slice(2100) }));
  const back = await store.all<{ flow_id: string; l7_proto: string | null; http_user_agent: string | null; fwd_bytes: number; src_port: number | null; http_basic_auth: boolean | null }>(
    'SELECT flow_id, l7_proto, http_user_agent, fwd_bytes, src_port, http_basic_auth FROM flows',
  );
  assert.is(back.length, 5000);
  const byId = new Map(back.map((r) => [r.flow_id, r]));
  for (const r of rows) {
    const got = byId.get(r.flow_id!)!;
    assert.is(got.l7_proto, r.l7_proto, `l7_proto of ${r.flow_id}`);
    assert.is(got.http_user_agent, r.http_user_agent, `http_user_agent of ${r.flow_id}`);
    // Numbers and booleans of the slice too: Arrow slices their buffers differently from strings.
    assert.equal([got.fwd_bytes, got.src_port, got.http_basic_auth], [r.fwd_bytes, r.src_port, r.http_basic_auth], `numbers of ${r.flow_id}`);
  }
  // DuckDB compares and groups the inline strings it did not write itself the same way.
  const groups = await store.all<{ n: number }>("SELECT count(*)::INTEGER AS n FROM flows WHERE l7_proto = '123456789012'");
  assert.is(groups[0].n, rows.filter((r) => r.l7_proto === '123456789012').length);
  const distinct = await store.all<{ n: number }>('SELECT count(DISTINCT l7_proto)::INTEGER AS n FROM flows');
  assert.is(distinct[0].n, samples.length);
  await store.close();
});

test('a newer schema version adds columns by migration and older batches still append', async () => {
  const path = join(dir, 'c.duckdb');
  const v1 = [{ name: 'a', kind: 'utf8', nullable: false, doc: '' }, { name: 'b', kind: 'f64', nullable: true, doc: '' }] as const;
  const v2 = [{ name: 'b', kind: 'f64', nullable: true, doc: '' }, { name: 'a', kind: 'utf8', nullable: false, doc: '' }, { name: 'c', kind: 'i32', nullable: true, doc: '' }] as const;
  let store = await openStore(path);
  await store.write('t1', { things: batchFromRows(arrowSchema('things', 1, v1), v1, [{ a: 'x', b: 1 }]) });
  await store.close();
  store = await openStore(path);
  await store.write('t2', { things: batchFromRows(arrowSchema('things', 2, v2), v2, [{ a: 'y', b: 2, c: 7 }]) });
  await store.write('t3', { things: batchFromRows(arrowSchema('things', 1, v1), v1, [{ a: 'z', b: null }]) });
  assert.equal(await store.all('SELECT a, b, c FROM things ORDER BY a'), [{ a: 'x', b: 1, c: null }, { a: 'y', b: 2, c: 7 }, { a: 'z', b: null, c: null }]);
  await store.close();
});

test('a column whose type changed is refused with a clear error, and nothing is written', async () => {
  const store = await openStore(join(dir, 'd.duckdb'));
  const v1 = [{ name: 'a', kind: 'utf8', nullable: false, doc: '' }] as const;
  const bad = [{ name: 'a', kind: 'f64', nullable: false, doc: '' }] as const;
  await store.write('t1', { things: batchFromRows(arrowSchema('things', 1, v1), v1, [{ a: 'x' }]) });
  try {
    await store.write('t2', { things: batchFromRows(arrowSchema('things', 2, bad), bad, [{ a: 1 }]) });
    assert.unreachable('should refuse');
  } catch (error) {
    assert.match((error as Error).message, /things column a is VARCHAR/);
  }
  assert.is(await store.count('things'), 1);
  assert.is((await store.all<{ n: number }>("SELECT count(*)::INTEGER AS n FROM _batches WHERE batch_id = 't2'"))[0].n, 0);
  await store.close();
});

test('concurrent writes commit together, yet each batch succeeds, repeats or fails on its own', async () => {
  const store = await openStore(join(dir, 'g.duckdb'));
  const good = (i: number) => flowBatch(flows(10, i * 10));
  const bad = [{ name: 'a', kind: 'f64', nullable: false, doc: '' }] as const;
  await store.write('t0', { things: batchFromRows(arrowSchema('things', 1, [{ name: 'a', kind: 'utf8', nullable: false, doc: '' }] as const), [{ name: 'a', kind: 'utf8', nullable: false, doc: '' }] as const, [{ a: 'x' }]) });
  const results = await Promise.allSettled([
    store.write('g1', { flows: good(1) }),
    store.write('g2', { flows: good(2) }),
    store.write('g1', { flows: good(1) }),
    store.write('g3', { things: batchFromRows(arrowSchema('things', 2, bad), bad, [{ a: 1 }]) }),
    store.write('g4', { flows: good(4) }),
  ]);
  assert.equal(results.map((r) => r.status === 'fulfilled' ? r.value : 'rejected'), [true, true, false, 'rejected', true]);
  assert.is(await store.count('flows'), 30);
  assert.equal((await store.all<{ batch_id: string }>("SELECT batch_id FROM _batches WHERE batch_id LIKE 'g%' ORDER BY 1")).map((r) => r.batch_id), ['g1', 'g2', 'g4']);
  await store.close();
});

test('dead letters keep input, stage, reason and payload', async () => {
  const store = await openStore(join(dir, 'e.duckdb'));
  await store.deadLetter({ input: 'x.pcap', stage: 'parse', reason: 'truncated record', payload: new Uint8Array([1, 2, 3]) }, { input: 'y.csv', stage: 'parse', reason: 'line 3: 4 fields, expected 5', payload: 'a,b,c,d' });
  assert.equal(await store.all('SELECT input, stage, reason, payload FROM dead_letters ORDER BY input'), [
    { input: 'x.pcap', stage: 'parse', reason: 'truncated record', payload: 'base64:AQID' },
    { input: 'y.csv', stage: 'parse', reason: 'line 3: 4 fields, expected 5', payload: 'a,b,c,d' },
  ]);
  await store.close();
});

test('Parquet export writes every table and reads back the same rows', async () => {
  const store = await openStore(join(dir, 'f.duckdb'));
  await store.write('b1', { flows: flowBatch(flows(300)) });
  const files = await store.exportParquet(dir, ['flows']);
  assert.equal(files.map((f) => [f.table, f.rows]), [['flows', 300]]);
  const [row] = await store.all<{ n: number; bytes: number }>(`SELECT count(*)::INTEGER AS n, sum(fwd_bytes) AS bytes FROM read_parquet('${files[0].file}')`);
  assert.equal(row, { n: 300, bytes: 60 * ((299 * 300) / 2) });
  await store.close();
});

test('a read-only location and a locked file give one clear user error each', async () => {
  try {
    await openStore(process.getuid?.() === 0 ? '/sys/heir-test.duckdb' : '/heir-test-not-writable.duckdb');
    assert.unreachable('should fail');
  } catch (error) {
    assert.is((error as { code?: string }).code, 'HEIR_STORE_READ_ONLY');
    assert.match((error as Error).message, /cannot be written/);
  }
});

test.run();
