/**
 * A/B of the classify operator in one process: a reference checkout's (HEIR_BASE) and this
 * checkout's, each training its forest with its own code on the same rows of the same dataset,
 * then classifying the same Arrow batches alternately (the machine's swings fall on both alike).
 * Checks that both sides give the same labels and confidences, then prints CPU ms per pass over
 * the test rows (median, lower quartile, best) and the ratio.
 *
 *   HEIR_BASE=/tmp/heir-ref npx tsx benchmarks/classify-ab.ts [--target class|category|binary] [--sample] [--runs N]
 *
 * The dataset is CICIoMT2024 found as this checkout finds it (HEIR_DATA_DIR, else
 * ../shared/datasets, else the committed sample): both sides get the rows this side loads, so a
 * reference checkout without the full file beside it still classifies the full test rows.
 */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Target } from '../datasets/adapter.ts';
import { loadNamed } from '../datasets/experiment.ts';
import { takeRows } from '../datasets/load.ts';
import { locateDataset } from '../datasets/registry.ts';
import { stratifiedSplit } from '../datasets/split.ts';
import { abCpu } from './ab-cpu.ts';
import { flowBatches } from './flow-batches.ts';

type Experiment = typeof import('../datasets/experiment.ts');
type Classify = typeof import('../operators/classify.ts');
const base = process.env.HEIR_BASE;
if (!base) throw new Error('set HEIR_BASE to a reference checkout');
const args = process.argv.slice(2);
const flag = (name: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
};
const target = (flag('target') ?? 'class') as Target;
const runs = Number(flag('runs') ?? 21);
const sample = args.includes('--sample');

const data = loadNamed('ciciomt2024', { sample, target });
const labels = data.targets[target];
const split = stratifiedSplit(labels.y, labels.classes.length, 0.3, 1);
const test = takeRows(data, target, split.test);
console.log(`ciciomt2024 ${target}${locateDataset('ciciomt2024', undefined, sample).sample ? ' (committed sample)' : ''}: ${split.train.length} train / ${test.rows} test rows, ${labels.classes.length} classes`);

const batches = flowBatches(data, test.x, test.rows, 4096);
const ctx = { site: 'bench', sensor: 'bench', batchId: 'bench', warn() {} };
const load = async (root: string) => {
  const experiment = (await import(pathToFileURL(resolve(root, 'datasets/experiment.ts')).href)) as Experiment;
  const classify = (await import(pathToFileURL(resolve(root, 'operators/classify.ts')).href)) as Classify;
  const { model } = await experiment.trainOnDataset({ dataset: 'ciciomt2024', target, forest: { trees: 100, seed: 1, oob: false } }, data);
  return classify.classifyOperator(model);
};
const sides = { before: await load(base), now: await load(resolve(import.meta.dirname, '..')) };

// Same detections on both sides: labels and confidences, row by row.
for (const b of batches) {
  const x = (await sides.before.apply({ flows: b }, ctx)).detections;
  const y = (await sides.now.apply({ flows: b }, ctx)).detections;
  for (const column of ['label', 'confidence']) {
    const [u, v] = [x, y].map((t) => t.getChild(column)!.toArray() as ArrayLike<unknown>);
    for (let r = 0; r < b.numRows; r++) if (u[r] !== v[r]) throw new Error(`row ${r}: ${column} ${String(u[r])} before, ${String(v[r])} now`);
  }
}

// One sample: passes over the test rows for about 50 ms, CPU ms per pass.
const passes = Math.max(1, Math.ceil(200_000 / test.rows));
function once(op: (typeof sides)['now']): number {
  const c0 = process.cpuUsage();
  for (let i = 0; i < passes; i++) for (const b of batches) op.apply({ flows: b }, ctx);
  const c = process.cpuUsage(c0);
  return (c.user + c.system) / 1000 / passes;
}
await abCpu(sides, once, runs, `pass over ${test.rows} rows`, { warm: 5, digits: 2 });

