/**
 * Random-forest training: bins the matrix once, grows trees (in this thread or across
 * `worker_threads`), joins them in tree order into a FlatForest, and computes the out-of-bag score
 * and the impurity importance. Every tree's randomness comes from (seed, tree index) alone, so the
 * forest is bit-for-bit the same for any number of threads.
 */
import { Worker } from 'node:worker_threads';
import { binMatrix, type BinnedData } from './bins.ts';
import { FlatForest } from './flat-forest.ts';
import { bootstrapCounts, trainTree, type TrainingTargets, type TreeArrays, type TreeParams } from './tree-train.ts';

/** Hyper-parameters, named after scikit-learn's RandomForestClassifier where they match. */
export interface ForestOptions {
  readonly trees: number;
  readonly criterion: 'gini' | 'entropy';
  /** 'sqrt' (default), 'log2', 'all', a fraction in (0, 1], or a count ≥ 1. */
  readonly maxFeatures: 'sqrt' | 'log2' | 'all' | number;
  /** 0 = unlimited. */
  readonly maxDepth: number;
  readonly minSamplesSplit: number;
  readonly minSamplesLeaf: number;
  readonly bootstrap: boolean;
  /** null = every class weighs 1; 'balanced' = n / (classes × count); or one weight per class. */
  readonly classWeight: null | 'balanced' | readonly number[];
  readonly seed: number;
  /** Compute the out-of-bag score (needs bootstrap). */
  readonly oob: boolean;
}

/** scikit-learn's defaults, with seed 1 and the out-of-bag score on. */
export const DEFAULT_FOREST_OPTIONS: ForestOptions = {
  trees: 100,
  criterion: 'gini',
  maxFeatures: 'sqrt',
  maxDepth: 0,
  minSamplesSplit: 2,
  minSamplesLeaf: 1,
  bootstrap: true,
  classWeight: null,
  seed: 1,
  oob: true,
};

/** How training runs (does not change the result). */
export interface TrainRunOptions {
  /** Worker threads; 1 trains in the calling thread. */
  readonly threads?: number;
  /** Called after each tree with (done, total). */
  readonly onProgress?: (done: number, total: number) => void;
}

/** What training returns besides the forest. */
export interface TrainedForest {
  readonly forest: FlatForest;
  /** Mean decrease in impurity per feature, normalised to sum to 1. */
  readonly importance: Float64Array;
  /** Out-of-bag accuracy, or null when not computed. */
  readonly oobScore: number | null;
  /** Resolved number of features tried per node. */
  readonly maxFeatures: number;
}

/** The number of features tried per node for an option value. */
export function resolveMaxFeatures(option: ForestOptions['maxFeatures'], features: number): number {
  if (option === 'sqrt') return Math.max(1, Math.floor(Math.sqrt(features)));
  if (option === 'log2') return Math.max(1, Math.floor(Math.log2(features)));
  if (option === 'all') return features;
  if (!(option > 0)) throw new RangeError(`invalid maxFeatures: ${option}`);
  if (option <= 1 && !Number.isInteger(option)) return Math.max(1, Math.floor(option * features));
  if (option === 1) return 1;
  return Math.min(features, Math.floor(option));
}

function validateOptions(o: ForestOptions): void {
  if (!Number.isInteger(o.trees) || o.trees < 1) throw new RangeError(`invalid trees: ${o.trees}`);
  if (o.criterion !== 'gini' && o.criterion !== 'entropy') throw new RangeError(`invalid criterion: ${String(o.criterion)}`);
  if (!Number.isInteger(o.maxDepth) || o.maxDepth < 0) throw new RangeError(`invalid maxDepth: ${o.maxDepth}`);
  if (!Number.isInteger(o.minSamplesSplit) || o.minSamplesSplit < 2) throw new RangeError(`invalid minSamplesSplit: ${o.minSamplesSplit}`);
  if (!Number.isInteger(o.minSamplesLeaf) || o.minSamplesLeaf < 1) throw new RangeError(`invalid minSamplesLeaf: ${o.minSamplesLeaf}`);
  if (!Number.isInteger(o.seed)) throw new RangeError(`invalid seed: ${o.seed}`);
}

/** Weight per class for an option value and the labels. */
export function classWeights(option: ForestOptions['classWeight'], y: Uint8Array, classes: number): Float64Array {
  const weights = new Float64Array(classes).fill(1);
  if (option === null) return weights;
  if (option === 'balanced') {
    const counts = new Float64Array(classes);
    for (let i = 0; i < y.length; i++) counts[y[i]]++;
    for (let k = 0; k < classes; k++) weights[k] = counts[k] > 0 ? y.length / (classes * counts[k]) : 1;
    return weights;
  }
  if (option.length !== classes) throw new RangeError(`classWeight has ${option.length} weights for ${classes} classes`);
  for (let k = 0; k < classes; k++) {
    if (!(option[k] > 0)) throw new RangeError(`invalid class weight ${option[k]} for class ${k}`);
    weights[k] = option[k];
  }
  return weights;
}

/**
 * Train a forest on a row-major matrix (`rows` × `features`) with class indices `y` (0 … classes-1).
 */
export async function trainForest(
  x: Float64Array,
  rows: number,
  features: number,
  y: Uint8Array,
  classes: number,
  options: Partial<ForestOptions> = {},
  run: TrainRunOptions = {},
): Promise<TrainedForest> {
  const o: ForestOptions = { ...DEFAULT_FOREST_OPTIONS, ...options };
  validateOptions(o);
  if (y.length !== rows) throw new RangeError(`${y.length} labels for ${rows} rows`);
  if (classes < 1 || classes > 255) throw new RangeError(`invalid number of classes: ${classes}`);
  for (let i = 0; i < rows; i++) if (y[i] >= classes) throw new RangeError(`label ${y[i]} at row ${i} is not below ${classes}`);
  const data = binMatrix(x, rows, features);
  const ySharedBuffer = new SharedArrayBuffer(Math.max(8, rows));
  const yShared = new Uint8Array(ySharedBuffer, 0, rows);
  yShared.set(y);
  const targets: TrainingTargets = { y: yShared, classes, classWeight: classWeights(o.classWeight, y, classes) };
  const maxFeatures = resolveMaxFeatures(o.maxFeatures, features);
  const params: TreeParams = {
    criterion: o.criterion,
    maxFeatures,
    maxDepth: o.maxDepth,
    minSamplesSplit: o.minSamplesSplit,
    minSamplesLeaf: o.minSamplesLeaf,
    bootstrap: o.bootstrap,
  };
  const threads = Math.max(1, Math.min(run.threads ?? 1, o.trees));
  const trees = threads === 1 ? growHere(data, targets, params, o, run) : await growInWorkers(data, targets, params, o, threads, run);
  const forest = FlatForest.fromTrees(trees, classes, features);

  // Impurity importance: normalise each tree's decreases, average over trees, normalise (as scikit-learn).
  const importance = new Float64Array(features);
  for (const t of trees) {
    let sum = 0;
    for (let f = 0; f < features; f++) sum += t.importance[f];
    if (sum > 0) for (let f = 0; f < features; f++) importance[f] += t.importance[f] / sum;
  }
  let total = 0;
  for (let f = 0; f < features; f++) total += importance[f];
  if (total > 0) for (let f = 0; f < features; f++) importance[f] /= total;

  const oobScore = o.oob && o.bootstrap ? outOfBagScore(forest, x, rows, y, o.seed) : null;
  return { forest, importance, oobScore, maxFeatures };
}

function growHere(data: BinnedData, targets: TrainingTargets, params: TreeParams, o: ForestOptions, run: TrainRunOptions): TreeArrays[] {
  const trees: TreeArrays[] = [];
  for (let t = 0; t < o.trees; t++) {
    trees.push(trainTree(data, targets, params, o.seed, t));
    run.onProgress?.(t + 1, o.trees);
  }
  return trees;
}

/** Message from the main thread to a training worker. */
export interface WorkerJob {
  readonly data: BinnedData;
  readonly targets: TrainingTargets;
  readonly params: TreeParams;
  readonly seed: number;
}

async function growInWorkers(data: BinnedData, targets: TrainingTargets, params: TreeParams, o: ForestOptions, threads: number, run: TrainRunOptions): Promise<TreeArrays[]> {
  const trees: (TreeArrays | undefined)[] = new Array(o.trees);
  let next = 0;
  let done = 0;
  const job: WorkerJob = { data, targets, params, seed: o.seed };
  const workers: Worker[] = [];
  try {
    await Promise.all(
      Array.from({ length: threads }, () =>
        new Promise<void>((resolve, reject) => {
          const worker = new Worker(new URL('./forest-worker.mjs', import.meta.url), { workerData: job });
          workers.push(worker);
          const give = () => {
            if (next < o.trees) worker.postMessage(next++);
            else {
              worker.postMessage(-1);
              resolve();
            }
          };
          worker.on('message', (message: { tree: number; arrays: TreeArrays } | 'ready') => {
            if (message !== 'ready') {
              trees[message.tree] = message.arrays;
              run.onProgress?.(++done, o.trees);
            }
            give();
          });
          worker.on('error', reject);
          worker.on('exit', (code) => {
            if (code !== 0) reject(new Error(`forest worker exited with code ${code}`));
          });
        }),
      ),
    );
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
  return trees.map((t, i) => {
    if (!t) throw new Error(`tree ${i} was not trained`);
    return t;
  });
}

/** Accuracy of each row's prediction by the trees that did not draw it. */
function outOfBagScore(forest: FlatForest, x: Float64Array, rows: number, y: Uint8Array, seed: number): number | null {
  const K = forest.classes;
  const d = forest.features;
  const votes = new Float64Array(rows * K);
  const one = new Float64Array(K);
  for (let t = 0; t < forest.trees; t++) {
    const counts = bootstrapCounts(rows, seed, t, true);
    for (let r = 0; r < rows; r++) {
      if (counts[r] !== 0) continue;
      one.fill(0);
      forest.accumulate(x.subarray(r * d, (r + 1) * d), 1, one, t, t + 1);
      for (let k = 0; k < K; k++) votes[r * K + k] += one[k];
    }
  }
  let scored = 0;
  let correct = 0;
  for (let r = 0; r < rows; r++) {
    let best = -1;
    let bestV = 0;
    for (let k = 0; k < K; k++) {
      if (votes[r * K + k] > bestV) {
        bestV = votes[r * K + k];
        best = k;
      }
    }
    if (best < 0) continue;
    scored++;
    if (best === y[r]) correct++;
  }
  return scored > 0 ? correct / scored : null;
}
