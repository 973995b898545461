/**
 * Featurizer throughput, each against its alternative in the same run:
 * - featurize-flow (columnar: typed arrays per column, one pass) against the same features
 *   computed from row objects (`flowRows` then per-row arithmetic), the obvious way to write it;
 * - cic-window (reader + decoder + windows) against reading and decoding alone, so the ratio is
 *   the windowing's own cost; and against `tshark -T fields` reading the same capture (the
 *   usual way CIC-style features are extracted in Python pipelines starts from such an export);
 * - featurize-device over the lab's flows.
 * Inputs: the committed lab runs, repeated to a few hundred thousand rows. Medians of
 * HEIR_BENCH_REPS runs.
 *
 *   npx tsx benchmarks/featurize.bench.ts
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createDeviceState, flushDevices, pushFlows } from '../operators/featurize-device.ts';
import { featurizeFlows } from '../operators/featurize-flow.ts';
import { windowsFromCapture } from '../operators/featurize-window.ts';
import { Decoded, DecodedPacket, decodeFrame } from '../operators/pcap/decode.ts';
import { CaptureReader } from '../operators/pcap/reader.ts';
import { flowBatch, flowRows, type FlowRow } from '../pipeline/flow-schema.ts';
import { labelledFlows, labeller, readLabels } from '../pipeline/lab/dataset.ts';

const REPS = Number(process.env.HEIR_BENCH_REPS ?? 5);
const ROOT = join(import.meta.dirname, '..');
const RUN = join(ROOT, 'datasets/lab/small-seed1');

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

function time(fn: () => unknown): number {
  const t = performance.now();
  fn();
  return performance.now() - t;
}

async function timeAsync(fn: () => Promise<unknown>): Promise<number> {
  const t = performance.now();
  await fn();
  return performance.now() - t;
}

// Flows: the lab run's flows, repeated with shifted times.
const labels = readLabels(RUN);
const base = flowRows((await labelledFlows(join(RUN, labels.capture), labeller(labels))).batch);
const copies = 100;
let rows: FlowRow[] = [];
for (let k = 0; k < copies; k++) for (const r of base) rows.push({ ...r, flow_id: `${r.flow_id}-${k}`, ts_start: r.ts_start + k * 120e6, ts_end: r.ts_end + k * 120e6 });
const flows = flowBatch(rows);
const flowCount = rows.length;
// Drop the row objects: a heap full of them would tax every timed section with garbage collection.
rows = [];

/** The same per-flow features from row objects (the alternative). */
function rowFeatures(batch: ReturnType<typeof flowBatch>): number {
  let checksum = 0;
  for (const r of flowRows(batch)) {
    const packets = r.fwd_packets + r.bwd_packets;
    const span = Math.max(r.duration_s, 0.001);
    const f = {
      packets_per_s: packets / span,
      bytes_per_s: (r.fwd_bytes + r.bwd_bytes) / span,
      ratio: r.fwd_packets > 0 ? r.bwd_packets / r.fwd_packets : 0,
      syn: packets > 0 ? (r.syn_count ?? 0) / packets : 0,
      rst: packets > 0 ? (r.rst_count ?? 0) / packets : 0,
      tcp: r.ip_proto === 6 ? 1 : 0,
      l7: r.l7_proto === 'hl7-mllp' ? 1 : 0,
    };
    checksum += f.packets_per_s + f.syn + f.tcp + f.l7;
  }
  return checksum;
}

const flowCol: number[] = [];
const flowRow: number[] = [];
for (let i = 0; i < REPS; i++) {
  flowCol.push(time(() => featurizeFlows(flows)));
  flowRow.push(time(() => rowFeatures(flows)));
}

// Packets: the capture repeated (records only; the header once).
const capture = readFileSync(join(RUN, labels.capture));
const body = capture.subarray(24);
const packetCopies = 20;
async function* chunks(): AsyncGenerator<Uint8Array> {
  yield capture.subarray(0, 24);
  for (let k = 0; k < packetCopies; k++) yield body;
}
let packets = 0;
const decodeOnly: number[] = [];
const windowed: number[] = [];
for (let i = 0; i < REPS; i++) {
  decodeOnly.push(
    await timeAsync(async () => {
      const p = new DecodedPacket();
      let ip = 0;
      const reader = new CaptureReader('bench', {
        packet(data, start, caplen, _w, _ts, linkType) {
          if (decodeFrame(p, linkType, data, start, caplen) === Decoded.IP) ip++;
        },
        bad() {},
      });
      for await (const c of chunks()) reader.push(c);
      reader.end();
      packets = ip;
    }),
  );
  windowed.push(await timeAsync(() => windowsFromCapture(chunks(), 'bench')));
}

let tshark: number | null = null;
if (spawnSync('sh', ['-c', 'command -v tshark']).status === 0) {
  const runs: number[] = [];
  for (let i = 0; i < Math.min(REPS, 3); i++) {
    runs.push(time(() => spawnSync('tshark', ['-r', join(RUN, labels.capture), '-T', 'fields', '-e', 'frame.time_epoch', '-e', 'frame.len', '-e', 'ip.proto', '-e', 'ip.ttl', '-e', 'tcp.flags', '-e', 'tcp.hdr_len', '-e', 'ip.src', '-e', 'ip.dst'], { stdio: ['ignore', 'ignore', 'ignore'] })));
  }
  tshark = median(runs) * packetCopies;
}

const device: number[] = [];
for (let i = 0; i < REPS; i++) {
  device.push(
    time(() => {
      const state = createDeviceState();
      pushFlows(state, flows);
      flushDevices(state);
    }),
  );
}

const rate = (n: number, ms: number) => `${((n / ms) * 1000).toFixed(0)}/s`;
const fc = median(flowCol);
const fr = median(flowRow);
const d = median(decodeOnly);
const w = median(windowed);
console.log(`node ${process.version}, ${REPS} reps, medians`);
console.log(`featurize-flow  ${flowCount} flows: columnar ${fc.toFixed(1)} ms (${rate(flowCount, fc)}), row objects ${fr.toFixed(1)} ms (${rate(flowCount, fr)}); row/columnar ${(fr / fc).toFixed(2)}×`);
console.log(`cic-window      ${packets} IP packets: read+decode ${d.toFixed(1)} ms (${rate(packets, d)}), + windows ${w.toFixed(1)} ms (${rate(packets, w)}); windows cost ${(w / d).toFixed(2)}× decoding`);
if (tshark !== null) console.log(`                tshark -T fields on the same packets (extrapolated from one copy): ${tshark.toFixed(0)} ms; tshark/HEIR windows ${(tshark / w).toFixed(1)}×`);
console.log(`featurize-device ${flowCount} flows: ${median(device).toFixed(1)} ms (${rate(flowCount, median(device))})`);
