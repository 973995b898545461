/**
 * `heir rama` end to end: the real CLI on a real DuckDB file, filled by the synthetic fleet.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { main } from '../../../pipeline/cli.ts';
import { openStore } from '../../../pipeline/store.ts';

const ROOT = new URL('../../../', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'heir-rama-'));
const db = join(dir, 'site.duckdb');
const AS_OF = '2026-11-28T00:00:00Z';

/** The real binary, in a child process (used once: process start-up is slow on a shared machine). */
function heirProcess(...args: string[]): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [join(ROOT, 'bin/heir.js'), 'rama', ...args], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, TZ: 'UTC' } });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** The CLI's entry point in this process, with its output captured. */
async function heir(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const write = { stdout: process.stdout.write, stderr: process.stderr.write };
  process.stdout.write = ((chunk: string) => (out.push(String(chunk)), true)) as typeof process.stdout.write;
  process.stderr.write = ((chunk: string) => (err.push(String(chunk)), true)) as typeof process.stderr.write;
  try {
    const code = await main(['rama', ...args]);
    return { code, stdout: out.join(''), stderr: err.join('') };
  } finally {
    process.stdout.write = write.stdout;
    process.stderr.write = write.stderr;
  }
}

async function count(sql: string): Promise<number> {
  const store = await openStore(db, { readOnly: true });
  try {
    return Number((await store.all<{ n: number }>(sql))[0].n);
  } finally {
    await store.close();
  }
}

test('simulate fills the store with a labelled synthetic fleet, once', async () => {
  const r = await heir('simulate', '--db', db, '--hospitals', '6', '--seed', '2', '--devices', '600', '--as-of', AS_OF);
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stdout, /wrote SYNTHETIC fleet: 6 hospitals, 600 devices/);
  const again = await heir('simulate', '--db', db, '--hospitals', '6', '--seed', '2', '--devices', '600', '--as-of', AS_OF);
  assert.match(again.stdout, /already present/);
});

test('devices --json: one device per line, 100 + Σ points = score, stored once per run', async () => {
  const r = heirProcess('devices', '--db', db, '--json', '--as-of', AS_OF);
  assert.is(r.code, 0, r.stderr);
  const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
  assert.is(lines.length, 600);
  for (const d of lines) {
    assert.equal(Object.keys(d), ['device', 'site', 'score', 'band', 'contributions']);
    assert.ok(d.score >= 0 && d.score <= 100);
    const sum = d.contributions.reduce((s: number, c: { points: number }) => s + c.points, 0);
    assert.is(Math.round((100 + sum) * 100), Math.round(d.score * 100), `${d.device}: 100 + ${sum} ≠ ${d.score}`);
  }
  assert.ok(lines.some((d) => d.band === 'vulnerable') && lines.some((d) => d.band === 'secure'));
  assert.is(await count('SELECT count(*) AS n FROM rama_device_scores'), 600);
  await heir('devices', '--db', db, '--json', '--as-of', AS_OF);
  assert.is(await count('SELECT count(*) AS n FROM rama_device_scores'), 600, 'the same run stored twice must add nothing');
  assert.is(await count(`SELECT count(*) AS n FROM rama_device_scores WHERE input_versions LIKE '%"inputs":"%' AND model_version = 'rama-1.0'`), 600);
});

test('site: site and unit scores with exact contributions, and daily snapshots', async () => {
  const r = await heir('site', '--db', db, '--json', '--as-of', AS_OF);
  assert.is(r.code, 0, r.stderr);
  const rows = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
  const sites = rows.filter((x) => x.scope === 'site');
  assert.is(sites.length, 6);
  for (const s of rows) {
    const sum = s.contributions.reduce((a: number, c: { points: number }) => a + c.points, 0);
    assert.is(Math.round((100 + sum) * 100), Math.round(s.score * 100));
  }
  await heir('site', '--db', db, '--as-of', '2026-11-29T00:00:00Z');
  assert.is(await count(`SELECT count(DISTINCT day) AS n FROM rama_snapshots WHERE scope = 'site'`), 2);
  assert.is(await count(`SELECT count(*) AS n FROM rama_site_scores WHERE scope = 'site'`), 12);
});

test('benchmark: peer positions, suppression, and a seeded DP release that spends its budget', async () => {
  const r = await heir('benchmark', '--db', db, '--json', '--k', '2', '--epsilon', '0.25', '--seed', '7');
  assert.is(r.code, 0, r.stderr);
  const rows = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
  const sites = rows.filter((x) => x.kind === 'site');
  assert.is(sites.length, 6);
  for (const s of sites) assert.ok(s.suppressed || (s.percentile > 0 && s.percentile < 100 && s.groupSize >= 2));
  assert.ok(sites.every((s) => s.trend && s.trend.days === 1), 'two days of snapshots give a trend');
  assert.ok(rows.some((x) => x.kind === 'dp'));
  const budget = rows.find((x) => x.kind === 'budget');
  assert.is(budget.spent, 1);
  assert.is(budget.ledger.length, 4);
  assert.is((await heir('benchmark', '--db', db, '--json', '--k', '2', '--epsilon', '0.25', '--seed', '7')).stdout, r.stdout, 'a seeded release repeats');
  const over = await heir('benchmark', '--db', db, '--epsilon', '0.5', '--budget', '1');
  assert.is(over.code, 2);
  assert.match(over.stderr, /privacy budget exhausted/);
});

test('whatif: needs --site when the store has several, then lists remediations by gain', async () => {
  const many = await heir('whatif', '--db', db, '--as-of', AS_OF);
  assert.is(many.code, 2);
  assert.match(many.stderr, /choose one with --site/);
  const r = await heir('whatif', '--db', db, '--site', 'SYN-H0001', '--json', '--limit', '5', '--as-of', AS_OF);
  assert.is(r.code, 0, r.stderr);
  const list = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
  assert.ok(list.length > 0 && list.length <= 5);
  for (let i = 1; i < list.length; i++) assert.ok(list[i - 1].gain >= list[i].gain);
  assert.ok(list[0].gain > 0);
});

test('clear errors: missing --db, bad --as-of, no inventory, unknown sub-command', async () => {
  const noDb = await heir('devices');
  assert.is(noDb.code, 2);
  assert.match(noDb.stderr, /--db FILE is required/);
  const badTime = await heir('devices', '--db', db, '--as-of', 'tomorrow');
  assert.is(badTime.code, 2);
  assert.match(badTime.stderr, /invalid --as-of: tomorrow/);
  const empty = await heir('devices', '--db', join(dir, 'empty.duckdb'));
  assert.is(empty.code, 1);
  assert.match(empty.stderr, /no devices table/);
  const unknown = await heir('explain', '--db', db);
  assert.is(unknown.code, 2);
  assert.match(unknown.stderr, /expected devices, site, benchmark, whatif or simulate/);
});

test.after(() => rmSync(dir, { recursive: true, force: true }));
test.run();
