/**
 * Hunt throughput against its alternative in the same run: the same per-flow rules compiled to
 * DuckDB SQL (one WHERE clause per rule) over the same flows, loaded in memory and warm. The two
 * must agree on how many flows each rule matches; rules with lookups (default credentials, end of
 * support) or aggregates run only in HEIR and are reported apart. Flows: the real benign
 * medical-device captures and the committed loopback captures, parsed by the pcap parser and
 * repeated with shifted addresses to HEIR_BENCH_FLOWS rows. Medians of HEIR_BENCH_REPS runs.
 *
 *   npx tsx benchmarks/hunt.bench.ts
 */
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { loadRules, type Condition, type Rule } from '../knowledge/rules.ts';
import { createHunt } from '../operators/hunt.ts';
import { findingRows } from '../operators/findings-schema.ts';
import { appendBatch } from '../pipeline/arrow-to-duckdb.ts';
import { FLOW_COLUMNS, flowBatch, type FlowRow } from '../pipeline/flow-schema.ts';
import { DUCK_TYPE } from '../pipeline/columns.ts';
import { parseCaptureFile } from '../test/helpers/pcap.ts';
import { pcapFilesUnder } from '../datasets/device-benign.ts';

const REPS = Number(process.env.HEIR_BENCH_REPS ?? 3);
const TARGET = Number(process.env.HEIR_BENCH_FLOWS ?? 200_000);
const BATCH = 2000;
const ROOT = join(import.meta.dirname, '..');

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** SQL for a condition, or null when it has no SQL form here (lookups). */
function sql(c: Condition, lists: Record<string, Record<string, string>>): string | null {
  const lit = (v: unknown) => (typeof v === 'string' ? `'${v.replaceAll("'", "''")}'` : typeof v === 'boolean' ? (v ? 'TRUE' : 'FALSE') : String(v));
  if ('any' in c) {
    const parts = c.any.map((x) => sql(x, lists));
    return parts.includes(null) ? null : `(${parts.join(' OR ')})`;
  }
  if ('not' in c) {
    const inner = sql(c.not, lists);
    return inner === null ? null : `NOT coalesce(${inner}, FALSE)`;
  }
  if ('lookup' in c) return null;
  if ('internal' in c) {
    const a = c.internal === 'src' ? 'src_addr' : 'dst_addr';
    const inside = `(${a} IS NULL OR regexp_matches(${a}, '^(10\\.|127\\.|192\\.168\\.|169\\.254\\.|172\\.(1[6-9]|2[0-9]|3[01])\\.|100\\.(6[4-9]|[7-9][0-9]|1[01][0-9]|12[0-7])\\.|2(2[4-9]|[3-5][0-9])\\.|0\\.0\\.0\\.0$|::1$|::$|f[cd]|fe[89ab]|ff)'))`;
    return c.is ? inside : `NOT ${inside}`;
  }
  const f = c.field;
  if (c.null !== undefined) return c.null ? `${f} IS NULL` : `${f} IS NOT NULL`;
  if (c.eq !== undefined) return `${f} = ${lit(c.eq)}`;
  if (c.ne !== undefined) return `${f} <> ${lit(c.ne)}`;
  if (c.in !== undefined) return `${f} IN (${c.in.map(lit).join(', ')})`;
  if (c.not_in !== undefined) return `${f} NOT IN (${c.not_in.map(lit).join(', ')})`;
  if (c.in_list !== undefined) return `lower(${f}) IN (${Object.keys(lists[c.in_list]).map((k) => lit(k.toLowerCase())).join(', ')})`;
  if (c.matches !== undefined) return `regexp_matches(${f}, ${lit(c.matches)}${c.ignore_case ? ", 'i'" : ''})`;
  if (c.gt !== undefined) return `${f} > ${c.gt}`;
  if (c.gte !== undefined) return `${f} >= ${c.gte}`;
  if (c.lt !== undefined) return `${f} < ${c.lt}`;
  if (c.lte !== undefined) return `${f} <= ${c.lte}`;
  return null;
}

async function main(): Promise<void> {
  const base: FlowRow[] = [];
  for (const file of [...pcapFilesUnder(join(ROOT, '../shared/datasets/pcaps')), ...pcapFilesUnder(join(ROOT, 'test/fixtures/pcaps'))]) {
    try {
      base.push(...(await parseCaptureFile(file)).rows.filter((r) => r.src_addr !== null));
    } catch {
      // unreadable or non-IP captures are skipped
    }
  }
  // Repeat with shifted internal addresses so there are many devices, as at a site.
  const rows: FlowRow[] = [];
  for (let k = 0; rows.length < TARGET; k++) {
    for (const r of base) {
      if (rows.length >= TARGET) break;
      const shift = (a: string | null) => (a && /^(10|192\.168|127)\./.test(a) ? a.replace(/\.\d+$/, `.${(k % 250) + 1}`) : a);
      rows.push({ ...r, flow_id: `${r.flow_id}-${k}`, src_addr: shift(r.src_addr), dst_addr: shift(r.dst_addr), ts_start: r.ts_start + k * 1e6, ts_end: r.ts_end + k * 1e6 });
    }
  }
  const batches = [];
  for (let i = 0; i < rows.length; i += BATCH) batches.push(flowBatch(rows.slice(i, i + BATCH)));

  const set = loadRules();
  let counts = new Map<string, number>();
  const heir: number[] = [];
  const heirCpu: number[] = [];
  const cpuMs = (u: NodeJS.CpuUsage) => (u.user + u.system) / 1000;
  for (let rep = 0; rep < REPS; rep++) {
    // A fresh operator per repetition: the aggregate rules keep event-time windows across batches.
    const hunt = createHunt({ rules: set });
    const c = new Map<string, number>();
    const t = performance.now();
    const cpu0 = process.cpuUsage();
    batches.forEach((b, i) => {
      const out = hunt.apply({ flows: b }, { site: 'bench', sensor: 'b', batchId: `b${i}`, warn() {} }) as { findings: never };
      for (const f of findingRows(out.findings)) c.set(f.rule_id, (c.get(f.rule_id) ?? 0) + f.flow_count);
    });
    heir.push(performance.now() - t);
    heirCpu.push(cpuMs(process.cpuUsage(cpu0)));
    counts = c;
  }

  const db = await DuckDBInstance.create(':memory:');
  const con = await db.connect();
  await con.run(`CREATE TABLE flows (${FLOW_COLUMNS.map((c) => `${c.name} ${DUCK_TYPE[c.kind]}`).join(', ')})`);
  const appender = await con.createAppender('flows');
  for (const b of batches) appendBatch(appender, b);
  appender.flushSync();
  appender.closeSync();
  const sqlRules: { rule: Rule; where: string }[] = [];
  const heirOnly: string[] = [];
  for (const rule of set.rules) {
    if (rule.kind !== 'flow') {
      if (rule.kind === 'aggregate') heirOnly.push(rule.id);
      continue;
    }
    const parts = rule.when!.map((c) => sql(c, set.lists as Record<string, Record<string, string>>));
    if (parts.includes(null)) heirOnly.push(rule.id);
    else sqlRules.push({ rule, where: parts.map((p) => `coalesce(${p}, FALSE)`).join(' AND ') });
  }
  // One query computing every rule's matching-flow count, as a SQL engine would run the rule set.
  const query = `SELECT ${sqlRules.map((r, i) => `count(*) FILTER (WHERE ${r.where} AND ${r.rule.device === 'src' ? 'src_addr' : 'dst_addr'} IS NOT NULL) AS r${i}`).join(', ')} FROM flows`;
  const duck: number[] = [];
  const duckCpu: number[] = [];
  let sqlCounts: number[] = [];
  for (let rep = 0; rep < REPS; rep++) {
    const t = performance.now();
    const cpu0 = process.cpuUsage();
    const reader = await con.runAndReadAll(query);
    duck.push(performance.now() - t);
    // DuckDB's worker threads are in this process: cpuUsage counts them too.
    duckCpu.push(cpuMs(process.cpuUsage(cpu0)));
    sqlCounts = (reader.getRows()[0] as bigint[]).map(Number);
  }
  con.closeSync();

  const h = median(heir);
  const d = median(duck);
  const rate = (ms: number) => Math.round(rows.length / (ms / 1000)).toLocaleString('en');
  console.log(`Hunt benchmark (median of ${REPS}): ${rows.length.toLocaleString('en')} flows (${base.length} parsed from real captures, repeated with shifted addresses), ${batches.length} batches of ${BATCH}, ${set.rules.length} rules`);
  const hc = median(heirCpu);
  const dc = median(duckCpu);
  const best = (xs: number[]) => Math.min(...xs);
  console.log(`  HEIR hunt operator (all ${set.rules.length - 2} per-batch rules + evidence + findings batch)  ${(h / 1000).toFixed(2)} s  (${rate(h)} flows/s; best ${(best(heir) / 1000).toFixed(2)} s)  CPU ${(hc / 1000).toFixed(2)} s (best ${(best(heirCpu) / 1000).toFixed(2)} s)`);
  console.log(`  DuckDB SQL, ${sqlRules.length} flow rules as FILTER clauses (counts only, data loaded)  ${(d / 1000).toFixed(2)} s  (${rate(d)} flows/s; best ${(best(duck) / 1000).toFixed(2)} s)  CPU ${(dc / 1000).toFixed(2)} s (best ${(best(duckCpu) / 1000).toFixed(2)} s)`);
  console.log(`  ratio HEIR / SQL  wall ${(h / d).toFixed(2)}× (SQL / HEIR ${(d / h).toFixed(2)}×)  CPU ${(hc / dc).toFixed(2)}× (SQL / HEIR ${(dc / hc).toFixed(2)}×)  (SQL does less: no evidence, no finding rows, no lookups)`);
  let disagree = 0;
  sqlRules.forEach((r, i) => {
    const mine = counts.get(r.rule.id) ?? 0;
    if (mine !== sqlCounts[i]) disagree++;
    console.log(`    ${r.rule.id.padEnd(28)} HEIR ${String(mine).padStart(7)}  SQL ${String(sqlCounts[i]).padStart(7)}${mine === sqlCounts[i] ? '' : '  DIFFERENT'}`);
  });
  for (const id of heirOnly) console.log(`    ${id.padEnd(28)} HEIR ${String(counts.get(id) ?? 0).padStart(7)}  (lookup or aggregate: HEIR only)`);
  console.log(`  rules whose matching-flow counts differ: ${disagree} of ${sqlRules.length}`);
}

await main();
