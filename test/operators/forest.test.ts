import fc from 'fast-check';
import RF from 'ml-random-forest';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { loadNamed, trainOnDataset } from '../../datasets/experiment.ts';
import { takeRows } from '../../datasets/load.ts';
import { stratifiedSplit } from '../../datasets/split.ts';
import { permutationImportance } from '../../operators/forest/importance.ts';
import { evaluate } from '../../operators/forest/metrics.ts';
import { trainForest } from '../../operators/forest/train-forest.ts';
import { Rng } from '../../operators/forest/rng.ts';
import { FlatForest, type FlatForestArrays } from '../../operators/forest/flat-forest.ts';
import { importMlRandomForest } from '../../operators/forest/import-mljs.ts';
import { setWarningSink } from '../../pipeline/warn.ts';
import { join } from 'node:path';
import { loadModel, serializeModel } from '../../operators/forest/model-file.ts';

setWarningSink(null);
const cic = loadNamed('ciciomt2024', { sample: true });
const wustl = loadNamed('wustl-ehms-2020', { sample: true });

function sides(data: typeof cic, target: 'binary' | 'category' | 'class') {
  const labels = data.targets[target];
  const split = stratifiedSplit(labels.y, labels.classes.length, 0.3, 1);
  return { train: takeRows(data, target, split.train), test: takeRows(data, target, split.test), classes: labels.classes, d: data.features.length };
}

/** Reference walk on raw thresholds, node by node (independent of the coded prediction loop). */
function naiveProba(forest: FlatForest, x: Float64Array, r: number): Float64Array {
  const out = new Float64Array(forest.classes);
  for (let t = 0; t < forest.trees; t++) {
    const leaf = forest.path(x, r, t, () => {});
    if (forest.feature[leaf] === -1) out[forest.right[leaf]] += 1;
    else for (let k = 0; k < forest.classes; k++) out[k] += forest.proba[forest.right[leaf] + k];
  }
  for (let k = 0; k < forest.classes; k++) out[k] /= forest.trees;
  return out;
}

test('CICIoMT category: macro-F1 above a floor that majority voting or shuffled labels cannot reach', async () => {
  const s = sides(cic, 'category');
  const m = await trainForest(s.train.x, s.train.rows, s.d, s.train.y, s.classes.length, { trees: 30, seed: 1 });
  const r = evaluate(s.test.y, m.forest.predict(s.test.x, s.test.rows), s.classes);
  assert.ok(r.macroF1 >= 0.7, `macro-F1 ${r.macroF1}`);
  assert.ok(m.oobScore !== null && Math.abs(m.oobScore - r.accuracy) < 0.1, `oob ${m.oobScore} vs test accuracy ${r.accuracy}`);
  // The same forest on shuffled labels is far below the floor: the floor can fail.
  const shuffled = Uint8Array.from(s.train.y);
  new Rng(7).shuffle(shuffled as unknown as number[]);
  const bad = await trainForest(s.train.x, s.train.rows, s.d, shuffled, s.classes.length, { trees: 30, seed: 1 });
  const rb = evaluate(s.test.y, bad.forest.predict(s.test.x, s.test.rows), s.classes);
  assert.ok(rb.macroF1 < 0.4, `shuffled-label macro-F1 ${rb.macroF1}`);
});

test('WUSTL binary (identifiers dropped) and CICIoMT class: floors, entropy and class weights train too', async () => {
  const w = sides(wustl, 'binary');
  const mw = await trainForest(w.train.x, w.train.rows, w.d, w.train.y, 2, { trees: 30, seed: 2, criterion: 'entropy', classWeight: 'balanced' });
  const rw = evaluate(w.test.y, mw.forest.predict(w.test.x, w.test.rows), w.classes, mw.forest.predictProba(w.test.x, w.test.rows));
  assert.ok(rw.macroF1 >= 0.65, `WUSTL binary macro-F1 ${rw.macroF1}`);
  assert.ok(rw.rocAuc! >= 0.75, `WUSTL ROC AUC ${rw.rocAuc}`);
  const c = sides(cic, 'class');
  const mc = await trainForest(c.train.x, c.train.rows, c.d, c.train.y, 19, { trees: 30, seed: 1 });
  const rc = evaluate(c.test.y, mc.forest.predict(c.test.x, c.test.rows), c.classes);
  assert.ok(rc.macroF1 >= 0.6, `19-class macro-F1 ${rc.macroF1}`);
});

test('the seed fixes the forest bit for bit, whatever the number of threads; another seed changes it', async () => {
  const req = { dataset: 'ciciomt2024', target: 'category' as const, forest: { trees: 8, seed: 5 } };
  const a = await trainOnDataset({ ...req, threads: 1 }, cic);
  const b = await trainOnDataset({ ...req, threads: 2 }, cic);
  assert.ok(serializeModel(a.model).equals(serializeModel(b.model)), 'same bytes with 1 and 2 threads');
  const c = await trainOnDataset({ ...req, forest: { trees: 8, seed: 6 } }, cic);
  assert.not.ok(serializeModel(a.model).equals(serializeModel(c.model)));
});

test('max depth, probabilities, and importance', async () => {
  const s = sides(cic, 'category');
  const m = await trainForest(s.train.x, s.train.rows, s.d, s.train.y, s.classes.length, { trees: 10, seed: 3, maxDepth: 4, minSamplesLeaf: 5 });
  for (let r = 0; r < 50; r++) {
    for (let t = 0; t < m.forest.trees; t++) {
      let depth = 0;
      m.forest.path(s.test.x, r, t, () => depth++);
      assert.ok(depth <= 4, `depth ${depth}`);
    }
  }
  const p = m.forest.predictProba(s.test.x, s.test.rows);
  for (let r = 0; r < s.test.rows; r++) {
    let sum = 0;
    for (let k = 0; k < s.classes.length; k++) sum += p[r * s.classes.length + k];
    assert.ok(Math.abs(sum - 1) < 1e-9);
  }
  const total = m.importance.reduce((a, b) => a + b, 0);
  assert.ok(Math.abs(total - 1) < 1e-9 && m.importance.every((v) => v >= 0));
  const perm = permutationImportance(m.forest, s.test.x, s.test.rows, s.test.y, { repeats: 1, seed: 1 });
  assert.is(perm.mean.length, s.d);
  const top = m.importance.indexOf(Math.max(...m.importance));
  assert.ok(perm.mean[top] > 0, `shuffling the top impurity feature costs accuracy (${perm.mean[top]})`);
});

test('prediction equals a plain walk of the raw thresholds, at thresholds, beside them and for NaN', async () => {
  const s = sides(cic, 'binary');
  const m = await trainForest(s.train.x, s.train.rows, s.d, s.train.y, 2, { trees: 12, seed: 9 });
  const f = m.forest;
  const walks = (['js', 'wasm'] as const).map((walk) => new FlatForest(f, { walk }));
  const cuts: number[][] = Array.from({ length: s.d }, () => []);
  for (let i = 0; i < f.nodes; i++) if (f.feature[i] >= 0) cuts[f.feature[i]].push(f.threshold[i]);
  const value = fc.oneof(
    fc.tuple(fc.nat(), fc.constantFrom(-1, 0, 1)).map(([i, side]) => ({ i, side })),
    fc.constant(null),
  );
  fc.assert(
    fc.property(fc.array(fc.array(value, { minLength: s.d, maxLength: s.d }), { minLength: 1, maxLength: 40 }), (rows) => {
      const x = new Float64Array(rows.length * s.d);
      rows.forEach((row, r) =>
        row.forEach((v, j) => {
          const list = cuts[j];
          if (v === null || list.length === 0) x[r * s.d + j] = NaN;
          else {
            const t = list[v.i % list.length];
            x[r * s.d + j] = v.side === 0 ? t : t + v.side * Math.max(1e-9, Math.abs(t) * 1e-12);
          }
        }),
      );
      for (const w of [f, ...walks]) {
        const p = w.predictProba(x, rows.length);
        for (let r = 0; r < rows.length; r++) {
          const q = naiveProba(f, x, r);
          for (let k = 0; k < 2; k++) assert.ok(Math.abs(p[r * 2 + k] - q[k]) < 1e-12, `row ${r}`);
        }
      }
    }),
    { numRuns: 60 },
  );
});

/** Bit patterns of two probability matrices agree (NaN and -0 included). */
function sameBits(a: Float64Array, b: Float64Array, what: string): void {
  assert.is(a.length, b.length, what);
  const ua = new Uint32Array(a.buffer, a.byteOffset, a.length * 2);
  const ub = new Uint32Array(b.buffer, b.byteOffset, b.length * 2);
  for (let i = 0; i < ua.length; i++) if (ua[i] !== ub[i]) assert.unreachable(`${what}: value ${i >> 1} is ${a[i >> 1]}, the reference walk gives ${b[i >> 1]}`);
}

test('the WebAssembly walk gives the same doubles as the plain walk on real forests (mixed leaves, odd row counts)', async () => {
  for (const target of ['class', 'binary'] as const) {
    const s = sides(cic, target);
    const m = await trainForest(s.train.x, s.train.rows, s.d, s.train.y, s.classes.length, { trees: 25, seed: 3 });
    const js = new FlatForest(m.forest, { walk: 'js' });
    const wasm = new FlatForest(m.forest, { walk: 'wasm' });
    // Rows ordered by their first leaves before the walk (what large forests do) and not, and
    // both node layouts (leaves apart, for small trees; pre-order, for large ones).
    const sorted = new FlatForest(m.forest, { walk: 'wasm', sortRows: true, apart: false });
    const plain = new FlatForest(m.forest, { walk: 'wasm', sortRows: false, apart: false });
    const sortedApart = new FlatForest(m.forest, { walk: 'wasm', sortRows: true, apart: true });
    const plainApart = new FlatForest(m.forest, { walk: 'wasm', sortRows: false, apart: true });
    let mixed = 0;
    for (let i = 0; i < m.forest.nodes; i++) if (m.forest.feature[i] === -2) mixed++;
    if (target === 'class') assert.ok(mixed > 0, 'the 19-class forest has mixed leaves');
    // Row counts around the lane width and the block size (512), and every test row.
    assert.ok(s.test.rows > 519, `${s.test.rows} test rows`);
    for (const rows of [1, 7, 8, 9, 513, 519, s.test.rows]) {
      const x = s.test.x.subarray(0, rows * s.d);
      const reference = js.predictProba(x, rows);
      sameBits(wasm.predictProba(x, rows), reference, `${target}, ${rows} rows`);
      sameBits(sorted.predictProba(x, rows), reference, `${target}, ${rows} rows, rows ordered`);
      sameBits(plain.predictProba(x, rows), reference, `${target}, ${rows} rows, rows in order`);
      sameBits(sortedApart.predictProba(x, rows), reference, `${target}, ${rows} rows, rows ordered, leaves apart`);
      sameBits(plainApart.predictProba(x, rows), reference, `${target}, ${rows} rows, rows in order, leaves apart`);
      // predict reads the sums in the module's memory, rows ordered or not: the plain walk's classes.
      const classes = js.predict(x, rows);
      assert.equal(wasm.predict(x, rows), classes);
      assert.equal(sorted.predict(x, rows), classes);
      assert.equal(plain.predict(x, rows), classes);
      assert.equal(sortedApart.predict(x, rows), classes);
      assert.equal(plainApart.predict(x, rows), classes);
      // predictProba writes over the array it is given (the classify operator reuses one).
      const reused = new Float64Array(rows * s.classes.length + 5).fill(3.5);
      sameBits(sorted.predictProba(x, rows, reused).subarray(0, rows * s.classes.length), reference, `${target}, ${rows} rows, over a used array`);
      sameBits(plain.predictProba(x, rows, reused).subarray(0, rows * s.classes.length), reference, `${target}, ${rows} rows, over a used array, rows in order`);
      sameBits(plainApart.predictProba(x, rows, reused).subarray(0, rows * s.classes.length), reference, `${target}, ${rows} rows, over a used array, leaves apart`);
      assert.is(reused[rows * s.classes.length], 3.5, 'values past the rows are left alone');
      // The classify operator's single pass: the same doubles, and the leaves of the first trees.
      // More explanation trees than the module walks for leaves at once (16), and all the trees.
      for (const trees of [8, 20, js.trees]) {
        const expected = js.leaves(x, rows, 0, trees);
        for (const forest of [wasm, sorted, plain, sortedApart, plainApart, js]) {
          const both = forest.predictProbaWithLeaves(x, rows, reused, trees);
          sameBits(both.proba.subarray(0, rows * s.classes.length), reference, `${target}, ${rows} rows, with the leaves of ${trees} trees`);
          assert.equal(both.leaves, expected);
          // Unscaled (as the classify operator reads them): each sum × (1 / trees) is predictProba's value.
          const sums = forest.predictProbaWithLeaves(x, rows, reused, trees, undefined, false);
          sameBits(sums.proba.subarray(0, rows * s.classes.length).map((v) => v * (1 / js.trees)), reference, `${target}, ${rows} rows, unscaled sums with the leaves of ${trees} trees`);
          assert.equal(sums.leaves, expected);
        }
      }
      // No explanation trees, unscaled: the sums of all trees from zero.
      for (const forest of [wasm, plain, js]) {
        const sums = forest.predictProbaWithLeaves(x, rows, reused, 0, undefined, false);
        sameBits(sums.proba.subarray(0, rows * s.classes.length).map((v) => v * (1 / js.trees)), reference, `${target}, ${rows} rows, unscaled sums without leaves`);
      }
    }
    // The leaves each row reaches (what explanations start from) are the plain walk's, and each
    // leaf's parent chain leads back to its tree's root.
    const rows = s.test.rows;
    const leaves = wasm.leaves(s.test.x, rows, 2, 21);
    assert.equal(leaves, js.leaves(s.test.x, rows, 2, 21));
    assert.equal(plainApart.leaves(s.test.x, rows, 2, 21), leaves);
    assert.equal(plain.leaves(s.test.x, rows, 2, 21), leaves);
    const parents = wasm.parents;
    for (let t = 2; t < 21; t++) {
      for (let r = 0; r < rows; r += 13) {
        const leaf = leaves[(t - 2) * rows + r];
        assert.is(leaf, m.forest.path(s.test.x, r, t, () => {}), `tree ${t} row ${r}`);
        let n = leaf;
        while (parents[n] >= 0) n = parents[n];
        assert.is(n, m.forest.roots[t]);
      }
    }
    // accumulate adds to what is there, for a range of trees.
    const base = Float64Array.from({ length: 40 * s.classes.length }, (_, i) => i / 7);
    const a = Float64Array.from(base);
    const b = Float64Array.from(base);
    wasm.accumulate(s.test.x, 40, a, 5, 17);
    js.accumulate(s.test.x, 40, b, 5, 17);
    sameBits(a, b, `${target}, trees 5..17 added to existing sums`);
    const c = Float64Array.from({ length: 100 * s.classes.length }, (_, i) => i / 7);
    const e = Float64Array.from(c);
    sorted.accumulate(s.test.x, 100, c, 3, 22);
    js.accumulate(s.test.x, 100, e, 3, 22);
    sameBits(c, e, `${target}, trees 3..22 added to existing sums, rows ordered`);
    const c2 = Float64Array.from({ length: 100 * s.classes.length }, (_, i) => i / 7);
    sortedApart.accumulate(s.test.x, 100, c2, 3, 22);
    sameBits(c2, e, `${target}, trees 3..22 added to existing sums, rows ordered, leaves apart`);
    // Each row's probabilities are the naive per-row walk's.
    const p = wasm.predictProba(s.test.x, s.test.rows);
    const K = s.classes.length;
    for (let r = 0; r < s.test.rows; r += 97) {
      const q = naiveProba(m.forest, s.test.x, r);
      for (let k = 0; k < K; k++) assert.ok(Math.abs(p[r * K + k] - q[k]) < 1e-12, `row ${r}`);
    }
  }
});

/** The same forest with every pure leaf (-1, one vote) turned into a one-hot distribution (-2). */
function oneHot(forest: FlatForestArrays): FlatForestArrays {
  const K = forest.classes;
  const feature = Int32Array.from(forest.feature);
  const right = Int32Array.from(forest.right);
  const proba: number[] = Array.from(forest.proba);
  for (let i = 0; i < feature.length; i++) {
    if (feature[i] !== -1) continue;
    const at = proba.length;
    for (let k = 0; k < K; k++) proba.push(k === right[i] ? 1 : 0);
    feature[i] = -2;
    right[i] = at;
  }
  return { ...forest, feature, right, proba: Float64Array.from(proba) };
}

/**
 * A forest whose leaves are all pure gets a module that adds one vote per tree and row; the same
 * trees with one-hot distributions go through the general leaf, class by class. Every layout and
 * row order of both must give the same doubles as the plain walk (sums of 1.0 are exact).
 */
function sameAsOneHot(votes: FlatForestArrays, x: Float64Array, rows: number, what: string): void {
  const general = oneHot(votes);
  for (let i = 0; i < votes.feature.length; i++) assert.ok(votes.feature[i] !== -2, `${what}: every leaf votes`);
  const reference = new FlatForest(votes, { walk: 'js' }).predictProba(x, rows);
  sameBits(new FlatForest(general, { walk: 'js' }).predictProba(x, rows), reference, `${what}: plain walk, one-hot leaves`);
  const classes = new FlatForest(votes, { walk: 'js' }).predict(x, rows);
  const leaves = new FlatForest(votes, { walk: 'js' }).leaves(x, rows, 0, Math.min(votes.roots.length, 20));
  let differ = 0;
  for (let i = 0; i < votes.feature.length; i++) if (votes.feature[i] === -1 && votes.right[i] !== votes.right[0]) differ++;
  assert.ok(differ > 0, `${what}: leaves vote for more than one class`);
  for (const arrays of [votes, general]) {
    const kind = arrays === votes ? 'votes' : 'one-hot';
    for (const apart of [false, true]) {
      for (const sortRows of [false, true]) {
        // The lockstep walk's vote module (voting forests of small trees otherwise predict their
        // sums and classes through the mask walk: test/operators/forest-masks.test.ts).
        const forest = new FlatForest(arrays, { walk: 'wasm', apart, sortRows, masks: false });
        const how = `${what}, ${kind}, leaves apart ${apart}, rows ordered ${sortRows}`;
        sameBits(forest.predictProba(x, rows), reference, how);
        assert.equal(forest.predict(x, rows), classes, how);
        const both = forest.predictProbaWithLeaves(x, rows, new Float64Array(rows * arrays.classes), 20);
        sameBits(both.proba, reference, `${how}, with leaves`);
        assert.equal(both.leaves, leaves, how);
      }
    }
  }
}

test('a forest of voting leaves (an imported ml.js model, a hand-made one) predicts what its one-hot twin does', () => {
  // ml.js trees: every leaf one class, 6 categories.
  const d = cic.features.length;
  const all = takeRows(cic, 'category', Int32Array.from({ length: cic.rows }, (_, i) => i));
  const n = 400;
  const ml = new RF.RandomForestClassifier({ nEstimators: 24, seed: 5, maxFeatures: 0.3, noOOB: true });
  ml.train(
    Array.from({ length: n }, (_, i) => Array.from(all.x.subarray(i * 5 * d, i * 5 * d + d))),
    Array.from({ length: n }, (_, i) => all.y[i * 5]),
  );
  const imported = importMlRandomForest(JSON.parse(JSON.stringify(ml.toJSON())), d, 6);
  for (const rows of [9, 519, 1100]) sameAsOneHot(imported, all.x.subarray(0, rows * d), rows, `ml.js model, ${rows} rows`);
  // Hand-made: 40 random trees of depth up to 6 over 3 features and 5 classes, rows with NaN and
  // values at the thresholds.
  const rng = new Rng(21);
  const feature: number[] = [];
  const threshold: number[] = [];
  const right: number[] = [];
  const roots: number[] = [];
  const grow = (depth: number): number => {
    const id = feature.length;
    feature.push(-1);
    threshold.push(0);
    right.push(rng.int(5));
    if (depth < 6 && rng.float() < 0.8) {
      feature[id] = rng.int(3);
      threshold[id] = rng.int(8) / 8;
      grow(depth + 1);
      right[id] = grow(depth + 1);
    }
    return id;
  };
  for (let t = 0; t < 40; t++) roots.push(grow(0));
  const hand = { classes: 5, features: 3, roots: Int32Array.from(roots), feature: Int32Array.from(feature), threshold: Float64Array.from(threshold), right: Int32Array.from(right), proba: new Float64Array(0) };
  const rows = 777;
  const x = Float64Array.from({ length: rows * 3 }, () => (rng.float() < 0.05 ? NaN : rng.int(9) / 8));
  sameAsOneHot(hand, x, rows, 'hand-made forest');
});

test('trees that share nodes (roots at one node) predict as the plain walk does, in either layout', () => {
  // Two trees with the same root: leaves apart cannot lay a node out twice and falls back to the plain walk.
  const arrays = { classes: 2, features: 1, roots: Int32Array.from([0, 0]), feature: Int32Array.from([0, -1, -1]), threshold: Float64Array.from([0.5, 0, 0]), right: Int32Array.from([2, 0, 1]), proba: new Float64Array(0) };
  const rows = 20;
  const x = Float64Array.from({ length: rows }, (_, i) => (i % 3 === 0 ? NaN : i / 20));
  const reference = new FlatForest(arrays, { walk: 'js' }).predictProba(x, rows);
  for (const apart of [false, true]) sameBits(new FlatForest(arrays, { walk: 'wasm', apart, masks: false }).predictProba(x, rows), reference, `shared root, leaves apart ${apart}`);
  sameBits(new FlatForest(arrays, { masks: true }).predictProba(x, rows), reference, 'shared root, mask walk');
  assert.is(reference[0], 0, 'NaN goes right');
  assert.is(reference[2 * 2 + 1], 0, 'x <= 0.5 goes left');
});

test('the shipped models predict the same doubles with the WebAssembly walk as with the plain walk', () => {
  for (const file of ['default.heir', 'lab-device.heir', 'lab-window.heir']) {
    const { forest } = loadModel(join(import.meta.dirname, '../../models', file));
    const d = forest.features;
    // Rows made of the model's own thresholds, values just beside them, and NaN.
    const cuts: number[][] = Array.from({ length: d }, () => []);
    for (let i = 0; i < forest.nodes; i++) if (forest.feature[i] >= 0) cuts[forest.feature[i]].push(forest.threshold[i]);
    const rng = new Rng(11);
    const rows = 2001;
    const x = new Float64Array(rows * d);
    for (let i = 0; i < x.length; i++) {
      const list = cuts[i % d];
      const u = rng.float();
      if (u < 0.03 || list.length === 0) x[i] = NaN;
      else {
        const t = list[rng.int(list.length)];
        x[i] = u < 0.35 ? t : u < 0.7 ? t + Math.abs(t) * 1e-9 + 1e-12 : t - Math.abs(t) * 1e-9 - 1e-12;
      }
    }
    const reference = new FlatForest(forest, { walk: 'js' });
    for (const apart of [false, true]) {
      const wasm = new FlatForest(forest, { walk: 'wasm', apart });
      sameBits(wasm.predictProba(x, rows), reference.predictProba(x, rows), `${file}, leaves apart ${apart}`);
      assert.equal(wasm.predict(x, rows), reference.predict(x, rows), file);
      assert.equal(wasm.leaves(x, rows, 0, 9), reference.leaves(x, rows, 0, 9), file);
    }
  }
});

test('options are validated with the bad value named', async () => {
  const x = new Float64Array(8);
  const y = new Uint8Array(4);
  let message = '';
  await trainForest(x, 4, 2, y, 1, { trees: 0 }).catch((e: Error) => (message = e.message));
  assert.match(message, /invalid trees: 0/);
  await trainForest(x, 4, 2, Uint8Array.from([0, 3, 0, 0]), 2).catch((e: Error) => (message = e.message));
  assert.match(message, /label 3 at row 1/);
});

test.run();
