import fc from 'fast-check';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { apportion } from '../../operators/rama/apportion.ts';
import { scoreDevice } from '../../operators/rama/device.ts';
import { bandOfCents, type DeviceRiskInput } from '../../operators/rama/model.ts';
import { AS_OF, attackArb, deviceArb, findingArb, vulnArb } from './rama-arbitraries.ts';

const opts = { asOf: AS_OF };
const score = (d: DeviceRiskInput) => scoreDevice(d, opts);
const RUNS = { numRuns: 400, seed: 20261128 };

test('scores stay within 0–100 in whole hundredths, with the band of their thresholds', () => {
  fc.assert(
    fc.property(deviceArb, (d) => {
      const s = score(d);
      assert.ok(Number.isInteger(s.cents) && s.cents >= 0 && s.cents <= 10000, `cents ${s.cents}`);
      assert.is(s.score, s.cents / 100);
      assert.is(s.band, s.score >= 85 ? 'secure' : s.score >= 60 ? 'needs-attention' : 'vulnerable');
    }),
    RUNS,
  );
});

test('contributions add up to the score exactly: 100 + Σ points = score (to 0.01)', () => {
  fc.assert(
    fc.property(deviceArb, (d) => {
      const s = score(d);
      const cents = s.contributions.reduce((sum, c) => sum + c.cents, 0);
      assert.is(10000 + cents, s.cents);
      const points = s.contributions.reduce((sum, c) => sum + c.points, 0);
      assert.is(Math.round((100 + points) * 100), s.cents);
      for (const c of s.contributions) {
        if (c.factor.startsWith('control:')) assert.ok(c.cents >= 0, `${c.factor} ${c.cents}`);
        else assert.ok(c.cents <= 0, `${c.factor} ${c.cents}`);
      }
    }),
    RUNS,
  );
});

test('adding a vulnerability, finding or attack never raises a score', () => {
  fc.assert(
    fc.property(deviceArb, vulnArb, findingArb, attackArb, fc.nat(), (d, v, f, a, at) => {
      const before = score(d).cents;
      const insert = <T>(list: readonly T[], x: T) => [...list.slice(0, at % (list.length + 1)), x, ...list.slice(at % (list.length + 1))];
      assert.ok(score({ ...d, vulns: insert(d.vulns, v) }).cents <= before, 'vulnerability raised the score');
      assert.ok(score({ ...d, findings: insert(d.findings, f) }).cents <= before, 'finding raised the score');
      assert.ok(score({ ...d, attacks: insert(d.attacks, a) }).cents <= before, 'attack raised the score');
    }),
    RUNS,
  );
});

test('removing a vulnerability, finding or attack never lowers a score', () => {
  fc.assert(
    fc.property(deviceArb, fc.nat(), (d, at) => {
      const before = score(d).cents;
      const drop = <T>(list: readonly T[]) => list.filter((_, i) => i !== at % Math.max(1, list.length));
      assert.ok(score({ ...d, vulns: drop(d.vulns) }).cents >= before);
      assert.ok(score({ ...d, findings: drop(d.findings) }).cents >= before);
      assert.ok(score({ ...d, attacks: drop(d.attacks) }).cents >= before);
    }),
    RUNS,
  );
});

test('same inputs give the same score and explanation, whatever the order of the lists', () => {
  fc.assert(
    fc.property(deviceArb, fc.integer(), (d, seed) => {
      const shuffle = <T>(list: readonly T[]) => {
        const out = list.slice();
        let x = seed >>> 0 || 1;
        for (let i = out.length - 1; i > 0; i--) {
          x = (Math.imul(x, 1103515245) + 12345) >>> 0;
          const j = x % (i + 1);
          [out[i], out[j]] = [out[j], out[i]];
        }
        return out;
      };
      const a = score(d);
      assert.equal(score(structuredClone(d)), a);
      assert.equal(score({ ...d, vulns: shuffle(d.vulns), findings: shuffle(d.findings), attacks: shuffle(d.attacks) }), a);
    }),
    RUNS,
  );
});

test('a life-sustaining device weighs more than a non-clinical one with the same weaknesses', () => {
  fc.assert(
    fc.property(deviceArb, (d) => {
      const life = score({ ...d, criticality: 'life-sustaining' }).cents;
      const none = score({ ...d, criticality: 'non-clinical' }).cents;
      assert.ok(life <= none, `life-sustaining ${life} > non-clinical ${none}`);
      if (none <= 9900) assert.ok(life < none, `a weakness costing ${10000 - none} cents should cost more on a life-sustaining device`);
    }),
    RUNS,
  );
});

test('compensating controls and applied fixes never lower a score; older attacks weigh less', () => {
  fc.assert(
    fc.property(deviceArb, fc.nat(), (d, at) => {
      const s = score(d).cents;
      assert.ok(score({ ...d, controls: { ...d.controls, segmented: true } }).cents >= s);
      assert.ok(score({ ...d, controls: { ...d.controls, internetExposed: false } }).cents >= s);
      if (d.vulns.length > 0) {
        const i = at % d.vulns.length;
        assert.ok(score({ ...d, vulns: d.vulns.map((v, j) => (j === i ? { ...v, fixApplied: true } : v)) }).cents >= s);
      }
      if (d.attacks.length > 0) {
        const i = at % d.attacks.length;
        assert.ok(score({ ...d, attacks: d.attacks.map((a, j) => (j === i ? { ...a, ts: a.ts - 30 * 86_400_000_000 } : a)) }).cents >= s);
      }
    }),
    RUNS,
  );
});

test('a clean device scores 100 with zero contributions', () => {
  const s = score({ device: 'x', site: 's', unit: 'u', make: 'm', model: 'm', criticality: 'life-sustaining', vulns: [], findings: [], attacks: [], controls: { segmented: false, internetExposed: true } });
  assert.is(s.cents, 10000);
  assert.is(s.band, 'secure');
  assert.ok(s.contributions.every((c) => c.cents === 0));
});

test('invalid inputs are rejected with the device and the field named', () => {
  const base: DeviceRiskInput = { device: 'pump-1', site: 's', unit: 'u', make: 'm', model: 'm', criticality: 'therapy', vulns: [], findings: [], attacks: [], controls: { segmented: false, internetExposed: true } };
  const v = { cve: 'CVE-1', cvssBase: 11, cvssVersion: '3.1' as const, kev: false, exploitation: 'none' as const, automatable: false, fixAvailable: false, fixApplied: false };
  assert.throws(() => score({ ...base, vulns: [v] }), /device pump-1: CVE-1: CVSS base 11 is not within 0–10/);
  assert.throws(() => score({ ...base, criticality: 'vital' as never }), /device pump-1: unknown criticality: vital/);
  assert.throws(() => score({ ...base, attacks: [{ threat: 'dos', severity: 'high', confidence: 2, ts: 0 }] }), /confidence 2 is not within 0–1/);
  assert.throws(() => score({ ...base, findings: [{ rule: 'x', severity: 'severe' as never }] }), /finding x: unknown severity: severe/);
});

test('apportion splits exactly by largest remainder, ties to the lower index', () => {
  assert.equal(apportion(10, [1, 1, 1]), [4, 3, 3]);
  assert.equal(apportion(7, [5, 0, 2]), [5, 0, 2]);
  assert.equal(apportion(0, [0, 0]), [0, 0]);
  assert.throws(() => apportion(3, [0, 0]), /every weight is 0/);
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 10000 }), fc.array(fc.integer({ min: 0, max: 2_000_000 }), { minLength: 1, maxLength: 30 }), (total, weights) => {
      fc.pre(weights.some((w) => w > 0));
      const parts = apportion(total, weights);
      assert.is(parts.reduce((a, b) => a + b, 0), total);
      const sum = weights.reduce((a, b) => a + b, 0);
      parts.forEach((p, i) => assert.ok(Math.abs(p - (total * weights[i]) / sum) < 1, 'part off its exact share by a unit or more'));
    }),
    RUNS,
  );
});

test('bands: thresholds 85 and 60 are inclusive lower bounds', () => {
  assert.is(bandOfCents(8500), 'secure');
  assert.is(bandOfCents(8499), 'needs-attention');
  assert.is(bandOfCents(6000), 'needs-attention');
  assert.is(bandOfCents(5999), 'vulnerable');
});

test.run();
