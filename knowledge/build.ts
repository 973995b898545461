/**
 * Builds the knowledge base from the public sources (the layout of ../shared/knowledge): CISA ICS
 * medical advisories (ICS Advisory Project CSV, latest revision of each, merged with CISA's CSAF
 * files for products, per-CVE vectors and remediations), KEV, CISA vulnrichment SSVC, and
 * ATT&CK for ICS from its STIX 2.1 bundle.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ErrorCode, UserError } from '../pipeline/errors.ts';
import { csvObjects } from './csv.ts';
import { cvss31BaseScore } from './cvss31.ts';
import { cvss40Score } from './cvss40.ts';
import type { Fix, KbAdvisory, KbCve, KbProduct, KbTechnique, KnowledgeBase } from './kb-types.ts';
import { normaliseVendor } from './vendors.ts';

const FILES = {
  medical: 'icsadvprj/medical_subset_ICSMA_plus_HPH.csv',
  csaf: 'cisa-csaf-icsma/json',
  kev: 'cisa-kev/known_exploited_vulnerabilities.json',
  vulnrichment: 'derived/vulnrichment_medical_cves.csv',
  attack: 'mitre-attack-ics/ics-attack-18.1_stix21.json',
} as const;

function need(dir: string, rel: string): string {
  const path = join(dir, rel);
  if (!existsSync(path)) throw new UserError(ErrorCode.INPUT_UNREADABLE, `knowledge source missing: ${path} (expected the layout of ../shared/knowledge)`);
  return path;
}

/** M/D/YYYY → YYYY-MM-DD. */
function isoDate(mdy: string): string | null {
  const m = /^(\d{1,2})\/(\d{1,2})\/(\d{4})$/.exec(mdy.trim());
  return m ? `${m[3]}-${m[1].padStart(2, '0')}-${m[2].padStart(2, '0')}` : null;
}

/** Advisory id without its update letter: ICSMA-17-017-02B → ICSMA-17-017-02. */
export function baseAdvisoryId(id: string): string {
  return id.trim().toUpperCase().replace(/([0-9])[A-Z]$/, '$1');
}

/** A remediation that points at new software (an update, upgrade, patch or fixed version). */
const FIX = /\b(update|upgrade|patch|fixed|firmware|software version|version \d|v\d)/i;
/** Wording that says no fix exists (yet), or that only end-of-life replacement helps. */
const NO_FIX = /\bnot (yet )?(developed|released|available|plan)|\bno (product )?(fix|patch|update)|\bhas no plans\b|\bwill not\b|end[- ]of[- ]life/i;

function safeScore(fn: (v: string) => number, vector: string | null): number | null {
  if (!vector) return null;
  try {
    return fn(vector);
  } catch {
    return null;
  }
}

interface CsafProductRef {
  vendor: string;
  name: string;
  versions: string;
  pid: string;
}

function csafProducts(tree: unknown): CsafProductRef[] {
  const out: CsafProductRef[] = [];
  const walk = (node: Record<string, unknown>, vendor: string, name: string) => {
    const category = node.category as string;
    const nodeName = String(node.name ?? '');
    const v = category === 'vendor' ? nodeName : vendor;
    const n = category === 'product_name' ? nodeName : name;
    const product = node.product as { product_id?: string; name?: string } | undefined;
    if (product?.product_id) {
      const versions = category === 'product_version' || category === 'product_version_range' ? nodeName : 'vers:all/*';
      out.push({ vendor: v, name: n || String(product.name ?? ''), versions, pid: product.product_id });
    }
    for (const child of (node.branches as Record<string, unknown>[] | undefined) ?? []) walk(child, v, n);
  };
  for (const b of ((tree as { branches?: Record<string, unknown>[] } | undefined)?.branches ?? [])) walk(b, '', '');
  return out;
}

function attackTechniques(bundlePath: string): KbTechnique[] {
  const bundle = JSON.parse(readFileSync(bundlePath, 'utf8')) as { objects: Record<string, unknown>[] };
  const live = (o: Record<string, unknown>) => !o.revoked && !o.x_mitre_deprecated;
  const extId = (o: Record<string, unknown>) => ((o.external_references as { source_name: string; external_id?: string; url?: string }[] | undefined) ?? []).find((r) => r.source_name === 'mitre-attack');
  const mitigations = new Map<string, { id: string; name: string }>();
  for (const o of bundle.objects) if (o.type === 'course-of-action' && live(o)) mitigations.set(o.id as string, { id: extId(o)?.external_id ?? '', name: o.name as string });
  const byTechnique = new Map<string, { id: string; name: string }[]>();
  for (const o of bundle.objects) {
    if (o.type !== 'relationship' || o.relationship_type !== 'mitigates' || !live(o)) continue;
    const m = mitigations.get(o.source_ref as string);
    if (!m) continue;
    const list = byTechnique.get(o.target_ref as string) ?? [];
    list.push(m);
    byTechnique.set(o.target_ref as string, list);
  }
  const out: KbTechnique[] = [];
  for (const o of bundle.objects) {
    if (o.type !== 'attack-pattern' || !live(o)) continue;
    const ref = extId(o);
    if (!ref?.external_id) continue;
    const description = String(o.description ?? '').split('\n')[0].replace(/\(Citation:[^)]*\)/g, '').trim();
    out.push({
      id: ref.external_id,
      name: o.name as string,
      tactics: ((o.kill_chain_phases as { phase_name: string }[] | undefined) ?? []).map((k) => k.phase_name),
      description,
      url: ref.url ?? `https://attack.mitre.org/techniques/${ref.external_id}`,
      mitigations: (byTechnique.get(o.id as string) ?? []).sort((a, b) => a.id.localeCompare(b.id)),
    });
  }
  return out.sort((a, b) => a.id.localeCompare(b.id));
}

/** Makers whose OUIs the knowledge base keeps: medical device makers and the embedded radio/serial modules EMDs are built on. */
const OUI_KEEP = /philips medical|philips patient|philips healthcare|dr.gerwerk|draeger|medtronic|baxter|b\.? ?braun|becton|carefusion|ge ?health|ge medical|siemens health|welch ?allyn|hill-rom|mindray|nihon ?kohden|spacelabs|smiths ?medical|hospira|icu ?medical|fresenius|alaris|masimo|zoll|stryker|natus|nonin|edan|omron health|roche|abbott|boston scientific|biotronik|st\. ?jude|carestream|fujifilm|canon medical|hologic|varian|elekta|olympus medical|karl storz|getinge|maquet|hamilton medical|vyaire|capsule tech|silex|digi international|lantronix|espressif|raspberry pi|murata|laird|texas instruments|microchip/i;

/** OUI prefixes (24-bit, `00:09:5C`) of the makers above, from a Wireshark `manuf` file (IEEE registry data). */
export function ouiSubset(manufPath: string): Record<string, string> {
  const out: Record<string, string> = {};
  if (!existsSync(manufPath)) return out;
  for (const line of readFileSync(manufPath, 'utf8').split('\n')) {
    if (line.startsWith('#') || line.trim() === '') continue;
    const [prefix, short, long] = line.split('\t');
    if (!/^[0-9A-F]{2}:[0-9A-F]{2}:[0-9A-F]{2}$/.test(prefix ?? '')) continue;
    const name = (long ?? short ?? '').trim();
    if (OUI_KEEP.test(name)) out[prefix] = name;
  }
  return out;
}

/** Build the knowledge base from a directory laid out like ../shared/knowledge. Deterministic for the same input. */
export function buildKnowledgeBase(dir: string, options: { manuf?: string } = {}): KnowledgeBase {
  const missing = Object.values(FILES).filter((rel) => !existsSync(join(dir, rel)));
  if (missing.length > 0) throw new UserError(ErrorCode.INPUT_UNREADABLE, `knowledge sources missing in ${dir}: ${missing.join(', ')} (expected the layout of ../shared/knowledge)`);
  const unmapped = new Set<string>();
  const vendorsOf = (written: string): string[] => {
    const r = normaliseVendor(written);
    if (!r.known && written.trim() !== '') unmapped.add(written.trim());
    return r.names;
  };

  // KEV, restricted later to the CVEs of medical advisories.
  const kevAll = JSON.parse(readFileSync(need(dir, FILES.kev), 'utf8')) as { vulnerabilities: { cveID: string; dateAdded: string; knownRansomwareCampaignUse: string }[] };
  const kev = new Map(kevAll.vulnerabilities.map((k) => [k.cveID, { date_added: k.dateAdded, ransomware: k.knownRansomwareCampaignUse }]));

  const ssvc = new Map<string, { exploitation: string; automatable: string; technical_impact: string; adp_cvss3: string; cna_cvss3: string; cna_cvss4: string }>();
  for (const { values: r } of csvObjects(readFileSync(need(dir, FILES.vulnrichment), 'utf8')).rows) {
    ssvc.set(r.cve, { exploitation: r.ssvc_exploitation, automatable: r.ssvc_automatable, technical_impact: r.ssvc_technical_impact, adp_cvss3: r.adp_cvss3, cna_cvss3: r.cna_cvss3, cna_cvss4: r.cna_cvss4 });
  }

  // Latest revision of each advisory: the row with the latest Last_Updated, then the highest project id.
  const latest = new Map<string, Record<string, string>>();
  for (const { values: r } of csvObjects(readFileSync(need(dir, FILES.medical), 'utf8')).rows) {
    const id = baseAdvisoryId(r['ICS-CERT_Number']);
    const prev = latest.get(id);
    const key = (x: Record<string, string>) => `${isoDate(x.Last_Updated) ?? ''}|${x.icsad_ID.padStart(8, '0')}`;
    if (!prev || key(r) > key(prev)) latest.set(id, r);
  }

  // CSAF files by advisory id (the file's tracking id is the latest revision).
  const csafDir = need(dir, FILES.csaf);
  const csafById = new Map<string, Record<string, unknown>>();
  for (const file of readdirSync(csafDir).filter((f) => f.endsWith('.json')).sort()) {
    const doc = JSON.parse(readFileSync(join(csafDir, file), 'utf8')) as Record<string, unknown>;
    const tracking = (doc.document as { tracking?: { id?: string } }).tracking;
    const id = baseAdvisoryId(tracking?.id ?? file.replace(/\.json$/, ''));
    csafById.set(id, doc);
  }

  const advisories: KbAdvisory[] = [];
  const ids = new Set([...latest.keys(), ...csafById.keys()]);
  for (const id of [...ids].sort()) {
    const row = latest.get(id);
    const csaf = csafById.get(id);
    const doc = csaf?.document as { title?: string; tracking?: { id?: string; initial_release_date?: string; current_release_date?: string } } | undefined;
    const vendorWritten = row?.Vendor ?? '';
    let products: KbProduct[] = [];
    let cves: KbCve[] = [];
    const kevOf = (cve: string) => kev.get(cve) ?? null;
    const ssvcOf = (cve: string) => {
      const s = ssvc.get(cve);
      return s && s.exploitation ? { exploitation: s.exploitation, automatable: s.automatable, technical_impact: s.technical_impact } : null;
    };
    if (csaf) {
      const refs = csafProducts(csaf.product_tree);
      const pidIndex = new Map<string, number>();
      products = refs.map((p, i) => {
        pidIndex.set(p.pid, i);
        return { vendor: vendorsOf(p.vendor)[0], name: p.name, versions: p.versions };
      });
      const vulns = (csaf.vulnerabilities as Record<string, unknown>[] | undefined) ?? [];
      cves = vulns
        .filter((v) => typeof v.cve === 'string')
        .map((v) => {
          const cve = v.cve as string;
          const scores = (v.scores as { cvss_v3?: { vectorString?: string; baseScore?: number }; cvss_v4?: { vectorString?: string; baseScore?: number } }[] | undefined) ?? [];
          const v3 = scores.find((s) => s.cvss_v3)?.cvss_v3;
          const v4 = scores.find((s) => s.cvss_v4)?.cvss_v4;
          const fixes: Fix[] = ((v.remediations as { category: string; details?: string; url?: string }[] | undefined) ?? []).map((r) => ({
            category: r.category,
            details: (r.details ?? '').slice(0, 300),
            url: r.url ?? null,
          }));
          const status = (v.product_status as { known_affected?: string[] } | undefined)?.known_affected ?? [];
          const cwe = v.cwe as { id?: string; name?: string } | undefined;
          const vector3 = v3?.vectorString ?? null;
          const vector4 = v4?.vectorString ?? null;
          return {
            cve,
            cwe: cwe?.id ?? null,
            cwe_name: cwe?.name ?? null,
            cvss3_vector: vector3,
            cvss3_score: v3?.baseScore ?? null,
            cvss3_score_computed: safeScore(cvss31BaseScore, vector3),
            cvss4_vector: vector4,
            cvss4_score: v4?.baseScore ?? safeScore(cvss40Score, vector4),
            score_source: vector3 || vector4 ? 'cisa-csaf' : null,
            kev: kevOf(cve),
            ssvc: ssvcOf(cve),
            fix_available: fixes.some((f) => f.category === 'vendor_fix' && FIX.test(f.details) && !NO_FIX.test(f.details)),
            fixes,
            products: status.map((pid) => pidIndex.get(pid)).filter((i): i is number => i !== undefined),
          };
        });
    }
    if (!csaf && row) {
      const vendors = vendorsOf(vendorWritten);
      products = [{ vendor: vendors[0], name: row.Product.trim(), versions: row.Products_Affected.trim() }];
      const headline = Number(row.Cumulative_CVSS);
      cves = row.CVE_Number.split(',')
        .map((c) => c.trim())
        .filter((c) => /^CVE-\d{4}-\d+$/.test(c))
        .map((cve) => {
          const s = ssvc.get(cve);
          const vector3 = s?.cna_cvss3 || s?.adp_cvss3 || null;
          const vector4 = s?.cna_cvss4 || null;
          return {
            cve,
            cwe: null,
            cwe_name: null,
            cvss3_vector: vector3,
            cvss3_score: safeScore(cvss31BaseScore, vector3),
            cvss3_score_computed: safeScore(cvss31BaseScore, vector3),
            cvss4_vector: vector4,
            cvss4_score: safeScore(cvss40Score, vector4),
            // Without a per-CVE vector only the advisory's headline score is known (not the CVE's own).
            score_source: vector3 || vector4 ? 'cisa-adp' : Number.isFinite(headline) ? 'advisory-headline' : null,
            kev: kevOf(cve),
            ssvc: ssvcOf(cve),
            fix_available: false,
            fixes: [],
            products: [0],
          };
        });
    }
    const headline = row ? Number(row.Cumulative_CVSS) : NaN;
    const cwes = row
      ? row.CWE_Number.split(',').map((c) => c.trim()).filter((c) => /^CWE-\d+$/.test(c))
      : [...new Set(cves.map((c) => c.cwe).filter((c): c is string => c !== null))];
    advisories.push({
      id,
      revision: row?.['ICS-CERT_Number'].trim() ?? doc?.tracking?.id ?? id,
      title: row?.['ICS-CERT_Advisory_Title'].trim() ?? doc?.title ?? id,
      vendor_written: vendorWritten || (csaf ? csafProducts(csaf.product_tree)[0]?.vendor ?? '' : ''),
      vendors: [...new Set(row ? vendorsOf(vendorWritten) : products.map((p) => p.vendor))],
      released: row ? isoDate(row.Original_Release_Date) : doc?.tracking?.initial_release_date?.slice(0, 10) ?? null,
      updated: row ? isoDate(row.Last_Updated) : doc?.tracking?.current_release_date?.slice(0, 10) ?? null,
      headline_cvss: Number.isFinite(headline) ? headline : null,
      severity: row?.CVSS_Severity || null,
      cwes,
      detail: csaf ? 'csaf' : 'csv',
      products,
      cves,
    });
  }

  const attack = attackTechniques(need(dir, FILES.attack));
  const allCves = new Set(advisories.flatMap((a) => a.cves.map((c) => c.cve)));
  return {
    format: 1,
    sources: [
      { name: 'ICS Advisory Project: CISA ICS advisories, medical subset', origin: 'github.com/icsadvprj/ICS-Advisory-Project', licence: 'ODbL 1.0 (© ICS Advisory Project); this derived database stays under ODbL' },
      { name: 'CISA CSAF files for ICSMA advisories', origin: 'github.com/cisagov/CSAF', licence: 'US government work, TLP:CLEAR' },
      { name: 'CISA Known Exploited Vulnerabilities', origin: 'github.com/cisagov/kev-data', licence: 'CC0 1.0' },
      { name: 'CISA vulnrichment (SSVC)', origin: 'github.com/cisagov/vulnrichment', licence: 'CC0 1.0' },
      { name: 'IEEE OUI registry (subset: medical and embedded-module makers), via the Wireshark manuf file', origin: 'standards-oui.ieee.org', licence: 'public registry data' },
      { name: 'MITRE ATT&CK for ICS v18.1', origin: 'github.com/mitre-attack/attack-stix-data', licence: '© 2025 The MITRE Corporation. This work is reproduced and distributed with the permission of The MITRE Corporation.' },
    ],
    counts: {
      advisories: advisories.length,
      advisories_with_csaf: advisories.filter((a) => a.detail === 'csaf').length,
      cves: allCves.size,
      kev_cves: [...allCves].filter((c) => kev.has(c)).length,
      ssvc_cves: [...allCves].filter((c) => ssvc.get(c)?.exploitation).length,
      attack_ics_techniques: attack.length,
    },
    unmapped_vendors: [...unmapped].sort(),
    oui: ouiSubset(options.manuf ?? '/usr/share/wireshark/manuf'),
    advisories,
    attack_ics: attack,
  };
}
