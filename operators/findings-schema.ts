/**
 * The `findings` table: one row per (finding, batch) written by the hunt operator. A finding's id
 * is deterministic (site, rule, device, subject), so the same weakness seen in many batches keeps
 * one id; readers aggregate first/last seen and counts by `finding_id` in SQL, and a redelivered
 * batch adds nothing because the store skips batch ids it already holds.
 */
import type { RecordBatch } from 'apache-arrow';
import { arrowSchema, batchFromRows, rowsOf, type ColumnSpec, type RowOf } from '../pipeline/columns.ts';

/** Version of the findings schema (`heir.version` in the Arrow metadata). */
export const FINDINGS_SCHEMA_VERSION = 1;

const c = <N extends string, K extends ColumnSpec['kind'], Nl extends boolean>(name: N, kind: K, nullable: Nl, doc: string) => ({ name, kind, nullable, doc }) as const;

/** Columns of the findings table. */
export const FINDING_COLUMNS = [
  c('finding_id', 'utf8', false, 'Deterministic id: 16 hex digits of SHA-1 over site, rule, device and subject (e.g. the service); equal across batches.'),
  c('site_id', 'utf8', false, 'Site that observed it.'),
  c('sensor_id', 'utf8', false, 'Sensor whose flows showed it.'),
  c('batch_id', 'utf8', false, 'Batch the evidence came from.'),
  c('rule_id', 'utf8', false, 'Hunt rule id (knowledge/rules.json).'),
  c('rule_version', 'i32', false, 'Version of the rule that fired.'),
  c('title', 'utf8', false, 'One-line title of the rule.'),
  c('category', 'utf8', false, 'Threat class (knowledge/taxonomy.ts THREAT_CLASSES key).'),
  c('severity', 'utf8', false, 'info, low, medium, high or critical.'),
  c('device', 'utf8', false, 'Address of the device the finding is about.'),
  c('device_mac', 'utf8', true, 'MAC address of the device where the link layer showed it.'),
  c('peer', 'utf8', true, 'The other side (client, server, remote host) where one is involved.'),
  c('subject', 'utf8', true, 'What the finding is about on the device, e.g. tcp/23 or an account name.'),
  c('first_seen', 'ts', false, 'Start of the first flow of this batch that showed it (UTC, µs).'),
  c('last_seen', 'ts', false, 'End of the last flow of this batch that showed it (UTC, µs).'),
  c('flow_count', 'i32', false, 'Flows of this batch that showed it.'),
  c('evidence', 'utf8', false, 'Human-readable evidence; secrets are never kept (a cleartext password is reported as such, not shown).'),
  c('evidence_json', 'utf8', false, 'The same evidence as a JSON object of flow facts (redacted).'),
  c('default_credential', 'utf8', true, 'When a known default account was used: the account and the list entry it matched (never the password).'),
  c('enisa', 'utf8', false, 'ENISA Threat Landscape 2018 threat ids, comma-separated.'),
  c('owasp', 'utf8', false, 'OWASP Top 10 (2021) ids, comma-separated.'),
  c('owasp_iot', 'utf8', false, 'OWASP IoT Top 10 (2018) ids, comma-separated.'),
  c('attack_ics', 'utf8', false, 'ATT&CK for ICS technique ids, comma-separated.'),
] as const;

/** One finding row. */
export type FindingRow = RowOf<typeof FINDING_COLUMNS>;

/** Arrow schema of the findings table. */
export const FINDINGS_SCHEMA = arrowSchema('findings', FINDINGS_SCHEMA_VERSION, FINDING_COLUMNS);

/** Build a findings batch from rows. */
export function findingsBatch(rows: readonly FindingRow[]): RecordBatch {
  return batchFromRows(FINDINGS_SCHEMA, FINDING_COLUMNS, rows);
}

/** Read a findings batch back as rows. */
export function findingRows(batch: RecordBatch): FindingRow[] {
  return rowsOf(batch, FINDING_COLUMNS);
}
