/**
 * `heir rama` end to end: the real CLI on a real DuckDB file, filled by the synthetic fleet.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { main } from '../../../pipeline/cli.ts';
import { openStore } from '../../../pipeline/store.ts';
import { batchFromRows } from '../../../pipeline/columns.ts';
import { DETECTION_COLUMNS, DETECTIONS_SCHEMA } from '../../../operators/detections-schema.ts';
import { DEVICE_OBSERVATION_COLUMNS, DEVICE_OBSERVATIONS_SCHEMA, INVENTORY_COLUMNS, INVENTORY_SCHEMA } from '../../../operators/devices-schema.ts';
import { FINDING_COLUMNS, FINDINGS_SCHEMA } from '../../../operators/findings-schema.ts';
import { deviceId } from '../../../operators/inventory.ts';
import { RUBRIC_ANSWER_COLUMNS, RUBRIC_ANSWER_SCHEMA } from '../../../operators/rama/tables.ts';

const ROOT = new URL('../../../', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'heir-rama-'));
const db = join(dir, 'site.duckdb');
const AS_OF = '2026-11-28T00:00:00Z';

/** The real binary, in a child process (used once: process start-up is slow on a shared machine). */
function heirProcess(...args: string[]): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [join(ROOT, 'bin/heir.js'), 'rama', ...args], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, TZ: 'UTC' } });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** The CLI's entry point in this process, with its output captured. */
async function heir(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const write = { stdout: process.stdout.write, stderr: process.stderr.write };
  process.stdout.write = ((chunk: string) => (out.push(String(chunk)), true)) as typeof process.stdout.write;
  process.stderr.write = ((chunk: string) => (err.push(String(chunk)), true)) as typeof process.stderr.write;
  try {
    const code = await main(['rama', ...args]);
    return { code, stdout: out.join(''), stderr: err.join('') };
  } finally {
    process.stdout.write = write.stdout;
    process.stderr.write = write.stderr;
  }
}

async function count(sql: string): Promise<number> {
  const store = await openStore(db, { readOnly: true });
  try {
    return Number((await store.all<{ n: number }>(sql))[0].n);
  } finally {
    await store.close();
  }
}

test('simulate fills the store with a labelled synthetic fleet, once', async () => {
  const r = await heir('simulate', '--db', db, '--hospitals', '6', '--seed', '2', '--devices', '300', '--as-of', AS_OF);
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stdout, /wrote SYNTHETIC fleet: 6 hospitals, 300 devices/);
  const again = await heir('simulate', '--db', db, '--hospitals', '6', '--seed', '2', '--devices', '300', '--as-of', AS_OF);
  assert.match(again.stdout, /already present/);
});

test('devices --json: one device per line, 100 + Σ points = score, stored once per run', async () => {
  const r = heirProcess('devices', '--db', db, '--json', '--as-of', AS_OF);
  assert.is(r.code, 0, r.stderr);
  const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
  assert.is(lines.length, 300);
  for (const d of lines) {
    assert.equal(Object.keys(d), ['device', 'site', 'score', 'band', 'contributions']);
    assert.ok(d.score >= 0 && d.score <= 100);
    const sum = d.contributions.reduce((s: number, c: { points: number }) => s + c.points, 0);
    assert.is(Math.round((100 + sum) * 100), Math.round(d.score * 100), `${d.device}: 100 + ${sum} ≠ ${d.score}`);
  }
  assert.ok(lines.some((d) => d.band === 'vulnerable') && lines.some((d) => d.band === 'secure'));
  assert.is(await count('SELECT count(*) AS n FROM rama_device_scores'), 300);
  await heir('devices', '--db', db, '--json', '--as-of', AS_OF);
  assert.is(await count('SELECT count(*) AS n FROM rama_device_scores'), 300, 'the same run stored twice must add nothing');
  assert.is(await count(`SELECT count(*) AS n FROM rama_device_scores WHERE input_versions LIKE '%"inputs":"%' AND model_version = 'rama-1.0'`), 300);
});

test('site: site and unit scores with exact contributions, and daily snapshots', async () => {
  const r = await heir('site', '--db', db, '--json', '--as-of', AS_OF);
  assert.is(r.code, 0, r.stderr);
  const rows = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
  const sites = rows.filter((x) => x.scope === 'site');
  assert.is(sites.length, 6);
  for (const s of rows) {
    const sum = s.contributions.reduce((a: number, c: { points: number }) => a + c.points, 0);
    assert.is(Math.round((100 + sum) * 100), Math.round(s.score * 100));
  }
  await heir('site', '--db', db, '--as-of', '2026-11-29T00:00:00Z');
  assert.is(await count(`SELECT count(DISTINCT day) AS n FROM rama_snapshots WHERE scope = 'site'`), 2);
  assert.is(await count(`SELECT count(*) AS n FROM rama_site_scores WHERE scope = 'site'`), 12);
});

test('benchmark: peer positions, suppression, and a seeded DP release that spends its budget', async () => {
  const r = await heir('benchmark', '--db', db, '--json', '--k', '2', '--epsilon', '0.25', '--seed', '7');
  assert.is(r.code, 0, r.stderr);
  const rows = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
  const sites = rows.filter((x) => x.kind === 'site');
  assert.is(sites.length, 6);
  for (const s of sites) assert.ok(s.suppressed || (s.percentile > 0 && s.percentile < 100 && s.groupSize >= 2));
  assert.ok(sites.every((s) => s.trend && s.trend.days === 1), 'two days of snapshots give a trend');
  assert.ok(rows.some((x) => x.kind === 'dp'));
  const budget = rows.find((x) => x.kind === 'budget');
  assert.is(budget.spent, 1);
  assert.is(budget.ledger.length, 4);
  assert.is((await heir('benchmark', '--db', db, '--json', '--k', '2', '--epsilon', '0.25', '--seed', '7')).stdout, r.stdout, 'a seeded release repeats');
  const over = await heir('benchmark', '--db', db, '--epsilon', '0.5', '--budget', '1');
  assert.is(over.code, 2);
  assert.match(over.stderr, /privacy budget exhausted/);
});

test('whatif: needs --site when the store has several, then lists remediations by gain', async () => {
  const many = await heir('whatif', '--db', db, '--as-of', AS_OF);
  assert.is(many.code, 2);
  assert.match(many.stderr, /choose one with --site/);
  const r = await heir('whatif', '--db', db, '--site', 'SYN-H0001', '--json', '--limit', '5', '--as-of', AS_OF);
  assert.is(r.code, 0, r.stderr);
  const list = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
  assert.ok(list.length > 0 && list.length <= 5);
  for (let i = 1; i < list.length; i++) assert.ok(list[i - 1].gain >= list[i].gain);
  assert.ok(list[0].gain > 0);
});

test('clear errors: missing --db, bad --as-of, no inventory, unknown sub-command', async () => {
  const noDb = await heir('devices');
  assert.is(noDb.code, 2);
  assert.match(noDb.stderr, /--db FILE is required/);
  const badTime = await heir('devices', '--db', db, '--as-of', 'tomorrow');
  assert.is(badTime.code, 2);
  assert.match(badTime.stderr, /invalid --as-of: tomorrow/);
  const empty = await heir('devices', '--db', join(dir, 'empty.duckdb'));
  assert.is(empty.code, 1);
  assert.match(empty.stderr, /no devices to score/);
  const unknown = await heir('explain', '--db', db);
  assert.is(unknown.code, 2);
  assert.match(unknown.stderr, /expected devices, site, benchmark, whatif or simulate/);
});

test('a site store: inventory, traffic, hunt findings and detections in their producers\' schemas, advisories from the knowledge base', async () => {
  const siteDb = join(dir, 'hospital.duckdb');
  const t = Date.UTC(2026, 10, 27) * 1000;
  const obs = (address: string) => ({
    device_id: deviceId('H1', address), site_id: 'H1', batch_id: 'b1', address, mac: null, mac_vendor: null, internal: true,
    first_seen: t, last_seen: t + 1e6, flows: 3, bytes: 1000, protocols: 'telnet', server_ports: 'tcp/23', peers: 1, external_peers: 0,
    hl7_sending_app: null, hl7_sending_facility: null, dicom_ae_titles: null, dhcp_hostname: null, dhcp_vendor_class: null, http_user_agents: null, http_servers: null, tls_sni: null, banners: null,
  });
  const finding = (device: string, rule: string, severity: string) => ({
    finding_id: `${device}-${rule}`, site_id: 'H1', sensor_id: 's1', batch_id: 'b1', rule_id: rule, rule_version: 1, title: rule, category: 'weak-authentication', severity, device,
    device_mac: null, peer: null, subject: 'tcp/23', first_seen: t, last_seen: t, flow_count: 2, evidence: 'test', evidence_json: '{}', default_credential: null, enisa: '', owasp: '', owasp_iot: '', attack_ics: '',
  });
  const detection = (device: string, label: string, threat: string | null, benign: boolean, confidence: number) => ({
    detection_id: `${device}-${label}-${confidence}`, flow_id: `f-${device}-${label}`, site_id: 'H1', device, ts: t, model: 'm1', label, confidence, threat,
    owasp: null, owasp_iot: null, attack_ics: null, benign,
  });
  const store = await openStore(siteDb);
  await store.write('site-fixture', {
    inventory: batchFromRows(INVENTORY_SCHEMA, INVENTORY_COLUMNS, [
      { asset_id: 'PUMP-1', site_id: 'H1', address: '10.1.0.5', mac: null, make: 'BD', vendor: 'Becton, Dickinson and Company (BD)', model: 'Alaris 8015', version: '9.19', clinical_function: 'infusion', criticality: 'therapy', location: 'ICU', segment: 'VLAN-20', mds2: null, source_file: 'inv.csv', source_line: 2, imported_at: t },
    ]),
    device_observations: batchFromRows(DEVICE_OBSERVATIONS_SCHEMA, DEVICE_OBSERVATION_COLUMNS, [obs('10.1.0.5'), obs('10.1.0.9'), { ...obs('203.0.113.50'), internal: false }]),
    findings: batchFromRows(FINDINGS_SCHEMA, FINDING_COLUMNS, [finding('10.1.0.5', 'telnet-service', 'high'), finding('10.1.0.5', 'telnet-service', 'high'), finding('10.1.0.9', 'default-credentials', 'critical')]),
    detections: batchFromRows(DETECTIONS_SCHEMA, DETECTION_COLUMNS, [
      detection('10.1.0.5', 'DDoS', 'denial-of-service', false, 0.9),
      detection('10.1.0.5', 'Benign', null, true, 0.99),
      detection('192.0.2.66', 'Recon', 'web-based-attacks', false, 0.8),
    ]),
  });
  await store.close();
  const r = await heir('devices', '--db', siteDb, '--json', '--as-of', AS_OF);
  assert.is(r.code, 0, r.stderr);
  const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
  assert.is(lines.length, 2, 'an outside address seen in traffic is not a hospital device');
  const pump = lines.find((d) => d.device === deviceId('H1', '10.1.0.5'))!;
  const factors = new Map(pump.contributions.map((c: { factor: string; points: number }) => [c.factor, c.points]));
  for (const cve of ['CVE-2016-8375', 'CVE-2020-25165', 'CVE-2023-30563']) assert.ok((factors.get(`vuln:${cve}`) as number) < 0, `${cve} from the knowledge base`);
  assert.ok((factors.get('finding:telnet-service') as number) < 0);
  assert.ok((factors.get('attack:denial-of-service') as number) < 0);
  assert.ok((factors.get('control:segmentation') as number) > 0, 'VLAN-20 counts as segmentation');
  assert.ok((factors.get('control:no-internet-exposure') as number) > 0, 'seen in traffic without an exposure finding: not exposed');
  const unknown = lines.find((d) => d.device === deviceId('H1', '10.1.0.9'))!;
  assert.equal(unknown.contributions.map((c: { factor: string }) => c.factor), ['finding:default-credentials', 'control:no-internet-exposure', 'control:segmentation']);
  // Unknown criticality is life-sustaining: a critical finding costs 30 % uncontrolled, and the
  // device, seen in traffic without an exposure finding, gets the no-internet credit back in part.
  assert.equal(unknown.contributions.map((c: { points: number }) => c.points), [-30, 10.73, 0]);
  assert.is(unknown.score, 80.73);
  assert.match(r.stderr, /0 findings and 1 detection groups name no known device/);
  const versions = await (async () => {
    const s = await openStore(siteDb, { readOnly: true });
    try {
      return JSON.parse((await s.all<{ v: string }>('SELECT any_value(input_versions) AS v FROM rama_device_scores'))[0].v);
    } finally {
      await s.close();
    }
  })();
  assert.is(versions.findings, 'findings-v1');
  assert.is(versions.detections, 'detections-v2');
  assert.match(versions.knowledge, /^kb-format-1:\d+-advisories$/);

  // Rubric answers for one CVE of the pump's model: physical access only, low integrity impact.
  const answers = { XAVN: 'no', XAVT: 'no', XAVW: 'no', XAVR: 'no', XAVP: 'yes', XACL: 'no', XPRL: 'yes', XPRZ: 'no', XPRS: 'yes', XUI: 'yes', XS: 'no', XCPM: 'no' } as Record<string, string>;
  for (const m of ['C', 'I', 'A']) for (const k of ['P', 'D', 'T', 'W', 'S', 'O']) answers[`X${m}${k}`] = m === 'I' && k === 'T' ? 'low' : 'none';
  const rw = await openStore(siteDb);
  await rw.write('rubric-1', { rama_rubric_answers: batchFromRows(RUBRIC_ANSWER_SCHEMA, RUBRIC_ANSWER_COLUMNS, [{ make: 'Becton, Dickinson and Company (BD)', model: 'alaris 8015', cve: 'CVE-2023-30563', answers: JSON.stringify(answers) }]) });
  await rw.close();
  const again = await heir('devices', '--db', siteDb, '--json', '--as-of', AS_OF);
  const pump2 = again.stdout.trim().split('\n').map((l) => JSON.parse(l)).find((d) => d.device === pump.device)!;
  const after = new Map(pump2.contributions.map((c: { factor: string; points: number }) => [c.factor, c.points]));
  assert.ok((after.get('vuln:CVE-2023-30563') as number) > (factors.get('vuln:CVE-2023-30563') as number), 'a physical-only, low-impact rubric answer lowers the CVE\'s weight');
  assert.ok(pump2.score > pump.score);
});

test.after(() => rmSync(dir, { recursive: true, force: true }));
test.run();
