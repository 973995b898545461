import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { SAMPLES_DIR } from '../../../datasets/registry.ts';
import RF from 'ml-random-forest';
import { loadNamed } from '../../../datasets/experiment.ts';
import { takeRows } from '../../../datasets/load.ts';
import { setWarningSink } from '../../../pipeline/warn.ts';
import { heir } from '../../helpers/cli.ts';

setWarningSink(null);

const dir = mkdtempSync(join(tmpdir(), 'heir-train-cli-'));
const model = join(dir, 'wustl.heir');
const env = { HEIR_DATA_DIR: join(dir, 'no-data') };

test('heir datasets list and describe (committed samples when no data dir)', async () => {
  const list = await heir(['datasets', 'list', '--json'], { env });
  assert.is(list.code, 0, list.stderr);
  const rows = JSON.parse(list.stdout) as { name: string; sample: boolean }[];
  assert.equal(rows.map((r) => r.name), ['wustl-ehms-2020', 'ciciomt2024']);
  assert.ok(rows.every((r) => r.sample));
  const d = await heir(['datasets', 'describe', 'wustl-ehms-2020'], { env });
  assert.is(d.code, 0, d.stderr);
  assert.match(d.stdout, /WARNING: SrcMac alone separates the binary classes/);
  assert.match(d.stdout, /SrcMac \(identifier\)/);
  assert.match(d.stdout, /class balance \(category\)/);
  const bad = await heir(['datasets', 'describe', 'nope'], { env });
  assert.is(bad.code, 1);
  assert.match(bad.stderr, /unknown dataset 'nope'/);
});

test('heir train writes a model; heir eval --json scores it on its split and on a .csv.gz file', async () => {
  const t = await heir(['train', '--dataset', 'wustl-ehms-2020', '--trees', '20', '--seed', '3', '--out', model, '--threads', '2'], { env });
  assert.is(t.code, 0, t.stderr);
  assert.match(t.stdout, /macro-F1 0\.\d+/);
  assert.match(t.stdout, /SrcMac \(identifier\)/);
  const e = await heir(['eval', '--model', model, '--dataset', 'wustl-ehms-2020', '--json'], { env });
  assert.is(e.code, 0, e.stderr);
  const r = JSON.parse(e.stdout) as { accuracy: number; macroF1: number; perClass: Record<string, { support: number; f1: number }>; confusion: number[][]; rocAuc?: number };
  assert.ok(r.macroF1 > 0.6 && r.accuracy > 0.6, e.stdout);
  assert.equal(Object.keys(r.perClass), ['Benign', 'Attack']);
  assert.ok(r.rocAuc! > 0.7);
  assert.is(r.confusion.flat().reduce((a, b) => a + b, 0), 450);
  // A held-out file of the same dataset, gzip-compressed: read the way the training file was.
  const lines = readFileSync(join(SAMPLES_DIR, 'wustl-ehms-2020-sample.csv'), 'utf8').trim().split('\n');
  const heldOut = join(dir, 'held-out.csv.gz');
  writeFileSync(heldOut, gzipSync([lines[0], ...lines.slice(1).filter((_, i) => i % 3 === 0)].join('\n') + '\n'));
  const c = await heir(['eval', '--model', model, '--csv', heldOut, '--json'], { env });
  assert.is(c.code, 0, c.stderr);
  const rc = JSON.parse(c.stdout) as { perClass: Record<string, { support: number }> };
  assert.is(rc.perClass.Benign.support + rc.perClass.Attack.support, 500);
  const missing = await heir(['eval', '--model', model, '--csv', join(SAMPLES_DIR, 'ciciomt2024-sample.csv.gz')], { env });
  assert.is(missing.code, 1);
  assert.match(missing.stderr, /not a WUSTL-EHMS-2020 file/);
  const usage = await heir(['train', '--dataset', 'wustl-ehms-2020'], { env });
  assert.is(usage.code, 2);
  assert.match(usage.stderr, /--out FILE is required/);
});

test('heir import-model brings an ml-random-forest model in; heir eval scores it', async () => {
  const data = loadNamed('wustl-ehms-2020', { sample: true });
  const all = takeRows(data, 'binary', Int32Array.from({ length: data.rows }, (_, i) => i));
  const d = data.features.length;
  const pick = Array.from({ length: 300 }, (_, i) => Math.floor((i * data.rows) / 300));
  const ml = new RF.RandomForestClassifier({ nEstimators: 9, seed: 1, maxFeatures: 0.4, noOOB: true });
  ml.train(pick.map((r) => Array.from(all.x.subarray(r * d, (r + 1) * d))), pick.map((r) => all.y[r]));
  const json = join(dir, 'mljs.json');
  writeFileSync(json, JSON.stringify(ml.toJSON()));
  const out = join(dir, 'imported.heir');
  const imp = await heir(['import-model', '--mljs', json, '--dataset', 'wustl-ehms-2020', '--out', out], { env });
  assert.is(imp.code, 0, imp.stderr);
  assert.match(imp.stdout, /imported 9 trees/);
  const e = await heir(['eval', '--model', out, '--csv', join(SAMPLES_DIR, 'wustl-ehms-2020-sample.csv'), '--json'], { env });
  assert.is(e.code, 0, e.stderr);
  const r = JSON.parse(e.stdout) as { macroF1: number; rows: number };
  assert.is(r.rows, 1500);
  assert.ok(r.macroF1 > 0.6, `macro-F1 ${r.macroF1}`);
  const bad = await heir(['import-model', '--mljs', join(SAMPLES_DIR, 'README.md'), '--dataset', 'wustl-ehms-2020', '--out', out], { env });
  assert.is(bad.code, 1);
  assert.match(bad.stderr, /not readable JSON/);
});

test.run();
