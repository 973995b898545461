import RF from 'ml-random-forest';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { loadNamed } from '../../datasets/experiment.ts';
import { takeRows } from '../../datasets/load.ts';
import { FlatForest, type FlatForestArrays } from '../../operators/forest/flat-forest.ts';
import { importMlRandomForest } from '../../operators/forest/import-mljs.ts';
import { Rng } from '../../operators/forest/rng.ts';
import { trainForest } from '../../operators/forest/train-forest.ts';
import { MaskWalk, maskWalkAfter, maskWalkFits } from '../../operators/forest/walk-masks.ts';
import { setWarningSink } from '../../pipeline/warn.ts';

setWarningSink(null);
const cic = loadNamed('ciciomt2024', { sample: true });

/** Bit patterns of two arrays of doubles agree. */
function sameBits(a: Float64Array, b: Float64Array, what: string): void {
  assert.is(a.length, b.length, what);
  const ua = new Uint32Array(a.buffer, a.byteOffset, a.length * 2);
  const ub = new Uint32Array(b.buffer, b.byteOffset, b.length * 2);
  for (let i = 0; i < ua.length; i++) if (ua[i] !== ub[i]) assert.unreachable(`${what}: value ${i >> 1} is ${a[i >> 1]}, the lockstep walk gives ${b[i >> 1]}`);
}

/**
 * Rows built to sit on the forest's edges: each value a threshold of its feature, the double just
 * above or below one, NaN, ±Infinity, or a row of the data.
 */
function edgeRows(forest: FlatForestArrays, data: Float64Array, rows: number, seed: number): Float64Array {
  const d = forest.features;
  const cuts: number[][] = Array.from({ length: d }, () => []);
  for (let i = 0; i < forest.feature.length; i++) if (forest.feature[i] >= 0) cuts[forest.feature[i]].push(forest.threshold[i]);
  const rng = new Rng(seed);
  const x = new Float64Array(rows * d);
  const dataRows = data.length / d;
  for (let r = 0; r < rows; r++) {
    const from = rng.int(dataRows);
    for (let f = 0; f < d; f++) {
      const list = cuts[f];
      const pick = rng.int(10);
      let v = data[from * d + f];
      if (pick === 0) v = NaN;
      else if (pick === 1) v = rng.int(2) === 0 ? Infinity : -Infinity;
      else if (pick <= 6 && list.length > 0) {
        const t = list[rng.int(list.length)];
        v = pick <= 4 ? t : t + (pick === 5 ? 1 : -1) * Math.max(Number.MIN_VALUE, Math.abs(t) * 2 ** -52);
      }
      x[r * d + f] = v;
    }
  }
  return x;
}

/**
 * The mask walk against the lockstep walk and the plain one: the same sums (bit for bit), the
 * same classes, over row counts around the group (8) and the block (256), in every case the
 * forest really goes through the mask walk.
 */
function sameAsWalks(arrays: FlatForestArrays, x: Float64Array, what: string): void {
  assert.ok(maskWalkFits(arrays), `${what}: the forest fits the mask walk`);
  assert.ok(MaskWalk.create(arrays) !== null, `${what}: the mask walk compiles`);
  const masks = new FlatForest(arrays, { masks: true });
  const lockstep = new FlatForest(arrays, { masks: false });
  const plain = new FlatForest(arrays, { walk: 'js' });
  const d = arrays.features;
  const all = x.length / d;
  let classesSeen = 0;
  for (const rows of [8, 9, 15, 255, 256, 257, 263, all]) {
    const part = x.subarray(0, rows * d);
    const reference = lockstep.predictProba(part, rows);
    sameBits(masks.predictProba(part, rows), reference, `${what}, ${rows} rows`);
    sameBits(plain.predictProba(part, rows), reference, `${what}, ${rows} rows, plain walk`);
    const classes = lockstep.predict(part, rows);
    assert.equal(masks.predict(part, rows), classes, `${what}, ${rows} rows: classes`);
    classesSeen = Math.max(classesSeen, new Set(classes).size);
    // Over an array already used, and through the unscaled path without explanation trees.
    const used = new Float64Array(rows * arrays.classes + 3).fill(7.25);
    sameBits(masks.predictProba(part, rows, used).subarray(0, rows * arrays.classes), reference, `${what}, ${rows} rows, over a used array`);
    assert.is(used[rows * arrays.classes], 7.25, 'values past the rows are left alone');
  }
  // Votes of a range of trees, added to sums that are there (the lockstep walk's accumulate).
  const rows = Math.min(all, 300);
  const a = Float64Array.from({ length: rows * arrays.classes }, (_, i) => i / 3);
  const b = Float64Array.from(a);
  masks.accumulate(x, rows, a, 1, arrays.roots.length - 1);
  plain.accumulate(x, rows, b, 1, arrays.roots.length - 1);
  sameBits(a, b, `${what}: trees 1..T-1 added to existing sums`);
  assert.ok(classesSeen > 1, `${what}: rows fall in more than one class`);
}

test('ml.js forests: the mask walk gives the lockstep walk\'s sums and classes (data rows and rows at thresholds, NaN, ±Infinity)', () => {
  const d = cic.features.length;
  // The sample's rows in an order that mixes its captures (the files are in capture order).
  const order = Int32Array.from({ length: cic.rows }, (_, i) => (i * 7919) % cic.rows);
  const all = takeRows(cic, 'category', order);
  const n = 400;
  const X = Array.from({ length: n }, (_, i) => Array.from(all.x.subarray(i * 5 * d, i * 5 * d + d)));
  for (const [target, classes] of [['category', 6], ['binary', 2]] as const) {
    const y = takeRows(cic, target, order).y;
    const ml = new RF.RandomForestClassifier({ nEstimators: 30, seed: 4, maxFeatures: 0.3, noOOB: true });
    ml.train(X, Array.from({ length: n }, (_, i) => y[i * 5]));
    const imported = importMlRandomForest(JSON.parse(JSON.stringify(ml.toJSON())), d, classes);
    sameAsWalks(imported, all.x.subarray(0, 1100 * d), `ml.js ${target}, data rows`);
    sameAsWalks(imported, edgeRows(imported, all.x, 1100, 17), `ml.js ${target}, edge rows`);
  }
});

/** The same trees with every leaf voting for its most probable class (a voting forest of our trees). */
function voting(forest: FlatForest): FlatForestArrays {
  const feature = Int32Array.from(forest.feature);
  const right = Int32Array.from(forest.right);
  for (let i = 0; i < feature.length; i++) {
    if (feature[i] >= 0) continue;
    right[i] = forest.leafClass(i);
    feature[i] = -1;
  }
  return { ...forest, feature, right, proba: new Float64Array(0) };
}

test('our own trained trees, made to vote: the mask walk gives the lockstep walk\'s sums and classes', async () => {
  const d = cic.features.length;
  const all = takeRows(cic, 'class', Int32Array.from({ length: cic.rows }, (_, i) => (i * 7919) % cic.rows));
  // Small trees (depth 5, some leaves mixed before voting), 19 classes, trained on 2,000 rows.
  const m = await trainForest(all.x.subarray(0, 2000 * d), 2000, d, all.y.subarray(0, 2000), 19, { trees: 12, seed: 6, maxDepth: 5, oob: false });
  let mixed = 0;
  for (let i = 0; i < m.forest.nodes; i++) if (m.forest.feature[i] === -2) mixed++;
  assert.ok(mixed > 0, 'the trained forest has mixed leaves');
  assert.not.ok(maskWalkFits(m.forest), 'a forest with mixed leaves stays with the lockstep walk');
  const votes = voting(m.forest);
  sameAsWalks(votes, all.x.subarray(2000 * d), 'our trees, data rows');
  sameAsWalks(votes, edgeRows(votes, all.x, 900, 23), 'our trees, edge rows');
});

test('hand-made voting forests: deep one-sided trees, trees of one leaf, shared nodes', () => {
  const rng = new Rng(31);
  const feature: number[] = [];
  const threshold: number[] = [];
  const right: number[] = [];
  const roots: number[] = [];
  // Random trees up to depth 10 (subtrees large enough to be skipped when no row reaches them).
  const grow = (depth: number, p: number): number => {
    const id = feature.length;
    feature.push(-1);
    threshold.push(0);
    right.push(rng.int(4));
    if (depth < 10 && rng.float() < p) {
      feature[id] = rng.int(3);
      threshold[id] = rng.int(16) / 16;
      grow(depth + 1, p);
      right[id] = grow(depth + 1, p * 0.8);
    }
    return id;
  };
  for (let t = 0; t < 40; t++) roots.push(grow(0, t % 7 === 0 ? 0 : 0.9));
  roots.push(roots[3]); // a tree that is another's root again
  const splits = (i: number): number => (feature[i] < 0 ? 0 : 1 + splits(i + 1) + splits(right[i]));
  assert.ok(Math.max(...roots.map(splits)) >= 16, 'subtrees large enough to be skipped');
  assert.is(Math.min(...roots.map(splits)), 0, 'a tree of one leaf');
  const hand: FlatForestArrays = { classes: 4, features: 3, roots: Int32Array.from(roots), feature: Int32Array.from(feature), threshold: Float64Array.from(threshold), right: Int32Array.from(right), proba: new Float64Array(0) };
  const rows = 700;
  const x = Float64Array.from({ length: rows * 3 }, () => {
    const u = rng.float();
    return u < 0.04 ? NaN : u < 0.06 ? -Infinity : u < 0.08 ? Infinity : rng.int(18) / 16 - 1 / 16;
  });
  sameAsWalks(hand, x, 'hand-made forest');
});

test('the mask walk refuses what it cannot count: mixed leaves, more than 32,767 trees, large trees', () => {
  const leafOnly = (trees: number): FlatForestArrays => ({ classes: 2, features: 1, roots: new Int32Array(trees), feature: Int32Array.from([-1]), threshold: new Float64Array(1), right: Int32Array.from([1]), proba: new Float64Array(0) });
  assert.ok(maskWalkFits(leafOnly(32767)));
  assert.not.ok(maskWalkFits(leafOnly(32768)));
  assert.is(MaskWalk.create(leafOnly(32768)), null);
  // One tree of 100 splits in a chain: more than 64 splits per tree.
  const n = 201;
  const chain: FlatForestArrays = {
    classes: 2,
    features: 1,
    roots: Int32Array.from([0]),
    feature: Int32Array.from({ length: n }, (_, i) => (i % 2 === 0 && i < n - 1 ? 0 : -1)),
    threshold: Float64Array.from({ length: n }, (_, i) => i),
    right: Int32Array.from({ length: n }, (_, i) => (i % 2 === 0 && i < n - 1 ? i + 2 : i % 4 === 1 ? 0 : 1)),
    proba: new Float64Array(0),
  };
  assert.not.ok(maskWalkFits(chain));
  // Which the forest still predicts, through the lockstep walk.
  const x = Float64Array.from({ length: 40 }, (_, i) => i * 5.5);
  sameBits(new FlatForest(chain, { masks: true }).predictProba(x, 40), new FlatForest(chain, { walk: 'js' }).predictProba(x, 40), 'chain of splits');
});

test('by default a forest takes the mask walk once it has been asked for enough rows, with the same results', () => {
  const d = cic.features.length;
  const all = takeRows(cic, 'category', Int32Array.from({ length: cic.rows }, (_, i) => (i * 7919) % cic.rows));
  const ml = new RF.RandomForestClassifier({ nEstimators: 10, seed: 2, maxFeatures: 0.3, noOOB: true });
  ml.train(Array.from({ length: 300 }, (_, i) => Array.from(all.x.subarray(i * d, (i + 1) * d))), Array.from(all.y.subarray(0, 300)));
  const forest = importMlRandomForest(JSON.parse(JSON.stringify(ml.toJSON())), d, 6);
  const rows = cic.rows;
  const after = maskWalkAfter(forest);
  assert.ok(after > 2 * rows, `${after} rows`);
  const reference = new FlatForest(forest, { walk: 'js' }).predictProba(all.x, rows);
  const classes = new FlatForest(forest, { walk: 'js' }).predict(all.x, rows);
  const created: string[] = [];
  const original = MaskWalk.create;
  MaskWalk.create = (arrays) => {
    created.push('mask walk');
    return original.call(MaskWalk, arrays);
  };
  try {
    for (let asked = 0; asked < after + 3 * rows; ) {
      sameBits(forest.predictProba(all.x, rows), reference, `after ${asked} rows`);
      asked += rows;
      assert.is(created.length, asked >= after ? 1 : 0, `${asked} rows asked`);
      assert.equal(forest.predict(all.x, rows), classes, `after ${asked} rows`);
      asked += rows;
      // Compiled at the call that brings the rows asked to `after`, and once.
      assert.is(created.length, asked >= after ? 1 : 0, `${asked} rows asked`);
    }
  } finally {
    MaskWalk.create = original;
  }
});

test.run();
