/**
 * Flow identity: Community ID v1 against the values Zeek's conn.log fixture carries (the spec's
 * TCP example among them), the hash input `communityIdInput` writes (for the WebAssembly flow
 * identity, pipeline/identity-batch.ts) against `communityIdBytes` on random flows, and
 * `writeAddressText` against `addressText`.
 */
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { hash } from 'node:crypto';
import { COMMUNITY_ID_INPUT_MAX, addressBytes, addressText, communityId, communityIdBytes, communityIdInput, writeAddressText } from '../../pipeline/flow-id.ts';

const text = (bytes: Uint8Array, start: number, end: number) => Buffer.from(bytes.subarray(start, end)).toString('utf8');

test('Community ID of the conn.log fixture rows (Zeek computed them; the spec TCP example among them)', () => {
  const rows = readFileSync(new URL('../fixtures/zeek-conn.log', import.meta.url), 'utf8')
    .split('\n')
    .filter((l) => l && !l.startsWith('#'))
    .map((l) => l.split('\t'));
  const proto: Record<string, number> = { tcp: 6, udp: 17, icmp: 1 };
  let n = 0;
  for (const f of rows) {
    const expected = f[f.length - 1];
    if (!expected.startsWith('1:') || !(f[6] in proto)) continue;
    assert.is(communityId(f[2], f[4], proto[f[6]], Number(f[3]), Number(f[5])), expected, f.join(' '));
    n++;
  }
  assert.ok(n >= 8, `${n} fixture rows`);
  assert.is(communityId('128.232.110.120', '66.35.250.204', 6, 34855, 80), '1:LQU9qZlK+B5F3KDmev6m5PMibrg=');
});

const flowArb = fc.record({
  v6: fc.boolean(),
  src: fc.uint8Array({ minLength: 16, maxLength: 16 }),
  dst: fc.uint8Array({ minLength: 16, maxLength: 16 }),
  same: fc.boolean(),
  proto: fc.constantFrom(1, 6, 17, 58, 132, 47, 0, 255),
  sport: fc.oneof(fc.integer({ min: 0, max: 65535 }), fc.integer({ min: 0, max: 20 })),
  dport: fc.oneof(fc.integer({ min: 0, max: 65535 }), fc.integer({ min: 0, max: 20 })),
  seed: fc.integer({ min: 0, max: 65535 }),
  site: fc.string({ maxLength: 12 }),
  sensor: fc.string({ maxLength: 12 }),
  ts: fc.oneof(fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }), fc.integer({ min: -1e6, max: 1e6 })),
});

test('communityIdInput writes the bytes whose SHA-1 is communityIdBytes (fast-check)', () => {
  fc.assert(
    fc.property(fc.array(flowArb, { minLength: 1, maxLength: 30 }), (flows) => {
      const out = new Uint8Array(5 + COMMUNITY_ID_INPUT_MAX);
      for (const f of flows) {
        const len = f.v6 ? 16 : 4;
        const src = f.src.subarray(0, len);
        const dst = f.same ? src : f.dst.subarray(0, len);
        // Both addresses in one buffer, as a decoder finds them in a datagram.
        const packet = new Uint8Array(3 + 2 * len);
        packet.set(src, 1);
        packet.set(dst, 2 + len);
        const end = communityIdInput(out, 5, packet, 1, packet, 2 + len, len, f.proto, f.sport, f.dport, f.seed);
        const written = `1:${hash('sha1', out.subarray(5, end), 'base64')}`;
        assert.is(written, communityIdBytes(src, dst, f.proto, f.sport, f.dport, f.seed));
      }
    }),
    { numRuns: 200, seed: 11 },
  );
});

test('writeAddressText writes what addressText returns (fast-check, zero runs and mapped IPv4 included)', () => {
  const out = new Uint8Array(64);
  const address = fc.oneof(
    fc.uint8Array({ minLength: 4, maxLength: 4 }),
    fc.uint8Array({ minLength: 16, maxLength: 16 }),
    fc.array(fc.constantFrom(0, 0, 0, 1, 0x10, 255), { minLength: 16, maxLength: 16 }).map((a) => Uint8Array.from(a)),
    fc.uint8Array({ minLength: 4, maxLength: 4 }).map((v4) => Uint8Array.from([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 255, 255, ...v4])),
  );
  fc.assert(
    fc.property(address, fc.integer({ min: 0, max: 8 }), (a, at) => {
      const padded = new Uint8Array(a.length + 3);
      padded.set(a, 2);
      const end = writeAddressText(out, at, padded, 2, a.length);
      assert.is(text(out, at, end), addressText(a));
      assert.equal(addressBytes(addressText(a)), a);
    }),
    { numRuns: 3000, seed: 5 },
  );
  assert.is(addressText(Uint8Array.from([0x20, 1, 0xd, 0xb8, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1])), '2001:db8::1:0:0:1');
});

test.run();
