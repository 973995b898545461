/**
 * The thread's shared bytes: the read region is lent to one reader at a time and comes back; slabs
 * are disjoint and run out; a file read through it (alone or beside another reader) yields its
 * bytes; and pcap flows parsed from chunks in it (payload copied by copyWithin) are the flows parsed
 * from fresh chunks (payload copied by set) on real captures.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileChunks, fileChunksReused } from '../../pipeline/file-chunks.ts';
import { SHARED_READ_BYTES, SHARED_SLAB_BYTES, carveSlab, isShared, lendRead, returnRead, sharedBytes } from '../../pipeline/shared-bytes.ts';
import { parsePcap } from '../../operators/ingest-pcap.ts';

test('the read region: lent once, given back, too large refused, other buffers ignored', () => {
  const a = lendRead(1000);
  assert.ok(a !== null && a.length === 1000 && isShared(a) && a.byteOffset === 0);
  assert.is(lendRead(10), null, 'lent already');
  assert.is(returnRead(new Uint8Array(1000)), false);
  assert.is(returnRead(sharedBytes().subarray(8, 100)), false, 'not the read region');
  assert.is(returnRead(a as Uint8Array), true);
  assert.is(lendRead(SHARED_READ_BYTES + 1), null, 'too large');
  const b = lendRead(SHARED_READ_BYTES);
  assert.ok(b !== null);
  returnRead(b as Uint8Array);
});

test('a file read through the region, alone and beside a second reader, yields its bytes', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'heir-shared-'));
  try {
    const bytes = new Uint8Array(3 * (1 << 20) + 12345);
    let x = 12345;
    for (let i = 0; i < bytes.length; i++) bytes[i] = (x = (Math.imul(x, 1103515245) + 12345) >>> 0) >>> 24;
    const path = join(dir, 'f.bin');
    writeFileSync(path, bytes);
    const read = async (chunks: AsyncIterable<Uint8Array>, copies: Uint8Array[], sharedSeen: boolean[]) => {
      for await (const c of chunks) {
        sharedSeen.push(isShared(c));
        copies.push(c.slice());
      }
    };
    const join1 = (parts: Uint8Array[]) => Buffer.concat(parts);
    {
      const one: Uint8Array[] = [];
      const seen: boolean[] = [];
      await read(fileChunksReused(path), one, seen);
      assert.ok(seen.every((s) => s), 'read into the shared region');
      assert.ok(join1(one).equals(bytes));
      // Two readers at once: one has the region, the other its own buffer; both right.
      const [p, q]: Uint8Array[][] = [[], []];
      const [sp, sq]: boolean[][] = [[], []];
      const first = fileChunksReused(path)[Symbol.asyncIterator]();
      const second = fileChunksReused(path)[Symbol.asyncIterator]();
      for (;;) {
        const [r1, r2] = [await first.next(), await second.next()];
        if (!r1.done) {
          sp.push(isShared(r1.value));
          p.push(r1.value.slice());
        }
        if (!r2.done) {
          sq.push(isShared(r2.value));
          q.push(r2.value.slice());
        }
        if (r1.done && r2.done) break;
      }
      assert.ok(join1(p).equals(bytes) && join1(q).equals(bytes));
      assert.ok(sp.every((s) => s) && sq.every((s) => !s), 'the second reader did not share the region');
      const again = lendRead(10);
      assert.ok(again !== null, 'given back after both readers finished');
      returnRead(again as Uint8Array);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('pcap flows from chunks in the shared region equal those from fresh chunks (real captures)', async () => {
  const root = new URL('../../../shared/datasets/pcaps/medical-devices/babymonitor/wifi/', import.meta.url).pathname;
  const files = readdirSync(root).filter((f) => f.endsWith('.pcap')).sort().slice(0, 12);
  assert.ok(files.length > 0, `no captures under ${root}`);
  let flows = 0;
  let l7 = 0;
  for (const name of files) {
    const path = join(root, name);
    const rows = async (chunks: AsyncIterable<Uint8Array>) => {
      const out: string[] = [];
      for await (const o of parsePcap(chunks, { site: 's', sensor: 'x', input: path, batchSize: 64 })) {
        for (const r of o.flows ?? []) out.push(JSON.stringify(r, (_k, v) => (typeof v === 'bigint' ? String(v) : v)));
      }
      return out;
    };
    const viaShared = await rows(fileChunksReused(path));
    const viaFresh = await rows(fileChunks(path));
    assert.equal(viaShared, viaFresh, name);
    flows += viaShared.length;
    l7 += viaShared.filter((r) => !r.includes('"l7_proto":null')).length;
  }
  assert.ok(flows > 50 && l7 > 10, `too few flows with L7 facts to tell (${flows}, ${l7})`);
  assert.ok(readFileSync(join(root, files[0])).length > 0);
});

test('slabs are disjoint views of the shared bytes until the slab region runs out', () => {
  const seen: Uint8Array[] = [];
  let total = 0;
  for (let size = 1000; ; size = size * 3 + 7) {
    const s = carveSlab(size);
    if (s === null) break;
    assert.is(s.length, size);
    assert.ok(isShared(s) && s.byteOffset >= SHARED_READ_BYTES);
    for (const t of seen) assert.ok(s.byteOffset >= t.byteOffset + t.length || t.byteOffset >= s.byteOffset + s.length, 'overlap');
    seen.push(s);
    total += size;
  }
  assert.ok(total <= SHARED_SLAB_BYTES && total > SHARED_SLAB_BYTES / 4);
  assert.is(carveSlab(1 << 30), null);
});

test.run();
