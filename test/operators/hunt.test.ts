/**
 * The hunt operator, three ways: on flow batches built row by row (every rule fires on its
 * weakness and stays silent on the safe variant); on the committed loopback captures of real
 * programs (test/fixtures/pcaps) read by the real pcap parser; and on captures recorded here of
 * the encrypted equivalents (HL7 and HTTP Basic inside TLS, MQTT over TLS, DICOM over TLS), a 3DES
 * handshake and a burst of failed FTP logins, with tcpdump on loopback.
 */
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { sha256Hex, loadRules, validateRules } from '../../knowledge/rules.ts';
import { createHunt, findingId, redact } from '../../operators/hunt.ts';
import { findingRows, type FindingRow } from '../../operators/findings-schema.ts';
import { flowBatch, type FlowRow } from '../../pipeline/flow-schema.ts';
import { background, captureLoopback, freePort, requireTool, run, waitForPort } from '../helpers/loopback.ts';
import { parseCaptureFile } from '../helpers/pcap.ts';

const ctx = { site: 'h1', sensor: 's1', batchId: 'batch-1', warn() {} };

/** Findings of one batch on a fresh operator (aggregate windows start empty). */
function huntRows(rows: readonly Partial<FlowRow>[]): FindingRow[] {
  const out = createHunt().apply({ flows: flowBatch(rows) }, ctx) as { findings: Parameters<typeof findingRows>[0] };
  return findingRows(out.findings);
}
const rulesOf = (findings: readonly FindingRow[]) => [...new Set(findings.map((f) => f.rule_id))].sort();

const T0 = Date.UTC(2026, 0, 5, 8) * 1000;
let n = 0;
function flow(extra: Partial<FlowRow>): Partial<FlowRow> {
  n++;
  return {
    flow_id: `f${n}`, site_id: 'h1', sensor_id: 's1', source: 'lab', ts_start: T0 + n * 1e6, ts_end: T0 + n * 1e6 + 500_000, duration_s: 0.5,
    ip_version: 4, ip_proto: 6, src_addr: '10.1.0.5', dst_addr: '10.1.0.9', src_port: 40000 + n, dst_port: 2575,
    fwd_packets: 6, bwd_packets: 5, fwd_bytes: 900, bwd_bytes: 400, fwd_payload_bytes: 500, bwd_payload_bytes: 100, ...extra,
  };
}

// ---- flow batches -------------------------------------------------------------------------------

test('cleartext clinical data: HL7, DICOM, FHIR fire without TLS and stay silent with it', () => {
  const clear = huntRows([
    flow({ l7_proto: 'hl7-mllp', hl7_message_type: 'ORU^R01', hl7_sending_app: 'PUMPCTRL' }),
    flow({ l7_proto: 'dicom', dst_port: 104, dicom_calling_ae: 'CT01', dicom_called_ae: 'PACS' }),
    flow({ l7_proto: 'http', dst_port: 8080, http_method: 'GET', http_path: '/fhir/Patient/123' }),
    flow({ l7_proto: 'http', dst_port: 8080, http_method: 'GET', http_path: '/Observation' }),
  ]);
  assert.equal(rulesOf(clear), ['cleartext-dicom', 'cleartext-fhir', 'cleartext-hl7']);
  const hl7 = clear.find((f) => f.rule_id === 'cleartext-hl7')!;
  assert.is(hl7.device, '10.1.0.5');
  assert.is(hl7.severity, 'high');
  assert.match(hl7.evidence, /hl7_message_type=ORU\^R01/);
  assert.is(hl7.enisa, 'information-leakage,data-breaches');
  assert.is(hl7.owasp, 'A02:2021');
  assert.is(hl7.owasp_iot, 'I7,I6');
  assert.match(hl7.attack_ics, /T0842/);
  const safe = huntRows([
    flow({ l7_proto: 'tls', tls_version: 'TLS1.3', dst_port: 2576 }),
    flow({ l7_proto: 'http', dst_port: 8080, http_path: '/device/lists' }),
  ]);
  assert.equal(rulesOf(safe), []);
});

test('cleartext remote access and weak authentication', () => {
  const f = huntRows([
    flow({ l7_proto: 'telnet', dst_port: 23, banner: 'pump login:', login_protocol: 'telnet', login_user: 'service', login_secret_sha256: sha256Hex('not-a-default'), login_failures: 0 }),
    flow({ l7_proto: 'ftp', dst_port: 21, login_protocol: 'ftp', login_user: 'nurse', login_secret_sha256: sha256Hex('x'), login_failures: 1 }),
    flow({ l7_proto: 'vnc', banner: 'RFB 003.008', vnc_security: 'vnc', dst_port: 5900, dst_addr: '10.1.0.20', bwd_payload_bytes: 13 }),
    flow({ l7_proto: 'http', dst_port: 80, dst_addr: '10.1.0.21', http_basic_auth: true, login_protocol: 'http-basic', login_user: 'admin', login_secret_sha256: sha256Hex('admin') }),
    flow({ l7_proto: 'mqtt', dst_port: 1883, dst_addr: '10.1.0.22', mqtt_client_id: 'pump-1', mqtt_username: true, mqtt_password: true, login_protocol: 'mqtt', login_user: 'pump', login_secret_sha256: sha256Hex('pw') }),
  ]);
  assert.equal(rulesOf(f), ['cleartext-credentials', 'default-credentials', 'ftp-service', 'http-basic-cleartext', 'mqtt-cleartext-password', 'telnet-service', 'vnc-service']);
  const def = f.find((x) => x.rule_id === 'default-credentials')!;
  assert.is(def.device, '10.1.0.21');
  assert.is(def.severity, 'critical');
  assert.is(def.default_credential, 'admin (generic-admin-admin)');
  assert.match(def.evidence, /known default account "admin"/);
  assert.match(def.evidence, /accepted in 1 flow, refused in 0/);
  assert.is(f.find((x) => x.rule_id === 'mqtt-cleartext-password')!.device, '10.1.0.5', 'the MQTT client is the device that leaks its password');
  // The same logins inside TLS are silent.
  const safe = huntRows([
    flow({ l7_proto: 'tls', tls_version: 'TLS1.3', dst_port: 8883, mqtt_password: true }),
    flow({ l7_proto: 'tls', tls_version: 'TLS1.2', tls_cipher: '0xC02F', dst_port: 443, http_basic_auth: true }),
    flow({ l7_proto: 'ssh', dst_port: 22, banner: 'SSH-2.0-OpenSSH_9.2' }),
  ]);
  assert.equal(rulesOf(safe), []);
});

test('evidence never keeps secrets', () => {
  const secret = 'Sup3r-S3cret';
  const f = huntRows([
    flow({ l7_proto: 'ftp', dst_port: 21, banner: 'FTP ready password=hunter2', login_protocol: 'ftp', login_user: 'nurse', login_secret_sha256: sha256Hex(secret), http_path: `/x?token=${secret}` }),
    flow({ l7_proto: 'http', dst_port: 80, http_basic_auth: true, http_path: `/login?password=${secret}&u=1`, login_protocol: 'http-basic', login_user: 'root', login_secret_sha256: sha256Hex('root') }),
  ]);
  assert.ok(f.length >= 3);
  for (const x of f) {
    const all = `${x.evidence} ${x.evidence_json} ${x.default_credential ?? ''}`;
    assert.not.match(all, secret);
    assert.not.match(all, 'hunter2');
    assert.not.match(all, sha256Hex(secret), 'not even the password hash');
    assert.not.match(all, sha256Hex('root'));
  }
  const cred = f.find((x) => x.rule_id === 'cleartext-credentials' && x.device === '10.1.0.9' && x.subject === 'tcp/21 nurse')!;
  assert.match(cred.evidence, /a password crossed in cleartext \(not kept\)/);
  assert.is(f.find((x) => x.rule_id === 'default-credentials')!.default_credential, 'root (generic-root-root)');
  assert.is(redact('Authorization: Basic YWRtaW46YWRtaW4='), 'Authorization: Basic [redacted]');
});

test('obsolete cryptography: SSLv3/TLS 1.0/1.1 and NULL/EXPORT/RC4/3DES suites', () => {
  const f = huntRows([
    flow({ l7_proto: 'tls', dst_port: 443, dst_addr: '10.1.0.30', tls_version: 'SSLv3', tls_cipher: '0x0005' }),
    flow({ l7_proto: 'tls', dst_port: 443, dst_addr: '10.1.0.31', tls_version: 'TLS1.1', tls_cipher: '0xC013' }),
    flow({ l7_proto: 'tls', dst_port: 443, dst_addr: '10.1.0.32', tls_version: 'TLS1.2', tls_cipher: '0x000A' }),
    flow({ l7_proto: 'tls', dst_port: 443, dst_addr: '10.1.0.33', tls_version: 'TLS1.2', tls_cipher: '0x0003' }),
    flow({ l7_proto: 'tls', dst_port: 443, dst_addr: '10.1.0.34', tls_version: 'TLS1.2', tls_cipher: '0xC02F' }),
    flow({ l7_proto: 'tls', dst_port: 443, dst_addr: '10.1.0.35', tls_version: 'TLS1.3', tls_cipher: '0x1301' }),
  ]);
  const by = (rule: string) => f.filter((x) => x.rule_id === rule).map((x) => x.device).sort();
  assert.equal(by('obsolete-tls-version'), ['10.1.0.30', '10.1.0.31']);
  assert.equal(by('weak-tls-cipher'), ['10.1.0.30', '10.1.0.32', '10.1.0.33']);
  assert.match(f.find((x) => x.device === '10.1.0.32' && x.rule_id === 'weak-tls-cipher')!.evidence, /TLS_RSA_WITH_3DES_EDE_CBC_SHA/);
});

test('unsupported operating systems and server software, with end-of-support dates', () => {
  const f = huntRows([
    flow({ l7_proto: 'http', dst_port: 80, src_addr: '10.1.0.40', http_user_agent: 'Mozilla/4.0 (compatible; MSIE 7.0; Windows NT 5.1; .NET CLR 2.0)' }),
    flow({ l7_proto: 'http', dst_port: 80, dst_addr: '10.1.0.41', http_server: 'Microsoft-IIS/7.5' }),
    flow({ l7_proto: 'dhcp', ip_proto: 17, src_port: 68, dst_port: 67, src_addr: '10.1.0.42', dhcp_vendor_class: 'MSFT 98' }),
    flow({ l7_proto: 'http', dst_port: 80, src_addr: '10.1.0.43', http_user_agent: 'Mozilla/5.0 (Windows NT 10.0; Win64; x64)' }),
  ]);
  const os = f.filter((x) => x.rule_id === 'unsupported-os');
  assert.equal(os.map((x) => x.device).sort(), ['10.1.0.40', '10.1.0.42']);
  assert.match(os.find((x) => x.device === '10.1.0.40')!.evidence, /Windows XP .*end of support 2014-04-08/);
  assert.match(f.find((x) => x.rule_id === 'unsupported-server-software')!.evidence, /IIS 7\.0\/7\.5.*2020-01-14/);
  // Before the end-of-support date the same banner is not a finding.
  const early = huntRows([flow({ ts_start: Date.UTC(2019, 0, 1) * 1000, ts_end: Date.UTC(2019, 0, 1) * 1000 + 1, l7_proto: 'http', dst_port: 80, http_server: 'Microsoft-IIS/7.5' })]);
  assert.equal(rulesOf(early), []);
});

test('exposure: internet peers, remote access from outside, services reachable from the internet', () => {
  const f = huntRows([
    flow({ l7_proto: 'tls', tls_version: 'TLS1.3', src_addr: '10.1.0.50', dst_addr: '52.95.1.1', dst_port: 443, tls_sni: 'telemetry.vendor.example' }),
    flow({ l7_proto: 'ssh', src_addr: '203.0.113.7', dst_addr: '10.1.0.51', dst_port: 22, banner: 'SSH-2.0-dropbear' }),
    flow({ l7_proto: 'dns', ip_proto: 17, src_addr: '10.1.0.52', dst_addr: '8.8.8.8', dst_port: 53, dns_query: 'pool.ntp.org' }),
  ]);
  assert.equal(rulesOf(f), ['external-remote-access', 'internet-communication', 'internet-exposed-service']);
  const out = f.find((x) => x.rule_id === 'internet-communication')!;
  assert.is(out.device, '10.1.0.50');
  assert.match(out.evidence, /telemetry\.vendor\.example/);
  assert.is(f.find((x) => x.rule_id === 'external-remote-access')!.peer, '203.0.113.7');
  // A site that declares 203.0.113.0/24 its own sees no exposure.
  const own = createHunt({ internalNetworks: ['203.0.113.0/24', '52.95.0.0/16'] });
  const rows = findingRows((own.apply({ flows: flowBatch([flow({ l7_proto: 'ssh', src_addr: '203.0.113.7', dst_addr: '10.1.0.51', dst_port: 22 })]) }, ctx) as { findings: never }).findings);
  assert.equal(rows, []);
});

test('brute force and scanning: thresholds within a time window', () => {
  const burst = (count: number, gapS: number) => Array.from({ length: count }, (_, i) => flow({ l7_proto: 'ftp', dst_port: 21, src_addr: '10.1.0.66', login_protocol: 'ftp', login_user: 'admin', login_failures: 1, ts_start: T0 + i * gapS * 1e6, ts_end: T0 + i * gapS * 1e6 + 1000 }));
  assert.ok(huntRows(burst(6, 2)).some((x) => x.rule_id === 'brute-force'), '6 failures in 12 s');
  assert.not.ok(huntRows(burst(4, 2)).some((x) => x.rule_id === 'brute-force'), '4 failures');
  assert.not.ok(huntRows(burst(6, 30)).some((x) => x.rule_id === 'brute-force'), '6 failures spread over 150 s');
  const bf = huntRows(burst(8, 1)).find((x) => x.rule_id === 'brute-force')!;
  assert.is(bf.device, '10.1.0.9');
  assert.is(bf.peer, '10.1.0.66');
  assert.match(bf.evidence, /sum of login_failures reached 8 within 60 s \(threshold 5\)/);
  const probes = Array.from({ length: 80 }, (_, i) => flow({ src_addr: '10.1.0.99', dst_addr: `10.1.1.${i % 8}`, dst_port: 1 + i, fwd_packets: 1, bwd_packets: 1, fwd_payload_bytes: 0, bwd_payload_bytes: 0, ts_start: T0 + i * 10_000, ts_end: T0 + i * 10_000 + 100 }));
  const scan = huntRows(probes).find((x) => x.rule_id === 'port-scan')!;
  assert.is(scan.device, '10.1.0.99');
  assert.match(scan.evidence, /distinct \(dst_addr, dst_port\) reached 80/);
  assert.not.ok(huntRows(probes.slice(0, 30)).some((x) => x.rule_id === 'port-scan'));
});

test('finding ids are deterministic; first/last seen and flow counts per batch', () => {
  const rows = [flow({ l7_proto: 'hl7-mllp' }), flow({ l7_proto: 'hl7-mllp' })];
  const a = huntRows(rows);
  const b = huntRows(rows);
  assert.equal(a, b);
  const f = a.find((x) => x.rule_id === 'cleartext-hl7')!;
  assert.is(f.finding_id, findingId('h1', 'cleartext-hl7', '10.1.0.5', 'tcp/2575'));
  assert.is(f.flow_count, 2);
  assert.is(f.first_seen, rows[0].ts_start);
  assert.is(f.last_seen, rows[1].ts_end);
  assert.is(f.batch_id, 'batch-1');
});

test('rules are data: an operator-written rule fires without code changes', () => {
  const doc = JSON.parse(JSON.stringify({ format: 1, lists: {}, rules: [] }));
  doc.rules.push({
    id: 'smb1-dialect', version: 1, title: 'Device serves the pump console port 4000', category: 'exposure', severity: 'low', kind: 'flow', device: 'dst', peer: 'src', subject: 'service',
    when: [{ field: 'dst_port', eq: 4000 }, { field: 'bwd_payload_bytes', gt: 0 }], evidence: ['banner'],
    description: 'A site-specific rule.', mitigation: 'Close it.', taxonomy: { enisa: ['information-leakage'], owasp: ['A05:2021'], owasp_iot: ['I2'], attack_ics: [] },
  });
  const custom = createHunt({ rules: validateRules(doc, 'site-rules.json') });
  const out = findingRows((custom.apply({ flows: flowBatch([flow({ dst_port: 4000, banner: 'CONSOLE' })]) }, ctx) as { findings: never }).findings);
  assert.equal(out.map((x) => [x.rule_id, x.subject]), [['smb1-dialect', 'tcp/4000']]);
  assert.ok(loadRules().rules.length > 10);
});

// ---- real captures --------------------------------------------------------------------------------

async function huntFile(file: string): Promise<FindingRow[]> {
  const { rows } = await parseCaptureFile(file);
  assert.ok(rows.length > 0, `${file}: no flows`);
  return huntRows(rows);
}

test('committed loopback captures of real programs: each weakness is found', async () => {
  const expect: Record<string, string[]> = {
    'hl7-mllp.pcap': ['cleartext-hl7'],
    'dicom-echo.pcap': ['cleartext-dicom'],
    'mqtt-login.pcap': ['cleartext-credentials', 'mqtt-cleartext-password'],
    'telnet-login.pcap': ['cleartext-credentials', 'telnet-service'],
    'ftp-login.pcap': ['cleartext-credentials', 'ftp-service'],
    'http-basic.pcap': ['cleartext-credentials', 'default-credentials', 'http-basic-cleartext'],
    'tls10.pcap': ['obsolete-tls-version'],
    'tls13.pcap': [],
  };
  for (const [file, rules] of Object.entries(expect)) {
    const f = await huntFile(join('test/fixtures/pcaps', file));
    assert.equal(rulesOf(f), rules, file);
  }
  const http = await huntFile('test/fixtures/pcaps/http-basic.pcap');
  assert.is(http.find((x) => x.rule_id === 'default-credentials')!.default_credential, 'admin (generic-admin-admin)');
  const hl7 = await huntFile('test/fixtures/pcaps/hl7-mllp.pcap');
  assert.match(hl7[0].evidence, /hl7_sending_app=PUMPCTRL/);
});

const dir = mkdtempSync(join(tmpdir(), 'heir-hunt-'));
chmodSync(dir, 0o755);
test.after(() => rmSync(dir, { recursive: true, force: true }));
const key = join(dir, 'key.pem');
const cert = join(dir, 'cert.pem');

async function certificate(): Promise<void> {
  requireTool('openssl', 'openssl');
  const made = await run('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '2', '-subj', '/CN=127.0.0.1']);
  if (made.code !== 0) throw new Error(`openssl req failed: ${made.stderr}`);
  chmodSync(key, 0o644);
}

async function sServer(port: number, flags: string[]) {
  const server = background('openssl', ['s_server', '-accept', `127.0.0.1:${port}`, '-cert', cert, '-key', key, ...flags]);
  for (let i = 0; i < 200 && !server.output().includes('ACCEPT'); i++) await sleep(25);
  if (!server.output().includes('ACCEPT')) throw new Error(`openssl s_server did not start: ${server.output()}`);
  return server;
}

test('encrypted equivalents recorded here: HL7 and HTTP Basic inside TLS are silent; a NULL cipher is found', async () => {
  await certificate();
  // HL7 v2 over MLLP inside TLS 1.3 (openssl s_client carries the framed message).
  const port = await freePort();
  const server = await sServer(port, ['-tls1_3']);
  const hl7 = join(dir, 'hl7-tls.pcap');
  try {
    const capture = await captureLoopback(hl7, `tcp port ${port}`);
    const message = '\x0bMSH|^~\\&|PUMPCTRL|WARD7|EHR|HOSP|20260105080000||ORU^R01|1|P|2.5\rPID|1||12345\r\x1c\r';
    await run('openssl', ['s_client', '-connect', `127.0.0.1:${port}`, '-tls1_3'], { input: message, timeoutMs: 5000 });
    await capture.stop();
  } finally {
    await server.stop();
  }
  const hl7rows = (await parseCaptureFile(hl7)).rows;
  const carried = hl7rows.find((r) => r.l7_proto === 'tls' && r.tls_version === 'TLS1.3');
  assert.ok(carried && (carried.fwd_payload_bytes ?? 0) > 300, 'a TLS 1.3 session that carried the message');
  assert.equal(rulesOf(huntRows(hl7rows)), [], 'HL7 inside TLS 1.3');

  // HTTP Basic with the default admin/admin, inside TLS (curl to openssl s_server -www).
  const port2 = await freePort();
  const web = await sServer(port2, ['-www']);
  const https = join(dir, 'https-basic.pcap');
  try {
    requireTool('curl', 'curl');
    const capture = await captureLoopback(https, `tcp port ${port2}`);
    const got = await run('curl', ['-sk', '-u', 'admin:admin', `https://127.0.0.1:${port2}/`]);
    await capture.stop();
    assert.is(got.code, 0, got.stderr);
  } finally {
    await web.stop();
  }
  assert.equal(rulesOf(await huntFile(https)), [], 'HTTP Basic inside TLS');

  // A TLS 1.2 handshake that settles on a NULL (unencrypted) suite (openssl at SECLEVEL=0; this OpenSSL build has no 3DES).
  const port3 = await freePort();
  const weak = await sServer(port3, ['-tls1_2', '-cipher', 'NULL-SHA256:@SECLEVEL=0']);
  const des = join(dir, 'tls12-null.pcap');
  try {
    const capture = await captureLoopback(des, `tcp port ${port3}`);
    await run('openssl', ['s_client', '-connect', `127.0.0.1:${port3}`, '-tls1_2', '-cipher', 'NULL-SHA256:@SECLEVEL=0'], { input: '', timeoutMs: 5000 });
    await capture.stop();
  } finally {
    await weak.stop();
  }
  const desf = await huntFile(des);
  assert.equal(rulesOf(desf), ['weak-tls-cipher']);
  assert.match(desf[0].evidence, /0x003B \(TLS_RSA_WITH_NULL_SHA256\)/);
});

test('certificates: a weak key and an expired certificate are found, a sound one is silent', () => {
  const tls = { l7_proto: 'tls', tls_version: 'TLS1.2', dst_port: 443 } as const;
  assert.equal(rulesOf(huntRows([flow({ ...tls, tls_cert_key: 'rsa-2048', tls_cert_key_bits: 2048, tls_cert_expired: false })])), []);
  assert.equal(rulesOf(huntRows([flow({ ...tls, tls_cert_key: 'ec-256', tls_cert_key_bits: 256, tls_cert_expired: false })])), []);
  assert.equal(rulesOf(huntRows([flow({ ...tls, tls_cert_key: 'rsa-1024', tls_cert_key_bits: 1024, tls_cert_expired: false })])), ['weak-certificate-key']);
  assert.equal(rulesOf(huntRows([flow({ ...tls, tls_cert_key: 'ec-192', tls_cert_key_bits: 192, tls_cert_expired: false })])), ['weak-certificate-ec-key']);
  const expired = huntRows([flow({ ...tls, tls_cert_key: 'rsa-2048', tls_cert_key_bits: 2048, tls_cert_expired: true, tls_cert_not_after: T0 - 86_400e6 })]);
  assert.equal(rulesOf(expired), ['expired-certificate']);
  assert.match(expired[0].evidence, /tls_cert_not_after=/);
});

test('a real TLS 1.2 server with a 1024-bit RSA certificate (openssl at SECLEVEL=0) is found; TLS 1.3 hides the certificate', async () => {
  requireTool('openssl', 'openssl');
  const weakKey = join(dir, 'weak-key.pem');
  const weakCert = join(dir, 'weak-cert.pem');
  const made = await run('openssl', ['req', '-x509', '-newkey', 'rsa:1024', '-nodes', '-keyout', weakKey, '-out', weakCert, '-days', '30', '-subj', '/CN=infusion-pump-7']);
  assert.is(made.code, 0, made.stderr);
  const port = await freePort();
  const server = background('openssl', ['s_server', '-accept', `127.0.0.1:${port}`, '-cert', weakCert, '-key', weakKey, '-tls1_2', '-cipher', 'ALL:@SECLEVEL=0']);
  for (let i = 0; i < 200 && !server.output().includes('ACCEPT'); i++) await sleep(25);
  const file = join(dir, 'tls12-rsa1024.pcap');
  try {
    const capture = await captureLoopback(file, `tcp port ${port}`);
    await run('openssl', ['s_client', '-connect', `127.0.0.1:${port}`, '-tls1_2', '-cipher', 'ALL:@SECLEVEL=0'], { input: '', timeoutMs: 5000 });
    await capture.stop();
  } finally {
    await server.stop();
  }
  const rows = (await parseCaptureFile(file)).rows;
  const session = rows.find((r) => r.l7_proto === 'tls');
  assert.ok(session, 'a TLS flow');
  assert.equal([session!.tls_cert_key, session!.tls_cert_key_bits, session!.tls_cert_self_signed, session!.tls_cert_expired], ['rsa-1024', 1024, true, false]);
  const found = huntRows(rows);
  assert.equal(rulesOf(found), ['weak-certificate-key']);
  assert.match(found[0].evidence, /tls_cert_key=rsa-1024/);
  // The committed TLS 1.3 capture: the certificate is encrypted, so nothing is claimed about it.
  const tls13 = (await parseCaptureFile('test/fixtures/pcaps/tls13.pcap')).rows.find((r) => r.l7_proto === 'tls');
  assert.is(tls13!.tls_cert_key, null);
});

test('MQTT with a password over TLS (mosquitto) is silent; the same broker in cleartext is not', async () => {
  requireTool('mosquitto', 'mosquitto');
  requireTool('mosquitto_pub', 'mosquitto-clients');
  const port = await freePort();
  const passwords = join(dir, 'passwd');
  const made = await run('mosquitto_passwd', ['-b', '-c', passwords, 'pump', 'Pump-Pass-1']);
  assert.is(made.code, 0, made.stderr);
  chmodSync(passwords, 0o644);
  const conf = join(dir, 'mosquitto-tls.conf');
  writeFileSync(conf, `listener ${port} 127.0.0.1\ncertfile ${cert}\nkeyfile ${key}\nallow_anonymous false\npassword_file ${passwords}\npersistence false\n`);
  const broker = background('mosquitto', ['-c', conf]);
  const file = join(dir, 'mqtt-tls.pcap');
  try {
    await waitForPort(port).catch((e) => {
      throw new Error(`${e.message}; mosquitto said: ${broker.output()}`);
    });
    const capture = await captureLoopback(file, `tcp port ${port}`);
    const pub = await run('mosquitto_pub', ['-h', '127.0.0.1', '-p', String(port), '--cafile', cert, '--insecure', '-u', 'pump', '-P', 'Pump-Pass-1', '-i', 'pump-tls', '-t', 'ward7/pump', '-m', '{"rate_ml_h":5}']);
    await capture.stop();
    assert.is(pub.code, 0, `${pub.stderr} ${broker.output()}`);
  } finally {
    await broker.stop();
  }
  const { rows } = await parseCaptureFile(file);
  assert.ok(rows.some((r) => r.l7_proto === 'tls'), 'the MQTT session is TLS');
  assert.equal(rulesOf(huntRows(rows)), []);
});

test('DICOM echo over TLS (dcmtk +tls) is silent', async () => {
  requireTool('storescp', 'dcmtk');
  requireTool('echoscu', 'dcmtk');
  const port = await freePort();
  const scp = background('storescp', ['+tls', key, cert, '-ic', '-aet', 'PACS_TLS', String(port)], { cwd: dir });
  const file = join(dir, 'dicom-tls.pcap');
  try {
    await waitForPort(port).catch((e) => {
      throw new Error(`${e.message}; storescp said: ${scp.output()}`);
    });
    const capture = await captureLoopback(file, `tcp port ${port}`);
    const echo = await run('echoscu', ['+tls', key, cert, '-ic', '-aet', 'INFUSION_GW', '-aec', 'PACS_TLS', '127.0.0.1', String(port)]);
    await capture.stop();
    assert.is(echo.code, 0, `${echo.stderr} ${scp.output()}`);
  } finally {
    await scp.stop();
  }
  const { rows } = await parseCaptureFile(file);
  const dicom = rows.filter((r) => r.dst_port === port && (r.fwd_payload_bytes ?? 0) > 0);
  assert.ok(dicom.length > 0 && dicom.every((r) => r.l7_proto !== 'dicom'), 'the association is not readable');
  assert.equal(rulesOf(huntRows(rows)).filter((r) => r.startsWith('cleartext')), []);
});

test('VNC: x11vnc without a password, probed by nmap vnc-info, is found', async () => {
  requireTool('x11vnc', 'x11vnc');
  requireTool('nmap', 'nmap');
  // A raw framebuffer instead of an X display: x11vnc serves it as a real RFB server.
  const fb = join(dir, 'fb.raw');
  writeFileSync(fb, Buffer.alloc(64 * 48 * 4));
  let port = 0;
  for (const p of [5903, 5904, 5905, 5906]) {
    const probe = await run('bash', ['-c', `exec 3<>/dev/tcp/127.0.0.1/${p}`]);
    if (probe.code !== 0) {
      port = p;
      break;
    }
  }
  assert.ok(port > 0, 'no free VNC display port 5903-5906');
  const vnc = background('x11vnc', ['-rawfb', `map:${fb}@64x48x32`, '-nopw', '-rfbport', String(port), '-listen', '127.0.0.1', '-forever', '-shared']);
  const file = join(dir, 'vnc.pcap');
  try {
    await waitForPort(port).catch((e) => {
      throw new Error(`${e.message}; x11vnc said: ${vnc.output()}`);
    });
    const capture = await captureLoopback(file, `tcp port ${port}`);
    const info = await run('nmap', ['-Pn', '-n', '-sV', '-p', String(port), '--script', 'vnc-info', '127.0.0.1'], { timeoutMs: 60_000 });
    await capture.stop();
    assert.match(info.stdout, /does not require authentication/, `nmap vnc-info: ${info.stdout}`);
  } finally {
    await vnc.stop();
  }
  const f = await huntFile(file);
  const v = f.find((x) => x.rule_id === 'vnc-service');
  assert.ok(v, `no vnc-service among ${rulesOf(f).join(', ')}`);
  const noAuth = f.find((x) => x.rule_id === 'vnc-no-auth');
  assert.ok(noAuth, `no vnc-no-auth among ${rulesOf(f).join(', ')}`);
  assert.match(noAuth!.evidence, /vnc_security=none/);
  assert.match(noAuth!.evidence, /banner=RFB 003\.00\d/);
  assert.is(v.subject, `tcp/${port}`);
});

test('SSH (dropbear ← ssh) and FTPS (vsftpd with AUTH TLS ← curl --ssl-reqd) are the encrypted equivalents of Telnet and FTP: silent', async () => {
  requireTool('dropbear', 'dropbear-bin');
  requireTool('dropbearkey', 'dropbear-bin');
  requireTool('ssh', 'openssh-client');
  requireTool('vsftpd', 'vsftpd');
  requireTool('curl', 'curl');
  if (!(await import('node:fs')).existsSync(cert)) await certificate();
  const hostKey = join(dir, 'dropbear_ed25519');
  const made = await run('dropbearkey', ['-t', 'ed25519', '-f', hostKey]);
  assert.is(made.code, 0, made.stderr);
  const sshPort = await freePort();
  const sshd = background('dropbear', ['-F', '-E', '-s', '-r', hostKey, '-p', `127.0.0.1:${sshPort}`]);
  const sshFile = join(dir, 'ssh.pcap');
  try {
    await waitForPort(sshPort).catch((e) => {
      throw new Error(`${e.message}; dropbear said: ${sshd.output()}`);
    });
    const capture = await captureLoopback(sshFile, `tcp port ${sshPort}`);
    await run('ssh', ['-p', String(sshPort), '-o', 'BatchMode=yes', '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'ConnectTimeout=5', 'nurse@127.0.0.1', 'true'], { timeoutMs: 15_000 });
    await capture.stop();
  } finally {
    await sshd.stop();
  }
  const sshRows = (await parseCaptureFile(sshFile)).rows;
  assert.ok(sshRows.some((r) => r.l7_proto === 'ssh'), `no SSH flow: ${sshRows.map((r) => r.l7_proto).join(',')}`);
  assert.equal(rulesOf(huntRows(sshRows)), [], 'SSH');

  const ftpPort = await freePort();
  const conf = join(dir, 'vsftpd-tls.conf');
  writeFileSync(conf, ['listen=YES', 'listen_ipv6=NO', 'listen_address=127.0.0.1', `listen_port=${ftpPort}`, 'background=NO', 'anonymous_enable=NO', 'local_enable=YES', 'ftpd_banner=HEIR pump FTPS', 'secure_chroot_dir=/var/run/vsftpd/empty', 'pam_service_name=vsftpd', 'seccomp_sandbox=NO', 'xferlog_enable=NO', 'delay_failed_login=0', 'ssl_enable=YES', `rsa_cert_file=${cert}`, `rsa_private_key_file=${key}`, 'force_local_logins_ssl=YES', 'force_local_data_ssl=YES', ''].join('\n'));
  const ftpd = background('vsftpd', [conf]);
  const ftpFile = join(dir, 'ftps.pcap');
  try {
    await waitForPort(ftpPort).catch((e) => {
      throw new Error(`${e.message}; vsftpd said: ${ftpd.output()}`);
    });
    const capture = await captureLoopback(ftpFile, `tcp port ${ftpPort}`);
    const got = await run('curl', ['-s', '--ssl-reqd', '-k', `ftp://admin:admin@127.0.0.1:${ftpPort}/`]);
    await capture.stop();
    assert.is(got.code, 67, `curl over FTPS should reach the (refused) login: exit ${got.code} ${got.stderr}`);
  } finally {
    await ftpd.stop();
  }
  const ftpRows = (await parseCaptureFile(ftpFile)).rows;
  assert.ok(ftpRows.length > 0);
  assert.ok(ftpRows.every((r) => r.login_secret_sha256 === null), 'the password is inside TLS');
  assert.equal(rulesOf(huntRows(ftpRows)), [], 'FTPS');
});

test('a burst of failed FTP logins against vsftpd is brute force; one failure is not', async () => {
  requireTool('vsftpd', 'vsftpd');
  requireTool('curl', 'curl');
  const port = await freePort();
  const conf = join(dir, 'vsftpd.conf');
  writeFileSync(conf, ['listen=YES', 'listen_ipv6=NO', 'listen_address=127.0.0.1', `listen_port=${port}`, 'background=NO', 'anonymous_enable=NO', 'local_enable=YES', 'ftpd_banner=HEIR pump FTP', 'secure_chroot_dir=/var/run/vsftpd/empty', 'pam_service_name=vsftpd', 'seccomp_sandbox=NO', 'xferlog_enable=NO', 'delay_failed_login=0', 'max_per_ip=0', ''].join('\n'));
  const ftpd = background('vsftpd', [conf]);
  const file = join(dir, 'ftp-burst.pcap');
  try {
    await waitForPort(port).catch((e) => {
      throw new Error(`${e.message}; vsftpd said: ${ftpd.output()}`);
    });
    const capture = await captureLoopback(file, `tcp port ${port}`);
    for (const guess of ['admin', '1234', 'password', 'pump', 'nurse1', 'letmein', 'infusion', 'ward7']) await run('curl', ['-s', `ftp://admin:${guess}@127.0.0.1:${port}/`]);
    await capture.stop();
  } finally {
    await ftpd.stop();
  }
  const { rows } = await parseCaptureFile(file);
  const logins = rows.filter((r) => r.l7_proto === 'ftp');
  // Eight attempts; on a loaded machine tcpdump may miss a connection, so ask for most of them.
  assert.ok(logins.length >= 6 && logins.length <= 8, `${logins.length} FTP flows`);
  const f = huntRows(rows);
  const bf = f.find((x) => x.rule_id === 'brute-force');
  assert.ok(bf, `no brute-force finding among ${rulesOf(f).join(', ')}`);
  assert.is(Number(/sum of login_failures reached (\d+)/.exec(bf.evidence)?.[1]), logins.reduce((a, r) => a + (r.login_failures ?? 0), 0));
  const def = f.find((x) => x.rule_id === 'default-credentials');
  assert.ok(def && /generic-admin-(admin|1234|password)/.test(def.default_credential ?? ''), 'admin/admin, admin/1234 and admin/password were among the guesses');
  assert.match(def.evidence, /accepted in 0 flows, refused in [23]/);
  assert.not.ok(huntRows(rows.slice(0, 1)).some((x) => x.rule_id === 'brute-force'));
});

test.run();
