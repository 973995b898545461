/**
 * TLS handshakes between the real openssl s_server and s_client on loopback (TLS 1.0 with the
 * legacy cipher list, TLS 1.3 with SNI), recorded with tcpdump; the version, cipher, SNI and JA3
 * are checked, JA3 against tshark's own computation of the same capture.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { setTimeout as sleep } from 'node:timers/promises';
import { background, captureLoopback, freePort, requireTool, run } from '../helpers/loopback.ts';
import { keepCapture, parseCaptureFile } from '../helpers/pcap.ts';

const dir = mkdtempSync(join(tmpdir(), 'heir-l7-tls-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

const key = join(dir, 'key.pem');
const cert = join(dir, 'cert.pem');

test.before(async () => {
  requireTool('openssl', 'openssl');
  const made = await run('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '2', '-subj', '/CN=heir-test-device']);
  if (made.code !== 0) throw new Error(`openssl req failed: ${made.stderr}`);
});

/** One handshake between s_server and s_client with the given protocol flags; returns the capture file. */
async function handshake(name: string, serverFlags: string[], clientFlags: string[]): Promise<string> {
  const port = await freePort();
  const server = background('openssl', ['s_server', '-accept', `127.0.0.1:${port}`, '-cert', cert, '-key', key, ...serverFlags]);
  try {
    // s_server says ACCEPT once it listens; a probe connection would be a failed handshake it may not survive.
    for (let i = 0; i < 200 && !server.output().includes('ACCEPT'); i++) await sleep(25);
    if (!server.output().includes('ACCEPT')) throw new Error(`openssl s_server did not start: ${server.output()}`);
    const file = join(dir, name);
    const capture = await captureLoopback(file, `tcp port ${port}`);
    const client = await run('openssl', ['s_client', '-connect', `127.0.0.1:${port}`, ...clientFlags], { input: '' });
    await capture.stop();
    assert.match(client.stdout, /Cipher is (?!\(NONE\))/, `s_client did not complete: ${client.stderr}`);
    return file;
  } finally {
    await server.stop();
  }
}

async function tsharkJa3(file: string): Promise<string> {
  requireTool('tshark', 'tshark');
  const r = await run('tshark', ['-r', file, '-Y', 'tls.handshake.type == 1', '-T', 'fields', '-e', 'tls.handshake.ja3']);
  return r.stdout.trim();
}

test('TLS 1.0 with a legacy cipher list: version, cipher and JA3 (= tshark)', async () => {
  const legacy = ['-tls1', '-cipher', 'ALL:@SECLEVEL=0'];
  const file = await handshake('tls10.pcap', legacy, legacy);
  keepCapture(file, 'tls10.pcap');
  const { rows } = await parseCaptureFile(file);
  const r = rows.find((x) => x.l7_proto === 'tls');
  assert.ok(r, 'no TLS flow');
  assert.is(r.tls_version, 'TLS1.0');
  assert.match(r.tls_cipher ?? '', /^0x[0-9A-F]{4}$/);
  assert.is(r.tls_sni, null);
  assert.is(r.tls_ja3, await tsharkJa3(file));
  assert.match(r.tls_ja4 ?? '', /^t10i\d{4}00_[0-9a-f]{12}_[0-9a-f]{12}$/);
});

test('TLS 1.3 with SNI: supported_versions honoured, cipher, SNI and JA3 (= tshark)', async () => {
  const file = await handshake('tls13.pcap', ['-tls1_3'], ['-tls1_3', '-servername', 'pump-17.ward7.example']);
  keepCapture(file, 'tls13.pcap');
  const { rows } = await parseCaptureFile(file);
  const r = rows.find((x) => x.l7_proto === 'tls');
  assert.ok(r, 'no TLS flow');
  assert.is(r.tls_version, 'TLS1.3');
  assert.ok(['0x1301', '0x1302', '0x1303'].includes(r.tls_cipher ?? ''), `cipher ${r.tls_cipher}`);
  assert.is(r.tls_sni, 'pump-17.ward7.example');
  assert.is(r.tls_ja3, await tsharkJa3(file));
  assert.match(r.tls_ja4 ?? '', /^t13d\d{4}00_[0-9a-f]{12}_[0-9a-f]{12}$/);
});

test.run();
