import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import RF from 'ml-random-forest';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { loadNamed, trainOnDataset } from '../../datasets/experiment.ts';
import { takeRows } from '../../datasets/load.ts';
import { importMlRandomForest, previousDouble } from '../../operators/forest/import-mljs.ts';
import { loadModel, modelId, saveModel } from '../../operators/forest/model-file.ts';
import { ErrorCode, UserError } from '../../pipeline/errors.ts';
import { setWarningSink } from '../../pipeline/warn.ts';

setWarningSink(null);
const cic = loadNamed('ciciomt2024', { sample: true });
const dir = mkdtempSync(join(tmpdir(), 'heir-model-'));

test('a model file holds the forest and its provenance, and predicts the same after loading', async () => {
  const { model, data } = await trainOnDataset({ dataset: 'ciciomt2024', target: 'class', forest: { trees: 10, seed: 4 } }, cic);
  const path = join(dir, 'm.heir');
  saveModel(path, model);
  const back = loadModel(path);
  const m = back.meta;
  assert.equal(m.features, data.features);
  assert.equal(m.featureSet, { name: 'ciciomt2024/cic-39', version: 1 });
  assert.is(m.classes.length, 19);
  assert.is(m.dataset.name, 'ciciomt2024');
  assert.is(m.dataset.target, 'class');
  assert.ok(m.dataset.dropped!.some((c) => c.name === 'Number' && c.role === 'artefact'));
  assert.match(m.trainingDataHash!, /^[0-9a-f]{64}$/);
  assert.is(m.split!.kind, 'stratified');
  assert.is(m.seed, 4);
  assert.ok(m.metrics!.test!.macroF1 > 0.5);
  assert.equal(m.threatMap['ARP_Spoofing'].attackIcs, ['T0830', 'T0842']);
  assert.ok(Object.keys(m.importance!).length === data.features.length);
  const all = takeRows(data, 'class', Int32Array.from({ length: data.rows }, (_, i) => i));
  assert.equal(back.forest.predictProba(all.x, all.rows), model.forest.predictProba(all.x, all.rows));
  assert.is(modelId(back), modelId(model));
});

test('damaged and foreign files are refused with MODEL_INVALID naming the file', () => {
  const good = readFileSync(join(dir, 'm.heir'));
  const cases: [string, Uint8Array][] = [
    ['truncated.heir', good.subarray(0, good.length >> 1)],
    ['foreign.heir', gzipSync(JSON.stringify({ format: 'other' }))],
    ['text.heir', Buffer.from('hello')],
  ];
  const json = JSON.parse(gunzipSync(good).toString('utf8'));
  json.forest.right = Buffer.from(new Int32Array([5, 5, 5]).buffer).toString('base64');
  cases.push(['tampered.heir', gzipSync(JSON.stringify(json))]);
  for (const [name, bytes] of cases) {
    const path = join(dir, name);
    writeFileSync(path, bytes);
    try {
      loadModel(path);
      assert.unreachable(name);
    } catch (error) {
      assert.instance(error, UserError, name);
      assert.is((error as UserError).code, ErrorCode.MODEL_INVALID, name);
      assert.ok((error as Error).message.includes(path), name);
    }
  }
});

test('ml-random-forest models import and predict exactly what ml.js predicts', () => {
  const d = cic.features.length;
  const all = takeRows(cic, 'category', Int32Array.from({ length: cic.rows }, (_, i) => i));
  const n = 400;
  const X = Array.from({ length: n }, (_, i) => Array.from(all.x.subarray(i * 7 * d, i * 7 * d + d)));
  const Y = Array.from({ length: n }, (_, i) => all.y[i * 7]);
  const ml = new RF.RandomForestClassifier({ nEstimators: 11, seed: 3, maxFeatures: 0.3, noOOB: true });
  ml.train(X, Y);
  const json = JSON.parse(JSON.stringify(ml.toJSON()));
  const forest = importMlRandomForest(json, d, 6);
  const rows = 1500;
  const XT = Array.from({ length: rows }, (_, i) => Array.from(all.x.subarray(i * d, (i + 1) * d)));
  const theirs = ml.predict(XT) as number[];
  const ours = forest.predict(all.x, rows);
  const votes = forest.predictProba(all.x, rows);
  // ml.js breaks a tied vote by tree order, we by class order: compare the rows without a tie.
  let compared = 0;
  for (let i = 0; i < rows; i++) {
    const v = Array.from(votes.subarray(i * 6, i * 6 + 6));
    const top = Math.max(...v);
    if (v.filter((p) => Math.abs(p - top) < 1e-9).length > 1) continue;
    compared++;
    assert.is(ours[i], theirs[i], `row ${i}`);
  }
  assert.ok(compared > rows * 0.95, `${compared} untied rows`);
  assert.throws(() => importMlRandomForest({ name: 'RFRegression' }, d), /not an ml-random-forest classifier/);
  assert.is(previousDouble(1) < 1 && previousDouble(1) > 0.9999999, true);
});

test.run();
