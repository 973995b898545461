/**
 * Global RAMA (observatory side): a site's position among its peers. Everything here is a pure
 * function of site scores and site profiles, so a differentially private release (dp.ts) can wrap
 * it: peer groups by size, type and region; mid-rank percentiles; robust z-scores (median and
 * MAD) for outliers; suppression of groups smaller than k; trends from daily snapshots.
 */

/** A site as the observatory knows it. */
export interface SiteProfile {
  readonly site: string;
  /** Site RAMA, 0–100. */
  readonly score: number;
  readonly size: string;
  readonly type: string;
  readonly region: string;
}

/** Peer-group levels, finest first; a site is placed in the finest group with at least k sites. */
export const PEER_LEVELS = [['size', 'type', 'region'], ['size', 'type'], ['size'], []] as const;
type Dimension = 'size' | 'type' | 'region';

/** Key of a site's group at a level: `size=large|type=teaching|region=EU`, or `all`. */
export function groupKey(site: SiteProfile, level: readonly Dimension[]): string {
  return level.length === 0 ? 'all' : level.map((d) => `${d}=${site[d]}`).join('|');
}

/** Mid-rank percentile of every score among `scores`: 100·(below + ½·equal)/n, in input order. */
export function percentileRanks(scores: readonly number[]): number[] {
  const n = scores.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => scores[a] - scores[b]);
  const out = new Array<number>(n);
  for (let i = 0; i < n; ) {
    let j = i;
    while (j + 1 < n && scores[order[j + 1]] === scores[order[i]]) j++;
    const pct = (100 * (i + (j - i + 1) / 2)) / n;
    for (let t = i; t <= j; t++) out[order[t]] = pct;
    i = j + 1;
  }
  return out;
}

/** Quantile with linear interpolation between order statistics (R type 7); `sorted` ascending. */
export function quantile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const h = (sorted.length - 1) * p;
  const lo = Math.floor(h);
  const hi = Math.min(sorted.length - 1, lo + 1);
  return sorted[lo] + (h - lo) * (sorted[hi] - sorted[lo]);
}

/** Threshold of |robust z| above which a site is an outlier (Iglewicz and Hoaglin). */
export const OUTLIER_Z = 3.5;
/** Smallest group in which outliers are flagged: a median and MAD of a handful of sites mean little. */
export const OUTLIER_MIN_GROUP = 10;

/**
 * Robust z-scores: 0.6745·(x − median)/MAD; when MAD is 0, (x − median)/(1.2533·mean absolute
 * deviation); when that is 0 too, every z is 0.
 */
export function robustZ(scores: readonly number[]): number[] {
  const sorted = scores.slice().sort((a, b) => a - b);
  const med = quantile(sorted, 0.5);
  const dev = scores.map((x) => Math.abs(x - med)).sort((a, b) => a - b);
  const mad = quantile(dev, 0.5);
  if (mad > 0) return scores.map((x) => (0.6745 * (x - med)) / mad);
  const meanAd = dev.reduce((s, x) => s + x, 0) / (dev.length || 1);
  if (meanAd > 0) return scores.map((x) => (x - med) / (1.253314 * meanAd));
  return scores.map(() => 0);
}

/** A site's position among its peers, or the reason it has none. */
export interface BenchmarkRow {
  readonly site: string;
  readonly score: number;
  /** Peer group used, or null when even the whole population has fewer than k sites. */
  readonly group: string | null;
  readonly groupSize: number;
  readonly percentile: number | null;
  readonly median: number | null;
  readonly p25: number | null;
  readonly p75: number | null;
  readonly robustZ: number | null;
  readonly outlier: 'low' | 'high' | null;
  readonly suppressed: boolean;
}

/** Summary of one peer group; every statistic is null when the group is below k. */
export interface GroupSummary {
  readonly group: string;
  /** Number of sites; null when suppressed (the size of a small group is itself revealing). */
  readonly sites: number | null;
  readonly suppressed: boolean;
  readonly median: number | null;
  readonly p25: number | null;
  readonly p75: number | null;
  readonly outliers: number | null;
}

function groupsAt(sites: readonly SiteProfile[], level: readonly Dimension[]): Map<string, SiteProfile[]> {
  const groups = new Map<string, SiteProfile[]>();
  for (const s of sites) {
    const key = groupKey(s, level);
    let g = groups.get(key);
    if (!g) groups.set(key, (g = []));
    g.push(s);
  }
  return groups;
}

function round2(x: number): number {
  return Math.round(x * 100) / 100;
}

/** Every site's position in the finest peer group of at least `k` sites (sorted by site). */
export function benchmarkSites(sites: readonly SiteProfile[], k: number): BenchmarkRow[] {
  if (!(Number.isInteger(k) && k >= 1)) throw new RangeError(`benchmark: invalid k: ${k}`);
  const levels = PEER_LEVELS.map((level) => groupsAt(sites, level));
  const stats = new Map<string, { pct: Map<string, number>; z: Map<string, number>; sorted: number[] }>();
  const statsOf = (key: string, members: SiteProfile[]) => {
    let s = stats.get(key);
    if (!s) {
      const scores = members.map((m) => m.score);
      const pct = percentileRanks(scores);
      const z = robustZ(scores);
      s = { pct: new Map(), z: new Map(), sorted: scores.slice().sort((a, b) => a - b) };
      members.forEach((m, i) => (s!.pct.set(m.site, pct[i]), s!.z.set(m.site, z[i])));
      stats.set(key, s);
    }
    return s;
  };
  const rows: BenchmarkRow[] = [];
  for (const site of [...sites].sort((a, b) => (a.site < b.site ? -1 : a.site > b.site ? 1 : 0))) {
    let row: BenchmarkRow | null = null;
    for (let l = 0; l < PEER_LEVELS.length && !row; l++) {
      const key = groupKey(site, PEER_LEVELS[l]);
      const members = levels[l].get(key)!;
      if (members.length < k) continue;
      const s = statsOf(key, members);
      const z = s.z.get(site.site)!;
      row = {
        site: site.site,
        score: site.score,
        group: key,
        groupSize: members.length,
        percentile: round2(s.pct.get(site.site)!),
        median: round2(quantile(s.sorted, 0.5)),
        p25: round2(quantile(s.sorted, 0.25)),
        p75: round2(quantile(s.sorted, 0.75)),
        robustZ: round2(z),
        outlier: members.length < OUTLIER_MIN_GROUP ? null : z <= -OUTLIER_Z ? 'low' : z >= OUTLIER_Z ? 'high' : null,
        suppressed: false,
      };
    }
    rows.push(row ?? { site: site.site, score: site.score, group: null, groupSize: 0, percentile: null, median: null, p25: null, p75: null, robustZ: null, outlier: null, suppressed: true });
  }
  return rows;
}

/** Summaries of every peer group at every level (sorted by group key), suppressed below k. */
export function summarizeGroups(sites: readonly SiteProfile[], k: number): GroupSummary[] {
  const out: GroupSummary[] = [];
  for (const level of PEER_LEVELS) {
    for (const [group, members] of groupsAt(sites, level)) {
      if (members.length < k) {
        out.push({ group, sites: null, suppressed: true, median: null, p25: null, p75: null, outliers: null });
        continue;
      }
      const scores = members.map((m) => m.score);
      const sorted = scores.slice().sort((a, b) => a - b);
      const outliers = members.length < OUTLIER_MIN_GROUP ? 0 : robustZ(scores).filter((z) => Math.abs(z) >= OUTLIER_Z).length;
      out.push({ group, sites: members.length, suppressed: false, median: round2(quantile(sorted, 0.5)), p25: round2(quantile(sorted, 0.25)), p75: round2(quantile(sorted, 0.75)), outliers });
    }
  }
  return out.sort((a, b) => (a.group < b.group ? -1 : a.group > b.group ? 1 : 0));
}

/** One point of a site's history. */
export interface TrendPoint {
  /** Day, `YYYY-MM-DD`. */
  readonly day: string;
  readonly score: number;
}

/** Least-squares slope of the score in points per day, and the change from first to last point. */
export function trend(points: readonly TrendPoint[]): { slopePerDay: number; change: number; days: number } | null {
  if (points.length < 2) return null;
  const sorted = points.slice().sort((a, b) => (a.day < b.day ? -1 : a.day > b.day ? 1 : 0));
  const t0 = Date.parse(`${sorted[0].day}T00:00:00Z`);
  const xs = sorted.map((p) => (Date.parse(`${p.day}T00:00:00Z`) - t0) / 86_400_000);
  if (xs.some((x) => !Number.isFinite(x))) throw new RangeError(`trend: invalid day in ${sorted.map((p) => p.day).join(', ')}`);
  const n = xs.length;
  const mx = xs.reduce((s, x) => s + x, 0) / n;
  const my = sorted.reduce((s, p) => s + p.score, 0) / n;
  let sxy = 0;
  let sxx = 0;
  for (let i = 0; i < n; i++) {
    sxy += (xs[i] - mx) * (sorted[i].score - my);
    sxx += (xs[i] - mx) ** 2;
  }
  return { slopePerDay: sxx === 0 ? 0 : Math.round((sxy / sxx) * 10000) / 10000, change: round2(sorted[n - 1].score - sorted[0].score), days: xs[n - 1] };
}

/** The public domain of the peer dimensions: a DP release covers every group of it, empty or not. */
export interface PeerDomain {
  readonly size: readonly string[];
  readonly type: readonly string[];
  readonly region: readonly string[];
}

/** HEIR's peer dimensions and their values. */
export const PEER_DOMAIN: PeerDomain = {
  size: ['small', 'medium', 'large'],
  type: ['general', 'teaching', 'specialty', 'community'],
  region: ['EU-West', 'EU-North', 'EU-South', 'NA-East', 'NA-West', 'APAC'],
};

/**
 * Scores of every group of one level, over the whole domain (groups without sites are present
 * and empty), so that which groups are released reveals nothing. A site outside the domain is an
 * error: publishing its value would disclose it.
 */
export function partitionScores(sites: readonly SiteProfile[], level: readonly Dimension[], domain: PeerDomain = PEER_DOMAIN): Map<string, number[]> {
  let keys: Record<Dimension, string>[] = [{} as Record<Dimension, string>];
  for (const d of level) keys = keys.flatMap((k) => domain[d].map((v) => ({ ...k, [d]: v })));
  const groups = new Map<string, number[]>(keys.map((k) => [groupKey(k as unknown as SiteProfile, level), []]));
  for (const s of sites) {
    const g = groups.get(groupKey(s, level));
    if (!g) throw new RangeError(`benchmark: site ${s.site} has a ${level.join('/')} outside the public domain: ${groupKey(s, level)}`);
    g.push(s.score);
  }
  return groups;
}
