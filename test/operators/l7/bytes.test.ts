/**
 * latin1() of the dissectors' byte helpers gives one character per byte for any range (clamped to
 * the buffer), short and long, on whole buffers and on views into larger ones; lineEndIn() (four
 * bytes at a time) finds the line ends lineEnd() finds, from any start to any end; NoCaseNeedle (a
 * skipping search) finds what indexOfAscii finds ignoring case; latin1Interned gives latin1's text;
 * cleanText agrees with its regular expression form.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { NoCaseNeedle, cleanText, indexOfAscii, latin1, latin1Interned, lineEnd, lineEndIn, viewOf } from '../../../operators/l7/bytes.ts';

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

test('lineEndIn finds what lineEnd finds: header text, control bytes, high bytes, any alignment', () => {
  // Bytes near the word test's edges (13 and 14, 10 and 9, 0, 0x80 and above) as well as text.
  const byte = fc.oneof(fc.constantFrom(13, 10, 9, 11, 12, 14, 0, 1, 0x7f, 0x80, 0x8d, 0x8a, 0xff, 0x0e), fc.integer({ min: 0x20, max: 0x7e }), fc.integer({ min: 0, max: 255 }));
  fc.assert(
    fc.property(fc.array(byte, { maxLength: 300 }), fc.integer({ min: 0, max: 7 }), fc.integer({ min: 0, max: 320 }), fc.integer({ min: 0, max: 320 }), (values, cut, s, e) => {
      const view = Uint8Array.from([...new Array(cut).fill(65), ...values]).subarray(cut);
      const end = Math.min(e, view.length);
      const start = Math.min(s, end);
      assert.is(lineEndIn(view, viewOf(view), start, end), lineEnd(view, start, end));
      assert.is(lineEndIn(view, viewOf(view), start), lineEnd(view, start));
    }),
    { seed: 1310, numRuns: 3000 },
  );
  // Every word value with one chosen byte at each place: the word test never misses a CR or LF.
  const buf = new Uint8Array(8);
  const v = viewOf(buf);
  for (let place = 0; place < 4; place++) {
    for (let other = 0; other < 256; other += 3) {
      for (const target of [10, 13]) {
        buf.fill(other);
        buf[place] = target;
        assert.is(lineEndIn(buf, v, 0), lineEnd(buf, 0));
      }
    }
  }
});

test('NoCaseNeedle finds what indexOfAscii finds ignoring case: any needle, any letter case, any range', () => {
  const enc = (t: string) => Uint8Array.from(t, (c) => c.charCodeAt(0));
  const flip = (t: string, up: boolean[]) => [...t].map((c, i) => (up[i % up.length] ? c.toUpperCase() : c)).join('');
  const needle = fc.oneof(fc.constantFrom('authorization:', 'host:', 'a', 'aa', 'abab', 'zz:'), fc.string({ minLength: 1, maxLength: 6, unit: fc.constantFrom('a', 'b', 'z', ':', ' ', '\r') }));
  fc.assert(
    fc.property(needle, fc.array(fc.oneof(fc.constantFrom('authorization:', 'AUTHORIZATION', 'uthorization:', 'ab', 'zz', 'Host:', '\r\n'), fc.integer({ min: 0, max: 255 }).map((b) => String.fromCharCode(b))), { maxLength: 16 }), fc.array(fc.boolean(), { minLength: 1, maxLength: 5 }), fc.integer({ min: -2, max: 30 }), fc.integer({ min: 0, max: 80 }), (text, parts, up, from, end) => {
      // The needle itself put in somewhere, in some letter case.
      const bytes = enc(parts.join('') + flip(text, up) + parts.slice(0, 3).join(''));
      const n = new NoCaseNeedle(text);
      const want = indexOfAscii(bytes, text, Math.max(from, 0), Math.min(end, bytes.length), true);
      assert.is(n.find(bytes, from, end), want, JSON.stringify([text, latin1(bytes), from, end]));
      assert.is(n.find(bytes), indexOfAscii(bytes, text, 0, bytes.length, true));
    }),
    { seed: 1409, numRuns: 20000 },
  );
  assert.throws(() => new NoCaseNeedle('Host:'), /lower-case/);
});

test('latin1Interned gives what latin1 gives, for texts seen before, new ones and ones sharing a table slot', () => {
  // Few distinct byte values and short lengths: texts repeat, and many land in the same slot.
  const bytes = fc.uint8Array({ maxLength: 90 }).map((b) => b.map((x) => [0x61, 0x62, 0x2e, 0xe9, 0x00, x][x % 6]));
  fc.assert(
    fc.property(fc.array(fc.tuple(bytes, fc.integer({ min: -3, max: 95 }), fc.integer({ min: -3, max: 95 })), { maxLength: 40 }), (calls) => {
      for (const [buf, start, end] of [...calls, ...calls]) {
        assert.is(latin1Interned(buf, start, end), reference(buf, start, end));
        assert.is(latin1Interned(buf), reference(buf));
      }
    }),
    { seed: 1024, numRuns: 3000 },
  );
  // Every text of two letters a-z (676, more than fit the table's slots without collisions), twice.
  for (let round = 0; round < 2; round++)
    for (let a = 0; a < 26; a++)
      for (let b = 0; b < 26; b++) assert.is(latin1Interned(Uint8Array.of(97 + a, 97 + b)), String.fromCharCode(97 + a, 97 + b));
});

test('cleanText: control characters dropped, trimmed, cut (the regular expression form), with or without control characters', () => {
  const reference = (text: string, max: number) => {
    const t = text.replace(/[\u0000-\u001f\u007f]/g, '').trim();
    return t.length === 0 ? null : t.length > max ? t.slice(0, max) : t;
  };
  const unit = fc.oneof(fc.constantFrom('a', ' ', '\t', '\r', '\n', '\u0000', '\u007f', '\u00a0', '\u2028', '\ufeff', 'é'), fc.integer({ min: 0, max: 0xff }).map((c) => String.fromCharCode(c)));
  fc.assert(
    fc.property(fc.string({ maxLength: 30, unit }), fc.integer({ min: 1, max: 12 }), (text, max) => {
      assert.is(cleanText(text, max), reference(text, max));
      assert.is(cleanText(text), reference(text, 200));
    }),
    { seed: 200, numRuns: 10000 },
  );
});

test.run();
