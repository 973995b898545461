/**
 * Training on lab runs (`heir train --lab DIR …`): every row of the runs, featurized by the
 * pipeline's own featurizers (`loadLabDataset`), labelled by class, into one forest and a model
 * file the classify operator loads. Hold a run recorded with another seed out and score it with
 * `heir lab eval` for the honest numbers; this reports the out-of-bag accuracy only.
 */
import { performance } from 'node:perf_hooks';
import { featureSet as featureSetOf } from '../../operators/feature-sets.ts';
import { trainingHash, type Model } from '../../operators/forest/model-file.ts';
import { trainForest, type ForestOptions } from '../../operators/forest/train-forest.ts';
import { threatMapFor } from '../../operators/threat-map.ts';
import { ErrorCode, HeirError } from '../errors.ts';
import { loadLabDataset } from './dataset.ts';

/** Options of `trainLabModel`. */
export interface LabTrainOptions {
  /** `flow` (default), `cic-window` or `device`. */
  readonly featureSet?: string;
  readonly forest?: Partial<ForestOptions>;
  readonly threads?: number;
  readonly onProgress?: (done: number, total: number) => void;
}

/** What `trainLabModel` returns. */
export interface LabTrainResult {
  readonly model: Model;
  readonly rows: number;
  /** Rows per class. */
  readonly classCounts: Record<string, number>;
  readonly trainSeconds: number;
}

/** Train one forest on all rows of the lab runs in `dirs`; deterministic for a seed. */
export async function trainLabModel(dirs: readonly string[], options: LabTrainOptions = {}): Promise<LabTrainResult> {
  if (dirs.length === 0) throw new HeirError(ErrorCode.DATASET_NOT_FOUND, 'no lab run to train on');
  const set = featureSetOf(options.featureSet ?? 'flow');
  const runs = [];
  for (const dir of dirs) runs.push(await loadLabDataset(dir, { featureSet: set.name }));
  const width = set.features.length;
  const rows = runs.reduce((s, r) => s + r.y.length, 0);
  const X = new Float64Array(rows * width);
  const y: string[] = [];
  for (const r of runs) {
    X.set(r.X, y.length * width);
    y.push(...r.y);
  }
  const classes = [...new Set(y)].sort();
  if (classes.length < 2) throw new HeirError(ErrorCode.DATASET_NOT_FOUND, `the lab runs ${dirs.join(', ')} hold only the class ${classes[0] ?? '(none)'}: a classifier needs at least two`);
  const index = new Map(classes.map((c, i) => [c, i]));
  const yi = Uint8Array.from(y, (l) => index.get(l)!);
  const forest: Partial<ForestOptions> = { trees: 100, seed: 1, ...options.forest };
  const started = performance.now();
  const trained = await trainForest(X, rows, width, yi, classes.length, forest, { threads: options.threads ?? 1, onProgress: options.onProgress });
  const trainSeconds = (performance.now() - started) / 1000;
  const classCounts: Record<string, number> = {};
  for (const label of y) classCounts[label] = (classCounts[label] ?? 0) + 1;
  const model: Model = {
    forest: trained.forest,
    meta: {
      source: 'heir',
      features: set.features,
      featureSet: { name: set.name, version: set.version },
      classes,
      benign: classes.includes('Benign') ? 'Benign' : null,
      threatMap: threatMapFor(classes),
      dataset: { name: 'heir-lab', layout: `${set.name}@${set.version}`, target: 'class', keep: [], dropDuplicates: false, encodings: {}, file: dirs.join(',') },
      trainingDataHash: trainingHash(X, yi),
      split: null,
      metrics: { oobScore: trained.oobScore, trainSeconds },
      seed: forest.seed ?? 1,
      options: { ...forest, maxFeatures: forest.maxFeatures ?? 'sqrt' },
      importance: Object.fromEntries(set.features.map((f, j) => [f, trained.importance[j]])),
    },
  };
  return { model, rows, classCounts, trainSeconds };
}
