import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { arrowSchema, batchFromRows } from '../../pipeline/columns.ts';
import { deadLetterBatch } from '../../pipeline/dead-letters.ts';
import { HeirError, UserError } from '../../pipeline/errors.ts';
import { FLOW_COLUMNS } from '../../pipeline/flow-schema.ts';
import { openStore } from '../../pipeline/store.ts';
import { openStoreWorker } from '../../pipeline/store-worker.ts';
import { syntheticSource } from '../../pipeline/synthetic-source.ts';
import type { SourceBatch } from '../../pipeline/types.ts';

const dir = mkdtempSync(join(tmpdir(), 'heir-store-worker-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

async function batches(count: number, batchSize: number): Promise<SourceBatch[]> {
  const out: SourceBatch[] = [];
  for await (const b of syntheticSource({ site: 's', sensor: 'x', count, batchSize, seed: 5 }).batches()) out.push(b);
  return out;
}

/** Every flow column, timestamps as epoch µs, in flow id order. */
const ALL_FLOWS = `SELECT ${FLOW_COLUMNS.map((c) => (c.kind === 'ts' ? `epoch_us(${c.name}) AS ${c.name}` : c.name)).join(', ')} FROM flows ORDER BY flow_id`;

test('batches written through the store thread, many in flight and of varying sizes, are stored exactly as the store stores them; a repeated id adds nothing', async () => {
  const source = await batches(9000, 1300);
  // Slices of varying length (their buffers start inside the parents'), so packed buffers are reused for batches of other sizes.
  const parts = source.flatMap((b, i) => [{ id: `${b.id}/a`, flows: b.tables.flows.slice(0, 100 + 97 * i) }, { id: `${b.id}/b`, flows: b.tables.flows.slice(100 + 97 * i) }]);
  const worker = await openStoreWorker(join(dir, 'w.duckdb'));
  const direct = await openStore(join(dir, 'd.duckdb'));
  const fresh = await Promise.all(parts.map((p) => worker.write(p.id, { flows: p.flows })));
  for (const p of parts) await direct.write(p.id, { flows: p.flows });
  assert.ok(fresh.every((f) => f));
  assert.is(await worker.write(parts[3].id, { flows: parts[3].flows }), false);
  assert.equal(worker.counters, { batches: parts.length, duplicates: 1, rows: 9000, deadLetters: 0 });
  assert.is(await worker.count('flows'), 9000);
  assert.equal(await worker.tables(), ['dead_letters', 'flows']);
  assert.equal(await worker.all(ALL_FLOWS), await direct.all(ALL_FLOWS));
  await worker.close();
  await direct.close();
});

test('close waits for the writes in flight: each is committed before the thread ends', async () => {
  const path = join(dir, 'close.duckdb');
  const worker = await openStoreWorker(path);
  const writes = (await batches(6000, 500)).map((b) => worker.write(b.id, b.tables));
  await worker.close();
  assert.ok((await Promise.all(writes)).every((f) => f));
  const store = await openStore(path, { readOnly: true });
  assert.is(await store.count('flows'), 6000);
  await store.close();
  const late = await worker.write('late', {}).then(() => 'written', (error: Error) => error.message);
  assert.match(late, /has stopped/);
});

test('schema growth goes through; a column whose type changed is refused with the store\'s coded error, and the store goes on', async () => {
  const worker = await openStoreWorker(join(dir, 'schema.duckdb'));
  const v1 = [{ name: 'id', kind: 'utf8', nullable: false, doc: '' }] as const;
  const v2 = [...v1, { name: 'n', kind: 'f64', nullable: true, doc: '' }] as const;
  const bad = [...v1, { name: 'n', kind: 'utf8', nullable: true, doc: '' }] as const;
  assert.ok(await worker.write('g1', { things: batchFromRows(arrowSchema('things', 1, v1), v1, [{ id: 'a' }]) }));
  assert.ok(await worker.write('g2', { things: batchFromRows(arrowSchema('things', 2, v2), v2, [{ id: 'b', n: 2.5 }]) }));
  try {
    await worker.write('g3', { things: batchFromRows(arrowSchema('things', 3, bad), bad, [{ id: 'c', n: 'x' }]) });
    assert.unreachable('a changed column type must be refused');
  } catch (error) {
    assert.instance(error, HeirError);
    assert.is((error as HeirError).code, 'HEIR_SCHEMA_MISMATCH');
    assert.match((error as Error).message, /column n is DOUBLE .* the batch has VARCHAR/);
  }
  assert.ok(await worker.write('g4', { things: batchFromRows(arrowSchema('things', 1, v1), v1, [{ id: 'd' }]) }));
  assert.equal(await worker.all('SELECT id, n FROM things ORDER BY id'), [{ id: 'a', n: null }, { id: 'b', n: 2.5 }, { id: 'd', n: null }]);
  await worker.close();
});

test('dead letters keep their reason and payload, given directly or as a batch under its id', async () => {
  const worker = await openStoreWorker(join(dir, 'dead.duckdb'));
  const socket = new Uint8Array(1 << 20).fill(7);
  const payload = socket.subarray(100, 110);
  await worker.deadLetter({ input: 'heir.s.flows', stage: 'decode', reason: 'not a frame', payload });
  assert.ok(await worker.write('m1', { dead_letters: deadLetterBatch([{ input: 'heir.s.flows', stage: 'process', reason: 'failed 5 times', batchId: 'm1', payload: 'text' }]) }));
  assert.is(await worker.write('m1', { dead_letters: deadLetterBatch([{ input: 'heir.s.flows', stage: 'process', reason: 'again', batchId: 'm1' }]) }), false);
  const rows = await worker.all('SELECT stage, reason, payload FROM dead_letters ORDER BY stage');
  // Only the payload's own 10 bytes, not the buffer it was a view into.
  const kept = `base64:${Buffer.from(new Uint8Array(10).fill(7)).toString('base64')}`;
  assert.equal(rows, [{ stage: 'decode', reason: 'not a frame', payload: kept }, { stage: 'process', reason: 'failed 5 times', payload: 'text' }]);
  assert.is(worker.counters.deadLetters, 2);
  await worker.close();
});

test('a read-only location and a file locked by another process are the store\'s one clear user error each', async () => {
  try {
    await openStoreWorker(process.getuid?.() === 0 ? '/sys/heir-worker-test.duckdb' : '/heir-worker-test-not-writable.duckdb');
    assert.unreachable('should fail');
  } catch (error) {
    assert.instance(error, UserError);
    assert.is((error as UserError).code, 'HEIR_STORE_READ_ONLY');
    assert.match((error as Error).message, /cannot be written/);
  }
  const path = join(dir, 'locked.duckdb');
  const holder = spawn(process.execPath, ['--input-type=module', '-e', `import { DuckDBInstance } from '@duckdb/node-api'; await DuckDBInstance.create(${JSON.stringify(path)}); console.log('open'); setInterval(() => {}, 1000);`], { cwd: new URL('../..', import.meta.url).pathname, stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    await new Promise<void>((resolve, reject) => {
      holder.stdout!.on('data', (d) => String(d).includes('open') && resolve());
      holder.once('exit', (code) => reject(new Error(`lock holder exited with ${code}`)));
    });
    await openStoreWorker(path);
    assert.unreachable('should fail');
  } catch (error) {
    assert.instance(error, UserError);
    assert.is((error as UserError).code, 'HEIR_STORE_LOCKED');
    assert.match((error as Error).message, /locked by another process/);
  } finally {
    holder.kill('SIGKILL');
  }
});

test.run();
