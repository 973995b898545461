/** The command line as a user meets it: help, bad input, clear errors without stack traces. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { heir, heirChild } from '../helpers/cli.ts';

const dir = mkdtempSync(join(tmpdir(), 'heir-cli-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

function userError(r: { code: number | null; stderr: string }, pattern: RegExp) {
  assert.ok(r.code !== 0, `exit code ${r.code}`);
  assert.match(r.stderr, pattern);
  assert.not.match(r.stderr, /\n\s+at /, 'no stack trace');
  assert.not.match(r.stderr, /internal error/);
}

test('heir --help lists every command with a one-line description', async () => {
  const r = await heir(['--help']);
  assert.is(r.code, 0);
  const files = readdirSync(new URL('../../pipeline/commands/', import.meta.url)).filter((f) => f.endsWith('.ts') && !f.startsWith('_'));
  for (const f of files) assert.match(r.stdout, new RegExp(`\\n  ${f.replace('.ts', '')}\\s+\\S`), `${f} is listed`);
  for (const name of ['run', 'demo', 'ingest', 'export', 'collect']) assert.match(r.stdout, new RegExp(`\\n  ${name} `));
});

test('a bad config is one clear error and a non-zero exit', async () => {
  const config = join(dir, 'bad.json');
  writeFileSync(config, JSON.stringify({ site: 'x', batch: { max_rows: -5 } }));
  userError(await heir(['run', '--config', config]), /heir run: .*bad\.json: batch\.max_rows: expected an integer from 1 to 1000000, got -5\n$/);
  userError(await heir(['run', '--bogus']), /heir run: unknown option --bogus/);
  userError(await heir(['run', '--role', 'boss']), /invalid --role: boss/);
});

test('an unreachable NATS server is one clear error', async () => {
  userError(await heir(['run', '--nats', 'nats://127.0.0.1:1', '--db', join(dir, 'n.duckdb'), '--role', 'worker']), /cannot reach NATS at nats:\/\/127\.0\.0\.1:1/);
});

test('a read-only store location is one clear error', async () => {
  const path = process.getuid?.() === 0 ? '/sys/heir-cli.duckdb' : '/heir-cli.duckdb';
  userError(await heir(['ingest', 'pcap', new URL('../fixtures/pcaps/hl7-mllp.pcap', import.meta.url).pathname, '--db', path]), /cannot be written/);
});

test('a DuckDB file locked by a running pipeline is one clear error', async () => {
  const db = join(dir, 'locked.duckdb');
  const worker = heirChild(['run', '--db', db, '--role', 'worker', '--stats', '0.2']);
  let err = '';
  // The first counters line means the worker has opened (and holds) the store.
  await new Promise<void>((resolve, reject) => {
    worker.stderr!.on('data', (d) => {
      err += d;
      if (err.includes('heir run: {')) resolve();
    });
    worker.once('exit', () => reject(new Error(`worker exited early: ${err}`)));
  });
  const r = await heir(['export', '--db', db, '--out', join(dir, 'pq')]);
  worker.kill('SIGTERM');
  await new Promise((r) => worker.once('exit', r));
  userError(r, /locked by another process/);
  assert.match(err, /SIGTERM: draining/);
});

test('heir run --metrics serves the counters in Prometheus format while it works', async () => {
  const config = join(dir, 'metrics.json');
  writeFileSync(config, JSON.stringify({ site: 'm-site', store: join(dir, 'metrics.duckdb'), sources: [{ format: 'synthetic', count: 3000 }], batch: { max_rows: 500 } }));
  const { freePort } = await import('../helpers/nats.ts');
  const port = await freePort();
  const child = heirChild(['run', '--config', config, '--metrics', String(port), '--idle-exit', '4']);
  let text = '';
  for (let i = 0; i < 300 && !/heir_runner_rows_stored_total\{[^}]*\} 3000/.test(text); i++) {
    await new Promise((r) => setTimeout(r, 100));
    text = await fetch(`http://127.0.0.1:${port}/metrics`).then((r) => r.text()).catch(() => '');
  }
  await new Promise((r) => child.once('exit', r));
  assert.match(text, /heir_runner_rows_stored_total\{site="m-site",sensor="sensor-1",role="all"\} 3000/);
  assert.match(text, /# TYPE heir_bus_duplicates_total counter/);
});

test('heir ingest: per-file errors on stderr, other files go on; exit non-zero only when nothing was read', async () => {
  const empty = join(dir, 'empty.pcap');
  writeFileSync(empty, '');
  const good = new URL('../fixtures/pcaps/hl7-mllp.pcap', import.meta.url).pathname;
  const some = await heir(['ingest', 'pcap', empty, good, '--json']);
  assert.is(some.code, 0, some.stderr);
  assert.match(some.stderr, /empty\.pcap: .*empty/);
  const flows = some.stdout.trim().split('\n').map((l) => JSON.parse(l));
  assert.ok(flows.some((f) => f.l7_proto === 'hl7-mllp'));
  const none = await heir(['ingest', 'pcap', empty, '--json']);
  assert.is(none.code, 1);
  userError(await heir(['ingest', 'pcapx', good, '--json']), /unknown format 'pcapx'/);
});

test.run();
