/** SIGTERM in the middle of a run: the process drains, exits 0, and a rerun completes the job exactly. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { heir, heirChild } from '../helpers/cli.ts';
import { openStore } from '../../pipeline/store.ts';

const dir = mkdtempSync(join(tmpdir(), 'heir-drain-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

test('SIGTERM drains the in-process pipeline: what was published is stored, the rerun adds the rest once', async () => {
  const db = join(dir, 'site.duckdb');
  const config = join(dir, 'site.toml');
  // The source must outrun what the in-process bus holds at once (64 waiting + 32 in flight + 32
  // being published = 128 batches of 500 flows), or it would finish before the first row is stored.
  writeFileSync(config, `site = "drain"\nstore = "${db}"\n[batch]\nmax_rows = 500\n[[sources]]\nformat = "synthetic"\ncount = 120000\n`);
  const child = heirChild(['run', '--config', config, '--stats', '0.1']);
  let err = '';
  await new Promise<void>((resolve) => {
    child.stderr!.on('data', (d) => {
      err += d;
      const stored = Number([...err.matchAll(/"rowsStored":(\d+)/g)].pop()?.[1] ?? 0);
      if (stored > 0 && !child.killed) {
        child.kill('SIGTERM');
        resolve();
      }
    });
  });
  const code = await new Promise((r) => child.once('exit', r));
  assert.is(code, 0, err);
  assert.match(err, /SIGTERM: draining/);
  const last = JSON.parse(err.trim().split('\n').pop()!.replace(/^heir run: /, ''));
  assert.is(last.rowsStored, last.rowsPublished, 'everything published before the signal was stored');
  assert.ok(last.rowsPublished < 120000, 'the signal stopped the source early');

  const rerun = await heir(['run', '--config', config], { timeoutMs: 300_000 });
  assert.is(rerun.code, 0, rerun.stderr);
  const store = await openStore(db, { readOnly: true });
  const [row] = await store.all<{ n: number; d: number }>('SELECT count(*)::INTEGER AS n, count(DISTINCT flow_id)::INTEGER AS d FROM flows');
  await store.close();
  assert.equal(row, { n: 120000, d: 120000 });
});

test.run();
