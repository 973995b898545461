import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { classifyOperator } from '../../../operators/classify.ts';
import { featurizeFlowOperator } from '../../../operators/featurize-flow.ts';
import { loadModel } from '../../../operators/forest/model-file.ts';
import { DETECTION_COLUMNS } from '../../../operators/detections-schema.ts';
import { rowsOf } from '../../../pipeline/columns.ts';
import { labelledFlows, labeller, readLabels } from '../../../pipeline/lab/dataset.ts';
import { heir } from '../../helpers/cli.ts';

const ROOT = join(import.meta.dirname, '../../..');
const SEED1 = join(ROOT, 'datasets/lab/small-seed1');
const SEED2 = join(ROOT, 'datasets/lab/small-seed2');
const dir = mkdtempSync(join(tmpdir(), 'heir-train-lab-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

test('heir train --lab writes a flow model that classify loads and that flags a held-out lab run', async () => {
  const out = join(dir, 'flow.heir');
  const r = await heir(['train', '--lab', SEED1, '--feature-set', 'flow', '--trees', '20', '--class-weight', 'balanced', '--out', out, '--json']);
  assert.is(r.code, 0, r.stderr);
  const summary = JSON.parse(r.stdout) as { rows: number; featureSet: string; classes: Record<string, number> };
  assert.is(summary.featureSet, 'flow@1');
  assert.ok(summary.rows > 2000 && summary.classes.Benign > 0 && summary.classes['TCP_IP-DoS-SYN'] > 0, r.stdout);
  const model = loadModel(out);
  assert.equal(model.meta.featureSet, { name: 'flow', version: 1 });
  assert.is(model.meta.benign, 'Benign');
  // The model runs in the pipeline's chain over a run it never saw.
  const labels = readLabels(SEED2);
  const { batch } = await labelledFlows(join(SEED2, labels.capture), labeller(labels));
  const context = { site: 'lab', sensor: 'lab', batchId: 'b', warn() {} };
  const featured = await featurizeFlowOperator.apply({ flows: batch }, context);
  const detections = rowsOf((await classifyOperator(model, { input: 'flow_features' }).apply(featured, context)).detections, DETECTION_COLUMNS);
  const truth = rowsOf(featured.flow_features, [{ name: 'label', kind: 'utf8', nullable: true, doc: '' }] as const).map((x) => x.label);
  let benign = 0, benignFlagged = 0, attack = 0, attackFlagged = 0;
  detections.forEach((d, i) => {
    if (truth[i] === 'Benign') { benign++; if (!d.benign) benignFlagged++; } else { attack++; if (!d.benign) attackFlagged++; }
  });
  assert.ok(attackFlagged / attack >= 0.95, `attack flows flagged ${attackFlagged}/${attack}`);
  assert.ok(benignFlagged / benign <= 0.1, `benign flows flagged ${benignFlagged}/${benign}`);
});

test('--lab is repeatable; other feature sets; bad input is refused with the reason', async () => {
  const out = join(dir, 'window.heir');
  const one = await heir(['train', '--lab', SEED1, '--feature-set', 'cic-window', '--trees', '5', '--out', out, '--json']);
  const two = await heir(['train', '--lab', SEED1, '--lab', SEED2, '--feature-set', 'cic-window', '--trees', '5', '--out', out, '--json']);
  assert.is(two.code, 0, two.stderr);
  const rows = (x: string) => (JSON.parse(x) as { rows: number }).rows;
  assert.ok(rows(two.stdout) > rows(one.stdout), `${rows(one.stdout)} rows from one run, ${rows(two.stdout)} from two`);
  assert.equal(loadModel(out).meta.featureSet, { name: 'cic-window', version: 1 });
  const bad = await heir(['train', '--lab', SEED1, '--feature-set', 'packets', '--out', out]);
  assert.is.not(bad.code, 0);
  assert.match(bad.stderr, /invalid --feature-set packets/);
  const both = await heir(['train', '--lab', SEED1, '--dataset', 'ciciomt2024', '--out', out]);
  assert.match(both.stderr, /not both/);
  const missing = await heir(['train', '--lab', join(dir, 'nowhere'), '--out', out]);
  assert.is.not(missing.code, 0);
  assert.match(missing.stderr, /nowhere\/labels\.json not found/);
  assert.not.match(missing.stderr, /internal error|at /);
});

test.run();
