/**
 * The store side of `heir rama`: reads RAMA's inputs from a site's DuckDB store, runs the pure
 * scoring (operators/rama), writes scores and snapshots back as idempotent batches, and prints.
 */
import { batchFromRows } from './columns.ts';
import { ErrorCode, UserError, messageOf } from './errors.ts';
import { openStore, type Store } from './store.ts';
import { warn } from './warn.ts';
import { inputsFromRows, readInputRows } from '../operators/rama/adapter.ts';
import { OUTLIER_Z, PEER_LEVELS, benchmarkSites, partitionScores, summarizeGroups, trend, type SiteProfile } from '../operators/rama/benchmark.ts';
import { PrivacyBudget, cryptoRandom, releaseGroups, seededRandom } from '../operators/rama/dp.ts';
import type { DeviceRiskInput } from '../operators/rama/model.ts';
import { ramaRun } from '../operators/rama/run.ts';
import { DETECTION_COLUMNS, DETECTIONS_SCHEMA } from '../operators/detections-schema.ts';
import { FINDING_COLUMNS, FINDINGS_SCHEMA } from '../operators/findings-schema.ts';
import {
  DEVICE_COLUMNS,
  DEVICE_SCHEMA,
  DEVICE_SCORE_COLUMNS,
  DEVICE_SCORE_SCHEMA,
  DEVICE_VULN_COLUMNS,
  DEVICE_VULN_SCHEMA,
  SITE_COLUMNS,
  SITE_SCHEMA,
  SITE_SCORE_COLUMNS,
  SITE_SCORE_SCHEMA,
  SNAPSHOT_COLUMNS,
  SNAPSHOT_SCHEMA,
} from '../operators/rama/tables.ts';
import { whatIf } from '../operators/rama/whatif.ts';

type Out = (line: string) => void;

async function withStore<T>(path: string, fn: (store: Store) => Promise<T>): Promise<T> {
  const store = await openStore(path);
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}

async function loadInputs(store: Store, site?: string): Promise<{ inputs: DeviceRiskInput[]; versions: Record<string, string> }> {
  let read;
  try {
    read = await readInputRows(
      (sql) => store.all(sql),
      async () => {
        const { loadKnowledgeBase } = await import('../knowledge/kb.ts');
        const { deriveSiteDevices } = await import('./rama-site-inputs.ts');
        return deriveSiteDevices(store, loadKnowledgeBase());
      },
    );
  } catch (error) {
    if (error instanceof RangeError) throw new UserError(ErrorCode.INPUT_MALFORMED, `${store.path}: ${error.message}`, { cause: error });
    if (error instanceof UserError) throw error;
    throw new UserError(ErrorCode.SCHEMA_MISMATCH, `${store.path}: cannot read RAMA's input tables (${messageOf(error).split('\n')[0]}); docs/rama.md lists the columns they need`, { cause: error });
  }
  if ((await store.tables()).includes('rama_rubric_answers')) {
    const { applyRubricAnswers } = await import('./rama-rubric.ts');
    const applied = applyRubricAnswers(read.rows.devices, read.rows.vulns as Record<string, unknown>[], await store.all('SELECT make, model, cve, answers FROM rama_rubric_answers'));
    read.versions.rama_rubric_answers = `rama-input-v1:${applied}-applied`;
  }
  const { inputs, deadLetters, unmatched } = inputsFromRows(read.rows);
  for (const d of deadLetters) await store.deadLetter(d);
  if (deadLetters.length > 0) warn(`rama: ${deadLetters.length} input rows could not be used (stored in dead_letters; first: ${deadLetters[0].input}: ${deadLetters[0].reason})`);
  if (unmatched.findings + unmatched.detections > 0) warn(`rama: ${unmatched.findings} findings and ${unmatched.detections} detection groups name no known device (outside peers?); not scored`);
  const chosen = site === undefined ? inputs : inputs.filter((i) => i.site === site);
  if (chosen.length === 0) throw new UserError(ErrorCode.INPUT_MALFORMED, site === undefined ? `${store.path}: no devices to score` : `${store.path}: no devices of site ${site}`);
  return { inputs: chosen, versions: read.versions };
}

/** `heir rama simulate`: fill the store with a synthetic fleet. */
export async function simulate(path: string, options: { hospitals: number; seed: number; devices?: number; asOf: number; json: boolean }, out: Out): Promise<number> {
  const { loadCatalogue } = await import('../datasets/fleet-catalogue.ts');
  const { simulateFleet } = await import('../datasets/fleet.ts');
  const fleet = simulateFleet(loadCatalogue(), options);
  const id = `rama-simulate:seed=${options.seed}:hospitals=${options.hospitals}:devices=${options.devices ?? 'drawn'}:as-of=${options.asOf}`;
  const written = await withStore(path, (store) =>
    store.write(id, {
      rama_sites: batchFromRows(SITE_SCHEMA, SITE_COLUMNS, fleet.sites),
      rama_devices: batchFromRows(DEVICE_SCHEMA, DEVICE_COLUMNS, fleet.devices),
      rama_device_vulns: batchFromRows(DEVICE_VULN_SCHEMA, DEVICE_VULN_COLUMNS, fleet.vulns),
      findings: batchFromRows(FINDINGS_SCHEMA, FINDING_COLUMNS, fleet.findings),
      detections: batchFromRows(DETECTIONS_SCHEMA, DETECTION_COLUMNS, fleet.detections),
    }),
  );
  const summary = { synthetic: true, written, hospitals: fleet.sites.length, devices: fleet.devices.length, device_vulns: fleet.vulns.length, findings: fleet.findings.length, detections: fleet.detections.length };
  out(options.json ? JSON.stringify(summary) : `${written ? 'wrote' : 'already present:'} SYNTHETIC fleet: ${summary.hospitals} hospitals, ${summary.devices} devices, ${summary.device_vulns} device vulnerabilities, ${summary.findings} findings, ${summary.detections} detections`);
  return 0;
}

/** `heir rama devices` and `heir rama site`. */
export async function score(path: string, options: { mode: 'devices' | 'site'; asOf: number; json: boolean; site?: string }, out: Out): Promise<number> {
  return withStore(path, async (store) => {
    const { inputs, versions } = await loadInputs(store, options.mode === 'devices' ? options.site : undefined);
    const run = ramaRun(inputs, options.asOf, versions);
    await store.write(`${run.batchId}:devices`, { rama_device_scores: batchFromRows(DEVICE_SCORE_SCHEMA, DEVICE_SCORE_COLUMNS, run.deviceRows) });
    if (options.mode === 'devices') {
      if (!options.json) out(`site  device  product  criticality  score  band  worst factors`);
      run.devices.forEach((d, i) => {
        if (options.json) out(JSON.stringify({ device: d.device, site: d.site, score: d.score, band: d.band, contributions: d.contributions.map((c) => ({ factor: c.factor, points: c.points })) }));
        else {
          const worst = d.contributions.filter((c) => c.cents < 0).sort((a, b) => a.cents - b.cents).slice(0, 3).map((c) => `${c.factor} ${c.points}`).join(', ');
          const product = `${inputs[i].make} ${inputs[i].model}`.slice(0, 40);
          out(`${d.site}  ${d.device}  ${product.padEnd(40)}  ${d.criticality.padEnd(15)}  ${d.score.toFixed(2).padStart(6)}  ${d.band.padEnd(15)}  ${worst || '-'}`);
        }
      });
      return 0;
    }
    await store.write(`${run.batchId}:sites`, {
      rama_site_scores: batchFromRows(SITE_SCORE_SCHEMA, SITE_SCORE_COLUMNS, run.siteRows),
      rama_snapshots: batchFromRows(SNAPSHOT_SCHEMA, SNAPSHOT_COLUMNS, run.snapshotRows),
    });
    for (const s of run.sites) {
      if (options.site !== undefined && s.site !== options.site) continue;
      if (options.json) out(JSON.stringify({ site: s.site, scope: s.scope, unit: s.unit, score: s.score, band: s.band, devices: s.devices, vulnerable: s.vulnerable, vulnerable_share: Math.round(s.vulnerableShare * 10000) / 10000, mean_score: s.meanScore, contributions: s.contributions.map((c) => ({ factor: c.factor, points: c.points })) }));
      else out(`${s.scope === 'site' ? s.site : `  ${s.unit}`}`.padEnd(24) + `  ${s.score.toFixed(2).padStart(6)}  ${s.band.padEnd(15)}  ${String(s.devices).padStart(5)} devices, ${s.vulnerable} vulnerable`);
    }
    return 0;
  });
}

/** `heir rama whatif`. */
export async function whatif(path: string, options: { asOf: number; json: boolean; site?: string; limit: number }, out: Out): Promise<number> {
  return withStore(path, async (store) => {
    const { inputs } = await loadInputs(store, options.site);
    const sites = new Set(inputs.map((i) => i.site));
    if (sites.size > 1) throw new UserError(ErrorCode.USAGE, `heir rama whatif: the store holds ${sites.size} sites; choose one with --site (e.g. --site ${[...sites].sort()[0]})`);
    const { loadRules } = await import('../knowledge/rules.ts');
    const mitigations = Object.fromEntries(loadRules().rules.map((r) => [r.id, r.mitigation]));
    const list = whatIf(inputs, { asOf: options.asOf, limit: options.limit, mitigations });
    if (!options.json) out(`site ${inputs[0].site}: RAMA ${list[0]?.before.toFixed(2) ?? 'n/a'}; remediations by gain:`);
    for (const w of list) out(options.json ? JSON.stringify(w) : `  +${w.gain.toFixed(2).padStart(6)}  → ${w.after.toFixed(2)}  ${w.description}`);
    return 0;
  });
}

/** `heir rama benchmark`. */
export async function benchmark(path: string, options: { json: boolean; k: number; epsilon?: number; budget: number; seed?: number }, out: Out): Promise<number> {
  return withStore(path, async (store) => {
    const tables = new Set(await store.tables());
    if (!tables.has('rama_site_scores')) throw new UserError(ErrorCode.INPUT_MALFORMED, `${store.path}: no site scores yet; run heir rama site --db ${store.path} first`);
    const profiles = tables.has('rama_sites');
    const rows = await store.all<{ site: string; score: number; size: string | null; type: string | null; region: string | null }>(
      `SELECT s.site, s.score, ${profiles ? 'p.size, p.type, p.region' : 'NULL AS size, NULL AS type, NULL AS region'}
       FROM rama_site_scores s ${profiles ? 'LEFT JOIN rama_sites p ON p.site = s.site' : ''}
       WHERE s.scope = 'site' QUALIFY row_number() OVER (PARTITION BY s.site ORDER BY s.as_of DESC, s.run DESC) = 1`,
    );
    const sites: SiteProfile[] = rows.map((r) => ({ site: r.site, score: r.score, size: r.size ?? 'unknown', type: r.type ?? 'unknown', region: r.region ?? 'unknown' }));
    const history = tables.has('rama_snapshots')
      ? await store.all<{ site: string; day: string; score: number }>(
          `SELECT site, day, arg_max(score, as_of) AS score FROM rama_snapshots WHERE scope = 'site' GROUP BY site, day ORDER BY site, day`,
        )
      : [];
    const bySite = new Map<string, { day: string; score: number }[]>();
    for (const h of history) (bySite.get(h.site) ?? bySite.set(h.site, []).get(h.site)!).push(h);
    for (const r of benchmarkSites(sites, options.k)) {
      const t = trend(bySite.get(r.site) ?? []);
      if (options.json) out(JSON.stringify({ kind: 'site', ...r, trend: t }));
      else {
        const pos = r.suppressed ? `suppressed (no peer group of ${options.k}+ sites)` : `P${r.percentile!.toFixed(0).padStart(3)} of ${r.group} (${r.groupSize} sites, median ${r.median})${r.outlier ? `  OUTLIER ${r.outlier} (z ${r.robustZ})` : ''}`;
        out(`${r.site}  ${r.score.toFixed(2).padStart(6)}  ${pos}${t ? `  trend ${t.slopePerDay >= 0 ? '+' : ''}${t.slopePerDay}/day` : ''}`);
      }
    }
    for (const g of summarizeGroups(sites, options.k)) {
      if (options.json) out(JSON.stringify({ kind: 'group', ...g }));
      else out(`group ${g.group}: ${g.suppressed ? `fewer than ${options.k} sites (suppressed)` : `${g.sites} sites, median ${g.median}, IQR ${g.p25}–${g.p75}, ${g.outliers} outliers (|z| ≥ ${OUTLIER_Z})`}`);
    }
    if (options.epsilon !== undefined) {
      const budget = new PrivacyBudget(options.budget);
      const random = options.seed === undefined ? cryptoRandom() : seededRandom(options.seed);
      for (const level of PEER_LEVELS) {
        let groups;
        try {
          groups = partitionScores(sites, level);
        } catch (error) {
          throw new UserError(ErrorCode.INPUT_MALFORMED, `heir rama benchmark: ${messageOf(error)}`, { cause: error });
        }
        let releases;
        try {
          releases = releaseGroups(level.length === 0 ? 'all' : level.join('+'), groups, budget, { epsilon: options.epsilon, random, k: options.k });
        } catch (error) {
          throw new UserError(ErrorCode.USAGE, `heir rama benchmark: ${messageOf(error)} (raise --budget or lower --epsilon)`, { cause: error });
        }
        for (const rel of releases) {
          if (options.json) out(JSON.stringify({ kind: 'dp', ...rel }));
          else out(`dp ${rel.group}: ε=${rel.epsilon} n≈${rel.count}${rel.suppressed ? ' (suppressed)' : ' ' + Object.entries(rel.percentiles).map(([p, v]) => `${p}=${v}`).join(' ')}`);
        }
      }
      const spent = { kind: 'budget', total: budget.total, spent: Math.round(budget.spent * 1e9) / 1e9, ledger: budget.ledger };
      out(options.json ? JSON.stringify(spent) : `privacy budget: spent ε=${spent.spent} of ${budget.total} (${budget.ledger.map((e) => `${e.purpose}: ${e.epsilon}`).join('; ')})`);
    }
    return 0;
  });
}
