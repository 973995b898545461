/**
 * The tables RAMA reads and writes, declared once as column specs (pipeline/columns.ts).
 *
 * Inputs RAMA declares: `rama_devices`, `rama_device_vulns` and `rama_sites` (the fleet simulator
 * writes them; on a site store the first two are derived from `inventory`, `device_observations` and
 * the knowledge base). Findings and detections are read from the hunt's `findings` and the
 * classifier's `detections` tables as those operators declare them.
 * Outputs: `rama_device_scores`, `rama_site_scores`, `rama_snapshots`.
 */
import { arrowSchema, type ColumnKind, type RowOf } from '../../pipeline/columns.ts';

// Keeps each spec's name, kind and nullability as literal types, so RowOf can type the rows.
const c = <N extends string, K extends ColumnKind, B extends boolean>(name: N, kind: K, nullable: B, doc: string) => ({ name, kind, nullable, doc });

/** Version of RAMA's input table declarations. */
export const RAMA_INPUT_VERSION = 1;
/** Version of RAMA's output tables. */
export const RAMA_OUTPUT_VERSION = 1;

export const DEVICE_COLUMNS = [
  c('device', 'utf8', false, 'device id, unique within the site'),
  c('site', 'utf8', false, 'site id'),
  c('address', 'utf8', true, 'IP address: findings and detections name devices by it'),
  c('unit', 'utf8', true, 'care unit or network segment (null: "unassigned")'),
  c('make', 'utf8', false, 'manufacturer'),
  c('model', 'utf8', false, 'product / model'),
  c('version', 'utf8', true, 'firmware or software version'),
  c('device_class', 'utf8', true, 'kind of device: infusion-pump, patient-monitor, imaging, …'),
  c('criticality', 'utf8', true, 'life-sustaining | therapy | diagnosis | monitoring | workflow | non-clinical (null: life-sustaining, the worse value)'),
  c('segmented', 'bool', true, 'on a segmented network (null: no)'),
  c('internet_exposed', 'bool', true, 'reachable from the internet (null: yes)'),
  c('synthetic', 'bool', false, 'true for rows made by the fleet simulator'),
] as const;
export type DeviceRow = RowOf<typeof DEVICE_COLUMNS>;
/** RAMA's device list: written by the fleet simulator or an import; derived from `inventory` and `device_observations` when absent. */
export const DEVICE_SCHEMA = arrowSchema('rama_devices', RAMA_INPUT_VERSION, DEVICE_COLUMNS);

export const DEVICE_VULN_COLUMNS = [
  c('device', 'utf8', false, 'device id'),
  c('site', 'utf8', false, 'site id'),
  c('cve', 'utf8', false, 'CVE id'),
  c('advisory', 'utf8', true, 'advisory the match came from'),
  c('cvss_base', 'f64', false, 'CVSS base score 0–10'),
  c('cvss_version', 'utf8', false, '3.0 | 3.1 | 4.0 | headline'),
  c('cvss_vector', 'utf8', true, 'CVSS vector (attack vector is read from it)'),
  c('rubric_adjusted_base', 'f64', true, 'base score after the MITRE medical rubric, when known'),
  c('kev', 'bool', false, 'in CISA KEV'),
  c('exploitation', 'utf8', true, 'SSVC exploitation: none | poc | active (null: none)'),
  c('automatable', 'bool', true, 'SSVC automatable (null: no)'),
  c('fix_available', 'bool', false, 'a vendor fix exists'),
  c('fix_applied', 'bool', false, 'the fix is installed on this device'),
  c('synthetic', 'bool', false, 'true for rows made by the fleet simulator'),
] as const;
export type DeviceVulnRow = RowOf<typeof DEVICE_VULN_COLUMNS>;
/** Vulnerabilities matched to devices, with their fix status; derived by the advisory matcher when absent. */
export const DEVICE_VULN_SCHEMA = arrowSchema('rama_device_vulns', RAMA_INPUT_VERSION, DEVICE_VULN_COLUMNS);

export const SITE_COLUMNS = [
  c('site', 'utf8', false, 'site id'),
  c('name', 'utf8', false, 'display name'),
  c('size', 'utf8', false, 'peer-group size class: small | medium | large'),
  c('type', 'utf8', false, 'peer-group type: general | teaching | specialty | community'),
  c('region', 'utf8', false, 'peer-group region'),
  c('synthetic', 'bool', false, 'true for rows made by the fleet simulator'),
] as const;
export type SiteRow = RowOf<typeof SITE_COLUMNS>;
/** Site profiles for peer groups (the observatory's registry of sites). */
export const SITE_SCHEMA = arrowSchema('rama_sites', RAMA_INPUT_VERSION, SITE_COLUMNS);

export const DEVICE_SCORE_COLUMNS = [
  c('as_of', 'ts', false, 'time the score is for'),
  c('run', 'utf8', false, 'scoring run id (batch id)'),
  c('site', 'utf8', false, 'site id'),
  c('device', 'utf8', false, 'device id'),
  c('unit', 'utf8', false, 'unit'),
  c('criticality', 'utf8', false, 'clinical criticality used'),
  c('score', 'f64', false, 'device RAMA 0–100, two decimals'),
  c('cents', 'i32', false, 'score in hundredths (exact)'),
  c('band', 'utf8', false, 'secure | needs-attention | vulnerable'),
  c('contributions', 'utf8', false, 'JSON [{factor, points}]: 100 + Σ points = score (to 0.01)'),
  c('hazard_raw', 'f64', false, 'total hazard before controls (units of 1e-6)'),
  c('hazard', 'f64', false, 'total hazard after controls (units of 1e-6)'),
  c('model_version', 'utf8', false, 'RAMA formula version'),
  c('input_versions', 'utf8', false, 'JSON: input table versions and a fingerprint of this device’s inputs'),
] as const;
export type DeviceScoreRow = RowOf<typeof DEVICE_SCORE_COLUMNS>;
export const DEVICE_SCORE_SCHEMA = arrowSchema('rama_device_scores', RAMA_OUTPUT_VERSION, DEVICE_SCORE_COLUMNS);

export const SITE_SCORE_COLUMNS = [
  c('as_of', 'ts', false, 'time the score is for'),
  c('run', 'utf8', false, 'scoring run id (batch id)'),
  c('site', 'utf8', false, 'site id'),
  c('scope', 'utf8', false, 'site | unit'),
  c('unit', 'utf8', true, 'unit (scope unit)'),
  c('score', 'f64', false, 'site or unit RAMA 0–100'),
  c('cents', 'i32', false, 'score in hundredths'),
  c('band', 'utf8', false, 'band of the score'),
  c('devices', 'i32', false, 'devices rolled up'),
  c('vulnerable', 'i32', false, 'devices in the vulnerable band'),
  c('vulnerable_share', 'f64', false, 'criticality-weighted share of vulnerable devices'),
  c('mean_score', 'f64', false, 'criticality-weighted mean device score'),
  c('contributions', 'utf8', false, 'JSON [{factor, points}]'),
  c('model_version', 'utf8', false, 'RAMA formula version'),
  c('input_versions', 'utf8', false, 'JSON: input table versions and fingerprint of the run'),
] as const;
export type SiteScoreRow = RowOf<typeof SITE_SCORE_COLUMNS>;
export const SITE_SCORE_SCHEMA = arrowSchema('rama_site_scores', RAMA_OUTPUT_VERSION, SITE_SCORE_COLUMNS);

export const SNAPSHOT_COLUMNS = [
  c('day', 'utf8', false, 'UTC day YYYY-MM-DD'),
  c('as_of', 'ts', false, 'time of the score (the latest per day is the day’s value)'),
  c('site', 'utf8', false, 'site id'),
  c('scope', 'utf8', false, 'site | unit'),
  c('unit', 'utf8', true, 'unit (scope unit)'),
  c('score', 'f64', false, 'RAMA 0–100'),
  c('band', 'utf8', false, 'band'),
  c('devices', 'i32', false, 'devices'),
  c('vulnerable', 'i32', false, 'devices in the vulnerable band'),
  c('vulnerable_share', 'f64', false, 'criticality-weighted vulnerable share'),
  c('model_version', 'utf8', false, 'RAMA formula version'),
] as const;
export type SnapshotRow = RowOf<typeof SNAPSHOT_COLUMNS>;
export const SNAPSHOT_SCHEMA = arrowSchema('rama_snapshots', RAMA_OUTPUT_VERSION, SNAPSHOT_COLUMNS);

export const RUBRIC_ANSWER_COLUMNS = [
  c('make', 'utf8', false, 'manufacturer, as in the device list (compared case-insensitively)'),
  c('model', 'utf8', false, 'model, as in the device list (compared case-insensitively)'),
  c('cve', 'utf8', true, 'the CVE the answers are for; null: every CVE of the model (CVE rows override per question)'),
  c('answers', 'utf8', false, 'JSON {question id: answer} of the MITRE medical-device rubric (knowledge/mitre-rubric.ts), e.g. {"XAVN":"no","XAVP":"yes"}'),
] as const;
export type RubricAnswerRow = RowOf<typeof RUBRIC_ANSWER_COLUMNS>;
/** Answers of the MITRE rubric known at a site, by model and CVE; RAMA uses the rubric-adjusted base score where they exist. */
export const RUBRIC_ANSWER_SCHEMA = arrowSchema('rama_rubric_answers', RAMA_INPUT_VERSION, RUBRIC_ANSWER_COLUMNS);
