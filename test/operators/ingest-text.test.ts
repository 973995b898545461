/**
 * The shared text-ingest pieces: byte-level line splitting across chunk boundaries, CSV quoting,
 * strict numbers, gzip detection, and the driver's batching and offsets.
 */
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { InputError } from '../../pipeline/errors.ts';
import { LineSplitter, isoMicros, maybeGunzip, parseNumber, splitCsv } from '../../operators/ingest-text.ts';
import { parser as wustl } from '../../operators/ingest-wustl.ts';
import { chunked, parseBytes } from '../helpers/ingest.ts';

function splitAll(text: Uint8Array, chunk: number, max?: number) {
  const lines: { n: number; text: string; end: number; long: boolean }[] = [];
  const s = new LineSplitter((n, bytes, end, long) => lines.push({ n, text: Buffer.from(bytes).toString('latin1'), end, long }), max);
  for (let i = 0; i < text.length; i += chunk) s.push(text.subarray(i, i + chunk));
  s.end();
  return lines;
}

test('lines split the same whatever the chunking; CRLF and a last line without LF', () => {
  fc.assert(
    fc.property(fc.array(fc.stringMatching(/^[a-z,\r]{0,12}$/), { maxLength: 8 }), fc.integer({ min: 1, max: 20 }), (parts, chunk) => {
      const text = Buffer.from(parts.join('\n'), 'latin1');
      const got = splitAll(text, chunk);
      // Lines are what lies between LFs; text after the last LF is a line only if not empty.
      const want = parts.join('\n').split('\n');
      if (want[want.length - 1] === '') want.pop();
      assert.equal(got.map((l) => l.text), want.map((p) => p.replace(/\r$/, '')));
      if (got.length) assert.is(got[got.length - 1].end, text.length);
    }),
    { numRuns: 500, seed: 1 },
  );
  const long = splitAll(Buffer.from('ab\n' + 'x'.repeat(100) + '\ncd'), 7, 50);
  // The over-long line comes flagged, with only a prefix kept (for the dead-letter payload).
  assert.equal(long.map((l) => [l.n, l.long]), [[1, false], [2, true], [3, false]]);
  assert.ok(long[1].text.length >= 50 && long[1].text.length < 100 && /^x+$/.test(long[1].text));
  assert.equal([long[0].text, long[2].text], ['ab', 'cd']);
});

test('CSV fields with quotes; strict numbers; ISO times with microseconds', () => {
  assert.equal(splitCsv('a,"b,c","d ""q""",,e'), ['a', 'b,c', 'd "q"', '', 'e']);
  assert.equal(splitCsv(''), ['']);
  assert.is(splitCsv('a,"open'), null);
  assert.equal(['1', ' 2.5 ', '-3e2', '.5', 'x', '', '0x10', '1.2.3'].map((t) => parseNumber(t)), [1, 2.5, -300, 0.5, null, null, null, null]);
  assert.equal(['inf', '-inf'].map((t) => parseNumber(t, true)), [Infinity, -Infinity]);
  assert.is(isoMicros('2024-03-01T10:00:00.000100+0000'), 1709287200000100);
  assert.is(isoMicros('2024-03-01T12:00:00.5+02:00'), 1709287200500000);
  assert.is(isoMicros('2024-13-01T00:00:00Z'), null);
});

test('maybeGunzip: gzip detected by magic, plain passes through, corrupt gzip is an InputError', async () => {
  const text = 'hello\nworld\n'.repeat(1000);
  const read = async (bytes: Uint8Array) => {
    let out = '';
    for await (const c of maybeGunzip(chunked(bytes, 333), 'in.gz')) out += Buffer.from(c).toString();
    return out;
  };
  assert.is(await read(gzipSync(text)), text);
  assert.is(await read(Buffer.from(text)), text);
  assert.is(await read(new Uint8Array(0)), '');
  const bad = gzipSync(text);
  bad.fill(7, 20, 60);
  try {
    await read(bad);
    assert.unreachable('corrupt gzip must fail');
  } catch (error) {
    assert.instance(error, InputError);
    assert.match((error as Error).message, /in\.gz: not a valid gzip stream/);
  }
});

test('batches never exceed batchSize; offsets rise and end at the input length', async () => {
  const header = 'SrcAddr,DstAddr,Sport,Dport,SrcBytes,DstBytes,Dur,TotPkts,Label';
  const rows = Array.from({ length: 23 }, (_, i) => (i % 5 === 4 ? 'bad' : `10.0.0.1,10.0.0.2,${1000 + i},80,10,20,0.5,3,0`));
  const text = [header, ...rows].join('\n') + '\n';
  const parsed = await parseBytes(wustl, text, { batchSize: 4, chunk: 17 });
  const sizes = parsed.outputs.map((o) => o.flows?.numRows ?? 0);
  assert.ok(sizes.every((n) => n <= 4));
  assert.is(parsed.rows.length, 19);
  assert.is(parsed.deadLetters.length, 4);
  const offsets = parsed.outputs.map((o) => o.offset);
  assert.equal(offsets, [...offsets].sort((a, b) => a - b));
  assert.is(offsets[offsets.length - 1], Buffer.byteLength(text));
  assert.equal(parsed.rows.map((r) => r.src_port), rows.flatMap((r, i) => (r === 'bad' ? [] : [1000 + i])));
});

test.run();
