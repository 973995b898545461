/**
 * `heir demo`: the committed samples through the whole site pipeline (bus, fused operators,
 * DuckDB store), then what a security team would look at: incidents, findings, devices, RAMA.
 */
import { mkdirSync, mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defaultOperators } from '../operators/index.ts';
import { loadConfig } from './config.ts';
import { incidents } from './incidents.ts';
import { openSite, runSite } from './site.ts';
import { openStore } from './store.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** Options of the demo. */
export interface DemoOptions {
  readonly dataDir?: string;
  readonly nats?: string;
  readonly inputs: readonly { readonly dir: string; readonly what: string }[];
  readonly out: (line: string) => void;
}

/** What the demo stored, for tests. */
export interface DemoSummary {
  readonly dir: string;
  readonly db: string;
  readonly tables: Record<string, number>;
}

/** Run the demo; returns where it wrote and the table counts. */
export async function runDemo(options: DemoOptions): Promise<DemoSummary> {
  const { out } = options;
  const dir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'heir-demo-'));
  mkdirSync(dir, { recursive: true });
  const db = join(dir, 'site.duckdb');
  const files = options.inputs.flatMap(({ dir: d }) =>
    readdirSync(join(ROOT, d))
      .filter((f) => /\.pcap(ng)?$/.test(f))
      .sort()
      .map((f) => join(ROOT, d, f)),
  );
  const base = loadConfig(undefined, { store: db, site: 'demo-hospital', sensor: 'demo-sensor', nats: options.nats });
  const config = { ...base, operators: await defaultOperators(), sources: files.map((path) => ({ format: 'pcap', path })) };

  out(`HEIR demo: ${files.length} captures → ${config.operators.join(' → ')} → ${db} (${config.bus.kind === 'nats' ? `NATS JetStream at ${config.bus.url}` : 'in-process bus'})`);
  for (const input of options.inputs) out(`  ${input.dir}: ${input.what}`);
  const site = await openSite(config);
  const started = performance.now();
  try {
    await runSite(site, new AbortController().signal, 500);
  } finally {
    await site.close();
  }
  const c = site.runner.counters;
  out(`\npipeline: ${c.rowsPublished} flows in ${c.batchesPublished} batches, ${c.rowsStored} stored (${c.batchesDuplicate} batches already stored), ${c.deadLetters} dead letters, ${((performance.now() - started) / 1000).toFixed(1)} s`);

  const store = await openStore(db);
  const tables: Record<string, number> = {};
  try {
    for (const t of await store.tables()) tables[t] = await store.count(t);
    out(`tables: ${Object.entries(tables).map(([t, n]) => `${t} ${n}`).join(', ')}`);

    const found = await incidents(store);
    const attacks = found.filter((i) => i.threat !== null && i.label.toLowerCase() !== 'benign');
    out(`\nincidents (detections grouped per device and threat): ${attacks.length}`);
    for (const i of attacks.slice(0, 12)) out(`  ${i.label.padEnd(24)} ${String(i.threat).padEnd(22)} device ${i.device.padEnd(15)} ×${i.count}  confidence ${i.confidence.toFixed(2)}`);

    const findings = await store.all<{ rule: string; severity: string; devices: number; n: number }>(
      'SELECT rule_id AS rule, severity, count(DISTINCT device)::INTEGER AS devices, count(DISTINCT finding_id)::INTEGER AS n FROM findings GROUP BY rule_id, severity ORDER BY n DESC, rule_id',
    );
    out(`\nhunt findings by rule:`);
    for (const f of findings) out(`  ${f.rule.padEnd(34)} ${f.severity.padEnd(8)} ${f.devices} device(s), ${f.n} finding(s)`);
  } finally {
    await store.close();
  }

  out('\nRAMA (100 = best security status):');
  const { score } = await import('./rama-io.ts');
  const asOf = Date.now();
  await score(db, { mode: 'site', asOf, json: false }, (line) => out(`  ${line}`));
  out(`\nthe DuckDB file stays at ${relative(process.cwd(), db) || db}: query it with SQL, or try`);
  out(`  npx heir detections --db ${db}\n  npx heir findings --db ${db}\n  npx heir devices --db ${db}\n  npx heir rama devices --db ${db}\n  npx heir export --db ${db} --out ${join(dir, 'parquet')}`);
  return { dir, db, tables };
}
