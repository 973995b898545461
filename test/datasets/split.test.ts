import fc from 'fast-check';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { groupedSplit, stratifiedSplit, temporalSplit } from '../../datasets/split.ts';

function partition(n: number, s: { train: Int32Array; test: Int32Array }) {
  const seen = new Uint8Array(n);
  for (const i of s.train) seen[i]++;
  for (const i of s.test) seen[i]++;
  return seen.every((v) => v === 1);
}

test('stratified: every row on exactly one side, each class split at the fraction, reproducible by seed', () => {
  fc.assert(
    fc.property(fc.array(fc.integer({ min: 0, max: 4 }), { minLength: 5, maxLength: 300 }), fc.integer({ min: 0, max: 1000 }), (labels, seed) => {
      const y = Uint8Array.from(labels);
      const s = stratifiedSplit(y, 5, 0.3, seed);
      assert.ok(partition(y.length, s));
      for (let k = 0; k < 5; k++) {
        const total = labels.filter((v) => v === k).length;
        const inTest = [...s.test].filter((i) => y[i] === k).length;
        assert.is(inTest, Math.round(total * 0.3));
      }
      assert.equal([...stratifiedSplit(y, 5, 0.3, seed).test], [...s.test]);
    }),
  );
  const y = Uint8Array.from({ length: 200 }, (_, i) => i % 2);
  assert.not.equal([...stratifiedSplit(y, 2, 0.3, 1).test], [...stratifiedSplit(y, 2, 0.3, 2).test]);
});

test('temporal: the latest rows test, within each group', () => {
  const s = temporalSplit(10, null, 0.3);
  assert.equal([...s.test], [7, 8, 9]);
  const groups = Int32Array.from([0, 0, 0, 0, 1, 1, 1, 1, 1, 1]);
  const g = temporalSplit(10, groups, 0.5);
  assert.equal([...g.test], [2, 3, 7, 8, 9]);
  assert.ok(partition(10, g));
});

test('grouped: no group on both sides', () => {
  fc.assert(
    fc.property(fc.array(fc.integer({ min: 0, max: 9 }), { minLength: 20, maxLength: 200 }), fc.integer({ min: 0, max: 100 }), (gs, seed) => {
      const groups = Int32Array.from(gs);
      if (new Set(gs).size < 2) return;
      const s = groupedSplit(groups, 0.3, seed);
      assert.ok(partition(groups.length, s));
      const trainGroups = new Set([...s.train].map((i) => groups[i]));
      for (const i of s.test) assert.not.ok(trainGroups.has(groups[i]));
      assert.ok(s.train.length > 0 && s.test.length > 0);
    }),
  );
});

test.run();
