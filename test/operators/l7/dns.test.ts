/**
 * The DNS question name read from the message bytes: the labels joined by dots, `.` for the
 * root, null for anything that is not a sane question (bad header counts, a label over 63 bytes,
 * a name over 255, a byte outside printable ASCII, a cut message, an odd class). Compared with a
 * plain reading of RFC 1035 on generated messages, well formed and damaged.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { dnsQuestion } from '../../../operators/l7/dns.ts';
import { inspectL7 } from '../../../operators/l7/inspect.ts';

function reference(buf: Uint8Array, o: number): string | null {
  const u16 = (i: number) => (buf[i] << 8) | buf[i + 1];
  if (buf.length - o < 17) return null;
  const opcode = (u16(o + 2) >> 11) & 0x0f;
  const qd = u16(o + 4);
  if (opcode > 6 || qd < 1 || qd > 32 || u16(o + 6) > 512 || u16(o + 8) > 512 || u16(o + 10) > 512) return null;
  const labels: string[] = [];
  let i = o + 12;
  let total = 0;
  for (;;) {
    if (i >= buf.length) return null;
    const n = buf[i];
    if (n === 0) {
      i++;
      break;
    }
    if (n > 63) return null;
    total += n + 1;
    if (total > 255 || i + 1 + n > buf.length) return null;
    const bytes = [...buf.subarray(i + 1, i + 1 + n)];
    if (bytes.some((c) => c <= 32 || c >= 127)) return null;
    labels.push(String.fromCharCode(...bytes));
    i += 1 + n;
  }
  if (i + 4 > buf.length) return null;
  const qclass = u16(i + 2) & 0x7fff;
  if (![1, 3, 4, 255].includes(qclass)) return null;
  return labels.length === 0 ? '.' : labels.join('.');
}

function message(labels: string[], qclass = 1): Uint8Array {
  const name = labels.flatMap((l) => [l.length, ...Array.from(l, (c) => c.charCodeAt(0))]);
  return Uint8Array.from([0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, ...name, 0, 0, 1, qclass >> 8, qclass & 255]);
}

test('known names', () => {
  assert.is(dnsQuestion(message(['pump', 'ward3', 'example']), 0), 'pump.ward3.example');
  assert.is(dnsQuestion(message([]), 0), '.', 'the root');
  assert.is(dnsQuestion(message([]).subarray(0, 16), 0), null, 'too short for a question');
  assert.is(dnsQuestion(message(['a b']), 0), null);
  assert.is(dnsQuestion(message(['x'.repeat(64)]), 0), null);
  assert.is(dnsQuestion(message(['host', 'lan'], 2), 0), null);
});

test('agrees with a plain reading on generated and damaged messages', () => {
  const label = fc.string({ minLength: 1, maxLength: 70, unit: fc.integer({ min: 30, max: 130 }).map((c) => String.fromCharCode(c)) });
  fc.assert(
    fc.property(fc.array(label, { maxLength: 6 }), fc.constantFrom(1, 3, 4, 255, 2), fc.array(fc.tuple(fc.nat(300), fc.integer({ min: 0, max: 255 })), { maxLength: 3 }), fc.nat(300), (labels, qclass, flips, cut) => {
      const m = message(labels, qclass);
      for (const [at, v] of flips) if (at < m.length) m[at] = v;
      const b = cut > 0 && cut < m.length ? m.subarray(0, cut) : m;
      assert.is(dnsQuestion(b, 0), reference(b, 0));
      const tcp = Uint8Array.from([b.length >> 8, b.length & 255, ...b]);
      assert.is(dnsQuestion(tcp, 2), reference(tcp, 2));
    }),
    { seed: 1035, numRuns: 5000 },
  );
});

test('the dissector names the question of the flow it is given', () => {
  const a = message(['first', 'example']);
  const b = message(['second', 'example']);
  assert.is(inspectL7({ fwd: a, bwd: new Uint8Array(0), proto: 17, srcPort: 40000, dstPort: 53 }).dns_query, 'first.example');
  assert.is(inspectL7({ fwd: b, bwd: new Uint8Array(0), proto: 17, srcPort: 40000, dstPort: 53 }).dns_query, 'second.example');
  assert.is(inspectL7({ fwd: new Uint8Array(20), bwd: a, proto: 17, srcPort: 53, dstPort: 5353 }).dns_query, 'first.example');
});

test.run();
