/**
 * Train/test splits over dataset rows: stratified (random within each class), temporal (the
 * earliest rows train, the latest test; within each capture where the dataset has captures, so
 * each attack is seen before it is tested) and grouped (whole captures to one side).
 */
import { Rng } from '../operators/forest/rng.ts';

/** The split kinds of `--split`. */
export type SplitKind = 'stratified' | 'temporal' | 'grouped';
export const SPLITS: readonly SplitKind[] = ['stratified', 'temporal', 'grouped'];

/** Row indices of each side, ascending. */
export interface Split {
  readonly kind: SplitKind;
  readonly testFraction: number;
  readonly seed: number;
  readonly train: Int32Array;
  readonly test: Int32Array;
}

function finish(kind: SplitKind, testFraction: number, seed: number, isTest: Uint8Array): Split {
  let t = 0;
  for (let i = 0; i < isTest.length; i++) t += isTest[i];
  const train = new Int32Array(isTest.length - t);
  const test = new Int32Array(t);
  for (let i = 0, a = 0, b = 0; i < isTest.length; i++) {
    if (isTest[i]) test[b++] = i;
    else train[a++] = i;
  }
  return { kind, testFraction, seed, train, test };
}

function checkFraction(f: number): void {
  if (!(f > 0 && f < 1)) throw new RangeError(`invalid test fraction: ${f} (expected 0 < f < 1)`);
}

/** A random split that keeps each class's share on both sides (round(count × fraction) rows of each class to test). */
export function stratifiedSplit(y: Uint8Array, classes: number, testFraction = 0.3, seed = 1): Split {
  checkFraction(testFraction);
  const rng = new Rng(seed, 0x5eed);
  const isTest = new Uint8Array(y.length);
  for (let k = 0; k < classes; k++) {
    const rows: number[] = [];
    for (let i = 0; i < y.length; i++) if (y[i] === k) rows.push(i);
    rng.shuffle(rows);
    const take = Math.round(rows.length * testFraction);
    for (let j = 0; j < take; j++) isTest[rows[j]] = 1;
  }
  return finish('stratified', testFraction, seed, isTest);
}

/**
 * The last `testFraction` of the rows (in time or file order) to test. With groups, the split is
 * made within each group.
 */
export function temporalSplit(rows: number, groups: Int32Array | null, testFraction = 0.3): Split {
  checkFraction(testFraction);
  const isTest = new Uint8Array(rows);
  if (!groups) {
    const first = rows - Math.round(rows * testFraction);
    for (let i = first; i < rows; i++) isTest[i] = 1;
  } else {
    const byGroup = new Map<number, number[]>();
    for (let i = 0; i < rows; i++) {
      let list = byGroup.get(groups[i]);
      if (!list) byGroup.set(groups[i], (list = []));
      list.push(i);
    }
    for (const list of byGroup.values()) {
      const first = list.length - Math.round(list.length * testFraction);
      for (let j = first; j < list.length; j++) isTest[list[j]] = 1;
    }
  }
  return finish('temporal', testFraction, 0, isTest);
}

/** Whole groups (captures) to test, in a seeded random order, until they hold `testFraction` of the rows. */
export function groupedSplit(groups: Int32Array, testFraction = 0.3, seed = 1): Split {
  checkFraction(testFraction);
  const sizes = new Map<number, number>();
  for (let i = 0; i < groups.length; i++) sizes.set(groups[i], (sizes.get(groups[i]) ?? 0) + 1);
  if (sizes.size < 2) throw new RangeError('a grouped split needs at least two groups');
  const ids = [...sizes.keys()].sort((a, b) => a - b);
  new Rng(seed, 0x9a0).shuffle(ids);
  const chosen = new Set<number>();
  let taken = 0;
  const target = groups.length * testFraction;
  for (const id of ids) {
    if (taken >= target || chosen.size === ids.length - 1) break;
    chosen.add(id);
    taken += sizes.get(id)!;
  }
  const isTest = new Uint8Array(groups.length);
  for (let i = 0; i < groups.length; i++) if (chosen.has(groups[i])) isTest[i] = 1;
  return finish('grouped', testFraction, seed, isTest);
}
