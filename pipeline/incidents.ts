/**
 * Incidents: repeated detections of one ongoing attack folded into one row. Detections of the same
 * (device, threat, label) belong to one incident while each starts less than `gapSeconds` after
 * the latest end seen so far in that incident (gaps-and-islands in SQL); a quiet spell longer than
 * the gap starts a new incident. The store keeps every detection; this is how they are read.
 */
import { ErrorCode, UserError } from './errors.ts';
import { ident, type Store } from './store.ts';

/** Default gap that separates two incidents of the same attack on the same device. */
export const DEFAULT_INCIDENT_GAP_S = 60;

/** One incident. Times are ISO 8601 UTC. */
export interface Incident {
  readonly device: string;
  readonly threat: string;
  readonly label: string;
  /** Detections folded into it. */
  readonly count: number;
  readonly first_seen: string;
  readonly last_seen: string;
  /** Highest confidence among its detections. */
  readonly confidence: number;
  readonly mean_confidence: number;
  /** Taxonomy of the threat: ENISA, OWASP, OWASP IoT, ATT&CK for ICS ids, as the detections carry them. */
  readonly taxonomy: Record<string, string | null>;
  /**
   * What drove the most confident detection, where the detections record it: `feature=value
   * (share)` joined by commas from the top1…top3 columns, or an older table's text column.
   */
  readonly drivers: string | null;
}

const TIME_START = ['first_seen', 'ts_start', 'ts', 'window_start'];
const TIME_END = ['last_seen', 'ts_end', 'ts', 'window_end'];
// The threat column is the ENISA threat; the other taxonomies ride in their own columns.
const TAXONOMY = ['threat', 'owasp', 'owasp_iot', 'attack_ics'];
const DRIVERS = ['features_top', 'drivers', 'evidence'];

/** Columns of a table (empty when it does not exist). */
async function columnsOf(store: Store, table: string): Promise<Map<string, string>> {
  const rows = await store.all<{ column_name: string; data_type: string }>(
    `SELECT column_name, data_type FROM information_schema.columns WHERE table_name = '${table.replaceAll("'", "''")}' ORDER BY ordinal_position`,
  );
  return new Map(rows.map((r) => [r.column_name, r.data_type]));
}

/**
 * The SQL of the incidents of a detections table with these columns. Needs device, threat,
 * label, confidence and a time column; a missing one is a UserError naming it.
 */
export function incidentsSql(columns: ReadonlyMap<string, string>, gapSeconds: number, table = 'detections'): string {
  const need = ['device', 'threat', 'label', 'confidence'].filter((c) => !columns.has(c));
  const start = TIME_START.find((c) => columns.has(c));
  const end = TIME_END.find((c) => columns.has(c));
  if (!start || !end) need.push(`a time column (${TIME_START.join(', ')})`);
  if (need.length) throw new UserError(ErrorCode.SCHEMA_MISMATCH, `table ${table} lacks ${need.join(', ')}: not a detections table`);
  const tax = TAXONOMY.filter((c) => columns.has(c));
  const driver = DRIVERS.find((c) => columns.has(c));
  // Detections v2 explain with typed columns: `feature=value (share)` for each named feature (a
  // store written by v1 and then v2 has both; v1 rows keep their text).
  const slots = [1, 2, 3].filter((k) => columns.has(`top${k}_feature`) && columns.has(`top${k}_value`) && columns.has(`top${k}_share`));
  const typedDrivers = slots.length
    ? `NULLIF(concat_ws(', ', ${slots.map((k) => `${ident(`top${k}_feature`)} || '=' || coalesce(CAST(${ident(`top${k}_value`)} AS VARCHAR), 'null') || ' (' || CAST(${ident(`top${k}_share`)} AS VARCHAR) || ')'`).join(', ')}), '')`
    : null;
  const gapMicros = Math.round(gapSeconds * 1e6);
  const t = (c: string) => (/TIMESTAMP/i.test(columns.get(c) ?? '') ? `epoch_us(${ident(c)})` : `CAST(${ident(c)} AS BIGINT)`);
  return `
WITH d AS (
  SELECT coalesce(device, '?') AS device, coalesce(threat, 'unknown') AS threat, label, confidence, ${t(start!)} AS t0, ${t(end!)} AS t1
    ${tax.map((c) => `, CAST(${ident(c)} AS VARCHAR) AS ${ident(`tax_${c}`)}`).join('')}
    ${typedDrivers && driver ? `, coalesce(${typedDrivers}, CAST(${ident(driver)} AS VARCHAR)) AS drivers` : typedDrivers ? `, ${typedDrivers} AS drivers` : driver ? `, CAST(${ident(driver)} AS VARCHAR) AS drivers` : ', NULL::VARCHAR AS drivers'}
  FROM ${ident(table)}
  WHERE label IS NOT NULL AND lower(label) NOT IN ('benign', 'normal')${columns.has('benign') ? ' AND NOT benign' : ''}
), o AS (
  SELECT *, max(t1) OVER (PARTITION BY device, threat, label ORDER BY t0, t1 ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS prev_end
  FROM d
), g AS (
  SELECT *, sum(CASE WHEN prev_end IS NULL OR t0 - prev_end > ${gapMicros} THEN 1 ELSE 0 END)
    OVER (PARTITION BY device, threat, label ORDER BY t0, t1 ROWS UNBOUNDED PRECEDING) AS incident
  FROM o
)
SELECT device, threat, label, count(*)::BIGINT AS count, min(t0) AS first_us, max(t1) AS last_us,
  max(confidence) AS confidence, avg(confidence) AS mean_confidence, arg_max(drivers, confidence) AS drivers
  ${tax.map((c) => `, any_value(${ident(`tax_${c}`)}) AS ${ident(`tax_${c}`)}`).join('')}
FROM g
GROUP BY device, threat, label, incident
ORDER BY first_us, device, threat, label`;
}

/** The incidents of the store's detections (none when there is no detections table yet). */
export async function incidents(store: Store, gapSeconds = DEFAULT_INCIDENT_GAP_S, table = 'detections'): Promise<Incident[]> {
  if (!(gapSeconds >= 0)) throw new UserError(ErrorCode.USAGE, `invalid incident gap: ${gapSeconds} s`);
  const columns = await columnsOf(store, table);
  if (columns.size === 0) return [];
  const rows = await store.all<Record<string, unknown>>(incidentsSql(columns, gapSeconds, table));
  const iso = (us: unknown) => new Date(Number(us) / 1000).toISOString();
  return rows.map((r) => {
    const taxonomy: Record<string, string | null> = {};
    for (const c of TAXONOMY) if (`tax_${c}` in r) taxonomy[c === 'threat' ? 'enisa' : c] = (r[`tax_${c}`] as string | null) ?? null;
    return {
      device: String(r.device),
      threat: String(r.threat),
      label: String(r.label),
      count: Number(r.count),
      first_seen: iso(r.first_us),
      last_seen: iso(r.last_us),
      confidence: Number(r.confidence),
      mean_confidence: Number(r.mean_confidence),
      taxonomy,
      drivers: (r.drivers as string | null) ?? null,
    };
  });
}
