/**
 * What-if: the remediations that would raise a site's RAMA most, found by re-scoring the devices
 * each remediation touches and rolling the site up again. Candidates come from the inputs:
 * apply available fixes per product (a firmware or software update), remove internet exposure or
 * segment per product, resolve a hunt finding per rule.
 */
import { scoreDevice, type ScoreOptions } from './device.ts';
import type { DeviceRiskInput, DeviceScore } from './model.ts';
import { rollup } from './site.ts';

/** One remediation and what it is worth. */
export interface WhatIf {
  /** Stable id: `patch:<make>/<model>`, `isolate:<make>/<model>`, `segment:<make>/<model>`, `resolve:<rule>`. */
  readonly action: string;
  readonly description: string;
  readonly devices: number;
  /** Site score now and after the remediation, and the gain in points (exact hundredths). */
  readonly before: number;
  readonly after: number;
  readonly gain: number;
}

interface Candidate {
  readonly action: string;
  /** Words for the action, given how many devices it touches and the details collected (CVEs). */
  readonly describe: (devices: number, details: readonly string[]) => string;
  readonly devices: Set<number>;
  readonly details: Set<string>;
  readonly apply: (d: DeviceRiskInput) => DeviceRiskInput;
}

function productOf(d: DeviceRiskInput): string {
  return `${d.make}/${d.model}`;
}

/** `3 × BD Alaris 8015`, or `3 devices of unknown make/model`. */
function fleetOf(n: number, d: DeviceRiskInput): string {
  const known = d.make !== 'unknown' || d.model !== 'unknown';
  return known ? `${n} × ${d.make === 'unknown' ? '' : d.make + ' '}${d.model === 'unknown' ? '(unknown model)' : d.model}` : `${n} device${n === 1 ? '' : 's'} of unknown make/model`;
}

function candidates(devices: readonly DeviceRiskInput[], mitigations: Readonly<Record<string, string>>): Candidate[] {
  const map = new Map<string, Candidate>();
  const add = (action: string, describe: Candidate['describe'], index: number, apply: Candidate['apply'], detail?: string) => {
    let c = map.get(action);
    if (!c) map.set(action, (c = { action, describe, devices: new Set(), details: new Set(), apply }));
    c.devices.add(index);
    if (detail) c.details.add(detail);
  };
  devices.forEach((d, i) => {
    const product = productOf(d);
    for (const v of d.vulns) {
      if (v.fixAvailable && !v.fixApplied) {
        add(`patch:${product}`, (n, cves) => `apply the vendor fix (firmware/software update) on ${fleetOf(n, d)}: ${cves.join(', ')}`, i, patchAll, v.cve);
      }
    }
    if (d.controls.internetExposed) {
      add(`isolate:${product}`, (n) => `remove internet exposure of ${fleetOf(n, d)}`, i, (x) => ({ ...x, controls: { ...x.controls, internetExposed: false } }));
    }
    if (!d.controls.segmented) {
      add(`segment:${product}`, (n) => `move ${fleetOf(n, d)} to a segmented network`, i, (x) => ({ ...x, controls: { ...x.controls, segmented: true } }));
    }
    for (const f of d.findings) {
      if (f.severity === 'info') continue;
      const rule = f.rule;
      const how = mitigations[rule];
      add(`resolve:${rule}`, (n) => `${how ? `${how.replace(/\.$/, '')} — ` : 'resolve '}hunt finding ${rule} on ${n} device${n === 1 ? '' : 's'}`, i, (x) => ({ ...x, findings: x.findings.filter((g) => g.rule !== rule) }));
    }
  });
  return [...map.values()];
}

function patchAll(d: DeviceRiskInput): DeviceRiskInput {
  return { ...d, vulns: d.vulns.map((v) => (v.fixAvailable && !v.fixApplied ? { ...v, fixApplied: true } : v)) };
}

/**
 * The `limit` remediations with the largest gain for the site that `devices` belong to (all
 * devices must share one site), ranked by gain, then fewer devices touched, then action id.
 * `mitigations` (rule id → advice, from the hunt rules) words the finding remediations.
 */
export function whatIf(devices: readonly DeviceRiskInput[], options: ScoreOptions & { readonly limit?: number; readonly mitigations?: Readonly<Record<string, string>> }): WhatIf[] {
  if (devices.length === 0) return [];
  const site = devices[0].site;
  for (const d of devices) if (d.site !== site) throw new RangeError(`what-if: devices of two sites (${site}, ${d.site}); run it per site`);
  const scores: DeviceScore[] = devices.map((d) => scoreDevice(d, options));
  const unitOf = (d: DeviceScore) => d.unit;
  const before = rollup(site, 'site', null, scores, unitOf).cents;
  const results: WhatIf[] = [];
  for (const c of candidates(devices, options.mitigations ?? {})) {
    const changed = scores.slice();
    for (const i of c.devices) changed[i] = scoreDevice(c.apply(devices[i]), options);
    const after = rollup(site, 'site', null, changed, unitOf).cents;
    results.push({ action: c.action, description: c.describe(c.devices.size, [...c.details].sort()), devices: c.devices.size, before: before / 100, after: after / 100, gain: (after - before) / 100 });
  }
  results.sort((a, b) => b.gain - a.gain || a.devices - b.devices || (a.action < b.action ? -1 : a.action > b.action ? 1 : 0));
  return results.slice(0, options.limit ?? 10);
}
