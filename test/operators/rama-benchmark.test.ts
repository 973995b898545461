import fc from 'fast-check';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { OUTLIER_MIN_GROUP, benchmarkSites, partitionScores, percentileRanks, quantile, robustZ, summarizeGroups, trend, type SiteProfile } from '../../operators/rama/benchmark.ts';
import { PrivacyBudget, laplace, noisyPercentiles, releaseGroups, seededRandom } from '../../operators/rama/dp.ts';

const site = (i: number, score: number, size = 'small', type = 'general', region = 'EU-West'): SiteProfile => ({ site: `s${String(i).padStart(3, '0')}`, score, size, type, region });

test('percentile ranks are mid-ranks, ties share one', () => {
  assert.equal(percentileRanks([10, 20, 20, 40]), [12.5, 50, 50, 87.5]);
  assert.equal(percentileRanks([5]), [50]);
  fc.assert(
    fc.property(fc.array(fc.integer({ min: 0, max: 10000 }), { minLength: 1, maxLength: 50 }), (xs) => {
      const p = percentileRanks(xs);
      // A function of the scores only: a higher score never has a lower percentile.
      for (let i = 0; i < xs.length; i++) for (let j = 0; j < xs.length; j++) if (xs[i] > xs[j]) assert.ok(p[i] > p[j]);
      assert.ok(Math.abs(p.reduce((a, b) => a + b, 0) / p.length - 50) < 1e-9, 'mid-ranks average 50');
    }),
    { numRuns: 200, seed: 3 },
  );
});

test('robust z: median and MAD, mean-deviation fallback, zero when all equal', () => {
  const z = robustZ([10, 11, 12, 13, 50]);
  assert.is(Math.round(z[4] * 1000) / 1000, Math.round(((0.6745 * 38) / 1) * 1000) / 1000);
  assert.is(z[2], 0);
  assert.equal(robustZ([7, 7, 7]), [0, 0, 0]);
  const fallback = robustZ([5, 5, 5, 5, 9]); // MAD 0, mean absolute deviation 0.8
  assert.is(Math.round(fallback[4] * 1e6) / 1e6, Math.round((4 / (1.253314 * 0.8)) * 1e6) / 1e6);
  assert.is(quantile([1, 2, 3, 4], 0.5), 2.5);
});

test('each site is placed in the finest peer group of at least k sites, else suppressed', () => {
  const sites = [
    ...Array.from({ length: 6 }, (_, i) => site(i, 60 + i, 'small', 'general', 'EU-West')),
    ...Array.from({ length: 3 }, (_, i) => site(10 + i, 70 + i, 'small', 'general', 'APAC')),
    site(20, 90, 'large', 'teaching', 'NA-East'),
  ];
  const rows = benchmarkSites(sites, 5);
  const by = new Map(rows.map((r) => [r.site, r]));
  assert.is(by.get('s000')!.group, 'size=small|type=general|region=EU-West');
  assert.is(by.get('s000')!.groupSize, 6);
  assert.is(by.get('s010')!.group, 'size=small|type=general'); // its region has 3 < 5 sites
  assert.is(by.get('s010')!.groupSize, 9);
  assert.is(by.get('s020')!.group, 'all'); // alone in its size
  assert.is(by.get('s020')!.percentile, 95);
  const alone = benchmarkSites(sites.slice(0, 3), 5);
  assert.ok(alone.every((r) => r.suppressed && r.percentile === null && r.group === null));
  const groups = summarizeGroups(sites, 5);
  const apac = groups.find((g) => g.group === 'size=small|type=general|region=APAC')!;
  assert.ok(apac.suppressed && apac.sites === null && apac.median === null, 'a group below k reveals nothing, not even its size');
  assert.is(groups.find((g) => g.group === 'all')!.sites, 10);
});

test('outliers are flagged by robust z only in groups large enough', () => {
  const sites = [...Array.from({ length: OUTLIER_MIN_GROUP }, (_, i) => site(i, 80 + (i % 3))), site(99, 20)];
  const rows = benchmarkSites(sites, 5);
  assert.is(rows.find((r) => r.site === 's099')!.outlier, 'low');
  assert.ok(rows.filter((r) => r.outlier !== null).length === 1);
  const small = benchmarkSites([...Array.from({ length: 5 }, (_, i) => site(i, 80 + (i % 3))), site(99, 20)], 5);
  assert.ok(small.every((r) => r.outlier === null));
});

test('trend: least-squares slope in points per day', () => {
  assert.equal(trend([{ day: '2026-11-01', score: 80 }, { day: '2026-11-03', score: 84 }, { day: '2026-11-02', score: 82 }]), { slopePerDay: 2, change: 4, days: 2 });
  assert.is(trend([{ day: '2026-11-01', score: 80 }]), null);
  assert.throws(() => trend([{ day: 'yesterday', score: 1 }, { day: '2026-11-01', score: 2 }]), /invalid day/);
});

test('Laplace noise has mean 0 and mean absolute value = scale', () => {
  const random = seededRandom(42);
  let sum = 0;
  let abs = 0;
  const n = 40000;
  for (let i = 0; i < n; i++) {
    const x = laplace(2, random);
    sum += x;
    abs += Math.abs(x);
  }
  assert.ok(Math.abs(sum / n) < 0.05, `mean ${sum / n}`);
  assert.ok(Math.abs(abs / n - 2) < 0.05, `mean |x| ${abs / n}`);
  assert.throws(() => laplace(0, random), /invalid scale/);
});

test('privacy budget: spends add up and a release beyond the total is refused', () => {
  const budget = new PrivacyBudget(1);
  const groups = new Map([['a', [50, 60, 70]], ['b', []]]);
  const options = { epsilon: 0.4, random: seededRandom(1), k: 2 };
  releaseGroups('size', groups, budget, options);
  releaseGroups('type', groups, budget, options);
  assert.is(Math.round(budget.spent * 10) / 10, 0.8);
  assert.throws(() => releaseGroups('region', groups, budget, options), /budget exhausted/);
  assert.is(budget.ledger.length, 2, 'a refused release spends nothing');
  assert.throws(() => new PrivacyBudget(0), /invalid total/);
});

test('DP percentiles: seeded releases repeat, large groups are close to the truth, empty groups mostly suppressed', () => {
  const scores = Array.from({ length: 400 }, (_, i) => (i * 37) % 100);
  const a = noisyPercentiles('g', scores, { epsilon: 1, random: seededRandom(9), k: 5 });
  const b = noisyPercentiles('g', scores, { epsilon: 1, random: seededRandom(9), k: 5 });
  assert.equal(a, b);
  assert.ok(!a.suppressed && Math.abs(a.count - 400) < 40, `count ${a.count}`);
  assert.ok(Math.abs(a.percentiles.p50 - 50) < 5, `p50 ${a.percentiles.p50}`);
  assert.ok(Math.abs(a.percentiles.p90 - 90) < 5, `p90 ${a.percentiles.p90}`);
  const random = seededRandom(4);
  let suppressed = 0;
  for (let i = 0; i < 200; i++) if (noisyPercentiles('empty', [], { epsilon: 1, random, k: 5 }).suppressed) suppressed++;
  assert.ok(suppressed > 150, `only ${suppressed}/200 empty groups suppressed`);
});

test('DP releases: percentiles ordered and within 0–100, counts never negative, for any scores and seed', () => {
  fc.assert(
    fc.property(fc.array(fc.integer({ min: 0, max: 10000 }).map((c) => c / 100), { maxLength: 200 }), fc.integer(), fc.constantFrom(0.1, 0.5, 1, 4), (scores, seed, epsilon) => {
      const r = noisyPercentiles('g', scores, { epsilon, random: seededRandom(seed), k: 5 });
      assert.ok(r.count >= 0 && Number.isInteger(r.count));
      if (r.suppressed) return assert.equal(r.percentiles, {});
      const ps = ['p10', 'p25', 'p50', 'p75', 'p90'].map((p) => r.percentiles[p]);
      for (let i = 0; i < ps.length; i++) {
        assert.ok(ps[i] >= 0 && ps[i] <= 100, `${ps[i]}`);
        if (i > 0) assert.ok(ps[i] >= ps[i - 1], `percentiles out of order: ${ps.join(', ')}`);
      }
    }),
    { numRuns: 200, seed: 8 },
  );
});

test('a site that raises its score never falls in percentile among unchanged peers', () => {
  fc.assert(
    fc.property(fc.array(fc.integer({ min: 0, max: 100 }), { minLength: 5, maxLength: 30 }), fc.nat(), fc.integer({ min: 0, max: 50 }), (scores, at, up) => {
      const sites = scores.map((x, i) => site(i, x));
      const i = at % sites.length;
      const before = benchmarkSites(sites, 5).find((r) => r.site === sites[i].site)!;
      const raised = sites.map((x, j) => (j === i ? { ...x, score: Math.min(100, x.score + up) } : x));
      const after = benchmarkSites(raised, 5).find((r) => r.site === sites[i].site)!;
      assert.ok(after.percentile! >= before.percentile!);
    }),
    { numRuns: 200, seed: 9 },
  );
});

test('the release covers the whole public domain, and refuses sites outside it', () => {
  const groups = partitionScores([site(1, 50, 'small', 'general', 'APAC')], ['size', 'type']);
  assert.is(groups.size, 12);
  assert.equal(groups.get('size=small|type=general'), [50]);
  assert.equal(groups.get('size=large|type=teaching'), []);
  assert.throws(() => partitionScores([site(1, 50, 'huge')], ['size']), /outside the public domain/);
});

test.run();
