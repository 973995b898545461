import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { arrowSchema, batchFromRows, type ColumnSpec } from '../../pipeline/columns.ts';
import { incidents } from '../../pipeline/incidents.ts';
import { openStore } from '../../pipeline/store.ts';
import { command } from '../../pipeline/commands/detections.ts';
import { DETECTION_COLUMNS, DETECTIONS_SCHEMA, type DetectionRow } from '../../operators/detections-schema.ts';

// A detections table as the classify operator stores it: one row per flagged flow or window.
const SPECS: ColumnSpec[] = [
  { name: 'ts', kind: 'ts', nullable: false, doc: '' },
  { name: 'ts_end', kind: 'ts', nullable: false, doc: '' },
  { name: 'device', kind: 'utf8', nullable: false, doc: '' },
  { name: 'label', kind: 'utf8', nullable: false, doc: '' },
  { name: 'threat', kind: 'utf8', nullable: false, doc: '' },
  { name: 'confidence', kind: 'f64', nullable: false, doc: '' },
  { name: 'owasp', kind: 'utf8', nullable: true, doc: '' },
  { name: 'features_top', kind: 'utf8', nullable: true, doc: '' },
  { name: 'benign', kind: 'bool', nullable: false, doc: '' },
];
const SCHEMA = arrowSchema('detections', 1, SPECS);
const T0 = Date.UTC(2026, 0, 1, 12) * 1000;
const s = (sec: number) => T0 + sec * 1e6;

function rows() {
  const out: Record<string, unknown>[] = [];
  // One SYN flood on .10: 500 detections over 5 s, then again 200 s later (a second incident).
  for (let i = 0; i < 500; i++) out.push({ ts: s(i / 100), ts_end: s(i / 100 + 0.01), device: '10.0.0.10', label: 'TCP_IP-DoS-SYN', threat: 'denial-of-service', confidence: 0.6 + (i % 4) / 10, owasp: 'A05', features_top: i === 3 ? 'syn_flag_number=1' : 'x', benign: false });
  for (let i = 0; i < 20; i++) out.push({ ts: s(200 + i), ts_end: s(200.5 + i), device: '10.0.0.10', label: 'TCP_IP-DoS-SYN', threat: 'denial-of-service', confidence: 0.7, owasp: 'A05', features_top: null, benign: false });
  // A scan of another device in between, and benign rows that never become incidents.
  for (let i = 0; i < 30; i++) out.push({ ts: s(50 + i * 0.1), ts_end: s(50 + i * 0.1), device: '10.0.0.22', label: 'Recon-Port_Scan', threat: 'network-reconnaissance', confidence: 0.8, owasp: null, features_top: null, benign: false });
  for (let i = 0; i < 10; i++) out.push({ ts: s(i), ts_end: s(i), device: '10.0.0.21', label: 'Benign', threat: 'none', confidence: 0.99, owasp: null, features_top: null, benign: true });
  return out;
}

/** `heir detections --db DB --json`, run in this process: its exit code must be 0; the objects it printed. */
async function detectionsJson(db: string): Promise<Record<string, unknown>[]> {
  const written: string[] = [];
  const original = process.stdout.write.bind(process.stdout);
  process.stdout.write = ((chunk: string) => (written.push(chunk), true)) as typeof process.stdout.write;
  let code: number;
  try {
    code = await command.run(['--db', db, '--json']);
  } finally {
    process.stdout.write = original;
  }
  assert.is(code, 0);
  return written.join('').trim().split('\n').map((l) => JSON.parse(l));
}

test('detections of one ongoing attack fold into one incident; a long quiet gap starts another', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'heir-incidents-'));
  try {
    const db = join(dir, 'site.duckdb');
    const store = await openStore(db);
    await store.write('b1', { detections: batchFromRows(SCHEMA, SPECS, rows() as never) });
    const list = await incidents(store, 60);
    await store.close();
    assert.is(list.length, 3);
    const [flood, scan, again] = list;
    assert.equal([flood.device, flood.label, flood.count], ['10.0.0.10', 'TCP_IP-DoS-SYN', 500]);
    assert.is(flood.first_seen, new Date(T0 / 1000).toISOString());
    assert.is(flood.last_seen, new Date(s(4.99 + 0.01) / 1000).toISOString());
    assert.ok(Math.abs(flood.confidence - 0.9) < 1e-9);
    assert.equal(flood.taxonomy, { enisa: 'denial-of-service', owasp: 'A05' });
    assert.is(flood.drivers, 'syn_flag_number=1');
    assert.equal([scan.device, scan.count], ['10.0.0.22', 30]);
    assert.equal([again.device, again.count], ['10.0.0.10', 20]);
    // A gap longer than the quiet spell joins the two flood incidents.
    const store2 = await openStore(db, { readOnly: true });
    const joined = await incidents(store2, 300);
    await store2.close();
    assert.is(joined.length, 2);
    assert.is(joined.find((i) => i.label === 'TCP_IP-DoS-SYN')!.count, 520);

    // The CLI prints one JSON object per incident with the documented keys.
    const lines = await detectionsJson(db);
    assert.is(lines.length, 3);
    for (const key of ['label', 'threat', 'confidence', 'device', 'first_seen', 'last_seen', 'taxonomy', 'count']) assert.ok(key in lines[0], key);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('detections v2 (the classify operator\'s table) show their typed explanation as drivers', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'heir-incidents-'));
  try {
    const db = join(dir, 'site.duckdb');
    const store = await openStore(db);
    const base = { flow_id: 'f', site_id: 'H1', model: 'm', owasp: null, owasp_iot: null, attack_ics: null, benign: false, top2_feature: null, top2_value: null, top2_share: null, top3_feature: null, top3_value: null, top3_share: null };
    const rows: DetectionRow[] = [
      { ...base, detection_id: 'a', device: '10.0.0.10', ts: s(0), label: 'TCP_IP-DoS-SYN', confidence: 0.9, threat: 'denial-of-service', top1_feature: 'syn_flag_number', top1_value: 1, top1_share: 0.625, top2_feature: 'rst_count', top2_value: 0.5, top2_share: 0.25 },
      { ...base, detection_id: 'b', device: '10.0.0.10', ts: s(1), label: 'TCP_IP-DoS-SYN', confidence: 0.6, threat: 'denial-of-service', top1_feature: 'Rate', top1_value: 3, top1_share: 1 },
      { ...base, detection_id: 'c', device: '10.0.0.22', ts: s(2), label: 'Recon-Port_Scan', confidence: 0.8, threat: 'network-reconnaissance', top1_feature: 'Header_Length', top1_value: null, top1_share: 0.5 },
    ];
    await store.write('b1', { detections: batchFromRows(DETECTIONS_SCHEMA, DETECTION_COLUMNS, rows) });
    const list = await incidents(store, 60);
    await store.close();
    assert.equal(list.map((i) => i.drivers), ['syn_flag_number=1.0 (0.625), rst_count=0.5 (0.25)', 'Header_Length=null (0.5)']);
    // heir detections --json prints them.
    const lines = (await detectionsJson(db)) as { drivers: string | null }[];
    assert.equal(lines.map((l) => l.drivers), ['syn_flag_number=1.0 (0.625), rst_count=0.5 (0.25)', 'Header_Length=null (0.5)']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a table without the detection columns is a clear error', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'heir-incidents-'));
  try {
    const store = await openStore(join(dir, 'x.duckdb'));
    const specs: ColumnSpec[] = [{ name: 'ts', kind: 'ts', nullable: false, doc: '' }, { name: 'device', kind: 'utf8', nullable: false, doc: '' }];
    await store.write('b1', { detections: batchFromRows(arrowSchema('detections', 1, specs), specs, [{ ts: T0, device: 'a' }] as never) });
    try {
      await incidents(store);
      assert.unreachable('should throw');
    } catch (error) {
      assert.match((error as Error).message, /lacks threat, label, confidence/);
    } finally {
      await store.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
