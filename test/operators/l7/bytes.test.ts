/**
 * latin1() of the dissectors' byte helpers gives one character per byte for any range (clamped to
 * the buffer), short and long, on whole buffers and on views into larger ones.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { latin1 } from '../../../operators/l7/bytes.ts';

/** The definition: each byte in [max(0, start), min(end, length)) as the character of that code. */
function reference(buf: Uint8Array, start = 0, end = buf.length): string {
  let s = '';
  for (let i = Math.max(0, start); i < end && i < buf.length; i++) s += String.fromCharCode(buf[i]);
  return s;
}

test('known text', () => {
  const b = Uint8Array.from([0x48, 0x54, 0x54, 0x50, 0x2f, 0xe9, 0xff, 0x80, 0x00]);
  assert.is(latin1(b), 'HTTP/\u00e9\u00ff\u0080\u0000');
  assert.is(latin1(b, 1, 4), 'TTP');
  assert.is(latin1(b, 5, 3), '');
  assert.is(latin1(b, -3, 100), reference(b));
});

test('any range of any bytes, whole buffers and views', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 9000 }), fc.integer({ min: 0, max: 64 }), fc.integer({ min: -5, max: 9100 }), fc.integer({ min: -5, max: 9100 }), (bytes, cut, s, e) => {
      const view = bytes.subarray(Math.min(cut, bytes.length));
      assert.is(latin1(bytes, s, e), reference(bytes, s, e));
      assert.is(latin1(view, s, e), reference(view, s, e));
      assert.is(latin1(view), reference(view));
    }),
    { seed: 8859, numRuns: 1500 },
  );
});

test.run();
