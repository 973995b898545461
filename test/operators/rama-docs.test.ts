/**
 * The worked examples of docs/rama.md are tests: every ```json rama-example block is scored and
 * must give exactly the score, band and contributions the document states.
 */
import { readFileSync } from 'node:fs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { scoreDevice } from '../../operators/rama/device.ts';
import type { DeviceRiskInput } from '../../operators/rama/model.ts';
import { scoreSites } from '../../operators/rama/site.ts';
import { whatIf } from '../../operators/rama/whatif.ts';

const DOC = readFileSync(new URL('../../docs/rama.md', import.meta.url), 'utf8');
const blocks = [...DOC.matchAll(/```json rama-example\n([\s\S]*?)```/g)].map((m) => JSON.parse(m[1]) as Record<string, any>);

const micros = (iso: string) => {
  const ms = Date.parse(iso);
  if (!Number.isFinite(ms)) throw new Error(`bad time in docs/rama.md: ${iso}`);
  return ms * 1000;
};

/** Example JSON → input: attack times are ISO strings in the document. */
function inputOf(raw: any): DeviceRiskInput {
  return { ...raw, attacks: raw.attacks.map((a: any) => ({ ...a, ts: micros(a.ts) })) };
}

test('docs/rama.md has worked examples of devices and a site', () => {
  assert.ok(blocks.filter((b) => b.kind === 'device').length >= 4, 'expected at least four device examples');
  assert.ok(blocks.some((b) => b.kind === 'site'), 'expected a site example');
});

for (const example of blocks) {
  test(`worked example: ${example.name}`, () => {
    const asOf = micros(example.asOf);
    if (example.kind === 'device') {
      const s = scoreDevice(inputOf(example.input), { asOf });
      assert.is(s.score, example.expect.score);
      assert.is(s.band, example.expect.band);
      if (example.expect.hazardRaw !== undefined) assert.is(s.hazardRaw, example.expect.hazardRaw);
      assert.equal(s.contributions.map((c) => ({ factor: c.factor, points: c.points })), example.expect.contributions);
      return;
    }
    assert.is(example.kind, 'site');
    const inputs = example.devices.map(inputOf);
    const devices = inputs.map((d: DeviceRiskInput) => scoreDevice(d, { asOf }));
    for (const [id, score] of Object.entries(example.expect.devices)) assert.is(devices.find((d: { device: string }) => d.device === id)?.score, score, id);
    const site = scoreSites(devices).find((s) => s.scope === 'site')!;
    assert.is(site.score, example.expect.site.score);
    assert.is(site.band, example.expect.site.band);
    assert.is(site.meanScore, example.expect.site.meanScore);
    assert.is(site.vulnerable, example.expect.site.vulnerable);
    assert.equal(site.contributions.map((c) => ({ factor: c.factor, points: c.points })), example.expect.site.contributions);
    const list = whatIf(inputs, { asOf, limit: example.expect.whatif.length });
    assert.equal(list.map((w) => ({ action: w.action, after: w.after, gain: w.gain })), example.expect.whatif);
  });
}

test.run();
