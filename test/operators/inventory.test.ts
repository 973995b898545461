/**
 * The inventory operator on flow batches and on real loopback captures, and the whole device path
 * through the real interfaces: hunt + inventory outputs written to a DuckDB store, an inventory
 * imported with `heir inventory import`, then `heir devices` and `heir findings` run as the CLI.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { sha256Hex } from '../../knowledge/rules.ts';
import { createHunt } from '../../operators/hunt.ts';
import { createInventory, deviceId, observeDevices } from '../../operators/inventory.ts';
import { deviceObservationRows, deviceServiceRows } from '../../operators/devices-schema.ts';
import { AddressClassifier } from '../../knowledge/networks.ts';
import { loadKnowledgeBase } from '../../knowledge/kb.ts';
import { flowBatch, type FlowRow } from '../../pipeline/flow-schema.ts';
import { openStore } from '../../pipeline/store.ts';
import { run } from '../helpers/loopback.ts';
import { parseCaptureFile } from '../helpers/pcap.ts';

const kb = loadKnowledgeBase();
const T0 = Date.UTC(2026, 0, 5, 8) * 1000;
let n = 0;
function flow(extra: Partial<FlowRow>): Partial<FlowRow> {
  n++;
  return {
    flow_id: `i${n}`, site_id: 'h1', sensor_id: 's1', source: 'lab', ts_start: T0 + n * 1e6, ts_end: T0 + n * 1e6 + 1000, duration_s: 0.001,
    ip_version: 4, ip_proto: 6, src_addr: '10.20.1.11', dst_addr: '10.20.8.1', src_port: 40000 + n, dst_port: 2575,
    fwd_packets: 4, bwd_packets: 3, fwd_bytes: 600, bwd_bytes: 200, fwd_payload_bytes: 400, bwd_payload_bytes: 40, ...extra,
  };
}

const rows = [
  flow({ l7_proto: 'hl7-mllp', src_mac: '00:1A:01:00:00:11', dst_mac: '02:00:00:00:00:01', hl7_sending_app: 'ALARIS', hl7_sending_facility: 'ICU' }),
  flow({ l7_proto: 'dicom', src_addr: '10.20.6.5', dst_addr: '10.20.8.2', dst_port: 104, dicom_calling_ae: 'CT_SCANNER', dicom_called_ae: 'PACS', dicom_impl_version: 'OFFIS_DCMTK_367' }),
  flow({ l7_proto: 'dhcp', ip_proto: 17, src_addr: '0.0.0.0', dst_addr: '255.255.255.255', src_port: 68, dst_port: 67, src_mac: '00:1a:01:00:00:11', dhcp_hostname: 'alaris-icu-4', dhcp_vendor_class: 'BD-Alaris', bwd_packets: 0 }),
  flow({ l7_proto: 'http', src_addr: '10.20.2.21', dst_addr: '10.20.8.3', dst_port: 80, http_user_agent: 'Mozilla/4.0 (compatible; MSIE 8.0; Windows NT 5.1)', http_server: 'Microsoft-IIS/7.5' }),
  flow({ l7_proto: 'tls', tls_version: 'TLS1.2', src_addr: '10.20.2.21', dst_addr: '52.95.1.1', dst_port: 443, tls_sni: 'cloud.vendor.example' }),
  flow({ l7_proto: 'ftp', src_addr: '10.20.9.9', dst_addr: '10.20.1.11', dst_port: 21, banner: 'Pump FTP ready', login_protocol: 'ftp', login_user: 'admin', login_secret_sha256: sha256Hex('admin'), login_failures: 0 }),
  // The monitor workstation (XP) saves reports over SMBv1 to a Windows 7 file server.
  flow({
    l7_proto: 'smb', src_addr: '10.20.2.21', dst_addr: '10.20.8.5', dst_port: 445, smb_dialect: 'SMB1 (NT LM 0.12)', smb_dialects: 'NT LM 0.12', smb_client_os: 'Windows 5.1 | Windows 2000 LAN Manager',
    smb_server_os: 'Windows 7 Professional 7601 Service Pack 1 | Windows 7 Professional 6.1', ntlm_server_version: '6.1.7601', ntlm_client_version: '5.1.2600', ntlm_server_name: 'CARDIO\\REPORTS01', ntlm_client_name: 'MONITOR-WS3', ntlm_auth: 'NTLMv2', login_protocol: 'smb', login_user: 'CARDIO\\report', login_failures: 0,
  }),
];

test('device observations from a flow batch: identities, services, peers, MAC maker, DHCP by MAC', () => {
  const { observations, services } = observeDevices(flowBatch(rows), new AddressClassifier(), kb.oui, 'b1');
  const by = new Map(observations.map((o) => [o.address, o]));
  assert.not.ok(by.has('52.95.1.1'), 'internet peers are not devices');
  assert.not.ok(by.has('0.0.0.0'));
  const pump = by.get('10.20.1.11')!;
  assert.is(pump.device_id, deviceId('h1', '10.20.1.11'));
  assert.is(pump.mac, '00:1a:01:00:00:11');
  assert.is(pump.mac_vendor, 'Smiths Medical', 'IEEE OUI 00:1A:01');
  assert.is(pump.hl7_sending_app, 'ALARIS');
  assert.is(pump.dhcp_hostname, 'alaris-icu-4', 'DHCP from 0.0.0.0 attached through the MAC');
  assert.is(pump.server_ports, 'tcp/21');
  assert.is(pump.protocols, 'ftp,hl7-mllp');
  assert.match(pump.banners ?? '', /Pump FTP ready/);
  assert.is(by.get('10.20.6.5')!.dicom_ae_titles, 'CT_SCANNER');
  assert.is(by.get('10.20.8.2')!.dicom_ae_titles, 'PACS');
  const monitor = by.get('10.20.2.21')!;
  assert.match(monitor.http_user_agents ?? '', /Windows NT 5\.1/);
  assert.is(monitor.tls_sni, 'cloud.vendor.example');
  assert.is(monitor.external_peers, 1);
  assert.match(by.get('10.20.8.3')!.http_servers ?? '', /IIS/);
  assert.ok(services.some((s) => s.address === '10.20.8.2' && s.service === 'tcp/104' && s.l7_proto === 'dicom'));
  // The OS each side announced over SMB: the server's NTLM build and Native OS, the client's.
  assert.is(by.get('10.20.8.5')!.os, 'Windows 7 Professional 7601 Service Pack 1\nWindows 7 SP1 / Server 2008 R2 SP1 (NTLM 6.1.7601)');
  assert.is(by.get('10.20.8.5')!.host_names, 'CARDIO\\REPORTS01');
  assert.is(monitor.os, 'Windows 5.1\nWindows XP (NTLM 5.1.2600)');
  assert.is(monitor.host_names, 'MONITOR-WS3');
  assert.is(pump.os, null);
});

test('the operator on real captures: DICOM AE titles and HL7 applications', async () => {
  const op = createInventory({ internalNetworks: [] });
  const ctx = { site: 'test-site', sensor: 'lo', batchId: 'cap', warn() {} };
  const dicom = (await parseCaptureFile('test/fixtures/pcaps/dicom-echo.pcap')).rows;
  const d = deviceObservationRows((op.apply({ flows: flowBatch(dicom) }, ctx) as { device_observations: never }).device_observations);
  assert.is(d.length, 1, 'one loopback device');
  assert.is(d[0].dicom_ae_titles, 'INFUSION_GW,PACS_ARCHIVE');
  assert.is(d[0].protocols, 'dicom');
  const hl7 = (await parseCaptureFile('test/fixtures/pcaps/hl7-mllp.pcap')).rows;
  const out = op.apply({ flows: flowBatch(hl7) }, ctx) as { device_observations: never; device_services: never };
  assert.is(deviceObservationRows(out.device_observations)[0].hl7_sending_app, 'PUMPCTRL');
  assert.is(deviceServiceRows(out.device_services)[0].l7_proto, 'hl7-mllp');
});

const dir = mkdtempSync(join(tmpdir(), 'heir-inventory-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));
const heir = (...args: string[]) => run('node', ['bin/heir.js', ...args], { timeoutMs: 60_000 });

test('store + CLI: devices merged with the imported inventory, advisories, findings as JSON lines', async () => {
  const db = join(dir, 'site.duckdb');
  const hunt = createHunt();
  const inventory = createInventory();
  const ctx = (batchId: string) => ({ site: 'h1', sensor: 's1', batchId, warn() {} });
  const store = await openStore(db);
  try {
    const batch1 = flowBatch(rows);
    const t1 = inventory.apply(hunt.apply({ flows: batch1 }, ctx('b1')) as never, ctx('b1')) as Record<string, never>;
    assert.ok(await store.write('b1', t1));
    assert.not.ok(await store.write('b1', t1), 'a redelivered batch adds nothing');
    // Two hours later the pump answers on a new port, and the HL7 traffic goes on.
    const later = T0 + 2 * 3600e6;
    const batch2 = flowBatch([
      flow({ ts_start: later, ts_end: later + 1000, src_addr: '10.20.9.9', dst_addr: '10.20.1.11', dst_port: 8023, l7_proto: 'telnet', banner: 'debug shell' }),
      flow({ ts_start: later + 5e6, ts_end: later + 6e6, l7_proto: 'hl7-mllp', hl7_sending_app: 'ALARIS' }),
    ]);
    const t2 = inventory.apply(hunt.apply({ flows: batch2 }, ctx('b2')) as never, ctx('b2')) as Record<string, never>;
    assert.ok(await store.write('b2', t2));
  } finally {
    await store.close();
  }

  const imported = await heir('inventory', 'import', '--db', db, '--site', 'h1', '--mds2', 'test/fixtures/inventory/mds2.csv', 'test/fixtures/inventory/hospital.csv');
  assert.is(imported.code, 0, imported.stderr);
  assert.match(imported.stdout, /imported 9 devices/);
  const again = await heir('inventory', 'import', '--db', db, '--site', 'h1', '--mds2', 'test/fixtures/inventory/mds2.csv', 'test/fixtures/inventory/hospital.csv');
  assert.match(again.stdout, /already imported/);

  const devices = await heir('devices', '--db', db, '--json');
  assert.is(devices.code, 0, devices.stderr);
  const list = devices.stdout.trim().split('\n').map((l) => JSON.parse(l));
  const pump = list.find((d) => d.address === '10.20.1.11');
  assert.equal(pump.sources, ['traffic', 'inventory']);
  assert.is(pump.inventory.model, 'Alaris 8015 PC unit');
  assert.is(pump.inventory.criticality, 'therapy');
  assert.equal(pump.inventory.mds2, { 'DOC-1': 'Becton Dickinson', 'AUTH-1': 'Yes', 'CSUP-1': 'No' });
  assert.is(pump.identities.dhcp_hostname[0], 'alaris-icu-4');
  assert.ok(pump.advisories.some((a: { advisory: string; confidence: string }) => a.advisory === 'ICSMA-17-017-02' && a.confidence === 'high'));
  assert.ok(pump.cves.includes('CVE-2016-9355'));
  assert.equal([...new Set(pump.findings.map((f: { rule: string }) => f.rule))].sort(), ['cleartext-credentials', 'cleartext-hl7', 'default-credentials', 'ftp-service', 'new-service', 'telnet-service', 'vulnerable-version']);
  assert.is(list.find((d) => d.inventory?.asset_id === 'PRN-001').sources[0], 'inventory');
  // Not in the inventory, but its DICOM implementation version names its software.
  const ct = list.find((d) => d.address === '10.20.6.5');
  assert.equal(ct.identities.dicom_impl_versions, ['OFFIS_DCMTK_367']);
  assert.ok(ct.advisories.some((a: { advisory: string; evidence: string[] }) => a.advisory === 'ICSMA-26-181-01' && /identified from traffic/.test(a.evidence[0])));
  const files = list.find((d) => d.address === '10.20.8.5');
  assert.equal(files.identities.os, ['Windows 7 Professional 7601 Service Pack 1', 'Windows 7 SP1 / Server 2008 R2 SP1 (NTLM 6.1.7601)']);
  assert.equal([...new Set(files.findings.map((f: { rule: string }) => f.rule))].sort(), ['smbv1-in-use', 'unsupported-server-os']);
  assert.equal(list.find((d) => d.address === '10.20.2.21').findings.filter((f: { rule: string }) => f.rule === 'unsupported-os').map((f: { subject: string }) => f.subject), ['windows-xp']);
  const text = await heir('devices', '--db', db);
  assert.match(text.stdout, /10\.20\.1\.11 .*BD|Becton Dickinson Alaris 8015 PC unit 9\.19 \[therapy\]/);

  const findings = await heir('findings', '--db', db, '--json');
  assert.is(findings.code, 0, findings.stderr);
  const lines = findings.stdout.trim().split('\n').map((l) => JSON.parse(l));
  for (const f of lines) {
    for (const key of ['rule', 'severity', 'device', 'evidence', 'taxonomy']) assert.ok(key in f, `${key} in ${JSON.stringify(f)}`);
    assert.ok(Array.isArray(f.taxonomy.enisa) && Array.isArray(f.taxonomy.owasp) && Array.isArray(f.taxonomy.owasp_iot) && Array.isArray(f.taxonomy.attack_ics));
  }
  const hl7 = lines.filter((f) => f.rule === 'cleartext-hl7');
  assert.is(hl7.length, 1, 'one finding over two batches');
  assert.is(hl7[0].flow_count, 2);
  assert.is(hl7[0].first_seen, new Date((T0 + 1e6) / 1000).toISOString());
  assert.ok(Date.parse(hl7[0].last_seen) > Date.parse(hl7[0].first_seen) + 3600e3);
  const fresh = lines.find((f) => f.rule === 'new-service');
  assert.is(fresh.subject, 'tcp/8023');
  assert.match(fresh.evidence, /telnet/);
  const kev = lines.find((f) => f.rule === 'vulnerable-version' && f.subject === 'ICSMA-20-170-01');
  assert.is(kev.severity, 'critical', 'an advisory CVE in KEV raises the finding');
  assert.match(kev.evidence, /in CISA KEV: CVE-2017-0143/);
  assert.ok(lines.some((f) => f.rule === 'vulnerable-version' && f.device === '10.20.6.5' && f.subject === 'ICSMA-26-181-01'));
  const high = await heir('findings', '--db', db, '--json', '--severity', 'critical');
  assert.ok(high.stdout.trim().split('\n').every((l) => JSON.parse(l).severity === 'critical'));
});

test('CLI errors: bad inventory names the line and field; missing store; bad flags', async () => {
  const db = join(dir, 'errors.duckdb');
  const bad = join(dir, 'bad.csv');
  writeFileSync(bad, 'asset_id,address,criticality\nP1,10.0.0.1,therapy\nP2,10.0.0.2,sometimes\n');
  const r = await heir('inventory', 'import', '--db', db, bad);
  assert.is(r.code, 1);
  assert.match(r.stderr, /bad\.csv: line 3, field criticality: "sometimes" is not one of/);
  assert.not.match(r.stderr, /at .*\.ts:\d+/, 'no stack trace');
  const missing = await heir('devices', '--db', join(dir, 'nope.duckdb'));
  assert.is(missing.code, 1);
  assert.match(missing.stderr, /no such DuckDB file/);
  const flag = await heir('findings', '--db', db, '--severity', 'urgent');
  assert.is(flag.code, 2);
  assert.match(flag.stderr, /invalid --severity: urgent/);
});

test.run();
