/** Bus frames: the encoded bytes, where a frame sits in its buffer, and moving a received frame so Arrow reads it in place. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { RecordBatch, Table, tableToIPC, type Data } from 'apache-arrow';
import { FramePool, alignFrame, decodeTables, encodeTables } from '../../pipeline/ipc.ts';
import { deadLetterBatch } from '../../pipeline/dead-letters.ts';
import { flowRows } from '../../pipeline/flow-schema.ts';
import { syntheticSource } from '../../pipeline/synthetic-source.ts';
import type { Tables } from '../../pipeline/types.ts';

async function flows(count: number, seed: number): Promise<RecordBatch> {
  for await (const b of syntheticSource({ site: 's', sensor: 'x', count, batchSize: count, seed }).batches()) return b.tables.flows;
  throw new Error('no batch');
}

/** The frame layout written the plain way: Arrow's own IPC bytes, framed by hand. */
function plainFrame(tables: Tables): Uint8Array {
  const parts = Object.entries(tables).map(([name, batch]) => ({ name: new TextEncoder().encode(name), ipc: tableToIPC(new Table(batch), 'stream') }));
  const out = new Uint8Array(4 + parts.reduce((n, p) => n + 6 + p.name.length + p.ipc.length, 0));
  const view = new DataView(out.buffer);
  view.setUint32(0, parts.length);
  let o = 4;
  for (const p of parts) {
    view.setUint16(o, p.name.length);
    out.set(p.name, o + 2);
    view.setUint32(o + 2 + p.name.length, p.ipc.length);
    out.set(p.ipc, o + 6 + p.name.length);
    o += 6 + p.name.length + p.ipc.length;
  }
  return out;
}

/** True when every buffer of the batch's columns lies in `buffer` (read in place, not copied). */
function readInPlace(batch: RecordBatch, buffer: ArrayBufferLike): boolean {
  const inPlace = (d: Data): boolean => [d.values, d.valueOffsets, d.nullBitmap].every((b) => !b || b.byteLength === 0 || b.buffer === buffer) && d.children.every(inPlace);
  return batch.data.children.every(inPlace);
}

test('frames are byte for byte the plain framing of Arrow IPC streams (one table, several, a slice, an empty batch)', async () => {
  const batch = await flows(300, 1);
  const cases: Tables[] = [
    { flows: batch },
    { flows: batch, dead_letters: deadLetterBatch([{ input: 'x', stage: 'decode', reason: 'bad', payload: new Uint8Array([1, 2, 3]) }]) },
    { flows: batch.slice(7, 190) },
    { flows: batch.slice(0, 0) },
    {},
  ];
  for (const tables of cases) assert.equal(encodeTables(tables), plainFrame(tables));
});

test('an encoded frame sits where its first stream starts on an 8-byte boundary, and decodes in place', async () => {
  const batch = await flows(500, 2);
  for (const name of ['flows', 'f', 'dead_letters_and_more']) {
    const frame = encodeTables({ [name]: batch });
    assert.is((frame.byteOffset + 4 + 2 + name.length + 4) % 8, 0, name);
    const back = decodeTables(frame, 'test')[name];
    assert.ok(readInPlace(back, frame.buffer), `${name}: columns read in place`);
    assert.equal(flowRows(back), flowRows(batch));
  }
});

test('alignFrame moves a misplaced frame back into the bytes the caller owns, and only then', async () => {
  const batch = await flows(200, 3);
  const frame = encodeTables({ flows: batch });
  const rows = flowRows(batch);
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 15 }), fc.integer({ min: 0, max: 7 }), (at, slack) => {
      const buffer = new ArrayBuffer(16 + frame.length + 16);
      const placed = new Uint8Array(buffer, 16 + at, frame.length);
      placed.set(frame);
      const guard = new Uint8Array(buffer, 16 + at + frame.length, 16 - at).fill(0xee);
      const moved = alignFrame(placed, slack);
      const needed = (16 + at + 15) % 8;
      assert.equal(moved, frame, 'same bytes');
      assert.ok(guard.every((b) => b === 0xee), 'nothing written after the frame');
      if (needed === 0 || needed > slack) {
        assert.is(moved.byteOffset, placed.byteOffset, 'left where it was');
      } else {
        assert.is(moved.byteOffset, placed.byteOffset - needed, 'moved back by what alignment needs');
        assert.is(moved.buffer, buffer);
        const back = decodeTables(moved, 'test').flows;
        assert.ok(readInPlace(back, buffer));
        assert.equal(flowRows(back), rows);
      }
    }),
    { seed: 7, numRuns: 60 },
  );
  // Frames without a stream, or too short to name one, are left alone.
  const empty = encodeTables({});
  assert.is(alignFrame(empty, 7), empty);
  const short = new Uint8Array(new ArrayBuffer(8), 3, 3);
  assert.is(alignFrame(short, 3), short);
});

test('frames written into pooled buffers: same bytes, buffers used again after release, foreign frames ignored', async () => {
  const big = await flows(900, 4);
  const small = await flows(120, 5);
  const pool = new FramePool(2);
  const first = encodeTables({ flows: big }, pool);
  assert.equal(first, encodeTables({ flows: big }));
  pool.release(first);
  // A smaller frame goes into the released buffer, over the larger frame's bytes.
  const second = encodeTables({ flows: small }, pool);
  assert.is(second.buffer, first.buffer);
  assert.equal(second, encodeTables({ flows: small }));
  assert.equal(flowRows(decodeTables(second, 'test').flows), flowRows(small));
  // Taken and not released: a new buffer.
  const third = encodeTables({ flows: small }, pool);
  assert.is.not(third.buffer, second.buffer);
  // Released twice or not the pool's: ignored; at most `keep` buffers stay free.
  pool.release(second);
  pool.release(second);
  pool.release(encodeTables({ flows: small }));
  pool.release(third);
  const a = pool.take(10);
  const b = pool.take(10);
  const c = pool.take(10);
  assert.ok([second.buffer, third.buffer].includes(a) && [second.buffer, third.buffer].includes(b) && a !== b);
  assert.ok(c !== a && c !== b, 'a third buffer is new');
});

test.run();
