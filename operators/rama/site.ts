/**
 * Site (local) RAMA: the criticality-weighted mean of device scores, lowered by the
 * criticality-weighted share of devices in the vulnerable band, for the whole site and for each
 * unit (care unit or network segment). Exact in hundredths like the device score: the mean's
 * deficit is split among units (or criticality classes) by largest remainders, and the
 * vulnerable-share penalty is its own factor.
 */
import { apportion } from './apportion.ts';
import { CRITICALITIES, CRITICALITY_WEIGHT, bandOfCents, type Band, type Contribution, type Criticality, type DeviceScore } from './model.ts';

/** How much of the mean a site loses when every device is in the vulnerable band. */
export const VULNERABLE_SHARE_PENALTY = 0.5;

/** A site or unit score with its explanation. */
export interface SiteScore {
  readonly site: string;
  readonly scope: 'site' | 'unit';
  /** The unit, for scope `unit`; null for the whole site. */
  readonly unit: string | null;
  readonly cents: number;
  readonly score: number;
  readonly band: Band;
  readonly devices: number;
  readonly vulnerable: number;
  /** Criticality-weighted share of devices in the vulnerable band, 0–1. */
  readonly vulnerableShare: number;
  /** Criticality-weighted mean of device scores, 0–100 (two decimals). */
  readonly meanScore: number;
  /** Site scope: `unit:<u>` …; unit scope: `criticality:<c>` …; both end with `vulnerable-share`. */
  readonly contributions: readonly Contribution[];
}

/** Integer roll-up weight of a criticality (weights ×100, so sums are exact). */
export function rollupWeight(criticality: Criticality): number {
  return Math.round(CRITICALITY_WEIGHT[criticality] * 100);
}

/** Roll devices up into one score; `groupOf` names the group each device's deficit is charged to. */
export function rollup(site: string, scope: 'site' | 'unit', unit: string | null, devices: readonly DeviceScore[], groupOf: (d: DeviceScore) => string, groupOrder?: readonly string[]): SiteScore {
  if (devices.length === 0) throw new RangeError(`rama: ${scope} ${unit ?? site} has no devices to score`);
  let den = 0;
  let num = 0;
  let vulnWeight = 0;
  let vulnerable = 0;
  const deficits = new Map<string, number>();
  for (const d of devices) {
    const w = rollupWeight(d.criticality);
    den += w;
    num += w * d.cents;
    if (d.band === 'vulnerable') {
      vulnWeight += w;
      vulnerable++;
    }
    const g = groupOf(d);
    deficits.set(g, (deficits.get(g) ?? 0) + w * (10000 - d.cents));
  }
  const meanCents = Math.round(num / den);
  const cents = Math.round((meanCents * (den - VULNERABLE_SHARE_PENALTY * vulnWeight)) / den);
  const groups = groupOrder ? groupOrder.filter((g) => deficits.has(g)) : [...deficits.keys()].sort();
  const parts = apportion(10000 - meanCents, groups.map((g) => deficits.get(g)!));
  const contributions: Contribution[] = groups.map((g, i) => ({ factor: g, cents: -parts[i] || 0, points: -parts[i] / 100 || 0 }));
  const penalty = cents - meanCents;
  contributions.push({ factor: 'vulnerable-share', cents: penalty || 0, points: penalty / 100 || 0 });
  return {
    site,
    scope,
    unit,
    cents,
    score: cents / 100,
    band: bandOfCents(cents),
    devices: devices.length,
    vulnerable,
    vulnerableShare: vulnWeight / den,
    meanScore: meanCents / 100,
    contributions,
  };
}

/**
 * Scores of every site and unit in `devices`: for each site one `site` row (contributions by
 * unit) followed by its `unit` rows (contributions by criticality), sites and units sorted.
 */
export function scoreSites(devices: readonly DeviceScore[]): SiteScore[] {
  const bySite = new Map<string, DeviceScore[]>();
  for (const d of devices) {
    let list = bySite.get(d.site);
    if (!list) bySite.set(d.site, (list = []));
    list.push(d);
  }
  const out: SiteScore[] = [];
  const critOrder = CRITICALITIES.map((c) => `criticality:${c}`);
  for (const site of [...bySite.keys()].sort()) {
    const list = bySite.get(site)!;
    out.push(rollup(site, 'site', null, list, (d) => `unit:${d.unit}`));
    const byUnit = new Map<string, DeviceScore[]>();
    for (const d of list) {
      let u = byUnit.get(d.unit);
      if (!u) byUnit.set(d.unit, (u = []));
      u.push(d);
    }
    for (const unit of [...byUnit.keys()].sort()) {
      out.push(rollup(site, 'unit', unit, byUnit.get(unit)!, (d) => `criticality:${d.criticality}`, critOrder));
    }
  }
  return out;
}
