/**
 * The TLS dissector reads every ClientHello into one reused object; a sequence of hellos of
 * different sizes (long lists, then short ones, GREASE, SNI or not, ALPN or not) must give for each
 * the SNI, JA3 and JA4 of a fresh parse of that hello alone, and the shape hash the parser takes
 * as it reads (the fingerprint cache's key) must be `shapeOf` the lists it read.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { inspectL7 } from '../../../operators/l7/inspect.ts';
import { ja3, ja4, parseClientHello, shapeOf } from '../../../operators/l7/tls.ts';

const u16 = (v: number) => [v >> 8, v & 255];

interface Shape {
  ciphers: number[];
  groups: number[];
  sigAlgs: number[];
  versions: number[];
  formats: number[];
  sni: string | null;
  alpn: string[];
}

/** A TLS record holding a ClientHello of this shape. */
function record(h: Shape): Uint8Array {
  const ext = (type: number, body: number[]) => [...u16(type), ...u16(body.length), ...body];
  const exts: number[] = [];
  if (h.sni !== null) {
    const name = Array.from(h.sni, (c) => c.charCodeAt(0));
    exts.push(...ext(0, [...u16(name.length + 3), 0, ...u16(name.length), ...name]));
  }
  exts.push(...ext(10, [...u16(h.groups.length * 2), ...h.groups.flatMap(u16)]));
  exts.push(...ext(11, [h.formats.length, ...h.formats]));
  exts.push(...ext(13, [...u16(h.sigAlgs.length * 2), ...h.sigAlgs.flatMap(u16)]));
  if (h.alpn.length > 0) {
    const list = h.alpn.flatMap((p) => [p.length, ...Array.from(p, (c) => c.charCodeAt(0))]);
    exts.push(...ext(16, [...u16(list.length), ...list]));
  }
  exts.push(...ext(43, [h.versions.length * 2, ...h.versions.flatMap(u16)]));
  const body = [3, 3, ...new Array(32).fill(7), 0, ...u16(h.ciphers.length * 2), ...h.ciphers.flatMap(u16), 1, 0, ...u16(exts.length), ...exts];
  const hs = [1, 0, body.length >> 8, body.length & 255, ...body];
  return Uint8Array.from([22, 3, 1, ...u16(hs.length), ...hs]);
}

const grease = fc.constantFrom(0x0a0a, 0x1a1a, 0xfafa);
const value = fc.oneof(fc.integer({ min: 1, max: 0xfeff }), grease);
const shape = fc.record({
  ciphers: fc.array(value, { minLength: 1, maxLength: 60 }),
  groups: fc.array(value, { maxLength: 12 }),
  sigAlgs: fc.array(value, { maxLength: 20 }),
  versions: fc.array(fc.oneof(fc.constantFrom(0x0304, 0x0303, 0x0302), grease), { maxLength: 4 }),
  formats: fc.array(fc.integer({ min: 0, max: 2 }), { maxLength: 3 }),
  sni: fc.option(fc.stringMatching(/^[a-z0-9.-]{1,30}$/), { nil: null }),
  alpn: fc.array(fc.constantFrom('h2', 'http/1.1', 'mqtt', 'x'), { maxLength: 3 }),
});

test('each ClientHello of a sequence gives the facts of a fresh parse', () => {
  fc.assert(
    fc.property(fc.array(shape, { minLength: 2, maxLength: 6 }), (hellos) => {
      for (const h of hellos) {
        const rec = record(h);
        const facts = inspectL7({ fwd: rec, bwd: new Uint8Array(0), proto: 6, srcPort: 40000, dstPort: 443 });
        const fresh = parseClientHello(rec.subarray(5));
        assert.ok(fresh !== null);
        assert.is(facts.l7_proto, 'tls');
        assert.is(facts.tls_sni ?? null, h.sni);
        assert.is(facts.tls_ja3, ja3(fresh).hash);
        assert.is(facts.tls_ja4, ja4(fresh));
        assert.equal(fresh.ciphers, h.ciphers);
        assert.equal(fresh.alpn, h.alpn);
        // the shape hash taken while parsing is the one of the lists read
        assert.is(fresh.shape, shapeOf(fresh));
      }
    }),
    { seed: 771, numRuns: 300 },
  );
});

test.run();
