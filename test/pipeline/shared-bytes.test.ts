/**
 * The thread's shared bytes: the read region is lent to one reader at a time and comes back; slabs
 * are disjoint and run out; a file read through it (alone or beside another reader) yields its
 * bytes; and pcap flows parsed from chunks in it (payload copied by copyWithin) are the flows parsed
 * from fresh chunks (payload copied by set) on real captures, also once the slab region is used up.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileChunks, fileChunksReused } from '../../pipeline/file-chunks.ts';
import { SHARED_READ_BYTES, SHARED_SLAB_BYTES, carveSlab, isShared, lendRead, returnRead, sharedBytes } from '../../pipeline/shared-bytes.ts';
import { parsePcap } from '../../operators/ingest-pcap.ts';
import { ipv4, pcapFile, tcp, type Frame } from '../helpers/packets.ts';

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

const CAPTURES = new URL('../../../shared/datasets/pcaps/medical-devices/babymonitor/wifi/', import.meta.url).pathname;

/** Flows of a capture file parsed from chunks in the shared region and from fresh chunks: the same rows (JSON), returned. */
async function sameFlows(path: string): Promise<string[]> {
  const rows = async (chunks: AsyncIterable<Uint8Array>) => {
    const out: string[] = [];
    for await (const o of parsePcap(chunks, { site: 's', sensor: 'x', input: path, batchSize: 64 })) {
      for (const r of o.flows ?? []) out.push(JSON.stringify(r, (_k, v) => (typeof v === 'bigint' ? String(v) : v)));
    }
    return out;
  };
  const viaShared = await rows(fileChunksReused(path));
  assert.equal(viaShared, await rows(fileChunks(path)), path);
  return viaShared;
}

/** Parse real captures from chunks in the shared region and from fresh chunks: the same flows. */
async function sameFlowsBothWays(count: number): Promise<void> {
  const files = readdirSync(CAPTURES).filter((f) => f.endsWith('.pcap')).sort().slice(0, count);
  assert.ok(files.length > 0, `no captures under ${CAPTURES}`);
  let flows = 0;
  let l7 = 0;
  for (const name of files) {
    const path = join(CAPTURES, name);
    const viaShared = await sameFlows(path);
    flows += viaShared.length;
    l7 += viaShared.filter((r) => !r.includes('"l7_proto":null')).length;
  }
  assert.ok(flows > 4 * count && l7 > count, `too few flows with L7 facts to tell (${flows}, ${l7})`);
  assert.ok(readFileSync(join(CAPTURES, files[0])).length > 0);
}

test('pcap flows from chunks in the shared region equal those from fresh chunks (real captures)', async () => {
  await sameFlowsBothWays(12);
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

test('with the slab region used up, the assembler takes slabs of its own and the flows stay the same', async () => {
  while (carveSlab(1 << 16) !== null);
  while (carveSlab(8) !== null);
  await sameFlowsBothWays(6);
  // 3,000 HTTP connections open at once: more inspection buffers than the pool holds, so new
  // slabs (now outside the shared bytes) are taken while payload still comes from shared chunks.
  const frames: Frame[] = [];
  const text = (t: string) => Uint8Array.from(t, (c) => c.charCodeAt(0));
  for (let k = 0; k < 3000; k++) {
    const client = `10.${(k >> 8) & 255}.${k & 255}.2`;
    const request = text(`GET /device/${k} HTTP/1.1\r\nHost: pump-${k}.ward\r\nUser-Agent: monitor/${k % 7}\r\n\r\n`);
    const response = text(`HTTP/1.1 200 OK\r\nServer: infusion-${k % 5}\r\nContent-Length: 0\r\n\r\n`);
    frames.push({ ts: 1_000_000 + k, data: ipv4(client, '10.9.9.9', 6, tcp(40000 + (k % 20000), 80, 0x18, 1000, request)) });
    frames.push({ ts: 2_000_000 + k, data: ipv4('10.9.9.9', client, 6, tcp(80, 40000 + (k % 20000), 0x18, 5000, response)) });
  }
  const dir = mkdtempSync(join(tmpdir(), 'heir-shared-'));
  try {
    const path = join(dir, 'many.pcap');
    writeFileSync(path, pcapFile(101, frames));
    const rows = await sameFlows(path);
    assert.is(rows.length, 3000);
    assert.ok(rows.every((r) => r.includes('"http_server":"infusion-')), 'every flow read its response');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
