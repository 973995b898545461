import fc from 'fast-check';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { scoreDevice } from '../../operators/rama/device.ts';
import { CRITICALITIES, bandOfCents, type DeviceScore } from '../../operators/rama/model.ts';
import { rollup, scoreSites } from '../../operators/rama/site.ts';
import { whatIf } from '../../operators/rama/whatif.ts';
import { AS_OF, deviceArb } from './rama-arbitraries.ts';

const RUNS = { numRuns: 300, seed: 11 };

/** A device score with only what the roll-up reads. */
const scoredArb: fc.Arbitrary<DeviceScore> = fc
  .record({ i: fc.nat(), cents: fc.integer({ min: 0, max: 10000 }), unit: fc.constantFrom('ICU', 'ED', 'IT'), criticality: fc.constantFrom(...CRITICALITIES) })
  .map(({ i, cents, unit, criticality }) => ({ device: `d${i}`, site: 's', unit, criticality, cents, score: cents / 100, band: bandOfCents(cents), contributions: [], hazardRaw: 0, hazard: 0 }));

test('site and unit scores stay within 0–100 and their contributions add up exactly', () => {
  fc.assert(
    fc.property(fc.array(scoredArb, { minLength: 1, maxLength: 40 }), (devices) => {
      for (const s of scoreSites(devices)) {
        assert.ok(s.cents >= 0 && s.cents <= 10000);
        assert.is(10000 + s.contributions.reduce((a, c) => a + c.cents, 0), s.cents);
        assert.is(Math.round((100 + s.contributions.reduce((a, c) => a + c.points, 0)) * 100), s.cents);
        assert.ok(s.cents <= Math.round(s.meanScore * 100), 'the vulnerable share only lowers the mean');
      }
    }),
    RUNS,
  );
});

test('a device whose score drops never raises its site or unit score', () => {
  fc.assert(
    fc.property(fc.array(scoredArb, { minLength: 1, maxLength: 30 }), fc.nat(), fc.integer({ min: 0, max: 10000 }), (devices, at, drop) => {
      const i = at % devices.length;
      const lower = Math.max(0, devices[i].cents - drop);
      const changed = devices.map((d, j) => (j === i ? { ...d, cents: lower, score: lower / 100, band: bandOfCents(lower) } : d));
      const before = scoreSites(devices);
      const after = scoreSites(changed);
      assert.is(after.length, before.length);
      for (let k = 0; k < before.length; k++) assert.ok(after[k].cents <= before[k].cents, `${before[k].scope} ${before[k].unit}: ${before[k].cents} → ${after[k].cents}`);
    }),
    RUNS,
  );
});

test('roll-up weighs devices by criticality and charges the vulnerable share', () => {
  const d = (device: string, cents: number, criticality: DeviceScore['criticality'], unit = 'ICU'): DeviceScore => ({ device, site: 's', unit, criticality, cents, score: cents / 100, band: bandOfCents(cents), contributions: [], hazardRaw: 0, hazard: 0 });
  // (100·50.00 + 20·100.00)/120 = 58.33; vulnerable share 100/120 → 58.33·(1 − 0.5·0.8333) = 34.03
  const s = rollup('s', 'site', null, [d('vent', 5000, 'life-sustaining'), d('printer', 10000, 'non-clinical', 'IT')], (x) => `unit:${x.unit}`);
  assert.is(s.meanScore, 58.33);
  assert.is(s.score, 34.03);
  assert.is(s.vulnerable, 1);
  assert.equal(s.contributions.map((c) => [c.factor, c.points]), [['unit:ICU', -41.67], ['unit:IT', 0], ['vulnerable-share', -24.3]]);
  assert.throws(() => rollup('s', 'site', null, [], () => 'x'), /has no devices/);
});

test('scoreSites lists each site then its units, sorted', () => {
  const mk = (site: string, unit: string) => ({ device: `${site}-${unit}`, site, unit, criticality: 'therapy' as const, cents: 9000, score: 90, band: 'secure' as const, contributions: [], hazardRaw: 0, hazard: 0 });
  const out = scoreSites([mk('b', 'ICU'), mk('a', 'Ward'), mk('a', 'ED')]);
  assert.equal(out.map((s) => `${s.site}/${s.scope}/${s.unit}`), ['a/site/null', 'a/unit/ED', 'a/unit/Ward', 'b/site/null', 'b/unit/ICU']);
});

test('what-if: ranked by gain, and each gain is what re-scoring the remediated site gives', () => {
  fc.assert(
    fc.property(fc.array(deviceArb, { minLength: 1, maxLength: 8 }), (raw) => {
      const devices = raw.map((d, i) => ({ ...d, device: `d${i}`, model: `M${i % 3}` }));
      const list = whatIf(devices, { asOf: AS_OF, limit: 50 });
      for (let k = 1; k < list.length; k++) assert.ok(list[k - 1].gain >= list[k].gain, 'not sorted by gain');
      for (const w of list) {
        assert.ok(w.gain >= 0, `${w.action} lowers the score`);
        assert.is(Math.round(w.gain * 100), Math.round(w.after * 100) - Math.round(w.before * 100));
      }
      // Check one action end to end: segmenting model M0 by hand gives the stated score.
      const seg = list.find((w) => w.action === 'segment:Make/M0');
      if (seg) {
        const after = devices.map((d) => (d.model === 'M0' ? { ...d, controls: { ...d.controls, segmented: true } } : d));
        const site = scoreSites(after.map((d) => scoreDevice(d, { asOf: AS_OF }))).find((s) => s.scope === 'site')!;
        assert.is(site.score, seg.after);
      }
    }),
    { numRuns: 100, seed: 5 },
  );
  assert.throws(() => whatIf([{ ...fc.sample(deviceArb, { numRuns: 1, seed: 1 })[0], site: 'a' }, { ...fc.sample(deviceArb, { numRuns: 1, seed: 2 })[0], site: 'b' }], { asOf: AS_OF }), /two sites/);
});

test.run();
