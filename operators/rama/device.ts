/**
 * Device RAMA: a pure function from one device's risk input to its score (0–100, 100 = best) and
 * its factor contributions. docs/rama.md states the model; the properties it promises hold by
 * construction:
 *
 * - Every weakness adds a non-negative hazard; the score is 100·e^(−H), rounded to 0.01. H is a
 *   sum of integers, each monotone in its inputs, so adding a weakness never raises a score.
 * - Within a factor class the k-th worst item is weighed RHO^(k−1) (diminishing returns). The
 *   k-th largest of a superset is never smaller than the k-th largest of the set, so this keeps
 *   monotonicity.
 * - Contributions are integers in hundredths: the lost points of the uncontrolled score are split
 *   among the weaknesses by largest remainders, and each control is credited with the exact
 *   difference it makes, so 10000 + Σ cents = score cents with no rounding residue.
 */
import { InputError } from '../../pipeline/errors.ts';
import { apportion } from './apportion.ts';
import {
  ATTACK_HALF_LIFE_DAYS,
  ATTACK_SHARE,
  AUTOMATABLE_FACTOR,
  CRITICALITY_WEIGHT,
  EXPLOITATION_FACTOR,
  FINDING_SHARE,
  HAZARD_UNITS,
  K_VULN,
  NO_INTERNET_FACTOR,
  RHO,
  SEGMENTATION_FACTOR,
  bandOfCents,
  type AttackVector,
  type Contribution,
  type DeviceRiskInput,
  type DeviceScore,
} from './model.ts';

/** Options of a scoring run. */
export interface ScoreOptions {
  /** Time the score is for (epoch microseconds): attack recency decays towards it. */
  readonly asOf: number;
}

const DAY_MICROS = 86_400_000_000;
const CLASSES = ['vuln', 'finding', 'attack'] as const;
type FactorClass = (typeof CLASSES)[number];
const PREFIX: Readonly<Record<FactorClass, string>> = { vuln: 'vuln:', finding: 'finding:', attack: 'attack:' };

/** Hazard of one factor under the three control stages: none, no-internet, no-internet + segmentation. */
interface FactorHazard {
  readonly key: string;
  h0: number;
  h1: number;
  h2: number;
}

/** Multipliers of the three stages for an exposure path (attacks already happened: never reduced). */
function stageFactors(av: AttackVector | 'observed', input: DeviceRiskInput): [number, number, number] {
  const net = !input.controls.internetExposed && av === 'N' ? NO_INTERNET_FACTOR : 1;
  const seg = input.controls.segmented && (av === 'N' || av === 'A') ? SEGMENTATION_FACTOR : 1;
  return [1, net, net * seg];
}

function severityShare(share: number): number {
  return -Math.log1p(-share);
}

/** Record a hazard under its key, keeping per stage the worst of duplicates (monotone under adding). */
function put(map: Map<string, FactorHazard>, key: string, h: number, f: readonly [number, number, number]): void {
  const h0 = h * f[0];
  const h1 = h * f[1];
  const h2 = h * f[2];
  const cur = map.get(key);
  if (!cur) {
    map.set(key, { key, h0, h1, h2 });
    return;
  }
  if (h0 > cur.h0) cur.h0 = h0;
  if (h1 > cur.h1) cur.h1 = h1;
  if (h2 > cur.h2) cur.h2 = h2;
}

function fail(input: DeviceRiskInput, message: string): never {
  throw new InputError(`device ${input.device}`, message);
}

/** The per-key hazards of each class, criticality applied. Validates the input. */
function hazards(input: DeviceRiskInput, options: ScoreOptions): Record<FactorClass, Map<string, FactorHazard>> {
  const w = CRITICALITY_WEIGHT[input.criticality];
  if (w === undefined) fail(input, `unknown criticality: ${String(input.criticality)}`);
  const out = { vuln: new Map<string, FactorHazard>(), finding: new Map<string, FactorHazard>(), attack: new Map<string, FactorHazard>() };
  for (const v of input.vulns) {
    const base = v.rubricAdjustedBase ?? v.cvssBase;
    if (!(base >= 0 && base <= 10)) fail(input, `${v.cve}: CVSS base ${String(base)} is not within 0–10`);
    const exploitation = EXPLOITATION_FACTOR[v.exploitation];
    if (exploitation === undefined) fail(input, `${v.cve}: unknown exploitation: ${String(v.exploitation)}`);
    const e = Math.max(exploitation, v.kev ? EXPLOITATION_FACTOR.active : 1) * (v.automatable ? AUTOMATABLE_FACTOR : 1);
    const s = base / 10;
    const h = v.fixApplied ? 0 : K_VULN * s * s * e * w;
    put(out.vuln, v.cve, h, stageFactors(v.attackVector ?? 'N', input));
  }
  const network = stageFactors('N', input);
  for (const f of input.findings) {
    const share = FINDING_SHARE[f.severity];
    if (share === undefined) fail(input, `finding ${f.rule}: unknown severity: ${String(f.severity)}`);
    put(out.finding, f.rule, severityShare(share) * w, network);
  }
  const observed = stageFactors('observed', input);
  for (const a of input.attacks) {
    const share = ATTACK_SHARE[a.severity];
    if (share === undefined) fail(input, `attack ${a.threat}: unknown severity: ${String(a.severity)}`);
    if (!(a.confidence >= 0 && a.confidence <= 1)) fail(input, `attack ${a.threat}: confidence ${String(a.confidence)} is not within 0–1`);
    if (!Number.isFinite(a.ts)) fail(input, `attack ${a.threat}: timestamp ${String(a.ts)} is not a number`);
    const ageDays = Math.max(0, options.asOf - a.ts) / DAY_MICROS;
    const decay = Math.pow(2, -ageDays / ATTACK_HALF_LIFE_DAYS);
    put(out.attack, a.threat, severityShare(share) * a.confidence * decay * w, observed);
  }
  return out;
}

/** Worst first, ties by key: the canonical order, independent of input order. */
function byStage(items: readonly FactorHazard[], stage: 'h0' | 'h1' | 'h2'): FactorHazard[] {
  return items.slice().sort((a, b) => b[stage] - a[stage] || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

/** Integer hazard units of the items of one class at one stage, with rank weights (in `order`). */
function stageUnits(ordered: readonly FactorHazard[], stage: 'h0' | 'h1' | 'h2', rho: number, units: number[]): number {
  let total = 0;
  let weight = 1;
  for (let k = 0; k < ordered.length; k++) {
    const u = Math.round(weight * ordered[k][stage] * HAZARD_UNITS);
    units[k] = u;
    total += u;
    weight *= rho;
  }
  return total;
}

function centsOf(hazardUnits: number): number {
  return Math.round(10000 * Math.exp(-hazardUnits / HAZARD_UNITS));
}

/** Score one device with its explanation. Throws InputError naming the device on invalid input. */
export function scoreDevice(input: DeviceRiskInput, options: ScoreOptions): DeviceScore {
  const byClass = hazards(input, options);
  const factors: string[] = [];
  const weights: number[] = [];
  const stageTotals = [0, 0, 0];
  const scratch: number[] = [];
  for (const cls of CLASSES) {
    const items = [...byClass[cls].values()];
    const rho = RHO[cls];
    const ordered0 = byStage(items, 'h0');
    stageTotals[0] += stageUnits(ordered0, 'h0', rho, scratch);
    for (let k = 0; k < ordered0.length; k++) {
      factors.push(PREFIX[cls] + ordered0[k].key);
      weights.push(scratch[k]);
    }
    stageTotals[1] += stageUnits(byStage(items, 'h1'), 'h1', rho, scratch);
    stageTotals[2] += stageUnits(byStage(items, 'h2'), 'h2', rho, scratch);
  }
  const c0 = centsOf(stageTotals[0]);
  const c1 = centsOf(stageTotals[1]);
  const c2 = centsOf(stageTotals[2]);
  const parts = apportion(10000 - c0, weights);
  const contributions: Contribution[] = new Array(factors.length + 2);
  for (let i = 0; i < factors.length; i++) contributions[i] = contribution(factors[i], -parts[i]);
  contributions[factors.length] = contribution('control:no-internet-exposure', c1 - c0);
  contributions[factors.length + 1] = contribution('control:segmentation', c2 - c1);
  return {
    device: input.device,
    site: input.site,
    unit: input.unit,
    criticality: input.criticality,
    cents: c2,
    score: c2 / 100,
    band: bandOfCents(c2),
    contributions,
    hazardRaw: stageTotals[0],
    hazard: stageTotals[2],
  };
}

function contribution(factor: string, cents: number): Contribution {
  // `0 - 0` would print as -0 in some paths; normalise so JSON shows 0.
  const c = cents === 0 ? 0 : cents;
  return { factor, cents: c, points: c / 100 };
}
