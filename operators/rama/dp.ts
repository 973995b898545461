/**
 * A minimal differential-privacy release for RAMA benchmarks: the Laplace mechanism on a
 * histogram of site scores, with a tracked epsilon budget. Percentiles and the group size are
 * derived from the noisy histogram only (post-processing), so the whole release is ε-DP for the
 * addition or removal of one site. Randomness is injectable: seeded for tests, crypto otherwise.
 */
import { randomBytes } from 'node:crypto';

import type { Random } from '../../pipeline/random.ts';
export type { Random } from '../../pipeline/random.ts';

/** Seeded generator for tests and simulations; never for real releases. */
export { seededRandom } from '../../pipeline/random.ts';

/** Uniform numbers from the operating system's cryptographic generator (53 random bits each). */
export function cryptoRandom(): Random {
  return () => {
    const b = randomBytes(8);
    const hi = b.readUInt32BE(0) >>> 5; // 27 bits
    const lo = b.readUInt32BE(4) >>> 6; // 26 bits
    return (hi * 67108864 + lo) / 9007199254740992;
  };
}

/** One draw of Laplace(0, scale) by inverse transform. */
export function laplace(scale: number, random: Random): number {
  if (!(scale > 0) || !Number.isFinite(scale)) throw new RangeError(`laplace: invalid scale: ${scale}`);
  let u = random();
  while (u === 0) u = random(); // ln(0) would be −∞
  // u in (0, 1): the lower half gives negative noise, the upper half positive.
  return u < 0.5 ? scale * Math.log(2 * u) : -scale * Math.log(2 * (1 - u));
}

/** One spend of the budget, kept for audit. */
export interface BudgetEntry {
  readonly purpose: string;
  readonly epsilon: number;
}

/** An epsilon budget that refuses releases beyond its total (sequential composition). */
export class PrivacyBudget {
  readonly total: number;
  readonly ledger: BudgetEntry[] = [];
  #spent = 0;
  constructor(total: number) {
    if (!(total > 0) || !Number.isFinite(total)) throw new RangeError(`privacy budget: invalid total epsilon: ${total}`);
    this.total = total;
  }
  get spent(): number {
    return this.#spent;
  }
  get remaining(): number {
    return this.total - this.#spent;
  }
  /** Record a release of `epsilon`; throws, spending nothing, if the budget would be exceeded. */
  spend(epsilon: number, purpose: string): void {
    if (!(epsilon > 0) || !Number.isFinite(epsilon)) throw new RangeError(`privacy budget: invalid epsilon for ${purpose}: ${epsilon}`);
    // A tiny tolerance so that ten spends of 0.1 fit a budget of 1.
    if (this.#spent + epsilon > this.total * (1 + 1e-9)) {
      throw new RangeError(`privacy budget exhausted: ${purpose} needs ε=${epsilon}, ${this.remaining.toFixed(4)} of ${this.total} left`);
    }
    this.#spent += epsilon;
    this.ledger.push({ purpose, epsilon });
  }
}

/** Options of a private percentile release. */
export interface DpPercentileOptions {
  /** Epsilon of this release. */
  readonly epsilon: number;
  readonly random: Random;
  /** Minimum noisy group size to publish anything. */
  readonly k: number;
  /** Percentiles to publish, 0–100. */
  readonly percentiles?: readonly number[];
  /** Histogram bin width in score points (divides 100; default 10). */
  readonly binWidth?: number;
}

/** A published, differentially private view of one group's scores. */
export interface DpRelease {
  readonly group: string;
  readonly epsilon: number;
  /** Noisy number of sites (rounded, never below 0). */
  readonly count: number;
  readonly suppressed: boolean;
  /** `p50` → score (two decimals); empty when suppressed. */
  readonly percentiles: Readonly<Record<string, number>>;
}

/**
 * Laplace histogram of one group's scores (sensitivity 1: a site sits in one bin), then the count
 * and the percentiles from the noisy bins only. Spends nothing: callers account for epsilon
 * (`releaseGroups` does). Scores outside 0–100 are clamped into it (they cannot occur in RAMA).
 */
export function noisyPercentiles(group: string, scores: readonly number[], options: DpPercentileOptions): DpRelease {
  const width = options.binWidth ?? 10;
  const bins = Math.round(100 / width);
  if (!(width > 0) || Math.abs(bins * width - 100) > 1e-9) throw new RangeError(`dp: bin width ${width} must divide 100`);
  if (!(options.epsilon > 0) || !Number.isFinite(options.epsilon)) throw new RangeError(`dp: invalid epsilon: ${options.epsilon}`);
  const ps = options.percentiles ?? [10, 25, 50, 75, 90];
  const counts = new Float64Array(bins);
  for (const s of scores) {
    const clamped = Math.min(100, Math.max(0, s));
    counts[Math.min(bins - 1, Math.floor(clamped / width))]++;
  }
  // The count is the sum of the noisy bins before clamping (unbiased); the percentiles use the
  // bins clamped at 0 (a negative count has no place in a distribution).
  let noisyTotal = 0;
  let total = 0;
  for (let b = 0; b < bins; b++) {
    const noisy = counts[b] + laplace(1 / options.epsilon, options.random);
    noisyTotal += noisy;
    counts[b] = Math.max(0, noisy);
    total += counts[b];
  }
  const count = Math.max(0, Math.round(noisyTotal));
  if (count < options.k || total <= 0) return { group, epsilon: options.epsilon, count, suppressed: true, percentiles: {} };
  const percentiles: Record<string, number> = {};
  for (const p of ps) {
    const target = (p / 100) * total;
    let acc = 0;
    let value = 100;
    for (let b = 0; b < bins; b++) {
      if (acc + counts[b] >= target && counts[b] > 0) {
        value = (b + (target - acc) / counts[b]) * width; // linear inside the bin
        break;
      }
      acc += counts[b];
    }
    percentiles[`p${p}`] = Math.round(Math.min(100, Math.max(0, value)) * 100) / 100;
  }
  return { group, epsilon: options.epsilon, count, suppressed: false, percentiles };
}

/**
 * Release every group of one partition of the sites (each site in exactly one group). Disjoint
 * groups compose in parallel, so the whole partition spends `epsilon` once from the budget.
 * Groups are released in key order, so a seeded generator gives a reproducible release.
 */
export function releaseGroups(partition: string, groups: ReadonlyMap<string, readonly number[]>, budget: PrivacyBudget, options: DpPercentileOptions): DpRelease[] {
  budget.spend(options.epsilon, `rama percentiles by ${partition}`);
  return [...groups.keys()].sort().map((g) => noisyPercentiles(g, groups.get(g)!, options));
}
