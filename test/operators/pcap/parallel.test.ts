/**
 * Files parsed on the worker pool give exactly what a sequential parse of each file gives: the
 * same flow rows in the same order, the same dead letters and offsets, the same errors, file by
 * file in the order given. Real medical-device captures, an empty file, a Bluetooth LE capture,
 * a capture larger than one read chunk with many batches, and one with a cut final record.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parsePcap, pcapStats } from '../../../operators/ingest-pcap.ts';
import { PcapWorkerPool } from '../../../operators/pcap/parallel.ts';
import { flowRows } from '../../../pipeline/flow-schema.ts';
import { messageOf } from '../../../pipeline/errors.ts';
import { readChunks } from '../../../pipeline/sources.ts';
import { ipv4, pcapFile, tcp, udp, type Frame } from '../../helpers/packets.ts';

const SHARED = new URL('../../../../shared/datasets/pcaps/medical-devices/', import.meta.url).pathname;
const OPTIONS = { site: 'h', sensor: 's', batchSize: 50 };
const T0 = 1_700_000_000_000_000;

/** What one file gives: per output its rows (as JSON), dead-letter reasons and offset; then its error and packet count. */
interface Outcome {
  outputs: { rows: string[]; dead: string[]; offset: number }[];
  error: string | null;
  packets: number;
}

function outcomeOf(out: { flows?: import('apache-arrow').RecordBatch; deadLetters?: readonly { reason: string }[]; offset: number }) {
  return { rows: out.flows ? flowRows(out.flows).map((r) => JSON.stringify(r)) : [], dead: (out.deadLetters ?? []).map((d) => d.reason), offset: out.offset };
}

async function sequential(path: string): Promise<Outcome> {
  const stats = pcapStats();
  const o: Outcome = { outputs: [], error: null, packets: 0 };
  try {
    for await (const out of parsePcap(readChunks(path, { reuse: true }), { ...OPTIONS, input: path, stats })) o.outputs.push(outcomeOf(out));
  } catch (error) {
    o.error = messageOf(error);
  }
  o.packets = stats.packets;
  return o;
}

const dir = mkdtempSync(join(tmpdir(), 'heir-parallel-'));
const shared = readdirSync(SHARED, { recursive: true, encoding: 'utf8' })
  .filter((f) => f.endsWith('.pcap'))
  .map((f) => join(SHARED, f))
  .sort();
const wifi = shared.filter((f) => f.includes('wifi') && statSync(f).size > 24).sort((a, b) => statSync(b).size - statSync(a).size).slice(0, 12);
const empty = shared.find((f) => statSync(f).size === 0);
const bluetooth = shared.find((f) => f.includes('bluetooth') && statSync(f).size > 24);

// More than one 1 MiB read chunk, many flows and batches: 3,000 UDP exchanges of 400-byte datagrams.
const frames: Frame[] = [];
for (let i = 0; i < 3000; i++) {
  const a = `10.0.${i >> 8}.${i & 255}`;
  frames.push({ ts: T0 + i * 1000, data: ipv4(a, '10.9.9.9', 17, udp(40000 + (i % 1000), 5000, new Uint8Array(400).fill(i & 255))) });
  frames.push({ ts: T0 + i * 1000 + 500, data: ipv4('10.9.9.9', a, 17, udp(5000, 40000 + (i % 1000), new Uint8Array(300))) });
}
const large = join(dir, 'large.pcap');
writeFileSync(large, pcapFile(101, frames));
// A TCP exchange and a final record cut short: a dead letter.
const whole = pcapFile(101, [
  { ts: T0, data: ipv4('10.1.1.1', '10.1.1.2', 6, tcp(40001, 80, 0x02, 1)) },
  { ts: T0 + 10, data: ipv4('10.1.1.2', '10.1.1.1', 6, tcp(80, 40001, 0x12, 9, undefined, 2)) },
]);
const cut = join(dir, 'cut.pcap');
writeFileSync(cut, whole.subarray(0, whole.length - 7));

test('the pool gives each file what a sequential parse gives, in the order given', async () => {
  assert.ok(wifi.length >= 10, `shared captures found in ${SHARED}`);
  assert.ok(empty && bluetooth, 'an empty and a Bluetooth capture among the shared files');
  assert.ok(statSync(large).size > 1 << 20, 'the large capture spans several read chunks');
  const paths = [wifi[0], empty as string, large, ...wifi.slice(1, 6), bluetooth as string, cut, ...wifi.slice(6), join(dir, 'missing.pcap')];
  const expected: Outcome[] = [];
  for (const p of paths) expected.push(await sequential(p));
  assert.ok(expected[2].outputs.length > 10, 'the large capture gives many batches');
  assert.ok(expected.some((e) => e.outputs.some((o) => o.dead.length > 0)), 'the cut capture gives a dead letter');
  assert.ok(expected.filter((e) => e.error !== null).length >= 3, 'empty, Bluetooth and missing files give errors');

  const pool = await PcapWorkerPool.start(2);
  try {
    for (let round = 0; round < 2; round++) {
      const got: Outcome[] = paths.map(() => ({ outputs: [], error: null, packets: 0 }));
      const order: number[] = [];
      for await (const r of pool.parseFiles(paths, OPTIONS)) {
        assert.is(r.input, paths[r.index]);
        order.push(r.index);
        if (r.output) got[r.index].outputs.push(outcomeOf(r.output));
        if (r.end) {
          got[r.index].error = r.end.error ? messageOf(r.end.error) : null;
          got[r.index].packets = r.end.stats.packets;
        }
      }
      assert.equal(order, [...order].sort((a, b) => a - b), 'results come file by file in the order given');
      for (let i = 0; i < paths.length; i++) assert.equal(got[i], expected[i], `${paths[i]} (round ${round})`);
    }
  } finally {
    await pool.close();
  }
});

test.after(() => rmSync(dir, { recursive: true, force: true }));
test.run();
