/**
 * Fault test: 200,000 flow records through NATS JetStream; the worker is killed with SIGKILL in
 * the middle, the nats-server is restarted, a new worker finishes the job. The DuckDB row count
 * must equal the input count exactly: nothing lost, nothing twice.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startNats, type NatsServer } from '../helpers/nats.ts';
import { heir, heirChild } from '../helpers/cli.ts';
import { openStore } from '../../pipeline/store.ts';

const COUNT = Number(process.env.HEIR_FAULT_FLOWS ?? 200_000);
let nats: NatsServer;
let dir: string;

test.before(async () => {
  nats = await startNats();
  dir = mkdtempSync(join(tmpdir(), 'heir-fault-'));
});
test.after(async () => {
  await nats.stop();
  rmSync(dir, { recursive: true, force: true });
});

test(`${COUNT} flows survive kill -9 of the worker and a nats-server restart, exactly once`, async () => {
  const db = join(dir, 'site.duckdb');
  const config = join(dir, 'site.json');
  writeFileSync(config, JSON.stringify({ site: 'fault-site', sensor: 's1', store: db, sources: [{ format: 'synthetic', count: COUNT, seed: 7 }], batch: { max_rows: 1000 }, bus: { max_in_flight: 4, ack_wait_ms: 3000 } }));

  // Publish everything first (a source process), then start a worker and kill it mid-way.
  const published = await heir(['run', '--config', config, '--nats', nats.url, '--role', 'source'], { timeoutMs: 300_000 });
  assert.is(published.code, 0, published.stderr);
  assert.match(published.stderr, `"rowsPublished":${COUNT}`);

  const worker = heirChild(['run', '--config', config, '--nats', nats.url, '--role', 'worker', '--stats', '0.1']);
  let stderr = '';
  const killedAt = await new Promise<number>((resolve, reject) => {
    worker.stderr!.on('data', (d) => {
      stderr += d;
      const stored = [...stderr.matchAll(/"rowsStored":(\d+)/g)].map((m) => Number(m[1])).pop() ?? 0;
      if (stored >= COUNT / 4 && worker.exitCode === null && !worker.killed) {
        worker.kill('SIGKILL');
        resolve(stored);
      }
    });
    worker.on('exit', () => reject(new Error(`worker exited before it could be killed:\n${stderr}`)));
  }).catch((e) => {
    throw e;
  });
  await new Promise((r) => worker.once('exit', r));
  assert.ok(killedAt > 0 && killedAt < COUNT, `killed after ${killedAt} rows`);

  await nats.restart();

  // Publishing again after the restart must not add anything (deduplicated by batch id).
  const again = await heir(['run', '--config', config, '--nats', nats.url, '--role', 'source'], { timeoutMs: 300_000 });
  assert.is(again.code, 0, again.stderr);

  const finish = await heir(['run', '--config', config, '--nats', nats.url, '--role', 'worker', '--idle-exit', '3'], { timeoutMs: 600_000 });
  assert.is(finish.code, 0, finish.stderr);

  const store = await openStore(db, { readOnly: true });
  const [row] = await store.all<{ n: number; distinct: number }>('SELECT count(*)::INTEGER AS n, count(DISTINCT flow_id)::INTEGER AS distinct FROM flows');
  await store.close();
  assert.is(row.distinct, COUNT, 'every flow stored');
  assert.is(row.n, COUNT, 'no flow stored twice');
});

test.run();
