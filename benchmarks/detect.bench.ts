/**
 * Detection latency: wall time from feeding an attack phase's first packet to the commit of the
 * first stored detection (a non-benign `detections` row) that belongs to the phase.
 *
 *   npx tsx benchmarks/detect.bench.ts [--run DIR] [--speed 4] [--runs 2] [--modes memory,memory-idle5,nats]
 *
 * The lab run's capture (default datasets/lab/small-seed2, held out from the default model) is
 * replayed as a live stream, like `tcpdump -w -`: the pcap header, then every packet at its
 * capture time divided by --speed (packets due at once go in one chunk).
 * - `memory`: the in-process pipeline of `heir ingest pcap - --db`: pcap parser with the live
 *   defaults (batches cut after 1 s, idle timeout 60 s, active timeout 300 s), in-process bus,
 *   the default operator chain (featurize-flow, classify, hunt, inventory), DuckDB store.
 * - `memory-idle5`: the same with the flow idle timeout at 5 s (the lab's training setting).
 * - `memory-idle5-active5`: also an active timeout of 5 s, so a long flow (one flood session) is
 *   reported by interim records every 5 s of capture time instead of at its end.
 * - `nats`: `heir run --role source` (a child process reading the stream on standard input)
 *   publishing to NATS JetStream, and a worker with the default chain and the store.
 * Commit times come from the worker: its store is wrapped in a BatchSink that takes the clock
 * right after `write()` (the DuckDB transaction) returns and attributes the batch's non-benign
 * detections to lab phases with the lab's labeller (flow addresses and times, as labels.json is
 * read for training). Feeding times are taken when a chunk is handed to the parser (memory) or
 * written to the child's standard input (nats). A phase with no detection before the stream ended
 * is reported apart: its detection waited for the end-of-input flush.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { RecordBatch } from 'apache-arrow';
import { numericColumn, stringColumn } from '../operators/featurize-flow.ts';
import { defaultOperators, loadOperators } from '../operators/index.ts';
import { parsePcap } from '../operators/ingest-pcap.ts';
import { MemoryBus } from '../pipeline/bus-memory.ts';
import { NatsBus } from '../pipeline/bus-nats.ts';
import { parseArgs, numberFlag, stringFlag } from '../pipeline/command.ts';
import { labeller, readLabels } from '../pipeline/lab/dataset.ts';
import type { LabLabels } from '../pipeline/lab/record.ts';
import { Runner } from '../pipeline/runner.ts';
import { openStore } from '../pipeline/store.ts';
import type { BatchSink, BatchSource, SourceBatch, Tables } from '../pipeline/types.ts';
import { startNats } from '../test/helpers/nats.ts';

const ROOT = join(import.meta.dirname, '..');
const args = parseArgs('detect.bench', process.argv.slice(2), { run: 'string', speed: 'string', runs: 'string', modes: 'string', out: 'string' });
const runDir = stringFlag(args, 'run') ?? join(ROOT, 'datasets/lab/small-seed2');
const speed = numberFlag('detect.bench', args, 'speed', 4, 0.01, 1000);
const runs = numberFlag('detect.bench', args, 'runs', 2, 1, 100);
const modes = (stringFlag(args, 'modes') ?? 'memory,memory-idle5,memory-idle5-active5,nats').split(',');
const labels: LabLabels = readLabels(runDir);
const capture = readFileSync(join(runDir, labels.capture));
const attacks = labels.phases.filter((p) => p.attacker !== null);

/** Packets of a classic little-endian pcap: offset of the record, its length and capture time (µs). */
interface Packet {
  readonly start: number;
  readonly end: number;
  readonly ts: number;
}

function packetsOf(bytes: Buffer): { header: Buffer; packets: Packet[]; linkType: number } {
  if (bytes.readUInt32LE(0) !== 0xa1b2c3d4) throw new Error(`${runDir}: expected a little-endian microsecond pcap`);
  const packets: Packet[] = [];
  let o = 24;
  while (o + 16 <= bytes.length) {
    const caplen = bytes.readUInt32LE(o + 8);
    packets.push({ start: o, end: o + 16 + caplen, ts: bytes.readUInt32LE(o) * 1e6 + bytes.readUInt32LE(o + 4) });
    o += 16 + caplen;
  }
  return { header: bytes.subarray(0, 24), packets, linkType: bytes.readUInt32LE(20) };
}

const { header, packets, linkType } = packetsOf(capture);
if (linkType !== 1) throw new Error(`${runDir}: expected an Ethernet capture, got link type ${linkType}`);

/** Index of each attack phase's first packet: at or after its start, from or to its attacker (or its MAC). */
function firstPackets(): Map<string, number> {
  const out = new Map<string, number>();
  const ip = (o: number) => `${capture[o]}.${capture[o + 1]}.${capture[o + 2]}.${capture[o + 3]}`;
  const mac = (o: number) => [...capture.subarray(o, o + 6)].map((b) => b.toString(16).padStart(2, '0')).join(':');
  for (const phase of attacks) {
    const start = Date.parse(phase.start) * 1000;
    const i = packets.findIndex((p) => {
      if (p.ts < start) return false;
      const f = p.start + 16;
      const type = capture.readUInt16BE(f + 12);
      if (type === 0x0800) return ip(f + 26) === phase.attacker || ip(f + 30) === phase.attacker;
      return mac(f + 6) === phase.attacker_mac;
    });
    if (i >= 0) out.set(phase.name, i);
  }
  return out;
}
const firstPacket = firstPackets();

/** The capture as a paced stream; `fed[i]` is the wall time packet i was handed over. */
async function* paced(fed: Float64Array, onEnd: () => void): AsyncGenerator<Uint8Array> {
  yield header;
  const t0 = performance.now();
  const c0 = packets[0].ts;
  let i = 0;
  while (i < packets.length) {
    const due = t0 + (packets[i].ts - c0) / 1000 / speed;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((resolve) => setTimeout(resolve, wait));
    const now = performance.now();
    const limit = t0 + (now - t0);
    let j = i;
    while (j < packets.length && t0 + (packets[j].ts - c0) / 1000 / speed <= limit) j++;
    if (j === i) j = i + 1;
    for (let k = i; k < j; k++) fed[k] = now;
    yield capture.subarray(packets[i].start, packets[j - 1].end);
    i = j;
  }
  onEnd();
}

/** A store wrapper that notes, per attack phase, when its first detection was committed. */
function timedSink(store: BatchSink, committed: Map<string, number>): BatchSink {
  const lab = labeller(labels);
  return {
    async write(batchId: string, tables: Tables): Promise<boolean> {
      const fresh = await store.write(batchId, tables);
      const now = performance.now();
      const detections = tables.detections;
      const flows = tables.flows;
      if (detections && flows && detections.numRows > 0) attribute(detections, flows, now);
      return fresh;
    },
    deadLetter: (...entries) => store.deadLetter(...entries),
    close: () => store.close(),
  };
  function attribute(detections: RecordBatch, flows: RecordBatch, now: number): void {
    const ids = stringColumn(flows, 'flow_id');
    const index = new Map(ids.map((id, i) => [id, i]));
    const src = stringColumn(flows, 'src_addr');
    const dst = stringColumn(flows, 'dst_addr');
    const start = numericColumn(flows, 'ts_start');
    const end = numericColumn(flows, 'ts_end');
    const detectionFlows = stringColumn(detections, 'flow_id');
    const benign = detections.getChild('benign')!;
    for (let r = 0; r < detections.numRows; r++) {
      if (benign.get(r) === true) continue;
      const f = index.get(detectionFlows[r] ?? '');
      if (f === undefined) continue;
      const phase = lab.phaseOf(start[f], end[f], src[f], dst[f]);
      if (phase && !committed.has(phase.name)) committed.set(phase.name, now);
    }
  }
}

interface RunResult {
  readonly fed: Float64Array;
  readonly committed: Map<string, number>;
  readonly streamEnd: number;
}

async function runMemory(idleTimeoutS: number | undefined, activeTimeoutS: number | undefined): Promise<RunResult> {
  const dir = mkdtempSync(join(tmpdir(), 'heir-detect-'));
  const store = await openStore(join(dir, 'site.duckdb'));
  const committed = new Map<string, number>();
  const fed = new Float64Array(packets.length);
  let streamEnd = Infinity;
  const bus = new MemoryBus();
  const runner = new Runner({ site: 'bench', sensor: 'lab', bus, sink: timedSink(store, committed), operators: await loadOperators(await defaultOperators()) });
  const source: BatchSource = {
    name: 'pcap:-',
    async *batches(signal?: AbortSignal): AsyncIterable<SourceBatch> {
      let sequence = 0;
      const stream = paced(fed, () => (streamEnd = performance.now()));
      for await (const out of parsePcap(stream, { site: 'bench', sensor: 'lab', input: '-', batchSize: 2000, maxBatchMs: 1000, idleTimeoutS, activeTimeoutS, signal })) {
        sequence++;
        if (out.flows && out.flows.numRows > 0) yield { id: `pcap:lab:-:${out.offset}:${sequence}`, tables: { flows: out.flows } };
      }
    },
  };
  const stop = new AbortController();
  const working = runner.work({ signal: stop.signal });
  try {
    await runner.publish(source);
    await runner.drained(300);
  } finally {
    stop.abort();
    await working;
    await runner.close();
    await bus.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
  return { fed, committed, streamEnd };
}

async function runNats(): Promise<RunResult> {
  const dir = mkdtempSync(join(tmpdir(), 'heir-detect-'));
  const nats = await startNats();
  const store = await openStore(join(dir, 'site.duckdb'));
  const committed = new Map<string, number>();
  const fed = new Float64Array(packets.length);
  let streamEnd = Infinity;
  const config = join(dir, 'source.json');
  writeFileSync(config, JSON.stringify({ site: 'bench', sensor: 'lab', operators: [], sources: [{ format: 'pcap', path: '-' }] }));
  const bus = await NatsBus.connect({ url: nats.url, stream: 'HEIR' });
  const runner = new Runner({ site: 'bench', sensor: 'lab', bus, sink: timedSink(store, committed), operators: await loadOperators(await defaultOperators()) });
  const stop = new AbortController();
  const working = runner.work({ signal: stop.signal });
  try {
    const child = spawn(process.execPath, [join(ROOT, 'bin/heir.js'), 'run', '--config', config, '--role', 'source', '--nats', nats.url], { stdio: ['pipe', 'ignore', 'inherit'] });
    const exited = new Promise<number>((resolve) => child.on('exit', (code) => resolve(code ?? 1)));
    for await (const chunk of paced(fed, () => (streamEnd = performance.now()))) {
      if (!child.stdin.write(chunk)) await new Promise((resolve) => child.stdin.once('drain', resolve));
    }
    child.stdin.end();
    const code = await exited;
    if (code !== 0) throw new Error(`heir run --role source exited with ${code}`);
    await runner.drained(1000);
  } finally {
    stop.abort();
    await working;
    await runner.close();
    await bus.close();
    await store.close();
    await nats.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  return { fed, committed, streamEnd };
}

function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[i];
}

const lines: string[] = [];
const say = (line = '') => {
  lines.push(line);
  process.stdout.write(line + '\n');
};
say(`# Detection latency (benchmarks/detect.bench.ts)`);
say();
say(`Lab run ${runDir.replace(ROOT + '/', '')} (${packets.length} packets, ${((packets[packets.length - 1].ts - packets[0].ts) / 1e6).toFixed(1)} s of capture) replayed at ${speed}× capture speed, ${runs} run(s) per mode; ${new Date().toISOString().slice(0, 10)}, 2 shared cores.`);
say('Latency = wall time from feeding the phase\'s first attack packet to the commit of its first detection (ms).');
say();
const summary: string[] = [];
for (const mode of modes) {
  const perPhase = new Map<string, number[]>();
  const atEnd = new Map<string, number>();
  const missed = new Map<string, number>();
  const all: number[] = [];
  for (let r = 0; r < runs; r++) {
    const result = mode === 'nats' ? await runNats() : mode === 'memory' ? await runMemory(undefined, undefined) : mode === 'memory-idle5' ? await runMemory(5, undefined) : mode === 'memory-idle5-active5' ? await runMemory(5, 5) : (() => { throw new Error(`unknown mode ${mode} (memory, memory-idle5, memory-idle5-active5, nats)`); })();
    for (const phase of attacks) {
      const first = firstPacket.get(phase.name);
      const commit = result.committed.get(phase.name);
      if (first === undefined || commit === undefined) {
        missed.set(phase.name, (missed.get(phase.name) ?? 0) + 1);
        continue;
      }
      if (commit > result.streamEnd) atEnd.set(phase.name, (atEnd.get(phase.name) ?? 0) + 1);
      const latency = commit - result.fed[first];
      all.push(latency);
      perPhase.set(phase.name, [...(perPhase.get(phase.name) ?? []), latency]);
    }
  }
  say(`## ${mode}`);
  say();
  say('| phase | label | latency per run (ms) | detected only after the stream ended |');
  say('|---|---|---|---|');
  for (const phase of attacks) {
    const l = perPhase.get(phase.name);
    say(`| ${phase.name} | ${phase.label} | ${l ? l.map((x) => x.toFixed(0)).join(', ') : 'no detection'}${missed.get(phase.name) && l ? ` (missed in ${missed.get(phase.name)})` : ''} | ${atEnd.get(phase.name) ?? 0} of ${runs} |`);
  }
  const sorted = all.sort((a, b) => a - b);
  say();
  const line = `${mode}: p50 ${quantile(sorted, 0.5).toFixed(0)} ms, p99 ${quantile(sorted, 0.99).toFixed(0)} ms over ${sorted.length} phase detections; ${[...atEnd.values()].reduce((a, b) => a + b, 0)} came only with the end-of-input flush, ${[...missed.values()].reduce((a, b) => a + b, 0)} phase runs without a detection`;
  say(line);
  say();
  summary.push(line);
}
say('## Summary');
say();
for (const s of summary) say(`- ${s}`);
const out = stringFlag(args, 'out');
if (out) writeFileSync(out, lines.join('\n') + '\n');
