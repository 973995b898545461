/**
 * The TLS dissector reads the hellos and the server's certificate where they lie in the kept
 * bytes, joining only what spans records. Its facts must not depend on how the handshake messages
 * are cut into records: the same messages in one record, or in records cut at any places (a
 * message header or the certificate split between two, records of a few bytes), and the kept
 * bytes cut short anywhere, give the facts of the same stream in one record cut at the same
 * place. The certificate is a real one made by openssl.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspectL7 } from '../../../operators/l7/inspect.ts';
import { tlsServerBytesWanted, tlsServerSizeHint } from '../../../operators/l7/wanted.ts';

if (spawnSync('sh', ['-c', 'command -v openssl']).status !== 0) throw new Error('openssl is not installed: apt-get install openssl');
const dir = mkdtempSync(join(tmpdir(), 'heir-tls-records-'));
const made = spawnSync('openssl', ['req', '-x509', '-newkey', 'rsa:1024', '-nodes', '-keyout', join(dir, 'k.pem'), '-out', join(dir, 'c.der'), '-outform', 'DER', '-days', '30', '-subj', '/CN=monitor.example'], { encoding: 'utf8' });
if (made.status !== 0) throw new Error(`openssl failed: ${made.stderr}`);
const DER = [...readFileSync(join(dir, 'c.der'))];
rmSync(dir, { recursive: true, force: true });

const u16 = (v: number) => [v >> 8, v & 255];
const u24 = (v: number) => [v >> 16, (v >> 8) & 255, v & 255];
const message = (type: number, body: number[]) => [type, ...u24(body.length), ...body];

function clientHello(sni: string): number[] {
  const name = Array.from(sni, (c) => c.charCodeAt(0));
  const ext = (type: number, body: number[]) => [...u16(type), ...u16(body.length), ...body];
  const exts = [...ext(0, [...u16(name.length + 3), 0, ...u16(name.length), ...name]), ...ext(10, [0, 4, 0, 29, 0, 23]), ...ext(11, [1, 0]), ...ext(43, [4, 3, 4, 3, 3])];
  return message(1, [3, 3, ...new Array(32).fill(5), 0, 0, 4, 0x13, 0x01, 0xc0, 0x2f, 1, 0, ...u16(exts.length), ...exts]);
}
function serverHello(): number[] {
  const ext = [0xff, 0x01, 0x00, 0x01, 0x00];
  return message(2, [3, 3, ...new Array(32).fill(7), 0, 0xc0, 0x2f, 0, ...u16(ext.length), ...ext]);
}
const certificate = message(11, [...u24(DER.length + 3), ...u24(DER.length), ...DER]);

/** `stream` as handshake records of the given payload lengths (the last one takes the rest). */
function records(stream: number[], lengths: number[]): number[] {
  const out: number[] = [];
  let at = 0;
  for (let k = 0; at < stream.length; k++) {
    const n = k < lengths.length ? Math.min(lengths[k], stream.length - at) : stream.length - at;
    out.push(22, 3, 3, ...u16(n), ...stream.slice(at, at + n));
    at += n;
  }
  return out;
}

/** The bytes of the stream kept when `recordBytes` are cut at `keep`, as one record holding them. */
function oneRecord(recordBytes: number[], keep: number, declared: number): number[] {
  const stream: number[] = [];
  for (let o = 0; o + 5 <= keep && recordBytes[o] === 22; ) {
    const n = (recordBytes[o + 3] << 8) | recordBytes[o + 4];
    stream.push(...recordBytes.slice(o + 5, Math.min(keep, o + 5 + n)));
    o += 5 + n;
  }
  return [22, 3, 3, ...u16(declared), ...stream];
}

const facts = (fwd: number[], bwd: number[]) => inspectL7({ fwd: Uint8Array.from(fwd), bwd: Uint8Array.from(bwd), proto: 6, srcPort: 40000, dstPort: 443 });

test('whole handshakes: the same facts however the messages are cut into records', () => {
  const client = clientHello('pump.example');
  const server = [...serverHello(), ...certificate, ...message(14, [])];
  const reference = facts(records(client, []), records(server, []));
  assert.is(reference.tls_sni, 'pump.example');
  assert.is(reference.tls_cert_key, 'rsa-1024');
  assert.is(reference.tls_version, 'TLS1.2');
  fc.assert(
    fc.property(fc.array(fc.integer({ min: 1, max: 700 }), { maxLength: 12 }), fc.array(fc.integer({ min: 1, max: 120 }), { maxLength: 6 }), (serverCuts, clientCuts) => {
      assert.equal(facts(records(client, clientCuts), records(server, serverCuts)), reference);
    }),
    { seed: 20261129, numRuns: 300 },
  );
});

test('kept bytes cut short anywhere: the facts of the same stream in one record', () => {
  const client = clientHello('infusion.example');
  const server = [...serverHello(), ...certificate, ...message(12, new Array(40).fill(9))];
  fc.assert(
    fc.property(fc.array(fc.integer({ min: 1, max: 900 }), { maxLength: 8 }), fc.array(fc.integer({ min: 1, max: 90 }), { maxLength: 4 }), fc.double({ min: 0, max: 1, noNaN: true }), fc.double({ min: 0, max: 1, noNaN: true }), (serverCuts, clientCuts, s, c) => {
      const bwd = records(server, serverCuts);
      const fwd = records(client, clientCuts);
      // At least a record header and the message type each way, so TLS is the protocol of both.
      const keepB = 6 + Math.floor(s * (bwd.length - 6));
      const keepF = 6 + Math.floor(c * (fwd.length - 6));
      const cut = facts(fwd.slice(0, keepF), bwd.slice(0, keepB));
      assert.is(cut.l7_proto, 'tls');
      assert.equal(cut, facts(oneRecord(fwd, keepF, client.length), oneRecord(bwd, keepB, server.length)));
    }),
    { seed: 7, numRuns: 400 },
  );
});

test('the size hint of a ServerHello direction is where the first certificate ends (and a record header)', () => {
  const bytes = Uint8Array.from(records([...serverHello(), ...certificate, ...message(14, [])], [serverHello().length, 60000]));
  const want = tlsServerBytesWanted(bytes, bytes.length);
  assert.is(tlsServerSizeHint(bytes, 0, 200), want + 5);
  // Not in view yet, or not a ServerHello: no hint.
  assert.is(tlsServerSizeHint(bytes, 0, 60), -1);
  assert.is(tlsServerSizeHint(Uint8Array.from(records(clientHello('x'), [])), 0, 100), -1);
  // In the ServerHello's own record.
  const together = Uint8Array.from(records([...serverHello(), ...certificate], []));
  assert.is(tlsServerSizeHint(together, 0, 100), tlsServerBytesWanted(together, together.length) + 5);
});

test('a hello in one whole record followed by other bytes: the facts of the record alone (the hello is read in place, not past its record)', () => {
  const client = clientHello('ward7.example');
  const server = [...serverHello(), ...certificate, ...message(14, [])];
  const alone = facts(records(client, []), records(server, []));
  assert.is(alone.tls_sni, 'ward7.example');
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 1, maxLength: 80 }), fc.constantFrom(0x14, 0x17, 0x15, 0x00), fc.boolean(), (tail, kind, header) => {
      // A record of another kind after the handshake record, or bare bytes.
      const after = header ? [kind, 3, 3, ...u16(tail.length), ...tail] : [kind, ...tail];
      assert.equal(facts([...records(client, []), ...after], [...records(server, []), ...after]), alone);
      assert.equal(facts([...records(client, []), ...after], records(server, [])), alone);
    }),
    { seed: 99, numRuns: 400 },
  );
});

test.run();
