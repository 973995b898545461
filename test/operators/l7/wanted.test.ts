/**
 * How much of a TLS server direction the assembler keeps: up to the end of the first certificate
 * (before TLS 1.3), the ServerHello alone (TLS 1.3), or everything while the bytes cannot tell;
 * and the TLS facts of the cut bytes equal those of the whole direction. The certificate is a
 * real one made by openssl.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspectL7 } from '../../../operators/l7/inspect.ts';
import { opensServerHello, tlsServerBytesWanted } from '../../../operators/l7/wanted.ts';

if (spawnSync('sh', ['-c', 'command -v openssl']).status !== 0) throw new Error('openssl is not installed: apt-get install openssl');
const dir = mkdtempSync(join(tmpdir(), 'heir-wanted-'));
const made = spawnSync('openssl', ['req', '-x509', '-newkey', 'rsa:1024', '-nodes', '-keyout', join(dir, 'k.pem'), '-out', join(dir, 'c.der'), '-outform', 'DER', '-days', '30', '-subj', '/CN=pump.example'], { encoding: 'utf8' });
if (made.status !== 0) throw new Error(`openssl failed: ${made.stderr}`);
const DER = new Uint8Array(readFileSync(join(dir, 'c.der')));
rmSync(dir, { recursive: true, force: true });

const u16 = (v: number) => [v >> 8, v & 255];
const u24 = (v: number) => [v >> 16, (v >> 8) & 255, v & 255];
const record = (type: number, body: number[]) => [type, 3, 3, ...u16(body.length), ...body];
const message = (type: number, body: number[]) => [type, ...u24(body.length), ...body];

function serverHello(version13: boolean): number[] {
  const ext = version13 ? [0x00, 0x2b, 0x00, 0x02, 0x03, 0x04] : [0xff, 0x01, 0x00, 0x01, 0x00];
  return message(2, [3, 3, ...new Array(32).fill(7), 0, 0xc0, 0x2f, 0, ...u16(ext.length), ...ext]);
}
const certificate = message(11, [...u24(DER.length + 3), ...u24(DER.length), ...DER]);
const keyExchange = message(12, new Array(300).fill(9));
const done = message(14, []);

test('before TLS 1.3: kept up to the end of the first certificate; the facts are the same', () => {
  // ServerHello and Certificate in one record, the rest in others, then application data.
  const first = record(22, [...serverHello(false), ...certificate]);
  const bytes = Uint8Array.from([...first, ...record(22, keyExchange), ...record(22, done), ...record(20, [1]), ...record(23, new Array(500).fill(1))]);
  assert.ok(opensServerHello(bytes, bytes.length));
  const want = tlsServerBytesWanted(bytes, bytes.length);
  assert.is(want, first.length, 'the record holding the certificate ends where the certificate ends');
  // While the certificate is still arriving the answer is "not yet".
  assert.is(tlsServerBytesWanted(bytes, first.length - 10), -1);
  const fwd = new Uint8Array(0);
  const whole = inspectL7({ fwd, bwd: bytes, proto: 6, srcPort: 40000, dstPort: 443 });
  const cut = inspectL7({ fwd, bwd: bytes.subarray(0, want), proto: 6, srcPort: 40000, dstPort: 443 });
  assert.is(whole.tls_cert_key, 'rsa-1024');
  assert.is(whole.tls_cert_self_signed, true);
  assert.equal(cut, whole);
});

test('a certificate split over records: kept into the second record exactly as far as needed', () => {
  const all = [...serverHello(false), ...certificate, ...keyExchange];
  const split = 200;
  const bytes = Uint8Array.from([...record(22, all.slice(0, split)), ...record(22, all.slice(split))]);
  const want = tlsServerBytesWanted(bytes, bytes.length);
  assert.is(want, 5 + split + 5 + (serverHello(false).length + certificate.length - split));
  const whole = inspectL7({ fwd: new Uint8Array(0), bwd: bytes, proto: 6, srcPort: 1, dstPort: 443 });
  assert.equal(inspectL7({ fwd: new Uint8Array(0), bwd: bytes.subarray(0, want), proto: 6, srcPort: 1, dstPort: 443 }), whole);
});

test('TLS 1.3 (supported_versions): the ServerHello alone; no certificate is readable', () => {
  const hello = record(22, serverHello(true));
  const bytes = Uint8Array.from([...hello, ...record(20, [1]), ...record(23, new Array(800).fill(5))]);
  assert.is(tlsServerBytesWanted(bytes, bytes.length), hello.length);
  const whole = inspectL7({ fwd: new Uint8Array(0), bwd: bytes, proto: 6, srcPort: 1, dstPort: 443 });
  assert.is(whole.tls_version, 'TLS1.3');
  assert.equal(inspectL7({ fwd: new Uint8Array(0), bwd: bytes.subarray(0, hello.length), proto: 6, srcPort: 1, dstPort: 443 }), whole);
});

test('resumption (no certificate before ChangeCipherSpec) stops at what is kept; a cut hello waits', () => {
  const hello = record(22, serverHello(false));
  const bytes = Uint8Array.from([...hello, ...record(20, [1]), ...record(22, new Array(40).fill(3))]);
  assert.is(tlsServerBytesWanted(bytes, bytes.length), bytes.length);
  assert.is(tlsServerBytesWanted(bytes, 30), -1);
});

test.run();
