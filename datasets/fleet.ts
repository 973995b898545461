/**
 * SYNTHETIC hospital fleets for demos, tests and benchmarks. Every row is labelled
 * `synthetic = true` and every id starts with `SYN-`. Product lines, CVEs, CVSS scores, KEV and
 * SSVC signals are real (fleet-catalogue.ts); which hospital owns which devices, their patch
 * level, network controls, hunt findings and attacks are drawn from a seeded generator.
 */
import { createHash } from 'node:crypto';
import type { DetectionRow } from '../operators/detections-schema.ts';
import type { FindingRow } from '../operators/findings-schema.ts';
import { seededRandom, type Random } from '../operators/rama/dp.ts';
import { CRITICALITIES, type Criticality, type Severity } from '../operators/rama/model.ts';
import type { DeviceRow, DeviceVulnRow, SiteRow } from '../operators/rama/tables.ts';
import type { ProductLine } from './fleet-catalogue.ts';

/** Options of a simulated fleet. */
export interface FleetOptions {
  readonly hospitals: number;
  readonly seed: number;
  /** Time the fleet is observed at (epoch microseconds); findings and attacks fall before it. */
  readonly asOf: number;
  /** Exact total number of devices (hospital sizes are scaled to it); default: sizes as drawn. */
  readonly devices?: number;
}

/**
 * A simulated fleet as table rows: RAMA's `rama_sites`, `rama_devices`, `rama_device_vulns`, and
 * the hunt's `findings` and the classifier's `detections` in those operators' own schemas (their
 * `sensor_id`/`model` is `SYN-fleet` and their evidence says SYNTHETIC).
 */
export interface Fleet {
  readonly sites: SiteRow[];
  readonly devices: DeviceRow[];
  readonly vulns: DeviceVulnRow[];
  readonly findings: FindingRow[];
  readonly detections: DetectionRow[];
}

/** Share of each criticality in a hospital's device mix. */
const MIX: Readonly<Record<Criticality, number>> = { 'life-sustaining': 0.06, therapy: 0.3, diagnosis: 0.14, monitoring: 0.25, workflow: 0.15, 'non-clinical': 0.1 };
/** Units where devices of a criticality live. */
const UNITS: Readonly<Record<Criticality, readonly string[]>> = {
  'life-sustaining': ['ICU', 'OR'],
  therapy: ['ICU', 'Ward-A', 'Ward-B', 'Oncology'],
  diagnosis: ['Radiology', 'Lab', 'Cardiology'],
  monitoring: ['ICU', 'ED', 'Ward-A', 'Ward-B'],
  workflow: ['IT', 'Radiology', 'Pharmacy'],
  'non-clinical': ['Facilities', 'IT'],
};
/** Devices of no advisory, so that non-clinical mixes are not empty (labelled generic). */
const GENERIC: readonly ProductLine[] = [
  { advisory: 'none', make: 'Generic (synthetic)', model: 'Network printer', criticality: 'non-clinical', deviceClass: 'printer', cves: [] },
  { advisory: 'none', make: 'Generic (synthetic)', model: 'Badge reader', criticality: 'non-clinical', deviceClass: 'access-control', cves: [] },
  { advisory: 'none', make: 'Generic (synthetic)', model: 'Building controller', criticality: 'non-clinical', deviceClass: 'building-automation', cves: [] },
];
/** Hunt rules (knowledge/rules.json ids and severities) the simulator raises, with a base probability per device. */
const FINDINGS: readonly [string, Severity, string, number][] = [
  ['default-credentials', 'critical', 'weak-authentication', 0.03],
  ['telnet-service', 'high', 'weak-authentication', 0.05],
  ['cleartext-hl7', 'high', 'cleartext-clinical-data', 0.08],
  ['unsupported-os', 'high', 'outdated-software', 0.06],
  ['obsolete-tls-version', 'medium', 'obsolete-crypto', 0.12],
  ['ftp-service', 'medium', 'weak-authentication', 0.04],
  ['weak-tls-cipher', 'high', 'obsolete-crypto', 0.05],
  ['internet-communication', 'low', 'exposure', 0.1],
];
/** Threats of simulated attack campaigns (ENISA ids), with the classifier label that would report them. */
const THREATS: readonly [string, string][] = [
  ['denial-of-service', 'DDoS'],
  ['malware', 'Malware'],
  ['ransomware', 'Ransomware'],
  ['web-based-attacks', 'Recon'],
  ['web-application-attacks', 'Spoofing'],
  ['identity-theft', 'BruteForce'],
  ['cryptojacking', 'Cryptojacking'],
];
const SIZES = [
  { size: 'small', p: 0.4, min: 40, max: 120 },
  { size: 'medium', p: 0.4, min: 150, max: 300 },
  { size: 'large', p: 0.2, min: 300, max: 600 },
] as const;
const TYPES = ['general', 'general', 'teaching', 'specialty', 'community'] as const;
const REGIONS = ['EU-West', 'EU-North', 'EU-South', 'NA-East', 'NA-West', 'APAC'] as const;
const DAY = 86_400_000_000;

function pick<T>(random: Random, items: readonly T[]): T {
  return items[Math.floor(random() * items.length)];
}

function hex16(text: string): string {
  return createHash('sha1').update(text).digest('hex').slice(0, 16);
}

function pad(n: number, width: number): string {
  return String(n).padStart(width, '0');
}

/** Simulate `hospitals` hospitals; the same catalogue, options and seed give the same fleet. */
export function simulateFleet(catalogue: readonly ProductLine[], options: FleetOptions): Fleet {
  if (!(Number.isInteger(options.hospitals) && options.hospitals >= 1)) throw new RangeError(`fleet: invalid hospitals: ${options.hospitals}`);
  if (options.devices !== undefined && !(Number.isInteger(options.devices) && options.devices >= options.hospitals)) {
    throw new RangeError(`fleet: invalid devices: ${options.devices} (need an integer ≥ hospitals)`);
  }
  const random = seededRandom(options.seed);
  const lines: Record<Criticality, ProductLine[]> = { 'life-sustaining': [], therapy: [], diagnosis: [], monitoring: [], workflow: [], 'non-clinical': [...GENERIC] };
  for (const l of catalogue) lines[l.criticality].push(l);
  for (const c of CRITICALITIES) if (lines[c].length === 0) throw new RangeError(`fleet: the catalogue has no ${c} product line`);

  const profiles = Array.from({ length: options.hospitals }, (_, h) => {
    const r = random();
    const size = r < SIZES[0].p ? SIZES[0] : r < SIZES[0].p + SIZES[1].p ? SIZES[1] : SIZES[2];
    return { h, size: size.size, count: size.min + Math.floor(random() * (size.max - size.min + 1)), type: pick(random, TYPES), region: pick(random, REGIONS), maturity: random() };
  });
  if (options.devices !== undefined) {
    // Scale sizes to the requested total; the rounding residue goes to the largest hospitals.
    const total = profiles.reduce((s, p) => s + p.count, 0);
    let assigned = 0;
    for (const p of profiles) assigned += p.count = Math.max(1, Math.floor((p.count * options.devices) / total));
    const bySize = [...profiles].sort((a, b) => b.count - a.count || a.h - b.h);
    for (let i = 0; assigned !== options.devices; i = (i + 1) % bySize.length) {
      const step = assigned < options.devices ? 1 : -1;
      if (bySize[i].count + step >= 1) {
        bySize[i].count += step;
        assigned += step;
      }
    }
  }

  const fleet: Fleet = { sites: [], devices: [], vulns: [], findings: [], detections: [] };
  for (const p of profiles) {
    const site = `SYN-H${pad(p.h + 1, 4)}`;
    fleet.sites.push({ site, name: `Synthetic hospital ${p.h + 1}`, size: p.size, type: p.type, region: p.region, synthetic: true });
    // A hospital standardises on a few product lines per criticality.
    const owned = {} as Record<Criticality, ProductLine[]>;
    for (const c of CRITICALITIES) owned[c] = Array.from({ length: 1 + Math.floor(random() * 3) }, () => pick(random, lines[c]));
    const patchRate = 0.2 + 0.7 * p.maturity;
    const segmentRate = 0.1 + 0.8 * p.maturity;
    const exposureRate = 0.12 * (1 - p.maturity);
    const hygiene = 1.5 - p.maturity;
    const campaign = random() < 0.25 ? pick(random, THREATS) : null;
    const campaignReach = 0.02 + 0.08 * random();
    for (let d = 0; d < p.count; d++) {
      let r = random();
      let crit: Criticality = 'non-clinical';
      for (const c of CRITICALITIES) {
        if (r < MIX[c]) {
          crit = c;
          break;
        }
        r -= MIX[c];
      }
      const line = pick(random, owned[crit]);
      const device = `${site}-D${pad(d + 1, 5)}`;
      const address = `10.${(p.h >> 8) & 255}.${p.h & 255}.${d}`; // a synthetic plan: one /16-ish block per hospital
      fleet.devices.push({
        device,
        site,
        address,
        unit: pick(random, UNITS[crit]),
        make: line.make,
        model: line.model,
        version: null,
        device_class: line.deviceClass,
        criticality: crit,
        segmented: random() < segmentRate,
        internet_exposed: random() < exposureRate,
        synthetic: true,
      });
      // Not every unit runs an affected version; a patched unit has every available fix.
      if (line.cves.length > 0 && random() < 0.75) {
        const patched = random() < patchRate;
        for (const v of line.cves) {
          fleet.vulns.push({
            device,
            site,
            cve: v.cve,
            advisory: line.advisory,
            cvss_base: v.cvssBase,
            cvss_version: v.cvssVersion,
            cvss_vector: v.cvssVector,
            rubric_adjusted_base: null,
            kev: v.kev,
            exploitation: v.exploitation,
            automatable: v.automatable,
            fix_available: v.fixAvailable,
            fix_applied: patched && v.fixAvailable,
            synthetic: true,
          });
        }
      }
      for (const [rule, severity, category, prob] of FINDINGS) {
        if (random() >= prob * hygiene) continue;
        const seen = options.asOf - Math.floor(random() * 7 * DAY);
        fleet.findings.push({
          finding_id: hex16(`${site}\u0000${rule}\u0000${address}\u0000`),
          site_id: site,
          sensor_id: 'SYN-fleet',
          batch_id: `SYN-fleet:${options.seed}`,
          rule_id: rule,
          rule_version: 1,
          title: `${rule} (synthetic)`,
          category,
          severity,
          device: address,
          device_mac: null,
          peer: null,
          subject: null,
          first_seen: seen,
          last_seen: seen,
          flow_count: 1,
          evidence: 'SYNTHETIC: raised by the fleet simulator, not observed',
          evidence_json: '{"synthetic":true}',
          default_credential: null,
          enisa: '',
          owasp: '',
          owasp_iot: '',
          attack_ics: '',
        });
      }
      const attacks: [string, string][] = [];
      if (campaign && random() < campaignReach) for (let k = 1 + Math.floor(random() * 4); k > 0; k--) attacks.push(campaign);
      if (random() < 0.01) attacks.push(pick(random, THREATS));
      for (const [threat, label] of attacks) {
        const flowId = `SYN-flow-${site}-${fleet.detections.length}`;
        fleet.detections.push({
          detection_id: hex16(`${flowId}\u0000SYN-fleet`),
          flow_id: flowId,
          site_id: site,
          device: address,
          ts: options.asOf - Math.floor(random() * 60 * DAY),
          model: 'SYN-fleet-simulator',
          label,
          confidence: Math.round((0.5 + 0.5 * random()) * 1000) / 1000,
          threat,
          owasp: null,
          owasp_iot: null,
          attack_ics: null,
          top1_feature: null,
          top1_value: null,
          top1_share: null,
          top2_feature: null,
          top2_value: null,
          top2_share: null,
          top3_feature: null,
          top3_value: null,
          top3_share: null,
          benign: false,
        });
      }
    }
  }
  return fleet;
}
