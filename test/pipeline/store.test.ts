import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { arrowSchema, batchFromRows, DUCK_TYPE, withSparseFamilies, type ColumnSpec } from '../../pipeline/columns.ts';
import { FLOW_COLUMNS, flowBatch, flowRows, type FlowRow } from '../../pipeline/flow-schema.ts';
import { openStore, type Store } from '../../pipeline/store.ts';

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

// --- Sparse columns: the flows table is stored as a core and side tables behind a view ---

/** Flows where every 4th has TLS facts, every 5th a DNS query (some both), the rest none. */
function sparseFlows(n: number, from = 0): Partial<FlowRow>[] {
  return flows(n, from).map((row, k) => {
    const i = from + k;
    return {
      ...row,
      ...(i % 4 === 0 ? { tls_version: 'TLS1.2', tls_sni: `host${i}.example`, ...(i % 8 === 0 ? { tls_cert_key_bits: 2048 } : {}), tls_cert_expired: i % 8 === 0, tls_cert_not_after: 1_800_000_000_000_000 + i } : {}),
      ...(i % 5 === 0 ? { dns_query: `q${i}.example` } : {}),
    };
  });
}

/** Every flow column of a table, timestamps as epoch µs, ordered by flow id. */
async function storedFlows(store: Store, from = 'flows'): Promise<Record<string, unknown>[]> {
  const list = FLOW_COLUMNS.map((c) => (c.kind === 'ts' ? `epoch_us(${c.name}) AS ${c.name}` : c.name)).join(', ');
  return store.all(`SELECT ${list} FROM ${from} ORDER BY flow_id`);
}

const byFlowId = (rows: FlowRow[]) => [...rows].sort((a, b) => (a.flow_id < b.flow_id ? -1 : a.flow_id > b.flow_id ? 1 : 0));
const countOf = async (store: Store, sql: string) => (await store.all<{ n: number }>(sql))[0].n;

test('sparse facts land in their side table only for flows that have them; the view gives back every row and column in order', async () => {
  const store = await openStore(join(dir, 'sparse.duckdb'));
  const batch = flowBatch(sparseFlows(5000));
  assert.ok(await store.write('s1', { flows: batch }));
  assert.is(await store.count('_flows__core'), 5000);
  assert.is(await store.count('_flows__tls'), 1250);
  assert.is(await store.count('_flows__dns'), 1000);
  assert.is(await store.count('_flows__http'), sparseFlows(5000).filter((r) => r.http_basic_auth !== null).length);
  assert.is(await store.count('_flows__mqtt'), 0);
  // Dense flows leave no row in any side table; each side row is a flow with a value there.
  assert.is(await countOf(store, "SELECT count(*)::INTEGER AS n FROM _flows__tls t JOIN _flows__core c USING (_row) WHERE NOT starts_with(c.flow_id, 'f') OR CAST(substr(c.flow_id, 2) AS INTEGER) % 4 <> 0"), 0);
  assert.is(await countOf(store, 'SELECT count(*)::INTEGER AS n FROM _flows__dns WHERE dns_query IS NULL'), 0);
  // The core has no fact column; the view has exactly the flow columns, in order.
  const coreColumns = (await store.all<{ column_name: string }>("SELECT column_name FROM information_schema.columns WHERE table_name = '_flows__core' ORDER BY ordinal_position")).map((r) => r.column_name);
  assert.ok(!coreColumns.some((c) => /^(tls|dns|http)_/.test(c)));
  assert.equal(coreColumns[0], '_row');
  const viewColumns = (await store.all<{ column_name: string }>("SELECT column_name FROM information_schema.columns WHERE table_name = 'flows' ORDER BY ordinal_position")).map((r) => r.column_name);
  assert.equal(viewColumns, FLOW_COLUMNS.map((c) => c.name));
  assert.equal(await storedFlows(store), byFlowId(flowRows(batch)));
  assert.equal(await store.tables(), ['dead_letters', 'flows']);
  await store.close();
});

test('a redelivered batch adds nothing to the core or a side table; a failed batch leaves nothing in any', async () => {
  const path = join(dir, 'sparse-redeliver.duckdb');
  let store = await openStore(path);
  const batch = flowBatch(sparseFlows(400));
  assert.ok(await store.write('r1', { flows: batch }));
  await store.close();
  store = await openStore(path);
  assert.is(await store.write('r1', { flows: batch }), false);
  const bad = [{ name: 'a', kind: 'f64', nullable: false, doc: '' }] as const;
  await store.write('t0', { things: batchFromRows(arrowSchema('things', 1, [{ name: 'a', kind: 'utf8', nullable: false, doc: '' }] as const), [{ name: 'a', kind: 'utf8', nullable: false, doc: '' }] as const, [{ a: 'x' }]) });
  await store.write('r2', { flows: flowBatch(sparseFlows(400, 400)), things: batchFromRows(arrowSchema('things', 2, bad), bad, [{ a: 1 }]) }).then(() => assert.unreachable('should refuse'), () => undefined);
  assert.equal([await store.count('_flows__core'), await store.count('_flows__tls'), await store.count('_flows__dns')], [400, 100, 80]);
  // Keys go on after a reopen: a new batch collides with none of the stored rows.
  assert.ok(await store.write('r3', { flows: flowBatch(sparseFlows(400, 800)) }));
  assert.is(await countOf(store, 'SELECT count(DISTINCT _row)::INTEGER AS n FROM _flows__core'), 800);
  assert.equal(await storedFlows(store), byFlowId([...flowRows(batch), ...flowRows(flowBatch(sparseFlows(400, 800)))]));
  await store.close();
});

test('a newer schema version adds each column to its part (a new family to a new side table) and the view follows', async () => {
  const path = join(dir, 'sparse-grow.duckdb');
  const familyOf = (name: string) => (name.startsWith('x_') ? 'x' : name.startsWith('y_') ? 'y' : undefined);
  const schema = (version: number, specs: readonly ColumnSpec[]) => withSparseFamilies(arrowSchema('things', version, specs), familyOf);
  const v1 = [
    { name: 'id', kind: 'utf8', nullable: false, doc: '' },
    { name: 'x_a', kind: 'i32', nullable: true, doc: '' },
  ] as const;
  const v2 = [...v1, { name: 'n', kind: 'f64', nullable: true, doc: '' }, { name: 'x_b', kind: 'ts', nullable: true, doc: '' }, { name: 'y_c', kind: 'bool', nullable: true, doc: '' }] as const;
  let store = await openStore(path);
  await store.write('g1', { things: batchFromRows(schema(1, v1), v1, [{ id: 'a', x_a: 1 }, { id: 'b', x_a: null }]) });
  await store.close();
  store = await openStore(path);
  await store.write('g2', { things: batchFromRows(schema(2, v2), v2, [{ id: 'c', x_a: null, n: 2, x_b: 5, y_c: true }, { id: 'd', n: 3 }]) });
  await store.write('g3', { things: batchFromRows(schema(1, v1), v1, [{ id: 'e', x_a: 7 }]) });
  const columns = async (table: string) => (await store.all<{ column_name: string }>(`SELECT column_name FROM information_schema.columns WHERE table_name = '${table}' ORDER BY ordinal_position`)).map((r) => r.column_name);
  assert.equal(await columns('things'), ['id', 'x_a', 'n', 'x_b', 'y_c']);
  assert.equal(await columns('_things__core'), ['_row', 'id', 'n']);
  assert.equal(await columns('_things__x'), ['_row', 'x_a', 'x_b']);
  assert.equal(await columns('_things__y'), ['_row', 'y_c']);
  assert.equal(await store.all('SELECT id, x_a, n, epoch_us(x_b) AS x_b, y_c FROM things ORDER BY id'), [
    { id: 'a', x_a: 1, n: null, x_b: null, y_c: null },
    { id: 'b', x_a: null, n: null, x_b: null, y_c: null },
    { id: 'c', x_a: null, n: 2, x_b: 5, y_c: true },
    { id: 'd', x_a: null, n: 3, x_b: null, y_c: null },
    { id: 'e', x_a: 7, n: null, x_b: null, y_c: null },
  ]);
  assert.equal([await store.count('_things__x'), await store.count('_things__y')], [3, 1]);
  await store.close();
});

test('a store whose flows table was written whole (the previous layout) is split when opened, rows and order kept', async () => {
  const path = join(dir, 'old-layout.duckdb');
  const rows = sparseFlows(3000);
  {
    // The previous layout, made with plain SQL: one wide flows table and the batch bookkeeping.
    const instance = await DuckDBInstance.create(path);
    const connection = await instance.connect();
    await connection.run(`CREATE TABLE flows (${FLOW_COLUMNS.map((c) => `${c.name} ${DUCK_TYPE[c.kind]}${c.nullable ? '' : ' NOT NULL'}`).join(', ')})`);
    const value = (v: unknown, kind: string) => (v === null || v === undefined ? 'NULL' : kind === 'ts' ? `make_timestamp(${v}::BIGINT)` : typeof v === 'string' ? `'${v}'` : String(v));
    for (let i = 0; i < rows.length; i += 500) {
      const values = rows.slice(i, i + 500).map((r) => `(${FLOW_COLUMNS.map((c) => value((r as Record<string, unknown>)[c.name], c.kind)).join(', ')})`);
      await connection.run(`INSERT INTO flows VALUES ${values.join(', ')}`);
    }
    await connection.run("CREATE TABLE _batches (batch_id VARCHAR PRIMARY KEY, tables VARCHAR NOT NULL, row_count BIGINT NOT NULL, stored_at TIMESTAMPTZ NOT NULL DEFAULT now()); INSERT INTO _batches VALUES ('old', 'flows:3000', 3000, now())");
    connection.closeSync();
    instance.closeSync();
  }
  const expected = byFlowId(flowRows(flowBatch(rows)));
  let store = await openStore(path, { readOnly: true });
  assert.equal(await storedFlows(store), expected, 'an old file still reads before it is migrated');
  await store.close();
  store = await openStore(path);
  const kind = await store.all<{ table_type: string }>("SELECT table_type FROM information_schema.tables WHERE table_name = 'flows'");
  assert.equal(kind, [{ table_type: 'VIEW' }]);
  assert.equal([await store.count('_flows__core'), await store.count('_flows__tls'), await store.count('_flows__dns')], [3000, 750, 600]);
  assert.equal(await storedFlows(store), expected);
  assert.equal((await store.all<{ flow_id: string }>('SELECT flow_id FROM _flows__core ORDER BY _row')).map((r) => r.flow_id), rows.map((r) => r.flow_id), 'written order kept');
  // The old batch ids still count, and new batches get keys after the migrated rows.
  assert.is(await store.write('old', { flows: flowBatch(sparseFlows(10, 5000)) }), false);
  assert.ok(await store.write('new', { flows: flowBatch(sparseFlows(100, 3000)) }));
  assert.is(await countOf(store, 'SELECT count(DISTINCT _row)::INTEGER AS n FROM _flows__core'), 3100);
  assert.is(await store.count('flows'), 3100);
  await store.close();
});

test('Parquet export of a split table has every flow column, in order, and the rows in written order', async () => {
  const path = join(dir, 'sparse-export.duckdb');
  let store = await openStore(path);
  const rows = sparseFlows(2500);
  await store.write('x1', { flows: flowBatch(rows.slice(0, 1300)) });
  await store.write('x2', { flows: flowBatch(rows.slice(1300)) });
  await store.close();
  store = await openStore(path, { readOnly: true });
  const [file] = await store.exportParquet(dir, ['flows']);
  assert.is(file.rows, 2500);
  const columns = (await store.all<{ column_name: string }>(`SELECT column_name FROM (DESCRIBE SELECT * FROM read_parquet('${file.file}'))`)).map((r) => r.column_name);
  assert.equal(columns, FLOW_COLUMNS.map((c) => c.name));
  assert.equal((await store.all<{ flow_id: string }>(`SELECT flow_id FROM read_parquet('${file.file}')`)).map((r) => r.flow_id), rows.map((r) => r.flow_id));
  assert.equal(await storedFlows(store, `read_parquet('${file.file}')`), byFlowId(flowRows(flowBatch(rows))));
  await store.close();
});

test('a store opened for writing runs DuckDB on one thread unless told otherwise; a reading store keeps DuckDB\'s default', async () => {
  const path = join(dir, 'threads.duckdb');
  const threads = async (store: Store) => Number((await store.all<{ t: number }>("SELECT current_setting('threads') AS t"))[0].t);
  const writer = await openStore(path);
  assert.is(await threads(writer), 1);
  await writer.close();
  const wider = await openStore(path, { threads: 2 });
  assert.is(await threads(wider), 2);
  await wider.close();
  const reader = await openStore(path, { readOnly: true });
  const defaults = await DuckDBInstance.create(':memory:');
  const connection = await defaults.connect();
  const expected = Number((await connection.runAndReadAll("SELECT current_setting('threads') AS t")).getRowObjectsJS()[0].t);
  connection.closeSync();
  defaults.closeSync();
  assert.is(await threads(reader), expected);
  await reader.close();
});

test('data chunks used again for later batches start clean: no nulls, strings or values carried over from the batch before', async () => {
  const store = await openStore(join(dir, 'reuse.duckdb'));
  // First: nulls in every other row and long strings; then the same columns with no nulls, then all null.
  const first = flows(3000).map((r, i) => ({ ...r, src_addr: i % 2 ? null : `host-${'y'.repeat(20)}-${i}`, src_port: i % 2 ? null : i, http_user_agent: `agent ${'z'.repeat(40)} ${i}` }));
  const second = flows(3000, 3000).map((r, i) => ({ ...r, src_addr: `10.1.${i % 250}.1`, src_port: 7, http_user_agent: null }));
  const third = flows(100, 6000).map((r) => ({ ...r, src_addr: null, src_port: null }));
  assert.ok(await store.write('first', { flows: flowBatch(first) }));
  assert.ok(await store.write('second', { flows: flowBatch(second) }));
  assert.ok(await store.write('third', { flows: flowBatch(third) }));
  const [counts] = await store.all<{ addr: number; port: number; ua: number; ua_second: number; nulls_third: number }>(`SELECT
      count(src_addr) FILTER (WHERE flow_id IN (SELECT 'f' || i FROM range(3000, 6000) t(i)))::INTEGER AS addr,
      count(src_port) FILTER (WHERE src_port = 7)::INTEGER AS port,
      count(http_user_agent)::INTEGER AS ua,
      count(http_user_agent) FILTER (WHERE flow_id IN (SELECT 'f' || i FROM range(3000, 6000) t(i)))::INTEGER AS ua_second,
      count(*) FILTER (WHERE flow_id IN (SELECT 'f' || i FROM range(6000, 6100) t(i)) AND src_addr IS NULL AND src_port IS NULL)::INTEGER AS nulls_third
    FROM flows`);
  assert.equal(counts, { addr: 3000, port: 3000, ua: 3000, ua_second: 0, nulls_third: 100 });
  const back = await store.all<{ flow_id: string; src_addr: string | null; http_user_agent: string | null }>("SELECT flow_id, src_addr, http_user_agent FROM flows WHERE flow_id IN ('f2', 'f3', 'f3001', 'f6001') ORDER BY flow_id");
  assert.equal(back, [
    { flow_id: 'f2', src_addr: `host-${'y'.repeat(20)}-2`, http_user_agent: `agent ${'z'.repeat(40)} 2` },
    { flow_id: 'f3', src_addr: null, http_user_agent: `agent ${'z'.repeat(40)} 3` },
    { flow_id: 'f3001', src_addr: '10.1.1.1', http_user_agent: null },
    { flow_id: 'f6001', src_addr: null, http_user_agent: null },
  ]);
  await store.close();
});

test.run();
