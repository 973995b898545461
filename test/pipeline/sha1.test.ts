/**
 * Batch SHA-1 against node:crypto: the FIPS 180 examples, every message length across the padding
 * boundaries, and random batches (fast-check), through the four-lane WebAssembly SIMD path (short
 * messages, any batch size) and the scalar path (long messages, or asked for).
 */
import { hash } from 'node:crypto';
import fc from 'fast-check';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Sha1Batch, digestBytes, sha1Many } from '../../pipeline/sha1.ts';

const hex = (digests: Int32Array, k: number) => Buffer.from(digestBytes(digests, k)).toString('hex');

test('FIPS 180 examples', () => {
  const batch = new Sha1Batch(1, 8);
  for (const [text, digest] of [
    ['abc', 'a9993e364706816aba3e25717850c26c9cd0d89d'],
    ['', 'da39a3ee5e6b4b0d3255bfef95601890afd80709'],
    ['abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq', '84983e441c3bd26ebaae4aa1f95129e5e54670f1'],
  ] as const) {
    const at = batch.reserve(text.length);
    batch.bytes.set(Buffer.from(text), at);
    batch.push(at + text.length);
    batch.hash();
    assert.is(hex(batch.digests, batch.count - 1), digest, JSON.stringify(text));
  }
});

test('every length from 0 to 300 bytes (one, two and more blocks, padding across blocks)', () => {
  const data = new Uint8Array(300 * 301);
  for (let i = 0; i < data.length; i++) data[i] = (i * 131 + 7) & 0xff;
  const starts = new Int32Array(301);
  const ends = new Int32Array(301);
  let at = 0;
  for (let n = 0; n <= 300; n++) {
    starts[n] = at;
    ends[n] = at + n;
    at += n;
  }
  for (const simd of [true, false]) {
    const out = new Int32Array(301 * 5);
    sha1Many(data, starts, ends, 301, out, simd);
    for (let n = 0; n <= 300; n++) assert.is(hex(out, n), hash('sha1', data.subarray(starts[n], ends[n]), 'hex'), `length ${n}, ${simd ? 'SIMD' : 'scalar'}`);
  }
});

test('random batches agree with node:crypto (fast-check)', () => {
  fc.assert(
    fc.property(fc.array(fc.uint8Array({ maxLength: 200 }), { minLength: 1, maxLength: 40 }), (messages) => {
      const batch = new Sha1Batch(2, 4); // small, so the buffers grow
      for (const m of messages) {
        const at = batch.reserve(m.length);
        batch.bytes.set(m, at);
        batch.push(at + m.length);
      }
      batch.hash();
      messages.forEach((m, k) => assert.is(hex(batch.digests, k), hash('sha1', m, 'hex')));
      const scalar = new Int32Array(messages.length * 5);
      sha1Many(batch.bytes, batch.starts, batch.ends, batch.count, scalar, false);
      assert.equal(scalar, batch.digests.subarray(0, messages.length * 5));
      batch.clear();
      assert.is(batch.count, 0);
    }),
    { numRuns: 300, seed: 7 },
  );
});

test('a message outside the buffer is refused', () => {
  assert.throws(() => sha1Many(new Uint8Array(4), Int32Array.of(0), Int32Array.of(5), 1, new Int32Array(5)), /outside the 4-byte buffer/);
  assert.throws(() => sha1Many(new Uint8Array(4), Int32Array.of(0), Int32Array.of(4), 1, new Int32Array(4)), /digest words/);
});

test.run();
