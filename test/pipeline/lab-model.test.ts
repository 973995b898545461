import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { join } from 'node:path';
import { classifyOperator } from '../../operators/classify.ts';
import { loadModel } from '../../operators/forest/model-file.ts';
import { featurizeFlowOperator } from '../../operators/featurize-flow.ts';
import { rowsOf } from '../../pipeline/columns.ts';
import { DETECTION_COLUMNS } from '../../operators/detections-schema.ts';
import { labelledFlows, labeller, readLabels } from '../../pipeline/lab/dataset.ts';

const ROOT = join(import.meta.dirname, '../..');
const HELD_OUT = join(ROOT, 'datasets/lab/small-seed2');

test('the shipped default model, through featurize-flow and classify, flags the held-out lab run', async () => {
  const model = loadModel(join(ROOT, 'models/default.heir'));
  assert.equal(model.meta.featureSet, { name: 'flow', version: 1 });
  const labels = readLabels(HELD_OUT);
  const { batch } = await labelledFlows(join(HELD_OUT, labels.capture), labeller(labels));
  const context = { site: 'lab', sensor: 'lab', batchId: 'held-out', warn() {} };
  const featured = await featurizeFlowOperator.apply({ flows: batch }, context);
  const out = await classifyOperator(model, { input: 'flow_features' }).apply(featured, context);
  const detections = rowsOf(out.detections, DETECTION_COLUMNS);
  const truth = rowsOf(featured.flow_features, [{ name: 'label', kind: 'utf8', nullable: true, doc: '' }] as const).map((r) => r.label);
  assert.is(detections.length, truth.length);
  let benign = 0, benignFlagged = 0, attack = 0, attackFlagged = 0;
  detections.forEach((d, i) => {
    if (truth[i] === 'Benign') {
      benign++;
      if (!d.benign) benignFlagged++;
    } else {
      attack++;
      if (!d.benign) attackFlagged++;
    }
  });
  // docs/models.md reports these numbers: no benign flow flagged, every attack flow but one.
  assert.ok(benignFlagged / benign <= 0.05, `benign flows flagged: ${benignFlagged}/${benign}`);
  assert.ok(attackFlagged / attack >= 0.99, `attack flows flagged: ${attackFlagged}/${attack}`);
  const flagged = detections.find((d) => !d.benign)!;
  assert.ok(flagged.threat !== null && flagged.top1_feature !== null && flagged.top1_share !== null, 'detections carry a threat and what drove them');
});

test.run();
