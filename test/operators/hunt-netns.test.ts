/**
 * Rules about the hospital's edge, on real programs in two network namespaces the test creates
 * ("hospital" 10.77.0.5 and "internet" 198.51.100.7): FTP login from the internet to a device
 * (vsftpd ← curl), a device fetching a FHIR path over plain HTTP with a Windows XP user agent
 * (curl → python http.server), the same over HTTPS (curl → openssl s_server), and a device
 * scanning (nmap). tcpdump records the hospital side; the real pcap parser reads it back.
 */
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createHunt } from '../../operators/hunt.ts';
import { findingRows, type FindingRow } from '../../operators/findings-schema.ts';
import { flowBatch } from '../../pipeline/flow-schema.ts';
import { requireTool, run } from '../helpers/loopback.ts';
import { namespacePair, waitForPortIn, type NamespacePair } from '../helpers/netns.ts';
import { parseCaptureFile } from '../helpers/pcap.ts';

const dir = mkdtempSync(join(tmpdir(), 'heir-hunt-netns-'));
chmodSync(dir, 0o755);
let pair: NamespacePair;
test.before(async () => {
  pair = await namespacePair('hunt');
});
test.after(async () => {
  await pair?.close();
  rmSync(dir, { recursive: true, force: true });
});

async function huntFile(file: string): Promise<FindingRow[]> {
  const { rows } = await parseCaptureFile(file);
  assert.ok(rows.length > 0, `${file}: no flows`);
  // Each capture is its own stream (a fresh operator and its windows).
  return findingRows((createHunt().apply({ flows: flowBatch(rows) }, { site: 'ns', sensor: 'veth', batchId: file, warn() {} }) as { findings: never }).findings);
}
const rulesOf = (f: readonly FindingRow[]) => [...new Set(f.map((x) => x.rule_id))].sort();

test('FTP login with admin/admin from the internet to a device: remote access from outside', async () => {
  requireTool('vsftpd', 'vsftpd');
  requireTool('curl', 'curl');
  const conf = join(dir, 'vsftpd.conf');
  writeFileSync(conf, ['listen=YES', 'listen_ipv6=NO', `listen_address=${pair.hospitalAddr}`, 'listen_port=21', 'background=NO', 'anonymous_enable=NO', 'local_enable=YES', 'ftpd_banner=Infusion gateway FTP', 'secure_chroot_dir=/var/run/vsftpd/empty', 'pam_service_name=vsftpd', 'seccomp_sandbox=NO', 'xferlog_enable=NO', 'delay_failed_login=0', ''].join('\n'));
  const ftpd = pair.background(pair.hospital, 'vsftpd', [conf]);
  await waitForPortIn(pair, pair.hospital, pair.hospitalAddr, 21).catch((e) => {
    throw new Error(`${e.message}; vsftpd said: ${ftpd.output()}`);
  });
  const file = join(dir, 'ftp-from-internet.pcap');
  const stop = await pair.capture(file, 'tcp port 21');
  await pair.run(pair.internet, 'curl', ['-s', `ftp://admin:admin@${pair.hospitalAddr}/`]);
  await stop();
  await ftpd.stop();
  const f = await huntFile(file);
  assert.equal(rulesOf(f), ['cleartext-credentials', 'default-credentials', 'external-remote-access', 'ftp-service', 'internet-exposed-service']);
  const remote = f.find((x) => x.rule_id === 'external-remote-access')!;
  assert.is(remote.device, pair.hospitalAddr);
  assert.is(remote.peer, pair.internetAddr);
  assert.is(remote.severity, 'critical');
  assert.match(remote.attack_ics, /T0822/);
});

test('a device fetching a FHIR path over HTTP with a Windows XP user agent; the HTTPS equivalent is silent on cleartext', async () => {
  const web = join(dir, 'www');
  rmSync(web, { recursive: true, force: true });
  const server = pair.background(pair.internet, 'python3', ['-m', 'http.server', '8080', '--bind', pair.internetAddr, '--directory', dir]);
  await waitForPortIn(pair, pair.internet, pair.internetAddr, 8080).catch((e) => {
    throw new Error(`${e.message}; http.server said: ${server.output()}`);
  });
  const file = join(dir, 'http-out.pcap');
  const stop = await pair.capture(file, 'tcp port 8080');
  const agent = 'Mozilla/4.0 (compatible; MSIE 8.0; Windows NT 5.1; Trident/4.0)';
  await pair.run(pair.hospital, 'curl', ['-s', '-A', agent, `http://${pair.internetAddr}:8080/fhir/Patient/42`]);
  await stop();
  await server.stop();
  const f = await huntFile(file);
  assert.equal(rulesOf(f), ['cleartext-fhir', 'cleartext-http-internet', 'internet-communication', 'unsupported-os']);
  assert.ok(f.every((x) => x.device === pair.hospitalAddr));
  assert.match(f.find((x) => x.rule_id === 'unsupported-os')!.evidence, /Windows XP/);

  requireTool('openssl', 'openssl');
  const key = join(dir, 'k.pem');
  const cert = join(dir, 'c.pem');
  const made = await run('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '2', '-subj', '/CN=fhir.example']);
  assert.is(made.code, 0, made.stderr);
  const tls = pair.background(pair.internet, 'openssl', ['s_server', '-accept', `${pair.internetAddr}:8443`, '-cert', cert, '-key', key, '-www']);
  for (let i = 0; i < 200 && !tls.output().includes('ACCEPT'); i++) await sleep(25);
  const file2 = join(dir, 'https-out.pcap');
  const stop2 = await pair.capture(file2, 'tcp port 8443');
  const got = await pair.run(pair.hospital, 'curl', ['-sk', '-A', agent, `https://${pair.internetAddr}:8443/fhir/Patient/42`]);
  await stop2();
  await tls.stop();
  assert.is(got.code, 0, got.stderr);
  assert.equal(rulesOf(await huntFile(file2)), ['internet-communication'], 'only the internet peer is visible inside TLS');
});

test('a device scanning 500 ports (nmap connect scan) is found; a handful of connections is not', async () => {
  requireTool('nmap', 'nmap');
  const file = join(dir, 'scan.pcap');
  const stop = await pair.capture(file, `tcp and host ${pair.internetAddr}`);
  // A bounded rate keeps tcpdump from dropping packets on a loaded machine.
  const scan = await pair.run(pair.hospital, 'nmap', ['-sT', '-Pn', '-n', '-p', '1-500', '--max-retries', '0', '--max-rate', '2000', pair.internetAddr], { timeoutMs: 60_000 });
  await stop();
  assert.is(scan.code, 0, scan.stderr);
  const f = await huntFile(file);
  const s = f.find((x) => x.rule_id === 'port-scan');
  assert.ok(s, `no port-scan among ${rulesOf(f).join(', ')}`);
  assert.is(s.device, pair.hospitalAddr);
  const reached = Number(/distinct \(dst_addr, dst_port\) reached (\d+) within 60 s/.exec(s.evidence)?.[1]);
  assert.ok(reached >= 50 && reached <= 500, s.evidence);
  const few = join(dir, 'few.pcap');
  const stop2 = await pair.capture(few, `tcp and host ${pair.internetAddr}`);
  await pair.run(pair.hospital, 'nmap', ['-sT', '-Pn', '-n', '-p', '1-10', '--max-retries', '0', pair.internetAddr], { timeoutMs: 30_000 });
  await stop2();
  assert.not.ok((await huntFile(few)).some((x) => x.rule_id === 'port-scan'));
});

test.run();
