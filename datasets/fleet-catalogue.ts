/**
 * The catalogue the fleet simulator draws from: real medical product lines and their CVEs from
 * the public knowledge sources (ICS Advisory Project medical subset, CISA CSAF ICSMA flattened,
 * CISA KEV, CISA vulnrichment SSVC). Only the product names, CVE ids, scores and signals are real;
 * which hospital owns which device is simulated.
 */
import { fileURLToPath } from 'node:url';
import { ErrorCode, UserError } from '../pipeline/errors.ts';
import type { Criticality } from '../operators/rama/model.ts';
import { readCsvFile, type CsvText } from './csv.ts';

/** Default location of the shared knowledge sources (../shared/knowledge from the project). */
export const DEFAULT_KNOWLEDGE_DIR = fileURLToPath(new URL('../../shared/knowledge/', import.meta.url));

/** One CVE as the catalogue knows it. */
export interface CatalogueCve {
  readonly cve: string;
  readonly cvssBase: number;
  readonly cvssVersion: '3.0' | '3.1' | '4.0' | 'headline';
  readonly cvssVector: string | null;
  readonly kev: boolean;
  readonly exploitation: 'none' | 'poc' | 'active';
  readonly automatable: boolean;
  readonly fixAvailable: boolean;
}

/** A real product line from an advisory, with the criticality and class we infer from its name. */
export interface ProductLine {
  readonly advisory: string;
  readonly make: string;
  readonly model: string;
  readonly criticality: Criticality;
  readonly deviceClass: string;
  readonly cves: readonly CatalogueCve[];
}

/** Inferred from product names: first matching rule wins (worst criticality first). */
const CRITICALITY_RULES: readonly [RegExp, Criticality, string][] = [
  [/pyxis|medstation|supplystation|exactamix/i, 'workflow', 'medication-dispensing'],
  [/air system|medical air|washer|disinfect|pg 85|sterili|nurse call|printer/i, 'non-clinical', 'facility-system'],
  [/ventilat|respirator/i, 'life-sustaining', 'ventilator'],
  [/defibrillat|pacemak|\bicd\b|implant|accent|assurity|cardiac rhythm|heart/i, 'life-sustaining', 'cardiac-implant'],
  [/anesthe|anaesthe|infinity delta|perfusion/i, 'life-sustaining', 'anaesthesia-system'],
  [/pump|infusion|syringe|alaris|sigma|plum|symbiq|medfusion|cadd|spacecom|\bpca\b|insulin/i, 'therapy', 'infusion-pump'],
  [/dialys|radiation|linac|therap|programmer|cpap|generator|surgical|endo-surgery/i, 'therapy', 'therapy-device'],
  [/monitor|telemetry|intellivue|mx40|central station|carescape|oximet|merlin|carelink|transmitter|alert|capsule|patient worn/i, 'monitoring', 'patient-monitor'],
  [/imaging|\bmri\b|\bct\b|x-ray|xray|ultrasound|scanner|molecular|mammo|vivid|radiograph|fluoro|angio/i, 'diagnosis', 'imaging'],
  [/analy[sz]er|\blab|diagnost|carto|neuroworks|facs|kiestra|sleep|alice|ecg|cardiograph|point of care|glucose|blood/i, 'diagnosis', 'diagnostic-device'],
];

/** Criticality and device class from a product name; anything else is clinical workflow IT. */
export function classifyProduct(name: string): { criticality: Criticality; deviceClass: string } {
  for (const [re, criticality, deviceClass] of CRITICALITY_RULES) if (re.test(name)) return { criticality, deviceClass };
  return { criticality: 'workflow', deviceClass: 'clinical-software' };
}

function column(csv: CsvText, name: string): number {
  const i = csv.header.indexOf(name);
  if (i < 0) throw new UserError(ErrorCode.INPUT_MALFORMED, `${csv.path}: column ${name} is missing`);
  return i;
}

/** Advisory id without its revision letter: ICSMA-17-009-01A → ICSMA-17-009-01. */
function baseId(id: string): string {
  return id.trim().replace(/(-\d+)[A-Z]$/, '$1');
}

/** Load the catalogue from the knowledge directory (files named in the knowledge README). */
export function loadCatalogue(dir: string = DEFAULT_KNOWLEDGE_DIR): ProductLine[] {
  const kevCsv = readCsvFile(`${dir}/cisa-kev/known_exploited_vulnerabilities.csv`);
  const kevIdx = column(kevCsv, 'cveID');
  const kev = new Set(kevCsv.rows.map((r) => r[kevIdx]));

  const ssvcCsv = readCsvFile(`${dir}/derived/vulnrichment_medical_cves.csv`);
  const [sCve, sExp, sAuto] = ['cve', 'ssvc_exploitation', 'ssvc_automatable'].map((n) => column(ssvcCsv, n));
  const ssvc = new Map(ssvcCsv.rows.map((r) => [r[sCve], { exploitation: r[sExp], automatable: r[sAuto] === 'yes' }]));

  const flat = readCsvFile(`${dir}/derived/cisagov_csaf_icsma_vulns_flat.csv`);
  const [fCve, fVer, fBase, fVec, f4, f4v, fRem, fRel] = ['cve', 'cvss_version', 'cvss_base_score', 'cvss_vector', 'cvss4_score', 'cvss4_vector', 'remediation_categories', 'current_release'].map((n) => column(flat, n));
  const detail = new Map<string, { base: number; version: CatalogueCve['cvssVersion']; vector: string | null; fix: boolean; release: string }>();
  for (const r of flat.rows) {
    const v4 = Number.parseFloat(r[f4]);
    const v3 = Number.parseFloat(r[fBase]);
    const entry = Number.isFinite(v4)
      ? { base: v4, version: '4.0' as const, vector: r[f4v] || null, fix: r[fRem].includes('vendor_fix'), release: r[fRel] }
      : Number.isFinite(v3)
        ? { base: v3, version: (r[fVer] === '3.0' ? '3.0' : '3.1') as CatalogueCve['cvssVersion'], vector: r[fVec] || null, fix: r[fRem].includes('vendor_fix'), release: r[fRel] }
        : null;
    const prev = detail.get(r[fCve]);
    if (entry && (!prev || prev.release < entry.release)) detail.set(r[fCve], entry); // the latest advisory wins
  }

  const med = readCsvFile(`${dir}/icsadvprj/medical_subset_ICSMA_plus_HPH.csv`);
  const [mId, mRow, mVendor, mProduct, mTitle, mCves, mCvss] = ['ICS-CERT_Number', 'icsad_ID', 'Vendor', 'Product', 'ICS-CERT_Advisory_Title', 'CVE_Number', 'Cumulative_CVSS'].map((n) => column(med, n));
  const latest = new Map<string, readonly string[]>();
  for (const r of med.rows) {
    const id = baseId(r[mId]);
    const prev = latest.get(id);
    if (!prev || Number(prev[mRow]) < Number(r[mRow])) latest.set(id, r); // one row per revision: keep the newest
  }
  const lines: ProductLine[] = [];
  for (const [advisory, r] of [...latest].sort((a, b) => (a[0] < b[0] ? -1 : 1))) {
    const headline = Number.parseFloat(r[mCvss]);
    const cves: CatalogueCve[] = [];
    for (const raw of r[mCves].split(',')) {
      const cve = raw.trim();
      if (!/^CVE-\d{4}-\d+$/.test(cve)) continue;
      const d = detail.get(cve);
      const base = d?.base ?? headline;
      if (!Number.isFinite(base)) continue;
      const s = ssvc.get(cve);
      const isKev = kev.has(cve);
      const exploitation = isKev ? 'active' : s?.exploitation === 'active' || s?.exploitation === 'poc' ? s.exploitation : 'none';
      cves.push({ cve, cvssBase: base, cvssVersion: d?.version ?? 'headline', cvssVector: d?.vector ?? null, kev: isKev, exploitation, automatable: s?.automatable ?? false, fixAvailable: d?.fix ?? true });
    }
    const make = r[mVendor].trim().replace(/\s+/g, ' ');
    const model = r[mProduct].trim().replace(/\s+/g, ' ');
    const { criticality, deviceClass } = classifyProduct(`${model} ${r[mTitle]}`);
    lines.push({ advisory, make, model, criticality, deviceClass, cves });
  }
  return lines;
}
