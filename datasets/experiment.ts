/**
 * Train and evaluate forests on the datasets: load and clean through the adapter, split, train,
 * score the held-out side, and package the model with its full provenance. `heir train`,
 * `heir eval`, the benchmark and the notebooks all go through these functions.
 */
import { basename } from 'node:path';
import { ErrorCode, UserError } from '../pipeline/errors.ts';
import { FlatForest } from '../operators/forest/flat-forest.ts';
import { evaluate, type EvalReport } from '../operators/forest/metrics.ts';
import { saveModel, trainingHash, type Model } from '../operators/forest/model-file.ts';
import { trainForest, type ForestOptions } from '../operators/forest/train-forest.ts';
import { threatMapFor } from '../operators/threat-map.ts';
import type { Target } from './adapter.ts';
import { readCsvFile } from './csv.ts';
import { loadCsv, loadDataset, takeRows, type Dataset } from './load.ts';
import { adapterFor, locateDataset } from './registry.ts';
import { groupedSplit, stratifiedSplit, temporalSplit, type Split, type SplitKind } from './split.ts';

/** Version of the dataset feature sets (bumped when the loader changes what a feature means). */
export const DATASET_FEATURE_SET_VERSION = 1;

/** What to train. */
export interface TrainRequest {
  readonly dataset: string;
  readonly target?: Target;
  readonly split?: SplitKind;
  readonly testFraction?: number;
  readonly dataDir?: string;
  /** Use the committed sample even when the full file exists. */
  readonly sample?: boolean;
  /** Identifier/artefact columns to keep as features. */
  readonly keep?: readonly string[];
  readonly forest?: Partial<ForestOptions>;
  readonly threads?: number;
  readonly onProgress?: (done: number, total: number) => void;
}

/** A trained model with its data and split. */
export interface TrainResult {
  readonly model: Model;
  readonly data: Dataset;
  readonly split: Split;
  readonly test: EvalReport;
  readonly trainSeconds: number;
}

/** Split a dataset as the request says. */
export function splitDataset(data: Dataset, target: Target, kind: SplitKind, testFraction: number, seed: number): Split {
  const labels = data.targets[target];
  if (kind === 'stratified') return stratifiedSplit(labels.y, labels.classes.length, testFraction, seed);
  if (kind === 'temporal') return temporalSplit(data.rows, data.groups?.codes ?? null, testFraction);
  if (!data.groups) throw new UserError(ErrorCode.USAGE, `dataset ${data.name} has no captures to group by (use --split stratified or temporal)`);
  return groupedSplit(data.groups.codes, testFraction, seed);
}

/** Load a dataset by name as a request says (full file, else the sample). */
export function loadNamed(name: string, options: { dataDir?: string; sample?: boolean; keep?: readonly string[]; target?: Target } = {}): Dataset {
  const loc = locateDataset(name, options.dataDir, options.sample);
  return loadDataset(loc.adapter, loc.path, { keep: options.keep, leakTarget: options.target ?? 'binary' });
}

/** Train a forest on a dataset's training side and score it on the test side. */
export async function trainOnDataset(request: TrainRequest, loaded?: Dataset): Promise<TrainResult> {
  const target = request.target ?? 'binary';
  const kind = request.split ?? 'stratified';
  const testFraction = request.testFraction ?? 0.3;
  const options: Partial<ForestOptions> = { ...request.forest };
  const seed = options.seed ?? 1;
  const data = loaded ?? loadNamed(request.dataset, { dataDir: request.dataDir, sample: request.sample, keep: request.keep, target });
  const labels = data.targets[target];
  const split = splitDataset(data, target, kind, testFraction, seed);
  const train = takeRows(data, target, split.train);
  const test = takeRows(data, target, split.test);
  const started = performance.now();
  const trained = await trainForest(train.x, train.rows, data.features.length, train.y, labels.classes.length, options, { threads: request.threads, onProgress: request.onProgress });
  const trainSeconds = (performance.now() - started) / 1000;
  const proba = trained.forest.predictProba(test.x, test.rows);
  const report = evaluate(test.y, argmax(proba, labels.classes.length), labels.classes, proba);
  const importance: Record<string, number> = {};
  data.features.forEach((f, i) => (importance[f] = trained.importance[i]));
  const model: Model = {
    forest: trained.forest,
    meta: {
      source: 'heir',
      features: data.features,
      featureSet: { name: `${data.name}/${data.layout}`, version: DATASET_FEATURE_SET_VERSION },
      classes: labels.classes,
      benign: labels.classes.includes(data.benign) ? data.benign : null,
      threatMap: threatMapFor(labels.classes),
      dataset: {
        name: data.name,
        layout: data.layout,
        target,
        keep: request.keep ?? [],
        dropDuplicates: true,
        encodings: data.encodings,
        cleaning: data.cleaning,
        dropped: data.columns.filter((c) => !c.kept && c.role !== 'label' && c.role !== 'group').map((c) => ({ name: c.name, role: c.role, ...(c.reason ? { reason: c.reason } : {}) })),
        file: basename(data.path),
      },
      trainingDataHash: trainingHash(train.x, train.y),
      split: { kind, testFraction, seed: split.seed, trainRows: train.rows, testRows: test.rows },
      metrics: { test: report, oobScore: trained.oobScore },
      seed,
      options: { ...options, seed, maxFeatures: options.maxFeatures ?? 'sqrt' },
      importance,
    },
  };
  return { model, data, split, test: report, trainSeconds };
}

/** Train and write the model file. */
export async function trainToFile(request: TrainRequest, out: string): Promise<TrainResult> {
  const result = await trainOnDataset(request);
  saveModel(out, result.model);
  return result;
}

/** Class index of highest probability per row. */
export function argmax(proba: Float64Array, classes: number): Int32Array {
  const rows = proba.length / classes;
  const out = new Int32Array(rows);
  for (let r = 0; r < rows; r++) {
    let best = 0;
    for (let k = 1; k < classes; k++) if (proba[r * classes + k] > proba[r * classes + best]) best = k;
    out[r] = best;
  }
  return out;
}

/** Score a model on already-loaded rows whose labels follow the model's class order (extra classes after). */
export function scoreRows(forest: FlatForest, x: Float64Array, rows: number, y: Uint8Array, classes: readonly string[]): EvalReport {
  const proba = forest.predictProba(x, rows);
  return evaluate(y, argmax(proba, forest.classes), classes, classes.length === 2 && forest.classes === 2 ? proba : undefined);
}

function datasetOfModel(model: Model): { adapterName: string; target: Target } {
  const name = model.meta.dataset.name;
  if (!name) throw new UserError(ErrorCode.USAGE, 'this model was not trained on a HEIR dataset; evaluate it with --csv through a dataset adapter');
  return { adapterName: name, target: model.meta.dataset.target as Target };
}

/**
 * Read any file of the model's dataset (`.csv` or `.csv.gz`) the way the model's training file was
 * read (adapter, cleaning, category codes, class order) and score the model on all its rows.
 */
export function evaluateOnCsv(model: Model, path: string): { report: EvalReport; data: Dataset } {
  const { adapterName, target } = datasetOfModel(model);
  const data = loadCsv(adapterFor(adapterName), readCsvFile(path), {
    features: model.meta.features,
    encodings: model.meta.dataset.encodings,
    classes: { [target]: model.meta.classes },
    dropDuplicates: model.meta.dataset.dropDuplicates,
    skipLeakage: true,
  });
  const labels = data.targets[target];
  return { report: scoreRows(model.forest, data.x, data.rows, labels.y, labels.classes), data };
}

/** Score a model on the test side of its own split of a dataset (reloaded and re-split with the recorded seed). */
export function evaluateOnDataset(model: Model, name: string, options: { dataDir?: string; sample?: boolean } = {}): { report: EvalReport; data: Dataset; sameData: boolean } {
  const { adapterName, target } = datasetOfModel(model);
  if (adapterName !== name) throw new UserError(ErrorCode.USAGE, `the model was trained on ${adapterName}, not ${name}`);
  const loc = locateDataset(name, options.dataDir, options.sample);
  const data = loadDataset(loc.adapter, loc.path, {
    features: model.meta.features,
    encodings: model.meta.dataset.encodings,
    classes: { [target]: model.meta.classes },
    keep: model.meta.dataset.keep,
    skipLeakage: true,
  });
  const s = model.meta.split;
  const split = s ? splitDataset(data, target, s.kind as SplitKind, s.testFraction, s.seed) : null;
  const idx = split ? split.test : Int32Array.from({ length: data.rows }, (_, i) => i);
  const rows = takeRows(data, target, idx);
  const trainSide = split ? takeRows(data, target, split.train) : null;
  const sameData = trainSide !== null && trainingHash(trainSide.x, trainSide.y) === model.meta.trainingDataHash;
  return { report: scoreRows(model.forest, rows.x, rows.rows, rows.y, data.targets[target].classes), data, sameData };
}
