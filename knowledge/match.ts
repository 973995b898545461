/**
 * Matches a device (make, model, firmware/software version) to the advisories of the knowledge
 * base: vendor by the normalisation table, product by folded name (exact, or every word of one
 * contained in the other), version by the advisory's affected-version expression. Every match says
 * how sure it is and why.
 */
import type { KbAdvisory, KbCve, KnowledgeBase } from './kb-types.ts';
import { foldName, normaliseVendor } from './vendors.ts';
import { parseVersionSpec, versionMatches } from './versions.ts';

/** What the matcher needs to know about a device. */
export interface DeviceIdentity {
  readonly vendor: string | null;
  readonly model: string | null;
  readonly version: string | null;
}

/** How sure a match is. */
export type MatchConfidence = 'high' | 'medium' | 'low';

/** One advisory that applies (or may apply) to a device. */
export interface AdvisoryMatch {
  readonly advisory: string;
  readonly revision: string;
  readonly title: string;
  /** The affected product line that matched. */
  readonly product: string;
  readonly versions: string;
  /** 0–1: product exactness and version certainty combined. */
  readonly score: number;
  readonly confidence: MatchConfidence;
  /** Human-readable reasons, one per criterion. */
  readonly evidence: readonly string[];
  readonly cves: readonly KbCve[];
}

function words(s: string): string[] {
  return foldName(s).split(' ').filter((w) => w !== '');
}

function productFit(product: string, model: string): 'exact' | 'partial' | null {
  const p = foldName(product);
  const m = foldName(model);
  if (p === '' || m === '') return null;
  if (p === m) return 'exact';
  const pw = new Set(words(product));
  const mw = words(model);
  const small = mw.length <= pw.size ? mw : [...pw];
  const big = mw.length <= pw.size ? pw : new Set(mw);
  // A single generic word ("monitor") must not match; require a distinctive word (with a digit) or two words.
  const distinctive = small.length >= 2 || small.some((w) => /\d/.test(w) && w.length >= 2) || (small.length === 1 && small[0].length >= 5);
  if (distinctive && small.every((w) => big.has(w))) return 'partial';
  return null;
}

function level(score: number): MatchConfidence {
  return score >= 0.85 ? 'high' : score >= 0.6 ? 'medium' : 'low';
}

/**
 * Advisories that apply to a device, best first. A device whose version is known and outside
 * every affected range of a product does not match that product.
 */
export function matchAdvisories(kb: KnowledgeBase, device: DeviceIdentity): AdvisoryMatch[] {
  if (!device.vendor || !device.model) return [];
  const vendors = new Set(normaliseVendor(device.vendor).names.map(foldName));
  const out: AdvisoryMatch[] = [];
  for (const advisory of kb.advisories) {
    if (!advisory.vendors.some((v) => vendors.has(foldName(v))) && !advisory.products.some((p) => vendors.has(foldName(p.vendor)))) continue;
    let best: AdvisoryMatch | null = null;
    advisory.products.forEach((product, index) => {
      if (!vendors.has(foldName(product.vendor)) && !advisory.vendors.some((v) => vendors.has(foldName(v)))) return;
      const fit = productFit(product.name, device.model!);
      if (!fit) return;
      const evidence = [`vendor "${device.vendor}" = ${product.vendor}`, `model "${device.model}" ${fit === 'exact' ? 'is' : 'matches the words of'} product "${product.name}"`];
      let score = fit === 'exact' ? 0.6 : 0.45;
      const spec = parseVersionSpec(product.versions);
      if (spec.kind === 'all') {
        score += 0.35;
        evidence.push('all versions are affected');
      } else if (device.version) {
        const hit = versionMatches(spec, device.version);
        if (hit === false) return;
        if (hit === true) {
          score += 0.4;
          evidence.push(`version ${device.version} is within "${product.versions}"`);
        } else {
          score += 0.1;
          evidence.push(`version ${device.version} could not be compared with "${product.versions}"`);
        }
      } else {
        score += 0.1;
        evidence.push(`device version unknown; affected: "${product.versions}"`);
      }
      if (advisory.detail === 'csv') {
        // Products and versions read from the advisory's prose are less precise than a CSAF product tree.
        score -= 0.1;
        evidence.push('advisory known from its summary row only (no CSAF product tree)');
      }
      const cves = advisory.cves.filter((c) => c.products.includes(index));
      const candidate: AdvisoryMatch = {
        advisory: advisory.id,
        revision: advisory.revision,
        title: advisory.title,
        product: product.name,
        versions: product.versions,
        score: Math.round(score * 100) / 100,
        confidence: level(score),
        evidence,
        cves,
      };
      if (!best || candidate.score > best.score) best = candidate;
    });
    if (best) out.push(best);
  }
  return out.sort((a, b) => b.score - a.score || a.advisory.localeCompare(b.advisory));
}

/** The advisories of one canonical vendor (for listings). */
export function advisoriesOfVendor(kb: KnowledgeBase, vendor: string): KbAdvisory[] {
  const want = new Set(normaliseVendor(vendor).names.map(foldName));
  return kb.advisories.filter((a) => a.vendors.some((v) => want.has(foldName(v))));
}
