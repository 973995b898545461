/**
 * From stored rows to RAMA inputs. `inputsFromRows` is pure: rows of the declared input tables
 * (tables.ts) in, one DeviceRiskInput per device out, bad rows as dead letters with the reason.
 * `readInputRows` fetches those rows through any SQL query function (the DuckDB store's `all`),
 * so this module never imports DuckDB; the SQL is the one place that maps other producers'
 * column names onto RAMA's.
 */
import { createHash } from 'node:crypto';
import type { DeadLetter } from '../../pipeline/types.ts';
import { DETECTIONS_VERSION } from '../detections-schema.ts';
import { FINDINGS_SCHEMA_VERSION } from '../findings-schema.ts';
import { CRITICALITIES, SEVERITIES, type AttackInput, type AttackVector, type Criticality, type DeviceRiskInput, type Exploitation, type FindingInput, type Severity, type VulnInput } from './model.ts';
import { RAMA_INPUT_VERSION } from './tables.ts';

/** Severity of a threat when the detection does not say, by ENISA Threat Landscape id. */
export const THREAT_SEVERITY: Readonly<Record<string, Severity>> = {
  ransomware: 'critical',
  malware: 'high',
  botnets: 'high',
  'denial-of-service': 'high',
  'data-breaches': 'high',
  'cyber-espionage': 'high',
  'physical-manipulation': 'high',
  'web-application-attacks': 'medium',
  'web-based-attacks': 'medium',
  phishing: 'medium',
  'identity-theft': 'medium',
  'insider-threat': 'medium',
  'information-leakage': 'medium',
  cryptojacking: 'medium',
  spam: 'low',
};
/** Severity of a threat that is not in THREAT_SEVERITY. */
export const UNKNOWN_THREAT_SEVERITY: Severity = 'high';

/** A threat name or id as an ENISA id: `Denial of service` → `denial-of-service`. */
export function threatId(threat: string): string {
  return threat.trim().toLowerCase().replace(/[\s_]+/g, '-');
}

/** Rows as they come out of the store (timestamps as epoch microseconds). */
export interface InputRows {
  readonly devices: readonly Record<string, unknown>[];
  readonly vulns: readonly Record<string, unknown>[];
  readonly findings: readonly Record<string, unknown>[];
  readonly detections: readonly Record<string, unknown>[];
}

/** Inputs, the rows that could not be used, and the rows about addresses that are no known device. */
export interface AdaptedInputs {
  readonly inputs: DeviceRiskInput[];
  readonly deadLetters: DeadLetter[];
  /** Findings and detections naming an address that is not a device (an outside peer): skipped, counted. */
  readonly unmatched: { findings: number; detections: number };
}

const str = (v: unknown): string | null => (v === null || v === undefined ? null : String(v));
const bool = (v: unknown): boolean | null => (v === null || v === undefined ? null : v === true || v === 'true' || v === 1);

function deviceKey(site: unknown, device: unknown): string {
  return `${String(site)}\u0000${String(device)}`;
}

function vectorAv(vector: string | null): AttackVector | null {
  const m = vector ? /AV:([NALP])/.exec(vector) : null;
  return m ? (m[1] as AttackVector) : null;
}

/**
 * Map rows to inputs. Unknown values resolve to the worse one (criticality null → life-sustaining,
 * segmented null → no, internet_exposed null → yes); rows that cannot be read are dead-lettered.
 */
export function inputsFromRows(rows: InputRows): AdaptedInputs {
  const deadLetters: DeadLetter[] = [];
  const dead = (table: string, row: unknown, reason: string) => deadLetters.push({ input: table, stage: 'rama', reason, payload: JSON.stringify(row, (_k, v) => (typeof v === 'bigint' ? String(v) : v)).slice(0, 4096) });
  type Entry = { base: Omit<DeviceRiskInput, 'vulns' | 'findings' | 'attacks'>; vulns: VulnInput[]; findings: FindingInput[]; attacks: AttackInput[] };
  const byKey = new Map<string, Entry>();
  const byAddress = new Map<string, Entry>();
  const unmatched = { findings: 0, detections: 0 };
  for (const r of rows.devices) {
    const device = str(r.device);
    const site = str(r.site);
    if (!device || !site) {
      dead('rama_devices', r, 'device or site is empty');
      continue;
    }
    const crit = str(r.criticality) ?? 'life-sustaining';
    if (!(CRITICALITIES as readonly string[]).includes(crit)) {
      dead('rama_devices', r, `unknown criticality: ${crit}`);
      continue;
    }
    const key = deviceKey(site, device);
    if (byKey.has(key)) {
      dead('rama_devices', r, `device ${device} of site ${site} is listed twice`);
      continue;
    }
    const address = str(r.address);
    const entry = {
      base: {
        device,
        site,
        unit: str(r.unit) ?? 'unassigned',
        make: str(r.make) ?? 'unknown',
        model: str(r.model) ?? 'unknown',
        criticality: crit as Criticality,
        controls: { segmented: bool(r.segmented) ?? false, internetExposed: bool(r.internet_exposed) ?? true },
      },
      vulns: [] as VulnInput[],
      findings: [] as FindingInput[],
      attacks: [] as AttackInput[],
    };
    byKey.set(key, entry);
    // Findings and detections name a device by its address: index it too (the id wins a clash).
    if (address && address !== device) byAddress.set(deviceKey(site, address), entry);
  }
  const lookup = (site: unknown, device: unknown) => byKey.get(deviceKey(site, device)) ?? byAddress.get(deviceKey(site, device));
  for (const r of rows.vulns) {
    const d = byKey.get(deviceKey(r.site, r.device));
    if (!d) {
      dead('rama_device_vulns', r, `unknown device ${String(r.device)} of site ${String(r.site)}`);
      continue;
    }
    const base = Number(r.cvss_base);
    const rubric = r.rubric_adjusted_base === null || r.rubric_adjusted_base === undefined ? null : Number(r.rubric_adjusted_base);
    const exploitation = (str(r.exploitation) ?? 'none') as Exploitation;
    const version = str(r.cvss_version) ?? 'headline';
    if (!(base >= 0 && base <= 10) || (rubric !== null && !(rubric >= 0 && rubric <= 10))) {
      dead('rama_device_vulns', r, `CVSS base outside 0–10: ${String(r.cvss_base)} / rubric ${String(r.rubric_adjusted_base)}`);
      continue;
    }
    if (!['none', 'poc', 'active'].includes(exploitation)) {
      dead('rama_device_vulns', r, `unknown exploitation: ${exploitation}`);
      continue;
    }
    if (!['3.0', '3.1', '4.0', 'headline'].includes(version)) {
      dead('rama_device_vulns', r, `unknown CVSS version: ${version}`);
      continue;
    }
    d.vulns.push({
      cve: str(r.cve) ?? 'unknown',
      cvssBase: base,
      cvssVersion: version as VulnInput['cvssVersion'],
      rubricAdjustedBase: rubric,
      attackVector: vectorAv(str(r.cvss_vector)),
      kev: bool(r.kev) ?? false,
      exploitation,
      automatable: bool(r.automatable) ?? false,
      fixAvailable: bool(r.fix_available) ?? false,
      fixApplied: bool(r.fix_applied) ?? false,
    });
  }
  for (const r of rows.findings) {
    const d = lookup(r.site, r.device);
    const severity = str(r.severity)?.toLowerCase() ?? '';
    if (!d) unmatched.findings++;
    else if (!(SEVERITIES as readonly string[]).includes(severity)) dead('findings', r, `unknown severity: ${severity}`);
    else d.findings.push({ rule: str(r.rule) ?? 'unknown', severity: severity as Severity });
  }
  for (const r of rows.detections) {
    if (r.benign === true || str(r.label)?.toLowerCase() === 'benign') continue;
    const d = lookup(r.site, r.device) ?? (r.target === null || r.target === undefined ? undefined : lookup(r.site, r.target));
    const threat = threatId(str(r.threat) ?? str(r.label) ?? 'unknown');
    const severity = str(r.severity)?.toLowerCase() ?? THREAT_SEVERITY[threat] ?? UNKNOWN_THREAT_SEVERITY;
    const confidence = Number(r.confidence);
    const ts = Number(r.ts);
    if (!d) unmatched.detections++;
    else if (!(SEVERITIES as readonly string[]).includes(severity)) dead('detections', r, `unknown severity: ${severity}`);
    else if (!(confidence >= 0 && confidence <= 1)) dead('detections', r, `confidence outside 0–1: ${String(r.confidence)}`);
    else if (!Number.isFinite(ts)) dead('detections', r, `timestamp is not a number: ${String(r.ts)}`);
    else d.attacks.push({ threat, severity: severity as Severity, confidence, ts });
  }
  const inputs: DeviceRiskInput[] = [];
  for (const d of byKey.values()) inputs.push({ ...d.base, vulns: d.vulns, findings: d.findings, attacks: d.attacks });
  inputs.sort((a, b) => (a.site < b.site ? -1 : a.site > b.site ? 1 : a.device < b.device ? -1 : a.device > b.device ? 1 : 0));
  return { inputs, deadLetters, unmatched };
}

/** A fingerprint of one device's inputs, independent of the order of its lists (16 hex digits). */
export function inputFingerprint(input: DeviceRiskInput): string {
  const hash = createHash('sha256');
  const c = input.controls;
  hash.update(`${input.site}\u0000${input.device}\u0000${input.unit}\u0000${input.make}\u0000${input.model}\u0000${input.criticality}\u0000${c.segmented}\u0000${c.internetExposed}\n`);
  // Each list sorted as text, so the order rows arrived in does not matter; a separator keeps
  // the lists apart.
  const lines: string[] = [];
  for (const v of input.vulns) lines.push(`v\u0000${v.cve}\u0000${v.cvssBase}\u0000${v.cvssVersion}\u0000${v.rubricAdjustedBase ?? ''}\u0000${v.attackVector ?? ''}\u0000${v.kev}\u0000${v.exploitation}\u0000${v.automatable}\u0000${v.fixAvailable}\u0000${v.fixApplied}`);
  for (const f of input.findings) lines.push(`f\u0000${f.rule}\u0000${f.severity}`);
  for (const a of input.attacks) lines.push(`a\u0000${a.threat}\u0000${a.severity}\u0000${a.confidence}\u0000${a.ts}`);
  lines.sort();
  for (const line of lines) hash.update(line + '\n');
  return hash.digest('hex').slice(0, 16);
}

/** Any SQL runner returning plain row objects (the store's `all`). */
export type Query = (sql: string) => Promise<Record<string, unknown>[]>;

/** The SQL that reads each input table as RAMA's columns; timestamps as epoch microseconds. */
export const INPUT_SQL = {
  devices: 'SELECT device, site, address, unit, make, model, criticality, segmented, internet_exposed FROM rama_devices',
  vulns: 'SELECT device, site, cve, cvss_base, cvss_version, cvss_vector, rubric_adjusted_base, kev, exploitation, automatable, fix_available, fix_applied FROM rama_device_vulns',
  // The hunt writes one row per finding and batch; RAMA needs each (device, rule, severity) once.
  findings: 'SELECT DISTINCT site_id AS site, device, rule_id AS rule, severity FROM findings',
  // The classifier writes one row per flow; RAMA keeps, per device, threat and hour, the highest
  // confidence and the latest time (conservative: both can come from different flows of the hour).
  detections: `SELECT site_id AS site, device, NULL AS target, label, threat, max(confidence) AS confidence, max(epoch_us(ts)) AS ts
    FROM detections WHERE NOT benign AND device IS NOT NULL GROUP BY site_id, device, label, threat, date_trunc('hour', ts)`,
} as const;

/**
 * With a flows table, a detection also names its flow's responder: the classifier's \`device\` is
 * the flow's initiator when the feature set has no device column, which for an attack is often the
 * attacker; RAMA charges the attack to whichever of the two is a known device (initiator first).
 */
export const DETECTIONS_WITH_TARGET_SQL = `SELECT d.site_id AS site, d.device, f.dst_addr AS target, d.label, d.threat,
    max(d.confidence) AS confidence, max(epoch_us(d.ts)) AS ts
  FROM detections d LEFT JOIN (SELECT DISTINCT flow_id, dst_addr FROM flows) f USING (flow_id)
  WHERE NOT d.benign GROUP BY d.site_id, d.device, f.dst_addr, d.label, d.threat, date_trunc('hour', d.ts)`;

const TABLE_OF: Readonly<Record<keyof typeof INPUT_SQL, string>> = { devices: 'rama_devices', vulns: 'rama_device_vulns', findings: 'findings', detections: 'detections' };

/** Devices and their vulnerabilities derived from other tables when `rama_devices` is absent. */
export type DeriveDevices = () => Promise<{ devices: Record<string, unknown>[]; vulns: Record<string, unknown>[]; versions: Record<string, string> }>;

/**
 * Read the input rows and say which table versions were read. Without `rama_devices`, `derive`
 * supplies devices and vulnerabilities (a site store: inventory, traffic and the advisory matcher);
 * a missing findings or detections table reads as empty.
 */
export async function readInputRows(query: Query, derive?: DeriveDevices): Promise<{ rows: InputRows; versions: Record<string, string> }> {
  const present = new Set((await query("SELECT table_name FROM information_schema.tables WHERE table_schema = 'main'")).map((r) => String(r.table_name)));
  const out: Record<string, Record<string, unknown>[]> = {};
  const versions: Record<string, string> = {};
  let keys = Object.keys(INPUT_SQL) as (keyof typeof INPUT_SQL)[];
  if (!present.has('rama_devices')) {
    if (!derive) throw new RangeError('no rama_devices table: import an inventory or run `heir rama simulate` first');
    const derived = await derive();
    out.devices = derived.devices;
    out.vulns = derived.vulns;
    Object.assign(versions, derived.versions);
    keys = ['findings', 'detections'];
  }
  for (const key of keys) {
    const table = TABLE_OF[key];
    if (!present.has(table)) {
      out[key] = [];
      versions[table] = 'absent';
      continue;
    }
    out[key] = await query(key === 'detections' && present.has('flows') ? DETECTIONS_WITH_TARGET_SQL : INPUT_SQL[key]);
    versions[table] = key === 'findings' ? `findings-v${FINDINGS_SCHEMA_VERSION}` : key === 'detections' ? `detections-v${DETECTIONS_VERSION}` : `rama-input-v${RAMA_INPUT_VERSION}`;
  }
  if (out.devices.length === 0) throw new RangeError('no devices to score: the device tables are empty');
  return { rows: out as unknown as InputRows, versions };
}
