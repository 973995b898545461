/**
 * Permutation importance: how much a score drops when one feature's column is shuffled (seeded),
 * breaking its link to the label while keeping its distribution — unlike impurity importance, it
 * is measured on held-out rows and does not favour features with many distinct values.
 */
import type { FlatForest } from './flat-forest.ts';
import { evaluate } from './metrics.ts';
import { Rng } from './rng.ts';

/** Mean and standard deviation of the score drop per feature. */
export interface PermutationImportance {
  readonly metric: 'accuracy' | 'macroF1';
  readonly baseline: number;
  readonly mean: Float64Array;
  readonly std: Float64Array;
}

/** Permutation importance of every feature on rows `x` (row-major) with labels `y`. */
export function permutationImportance(
  forest: FlatForest,
  x: Float64Array,
  rows: number,
  y: Uint8Array,
  options: { repeats?: number; seed?: number; metric?: 'accuracy' | 'macroF1'; onProgress?: (done: number, total: number) => void } = {},
): PermutationImportance {
  const repeats = options.repeats ?? 3;
  const metric = options.metric ?? 'accuracy';
  const d = forest.features;
  const classes = Array.from({ length: Math.max(forest.classes, ...y) + 1 }, (_, k) => String(k));
  const score = (m: Float64Array) => {
    const r = evaluate(y, forest.predict(m, rows), classes);
    return metric === 'accuracy' ? r.accuracy : r.macroF1;
  };
  const baseline = score(x);
  const mean = new Float64Array(d);
  const std = new Float64Array(d);
  const work = new Float64Array(x);
  const order = new Int32Array(rows);
  const rng = new Rng(options.seed ?? 1, 0x9e4);
  for (let f = 0; f < d; f++) {
    const drops: number[] = [];
    for (let rep = 0; rep < repeats; rep++) {
      for (let i = 0; i < rows; i++) order[i] = i;
      rng.shuffle(order);
      for (let i = 0; i < rows; i++) work[i * d + f] = x[order[i] * d + f];
      drops.push(baseline - score(work));
    }
    for (let i = 0; i < rows; i++) work[i * d + f] = x[i * d + f];
    const m = drops.reduce((a, b) => a + b, 0) / repeats;
    mean[f] = m;
    std[f] = Math.sqrt(drops.reduce((a, b) => a + (b - m) * (b - m), 0) / repeats);
    options.onProgress?.(f + 1, d);
  }
  return { metric, baseline, mean, std };
}
