import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseHTML } from 'linkedom';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { renderToFile } from '../../notebooks/render.ts';
import { main } from '../../pipeline/cli.ts';
import { heir } from '../helpers/cli.ts';
import { assertStandalone, assertVisibleInChromium, countFigures } from '../helpers/notebook-page.ts';

const dir = mkdtempSync(join(tmpdir(), 'heir-nb-rama-'));
const fleetDb = join(dir, 'fleet.duckdb');
const AS_OF = '2026-11-01T00:00:00Z';

test.before(async () => {
  assert.is(await main(['rama', 'simulate', '--db', fleetDb, '--hospitals', '12', '--seed', '3', '--as-of', AS_OF]), 0);
  assert.is(await main(['rama', 'site', '--db', fleetDb, '--as-of', AS_OF]), 0);
});

test.after(() => rmSync(dir, { recursive: true, force: true }));

function tableRows(document: Document, caption: string): string[][] {
  const t = [...document.querySelectorAll('table')].find((x) => x.querySelector('caption')?.textContent === caption);
  assert.ok(t, `table ${caption}`);
  return [...t!.querySelectorAll('tbody tr')].map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent ?? ''));
}

test('heir notebook render rama-benchmark on a simulated fleet: synthetic label, peer position as heir rama benchmark, bands; opens in Chromium', async () => {
  const out = join(dir, 'rama.html');
  const run = await heir(['notebook', 'render', 'rama-benchmark', '--db', fleetDb, '--out', out, '--param', 'site=SYN-H0003']);
  assert.is(run.code, 0, run.stderr);
  assert.match(run.stdout, /^wrote .*rama\.html: 7 cells, 4 figures, 3 tables, 1 warning in [\d.]+ s\n$/);
  const html = readFileSync(out, 'utf8');
  assert.is(countFigures(html).figures, 4);
  assertStandalone(html);
  const { document } = parseHTML(html) as unknown as { document: Document };

  assert.match(document.querySelector('.note.warning')!.textContent!, /Synthetic fleet\..*heir rama simulate/);
  assert.match(html, /Site RAMA scores \(synthetic fleet\)/);
  assert.match(html, /Latest site scores \(SYNTHETIC\), lowest first/);
  assert.match(html, new RegExp(`DuckDB store ${fleetDb.replaceAll('/', '\\/')} \\(`));

  // The notebook's peer position equals the benchmark command's.
  const bench = await heir(['rama', 'benchmark', '--db', fleetDb, '--json']);
  assert.is(bench.code, 0, bench.stderr);
  const lines = bench.stdout.trim().split('\n').map((l) => JSON.parse(l) as { kind: string; site?: string; score?: number; group?: string; groupSize?: number; percentile?: number; median?: number });
  const me = lines.find((l) => l.kind === 'site' && l.site === 'SYN-H0003')!;
  const sites = tableRows(document, 'Latest site scores (SYNTHETIC), lowest first');
  assert.is(sites.length, 12);
  const row = sites.find((r) => r[0] === 'SYN-H0003')!;
  assert.is(Number(row[2]), me.score);
  assert.is(row[6], me.group);
  assert.is(Number(row[7]), me.percentile);
  assert.match(html, new RegExp(`Peer group <strong>${me.group}</strong> \\(${me.groupSize} sites\\): SYN-H0003 scores ${me.score!.toFixed(2)}, percentile ${me.percentile}, median of the group ${me.median}`));
  // Scores in the table ascend.
  const scores = sites.map((r) => Number(r[2]));
  assert.equal(scores, [...scores].sort((a, b) => a - b));

  // Device bands: the fleet column counts every scored device.
  const bands = tableRows(document, 'Devices per band: SYN-H0003 and all sites');
  assert.equal(bands.map((r) => r[0]), ['secure', 'needs-attention', 'vulnerable']);
  assert.is(bands.reduce((a, r) => a + Number(r[2].replaceAll(',', '')), 0), 2720);
  assert.is(bands.reduce((a, r) => a + Number(r[1].replaceAll(',', '')), 0), Number(row[4].replaceAll(',', '')));

  // Factor contributions: families of device factors, for the site and the fleet.
  const factors = document.querySelector('[data-figure="4"]')!;
  assert.match(factors.textContent!, /Mean points per device: SYN-H0003 against all sites/);
  for (const family of ['vuln', 'finding', 'attack', 'control']) assert.match(factors.textContent!, new RegExp(family));

  await assertVisibleInChromium(out, 4);
});

test('a store without scores names the command to run; a one-hospital fleet compares units instead of peers', async () => {
  const db = join(dir, 'one.duckdb');
  assert.is(await main(['rama', 'simulate', '--db', db, '--hospitals', '1', '--seed', '5', '--as-of', AS_OF]), 0);
  try {
    await renderToFile('rama-benchmark', join(dir, 'x.html'), { db });
    assert.unreachable();
  } catch (e) {
    assert.match((e as Error).message, /notebook rama-benchmark, cell 2: .*one\.duckdb has no RAMA scores yet: run heir rama site --db/);
  }
  assert.is(await main(['rama', 'site', '--db', db, '--as-of', AS_OF]), 0);
  const out = join(dir, 'one.html');
  const result = await renderToFile('rama-benchmark', out, { db });
  assert.is(result.figures, 4);
  assert.match(readFileSync(out, 'utf8'), /has no peer group of at least 5 sites \(the store holds 1\); its care units are compared instead/);
  try {
    await renderToFile('rama-benchmark', join(dir, 'y.html'), { db, params: { site: 'SYN-H9999' } });
    assert.unreachable();
  } catch (e) {
    assert.match((e as Error).message, /no site 'SYN-H9999' in .*one\.duckdb \(sites: SYN-H0001\)/);
  }
});

test('the same notebook on the Parquet export of the store shows the same tables', async () => {
  const parquet = join(dir, 'parquet');
  assert.is(await main(['export', '--db', fleetDb, '--out', parquet]), 0);
  const fromDuck = await renderToFile('rama-benchmark', join(dir, 'a.html'), { db: fleetDb, params: { site: 'SYN-H0005' } });
  const fromParquet = await renderToFile('rama-benchmark', join(dir, 'b.html'), { db: parquet, params: { site: 'SYN-H0005' } });
  assert.is(fromParquet.figures, 4);
  assert.match(fromParquet.sources[0], /^Parquet export .*parquet \(.*rama_site_scores 155,/);
  const tables = (html: string) => html.match(/<div class="table">[^]*?<\/table>/g);
  assert.equal(tables(fromParquet.html), tables(fromDuck.html));
  assert.is(tables(fromDuck.html)!.length, 3);
});

test('without --db the notebook says what to give', async () => {
  try {
    await renderToFile('rama-benchmark', join(dir, 'z.html'), { dataDir: dir });
    assert.unreachable();
  } catch (e) {
    assert.match((e as Error).message, /reads a DuckDB store: give --db FILE/);
  }
});

test.run();
