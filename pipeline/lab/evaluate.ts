/**
 * Held-out evaluation on lab runs: train a forest on the rows of some runs, score the rows of a
 * run recorded with another seed (other phase order, port ranges, pacing, attacker address), and
 * report per phase what share of its rows was flagged as an attack, and per class precision and
 * recall. Benign phases give the false-positive rate.
 */
import { evaluate } from '../../operators/forest/metrics.ts';
import { trainingHash, type Model } from '../../operators/forest/model-file.ts';
import { trainForest, type ForestOptions } from '../../operators/forest/train-forest.ts';
import { featureSet } from '../../operators/feature-sets.ts';
import { threatMapFor } from '../../operators/threat-map.ts';
import { ErrorCode, HeirError } from '../errors.ts';
import { loadLabDataset, readLabels, type LabDataset } from './dataset.ts';

/** Per-phase result on the held-out run. */
export interface PhaseScore {
  readonly phase: string;
  readonly label: string;
  readonly rows: number;
  /** Rows predicted as any attack class. */
  readonly flagged: number;
  /** Rows predicted as exactly the phase's label. */
  readonly exact: number;
}

/** Per-class precision and recall on the held-out run. */
export interface ClassScore {
  readonly label: string;
  readonly support: number;
  readonly precision: number;
  readonly recall: number;
}

/** The result of `evaluateLab`. */
export interface LabEvaluation {
  readonly featureSet: string;
  readonly trainRows: number;
  readonly testRows: number;
  readonly classes: readonly string[];
  readonly phases: PhaseScore[];
  readonly perClass: ClassScore[];
  /** Benign rows (of the test run) predicted as an attack / benign rows. */
  readonly benignFalsePositiveRate: number;
  /** Attack rows predicted as any attack / attack rows. */
  readonly attackRecall: number;
  readonly importance: { feature: string; importance: number }[];
  /** The trained model, ready for `saveModel` (its metrics are those of the held-out run). */
  readonly model: Model;
}

function concat(sets: readonly Pick<LabDataset, 'featureNames' | 'X' | 'y'>[]): { X: Float64Array; y: string[] } {
  const width = sets[0].featureNames.length;
  const rows = sets.reduce((s, d) => s + d.y.length, 0);
  const X = new Float64Array(rows * width);
  let o = 0;
  for (const d of sets) {
    X.set(d.X, o * width);
    o += d.y.length;
  }
  return { X, y: sets.flatMap((d) => d.y) };
}

/** Train on `trainDirs`, score `testDir`; deterministic for a seed. */
/** Extra training rows from elsewhere (a dataset with the same features, in the same order). */
export interface ExtraRows {
  readonly name: string;
  readonly featureNames: readonly string[];
  readonly X: Float64Array;
  readonly y: readonly string[];
}

export async function evaluateLab(trainDirs: readonly string[], testDir: string, options: { featureSet?: string; forest?: Partial<ForestOptions>; benign?: string; extra?: ExtraRows } = {}): Promise<LabEvaluation> {
  const benign = options.benign ?? 'Benign';
  const train = await Promise.all(trainDirs.map((d) => loadLabDataset(d, { featureSet: options.featureSet })));
  const test = await loadLabDataset(testDir, { featureSet: options.featureSet });
  const extra = options.extra;
  if (extra && extra.featureNames.join('\u0000') !== test.featureNames.join('\u0000')) {
    throw new HeirError(ErrorCode.FEATURES_MISSING, `extra rows of ${extra.name} do not have the features of ${test.featureSet} in its order`);
  }
  const { X, y } = concat(extra ? [...train, { featureNames: extra.featureNames, X: extra.X, y: [...extra.y] }] : train);
  const width = test.featureNames.length;
  const classes = [...new Set(y)].sort();
  const index = new Map(classes.map((c, i) => [c, i]));
  const yi = Uint8Array.from(y, (l) => index.get(l)!);
  const forestOptions: Partial<ForestOptions> = { trees: 60, seed: 1, classWeight: 'balanced', oob: false, ...options.forest };
  const trained = await trainForest(X, y.length, width, yi, classes.length, forestOptions, { threads: 1 });
  const proba = trained.forest.predictProba(test.X, test.y.length);
  const K = classes.length;
  const predicted: string[] = new Array(test.y.length);
  for (let r = 0; r < test.y.length; r++) {
    let best = 0;
    for (let k = 1; k < K; k++) if (proba[r * K + k] > proba[r * K + best]) best = k;
    predicted[r] = classes[best];
  }
  const labels = readLabels(testDir);
  const phases: PhaseScore[] = [];
  for (const p of labels.phases) {
    let rows = 0, flagged = 0, exact = 0;
    const s = Date.parse(p.start) * 1000;
    const e = Date.parse(p.end) * 1000;
    for (let r = 0; r < test.y.length; r++) {
      // An attack phase owns the rows the labeller gave it; a benign phase the benign rows of its time span.
      const mine = p.attacker !== null ? test.groups[r] === p.name : test.y[r] === benign && test.ts[r] >= s && test.ts[r] <= e;
      if (!mine) continue;
      rows++;
      if (predicted[r] !== benign) flagged++;
      if (predicted[r] === test.y[r]) exact++;
    }
    phases.push({ phase: p.name, label: p.attacker !== null ? p.label : benign, rows, flagged, exact });
  }
  const allLabels = [...new Set([...classes, ...test.y])].sort();
  const perClass = allLabels.map((label) => {
    let tp = 0, fp = 0, fn = 0, support = 0;
    for (let r = 0; r < test.y.length; r++) {
      const t = test.y[r] === label;
      const p = predicted[r] === label;
      if (t) support++;
      if (t && p) tp++;
      else if (p) fp++;
      else if (t) fn++;
    }
    return { label, support, precision: tp + fp > 0 ? tp / (tp + fp) : 0, recall: tp + fn > 0 ? tp / (tp + fn) : 0 };
  });
  let benignRows = 0, benignFlagged = 0, attackRows = 0, attackFlagged = 0;
  for (let r = 0; r < test.y.length; r++) {
    if (test.y[r] === benign) {
      benignRows++;
      if (predicted[r] !== benign) benignFlagged++;
    } else {
      attackRows++;
      if (predicted[r] !== benign) attackFlagged++;
    }
  }
  const importance = test.featureNames.map((feature, j) => ({ feature, importance: trained.importance[j] })).sort((a, b) => b.importance - a.importance);
  // The held-out report over the rows whose class the model knows.
  const known: number[] = [];
  for (let r = 0; r < test.y.length; r++) if (index.has(test.y[r])) known.push(r);
  const report = evaluate(known.map((r) => index.get(test.y[r])!), known.map((r) => index.get(predicted[r])!), classes);
  const set = featureSet(test.featureSet);
  const model: Model = {
    forest: trained.forest,
    meta: {
      source: 'heir',
      features: test.featureNames,
      featureSet: { name: set.name, version: set.version },
      classes,
      benign: classes.includes(benign) ? benign : null,
      threatMap: threatMapFor(classes),
      dataset: { name: extra ? `heir-lab+${extra.name}` : 'heir-lab', layout: test.featureSet, target: 'class', keep: [], dropDuplicates: false, encodings: {}, file: [...trainDirs, ...(extra ? [extra.name] : [])].join(',') },
      trainingDataHash: trainingHash(X, yi),
      split: { kind: 'held-out-run', testFraction: test.y.length / (test.y.length + y.length), seed: forestOptions.seed ?? 1, trainRows: y.length, testRows: test.y.length },
      metrics: { test: report, oobScore: trained.oobScore },
      seed: forestOptions.seed ?? 1,
      options: { ...forestOptions, maxFeatures: forestOptions.maxFeatures ?? 'sqrt' },
      importance: Object.fromEntries(importance.map((i) => [i.feature, i.importance])),
    },
  };
  return {
    model,
    featureSet: test.featureSet,
    trainRows: y.length,
    testRows: test.y.length,
    classes,
    phases,
    perClass,
    benignFalsePositiveRate: benignRows > 0 ? benignFlagged / benignRows : 0,
    attackRecall: attackRows > 0 ? attackFlagged / attackRows : 0,
    importance,
  };
}
