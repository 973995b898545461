/**
 * A capture parsed by two threads (each assembling every flow, each building every other batch)
 * gives exactly what one thread gives: the same outputs in the same order, each with the same
 * flow rows, dead letters and offset. Real medical-device WiFi captures merged into one file
 * (TLS, HTTP, DNS), a synthetic capture of many batches with malformed packets, a gzip file and
 * standard-input-like inputs (one thread), errors, several batch sizes, a parse abandoned part-way.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { parsePcap, pcapStats } from '../../../operators/ingest-pcap.ts';
import { ShardedPcapParser, shardableFile } from '../../../operators/pcap/sharded.ts';
import { flowRows } from '../../../pipeline/flow-schema.ts';
import { messageOf } from '../../../pipeline/errors.ts';
import { readChunks } from '../../../pipeline/sources.ts';
import type { ParseOutput } from '../../../pipeline/types.ts';
import { ipv4, tcp, udp, type Frame } from '../../helpers/packets.ts';

const SHARED = new URL('../../../../shared/datasets/pcaps/medical-devices/', import.meta.url).pathname;
const T0 = 1_700_000_000_000_000;

interface Outcome {
  outputs: { rows: string[]; dead: string[]; offset: number }[];
  error: string | null;
  packets: number;
}

async function collect(outputs: AsyncIterable<ParseOutput>, stats: { packets: number }): Promise<Outcome> {
  const o: Outcome = { outputs: [], error: null, packets: 0 };
  try {
    for await (const out of outputs) {
      o.outputs.push({ rows: out.flows ? flowRows(out.flows).map((r) => JSON.stringify(r)) : [], dead: (out.deadLetters ?? []).map((d) => `${d.reason}:${d.payload?.length ?? -1}`), offset: out.offset });
    }
  } catch (error) {
    o.error = messageOf(error);
  }
  o.packets = stats.packets;
  return o;
}

const dir = mkdtempSync(join(tmpdir(), 'heir-sharded-'));

// The raw-IP WiFi captures merged in time order: one file with many flows of several protocols.
const frames: Frame[] = [];
for (const name of readdirSync(SHARED, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.pcap')).sort()) {
  const data = readFileSync(join(SHARED, name));
  if (data.length <= 24 || data.readUInt32LE(0) !== 0xa1b2c3d4 || data.readUInt32LE(20) !== 101) continue;
  for (let o = 24; o + 16 <= data.length; ) {
    const caplen = data.readUInt32LE(o + 8);
    if (o + 16 + caplen > data.length) break;
    frames.push({ ts: data.readUInt32LE(o) * 1e6 + data.readUInt32LE(o + 4), data: new Uint8Array(data.subarray(o + 16, o + 16 + caplen)) });
    o += 16 + caplen;
  }
}
frames.sort((a, b) => a.ts - b.ts);

/** A little-endian microsecond raw-IP pcap of many frames (the helper's spread would overflow the stack). */
function rawIpPcap(list: readonly Frame[]): Buffer {
  const out = Buffer.alloc(24 + list.reduce((n, f) => n + 16 + f.data.length, 0));
  out.writeUInt32LE(0xa1b2c3d4, 0);
  out.writeUInt16LE(2, 4);
  out.writeUInt16LE(4, 6);
  out.writeUInt32LE(65535, 16);
  out.writeUInt32LE(101, 20);
  let o = 24;
  for (const f of list) {
    out.writeUInt32LE(Math.floor(f.ts / 1e6), o);
    out.writeUInt32LE(f.ts % 1e6, o + 4);
    out.writeUInt32LE(f.data.length, o + 8);
    out.writeUInt32LE(f.data.length, o + 12);
    out.set(f.data, o + 16);
    o += 16 + f.data.length;
  }
  return out;
}
const merged = join(dir, 'merged.pcap');
writeFileSync(merged, rawIpPcap(frames));

// Several read chunks and many batches: UDP exchanges, TCP handshakes, and every 500th packet
// truncated to a broken IPv4 header (dead letters at many points of the file).
const synthetic: Frame[] = [];
for (let i = 0; i < 8000; i++) {
  const a = `10.0.${i >> 8}.${i & 255}`;
  const ts = T0 + i * 700;
  if (i % 3 === 0) {
    synthetic.push({ ts, data: ipv4(a, '10.9.9.9', 6, tcp(40000 + (i % 900), 443, 0x02, i)) });
    synthetic.push({ ts: ts + 100, data: ipv4('10.9.9.9', a, 6, tcp(443, 40000 + (i % 900), 0x12, 77, undefined, i + 1)) });
  } else {
    synthetic.push({ ts, data: ipv4(a, '10.9.9.9', 17, udp(40000 + (i % 1000), 53, new Uint8Array(300).fill(i & 255))) });
  }
  if (i % 500 === 250) synthetic.push({ ts: ts + 200, data: new Uint8Array([0x45, 0, 0, 60, 1, 2]) });
}
const many = join(dir, 'many.pcap');
writeFileSync(many, rawIpPcap(synthetic));
// 1,500 malformed packets in a row: an output of dead letters alone before the flow batches.
const bursty = join(dir, 'bursty.pcap');
writeFileSync(bursty, rawIpPcap([...synthetic.slice(0, 3000), ...Array.from({ length: 1500 }, (_, i) => ({ ts: T0 + 2_100_000 + i, data: new Uint8Array([0x45, 0, 0, 60, 1, 2]) })), ...synthetic.slice(3000).map((f) => ({ ...f, ts: f.ts + 2000 }))]));
const gz = join(dir, 'many.pcap.gz');
writeFileSync(gz, gzipSync(readFileSync(many)));
const empty = join(dir, 'empty.pcap');
writeFileSync(empty, new Uint8Array(0));

async function single(path: string, batchSize: number): Promise<Outcome> {
  const stats = pcapStats();
  return collect(parsePcap(readChunks(path, { reuse: true }), { site: 'h', sensor: 's', input: path, batchSize, stats }), stats);
}

async function sharded(parser: ShardedPcapParser, path: string, batchSize: number): Promise<Outcome> {
  const stats = pcapStats();
  return collect(parser.parseFile(path, { site: 'h', sensor: 's', input: path, batchSize, stats }), stats);
}

test('two threads give what one thread gives, output by output', async () => {
  assert.ok(frames.length > 50_000, `the shared WiFi captures were found (${frames.length} packets)`);
  assert.ok(statSync(many).size > 2 << 20, 'the synthetic capture spans several read chunks');
  assert.ok(shardableFile(merged) && !shardableFile(gz) && !shardableFile('-') && !shardableFile(join(dir, 'missing.pcap')));
  const parser = await ShardedPcapParser.start(2);
  try {
    assert.is(parser.threads, 2);
    for (const [path, batchSize] of [[merged, 2000], [merged, 97], [many, 50], [bursty, 40], [gz, 50], [empty, 10], [join(dir, 'missing.pcap'), 10], [many, 333]] as const) {
      const want = await single(path, batchSize);
      const got = await sharded(parser, path, batchSize);
      if (path === merged) {
        assert.ok(want.outputs.flatMap((o) => o.rows).some((r) => r.includes('"l7_proto":"tls"')) && want.outputs.flatMap((o) => o.rows).some((r) => r.includes('"l7_proto":"http"')), 'TLS and HTTP flows among them');
        assert.ok(want.outputs.length >= 2 || batchSize === 2000, 'several batches');
      }
      if (path === many) assert.ok(want.outputs.some((o) => o.dead.length > 0) && want.outputs.length > 20, 'dead letters and many batches');
      if (path === bursty) assert.ok(want.outputs.some((o) => o.rows.length === 0 && o.dead.length >= 1000), 'an output of dead letters alone');
      if (path === empty) assert.ok(want.error !== null, 'an empty file is an error');
      assert.equal(got, want, `${path}, batches of ${batchSize}`);
    }
  } finally {
    await parser.close();
  }
});

test('a sharded parse abandoned part-way leaves the parser ready for the next file', async () => {
  const want = await single(many, 100);
  const parser = await ShardedPcapParser.start(2);
  try {
    let n = 0;
    for await (const _ of parser.parseFile(many, { site: 'h', sensor: 's', input: many, batchSize: 100 })) if (++n === 3) break;
    assert.equal(await sharded(parser, many, 100), want);
  } finally {
    await parser.close();
  }
});

test.after(() => rmSync(dir, { recursive: true, force: true }));
test.run();
