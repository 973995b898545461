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

/** The hazards of one class, with duplicates of a key merged (per stage, the worst). */
class ClassHazards {
  readonly items: FactorHazard[] = [];
  /** True when every item has the same stage factors, so one order serves all three stages. */
  uniform = true;
  private lastF1 = -1;
  private lastF2 = -1;
  private index: Map<string, FactorHazard> | null = null;

  put(key: string, h: number, f1: number, f2: number): void {
    if (this.lastF1 === -1) {
      this.lastF1 = f1;
      this.lastF2 = f2;
    } else if (f1 !== this.lastF1 || f2 !== this.lastF2) this.uniform = false;
    const h1 = h * f1;
    const h2 = h * f2;
    const cur = this.find(key);
    if (!cur) {
      const item = { key, h0: h, h1, h2 };
      this.items.push(item);
      this.index?.set(key, item);
      return;
    }
    // Per stage the worst of the duplicates: adding a duplicate can never lower a stage's hazard.
    if (h > cur.h0) cur.h0 = h;
    if (h1 > cur.h1) cur.h1 = h1;
    if (h2 > cur.h2) cur.h2 = h2;
  }

  private find(key: string): FactorHazard | undefined {
    // Lists are short (a device has a few CVEs, rules, threats): scan, and index only long ones.
    if (this.index) return this.index.get(key);
    const items = this.items;
    for (let i = 0; i < items.length; i++) if (items[i].key === key) return items[i];
    if (items.length >= 32) this.index = new Map(items.map((x) => [x.key, x]));
    return undefined;
  }
}

function severityShare(share: number): number {
  return -Math.log1p(-share);
}

function fail(input: DeviceRiskInput, message: string): never {
  throw new InputError(`device ${input.device}`, message);
}

/** The per-key hazards of each class, criticality applied. Validates the input. */
function hazards(input: DeviceRiskInput, options: ScoreOptions): Record<FactorClass, ClassHazards> {
  const w = CRITICALITY_WEIGHT[input.criticality];
  if (w === undefined) fail(input, `unknown criticality: ${String(input.criticality)}`);
  // Stage factors by exposure path (§2.3): no internet exposure helps network-vector weaknesses,
  // segmentation network- and adjacent-vector ones; attacks already happened and are never reduced.
  const net = input.controls.internetExposed ? 1 : NO_INTERNET_FACTOR;
  const seg = input.controls.segmented ? SEGMENTATION_FACTOR : 1;
  const out = { vuln: new ClassHazards(), finding: new ClassHazards(), attack: new ClassHazards() };
  for (const v of input.vulns) {
    const base = v.rubricAdjustedBase ?? v.cvssBase;
    if (!(base >= 0 && base <= 10)) fail(input, `${v.cve}: CVSS base ${String(base)} is not within 0–10`);
    const exploitation = EXPLOITATION_FACTOR[v.exploitation];
    if (exploitation === undefined) fail(input, `${v.cve}: unknown exploitation: ${String(v.exploitation)}`);
    const e = Math.max(exploitation, v.kev ? EXPLOITATION_FACTOR.active : 1) * (v.automatable ? AUTOMATABLE_FACTOR : 1);
    const s = base / 10;
    const h = v.fixApplied ? 0 : K_VULN * s * s * e * w;
    const av: AttackVector = v.attackVector ?? 'N';
    const f1 = av === 'N' ? net : 1;
    out.vuln.put(v.cve, h, f1, av === 'N' || av === 'A' ? f1 * seg : f1);
  }
  const netSeg = net * seg;
  for (const f of input.findings) {
    const share = FINDING_SHARE[f.severity];
    if (share === undefined) fail(input, `finding ${f.rule}: unknown severity: ${String(f.severity)}`);
    out.finding.put(f.rule, severityShare(share) * w, net, netSeg);
  }
  for (const a of input.attacks) {
    const share = ATTACK_SHARE[a.severity];
    if (share === undefined) fail(input, `attack ${a.threat}: unknown severity: ${String(a.severity)}`);
    if (!(a.confidence >= 0 && a.confidence <= 1)) fail(input, `attack ${a.threat}: confidence ${String(a.confidence)} is not within 0–1`);
    if (!Number.isFinite(a.ts)) fail(input, `attack ${a.threat}: timestamp ${String(a.ts)} is not a number`);
    const ageDays = Math.max(0, options.asOf - a.ts) / DAY_MICROS;
    const decay = Math.pow(2, -ageDays / ATTACK_HALF_LIFE_DAYS);
    out.attack.put(a.threat, severityShare(share) * a.confidence * decay * w, 1, 1);
  }
  return out;
}

const BY_H0 = (a: FactorHazard, b: FactorHazard) => b.h0 - a.h0 || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);
const BY_H1 = (a: FactorHazard, b: FactorHazard) => b.h1 - a.h1 || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);
const BY_H2 = (a: FactorHazard, b: FactorHazard) => b.h2 - a.h2 || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);

/** Integer hazard units of the items of one class at one stage, worst first, rank-weighted. */
function stageUnits(ordered: readonly FactorHazard[], stage: 'h0' | 'h1' | 'h2', rho: number, units: number[] | null): number {
  let total = 0;
  let weight = 1;
  for (let k = 0; k < ordered.length; k++) {
    const u = Math.round(weight * ordered[k][stage] * HAZARD_UNITS);
    if (units) units.push(u);
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
  let t0 = 0;
  let t1 = 0;
  let t2 = 0;
  for (const cls of CLASSES) {
    const hz = byClass[cls];
    const items = hz.items;
    if (items.length === 0) continue;
    const rho = RHO[cls];
    items.sort(BY_H0);
    t0 += stageUnits(items, 'h0', rho, weights);
    for (let k = 0; k < items.length; k++) factors.push(PREFIX[cls] + items[k].key);
    if (hz.uniform) {
      // Same factors for every item: the stage-0 order is a worst-first order of stages 1 and 2
      // too (items that become equal are interchangeable in the sum).
      t1 += stageUnits(items, 'h1', rho, null);
      t2 += stageUnits(items, 'h2', rho, null);
    } else {
      t1 += stageUnits(items.slice().sort(BY_H1), 'h1', rho, null);
      t2 += stageUnits(items.slice().sort(BY_H2), 'h2', rho, null);
    }
  }
  const c0 = centsOf(t0);
  const c1 = centsOf(t1);
  const c2 = centsOf(t2);
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
    hazardRaw: t0,
    hazard: t2,
  };
}

function contribution(factor: string, cents: number): Contribution {
  // `0 - 0` would print as -0 in some paths; normalise so JSON shows 0.
  const c = cents === 0 ? 0 : cents;
  return { factor, cents: c, points: c / 100 };
}
