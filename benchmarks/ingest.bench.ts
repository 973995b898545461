/**
 * pcap → flows throughput, side by side on the same packets: HEIR's pcap parser in process
 * (operators/ingest-pcap.ts `parsePcap` over `readChunks`, the byte source of `heir ingest`), with
 * and without L7 inspection, the one file on two threads (operators/pcap/sharded.ts: each thread
 * reads the file and assembles every flow, each builds every other batch), the same packets as
 * separate files parsed one after the other and on a pool of worker threads (one per core), the
 * whole `heir ingest pcap FILE --json` command (one thread: `--threads 1`),
 * `softflowd -r FILE` (exporting NetFlow to a discard port on loopback) and `argus -r FILE -w
 * /dev/null`.
 *
 * The capture: every non-empty WiFi capture of the shared medical-device set (raw IP, link type
 * 101), merged in timestamp order, then repeated with each copy shifted past the idle timeouts so
 * its flows are new flows, until it is at least HEIR_BENCH_MB (default 100) MB. The same copies are
 * also written as one file per source capture and copy (the multi-file rows). External tools are
 * timed as whole processes (wall from spawn to exit, user+system CPU from the kernel's exact rusage
 * of the tool); their start-up and shutdown cost is measured on a 10-packet
 * capture and subtracted; they are run by a helper process started first (benchmarks/ingest-tool-runner.ts),
 * so this process never forks while it holds the parsed data (the copy-on-write faults after a
 * fork would be charged to the next in-process parse). In-process CPU is process.cpuUsage() (all threads, workers included);
 * module loading and the pool's start-up are outside the timed runs and printed apart. Runs
 * alternate between the readers so they share the machine's load, and each rep runs HEIR's
 * one-thread parse and softflowd back to back; HEIR_BENCH_REPS (default 5) runs, median and best,
 * and for HEIR against softflowd also the ratio within each rep (paired).
 *
 *   npx tsx benchmarks/ingest.bench.ts
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parsePcap, pcapStats } from '../operators/ingest-pcap.ts';
import { PcapWorkerPool } from '../operators/pcap/parallel.ts';
import { ShardedPcapParser } from '../operators/pcap/sharded.ts';
import { readChunks } from '../pipeline/sources.ts';
import { ToolRunner, type ToolRun } from './ingest-tool-runner.ts';

const toolRunner = ToolRunner.start();

const REPS = Number(process.env.HEIR_BENCH_REPS ?? 5);
const TARGET_BYTES = Number(process.env.HEIR_BENCH_MB ?? 100) * 1e6;
const SHARED = new URL('../../shared/datasets/pcaps/medical-devices/', import.meta.url).pathname;
const HEIR_BIN = new URL('../bin/heir.js', import.meta.url).pathname;

function need(tool: string, pkg: string): void {
  if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0) throw new Error(`${tool} is not installed: apt-get install ${pkg}`);
}
need('softflowd', 'softflowd');
need('argus', 'argus-server');

/** One record of a classic little-endian microsecond pcap. */
interface Packet {
  seconds: number;
  micros: number;
  bytes: Uint8Array; // record header's lengths + data (from offset 8 of the record header)
}

/** Records of a raw-IP pcap file; other files are left out (and said so). */
function readRawIpPcap(path: string): Packet[] | undefined {
  const data = readFileSync(path);
  if (data.length < 24 || data.readUInt32LE(0) !== 0xa1b2c3d4 || data.readUInt32LE(20) !== 101) return undefined;
  const out: Packet[] = [];
  for (let o = 24; o + 16 <= data.length; ) {
    const caplen = data.readUInt32LE(o + 8);
    if (o + 16 + caplen > data.length) break;
    out.push({ seconds: data.readUInt32LE(o), micros: data.readUInt32LE(o + 4), bytes: data.subarray(o + 8, o + 16 + caplen) });
    o += 16 + caplen;
  }
  return out;
}

/** Write packets as a pcap, copy k shifted by k × shift seconds (copies from `first`). */
function writeCapture(path: string, packets: readonly Packet[], copies: number, shiftSeconds: number, first = 0): number {
  const size = 24 + copies * packets.reduce((n, p) => n + 8 + p.bytes.length, 0);
  const out = Buffer.alloc(size);
  out.writeUInt32LE(0xa1b2c3d4, 0);
  out.writeUInt16LE(2, 4);
  out.writeUInt16LE(4, 6);
  out.writeUInt32LE(65535, 16);
  out.writeUInt32LE(101, 20);
  let o = 24;
  for (let k = first; k < first + copies; k++) {
    for (const p of packets) {
      out.writeUInt32LE(p.seconds + k * shiftSeconds, o);
      out.writeUInt32LE(p.micros, o + 4);
      out.set(p.bytes, o + 8);
      o += 8 + p.bytes.length;
    }
  }
  writeFileSync(path, out);
  return copies * packets.length;
}

const dir = mkdtempSync(join(tmpdir(), 'heir-bench-ingest-'));
/**
 * Write the benchmark's captures; only their paths and counts are kept, so the packets read to make
 * them do not stay on this process's heap (every garbage collection during a timed parse would
 * walk them).
 */
function writeCaptures() {
  const files = readdirSync(SHARED, { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.pcap') && !f.includes('bluetooth'))
    .map((f) => join(SHARED, f))
    .filter((f) => statSync(f).size > 24)
    .sort();
  const perFile: Packet[][] = [];
  for (const f of files) {
    const packets = readRawIpPcap(f);
    if (packets && packets.length > 0) perFile.push(packets);
  }
  const merged = perFile.flat().sort((a, b) => a.seconds - b.seconds || a.micros - b.micros);
  const spanSeconds = merged[merged.length - 1].seconds - merged[0].seconds;
  const oneCopy = 24 + merged.reduce((n, p) => n + 8 + p.bytes.length, 0);
  const copies = Math.max(1, Math.ceil(TARGET_BYTES / oneCopy));
  // HEIR_BENCH_CAPTURE=FILE keeps the capture (for profiling: node --cpu-prof on the same bytes).
  const capture = process.env.HEIR_BENCH_CAPTURE ?? join(dir, 'medical-wifi.pcap');
  // An hour beyond the span: every flow of a copy has ended (idle timeouts) before the next starts.
  const shift = spanSeconds + 3600;
  const packetCount = writeCapture(capture, merged, copies, shift);
  const tiny = join(dir, 'tiny.pcap');
  writeCapture(tiny, merged.slice(0, 10), 1, 0);
  // The same packets as one file per source capture and copy.
  mkdirSync(join(dir, 'files'));
  const split: string[] = [];
  let splitBytes = 0;
  for (let k = 0; k < copies; k++) {
    perFile.forEach((packets, i) => {
      const path = join(dir, 'files', `${String(k).padStart(2, '0')}-${String(i).padStart(4, '0')}.pcap`);
      writeCapture(path, packets, 1, shift, k);
      split.push(path);
      splitBytes += statSync(path).size;
    });
  }
  return { capture, tiny, packetCount, split, splitBytes, sources: perFile.length, mergedPackets: merged.length, oneCopy, copies };
}
const { capture, tiny, packetCount, split, splitBytes, sources, mergedPackets, oneCopy, copies } = writeCaptures();
const size = statSync(capture).size;

/** Wall and CPU time of a process, ms (CPU: the tool's user + system from its rusage), and its output. */
const timed = (cmd: string, args: string[]): Promise<ToolRun> => toolRunner.run(cmd, args);

const parseOptions = { site: 'bench', sensor: 'bench', batchSize: 2000 };

/** In this process (CPU of every thread): `run` returns flows and packets. */
async function inProcess(run: () => Promise<{ flows: number; packets: number }>): Promise<{ wall: number; cpu: number; flows: number; packets: number }> {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const r = await run();
  const c = process.cpuUsage(c0);
  return { wall: performance.now() - t0, cpu: (c.user + c.system) / 1000, ...r };
}

/** One file through parsePcap over readChunks (the reader `heir ingest` uses for pcap). */
async function parseFile(path: string, inspectBytes?: number): Promise<{ flows: number; packets: number }> {
  const stats = pcapStats();
  let flows = 0;
  for await (const out of parsePcap(readChunks(path, { reuse: true }), { ...parseOptions, input: path, stats, inspectBytes })) flows += out.flows?.numRows ?? 0;
  return { flows, packets: stats.packets };
}

async function parseFiles(paths: readonly string[]): Promise<{ flows: number; packets: number }> {
  let flows = 0;
  let packets = 0;
  for (const path of paths) {
    const r = await parseFile(path);
    flows += r.flows;
    packets += r.packets;
  }
  return { flows, packets };
}

let sharded: ShardedPcapParser | undefined;
/** The one file on two threads (the second a worker started beforehand). */
async function parseSharded(path: string): Promise<{ flows: number; packets: number }> {
  const stats = pcapStats();
  let flows = 0;
  for await (const out of (sharded as ShardedPcapParser).parseFile(path, { ...parseOptions, input: path, stats })) flows += out.flows?.numRows ?? 0;
  return { flows, packets: stats.packets };
}

let pool: PcapWorkerPool | undefined;
async function parseOnPool(paths: readonly string[]): Promise<{ flows: number; packets: number }> {
  let flows = 0;
  let packets = 0;
  for await (const r of (pool as PcapWorkerPool).parseFiles(paths, parseOptions)) {
    flows += r.output?.flows?.numRows ?? 0;
    if (r.end) {
      if (r.end.error) throw r.end.error;
      packets += r.end.stats.packets;
    }
  }
  return { flows, packets };
}

const readers: Record<string, () => Promise<{ flows: number; packets: number }>> = {
  heir: () => parseFile(capture),
  'heir-nol7': () => parseFile(capture, 0),
  'heir-2t': () => parseSharded(capture),
  'heir-files': () => parseFiles(split),
  'heir-pool': () => parseOnPool(split),
};
const tools: Record<string, (f: string) => Promise<ToolRun>> = {
  softflowd: (f) => timed('softflowd', ['-r', f, '-n', '127.0.0.1:9']),
  argus: (f) => timed('argus', ['-r', f, '-w', '/dev/null']),
  'heir-cli': (f) => timed(process.execPath, [HEIR_BIN, 'ingest', 'pcap', f, '--json', '--threads', '1']),
};
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const best = (xs: number[]) => Math.min(...xs);

const load0 = loadavg()[0];
// Warm-up: module loading and JIT in this thread; the pool's threads load and warm up apart.
await parseFile(capture);
await parseFiles(split);
const p0 = performance.now();
const pc0 = process.cpuUsage();
pool = await PcapWorkerPool.start();
await parseOnPool(split);
const pc = process.cpuUsage(pc0);
const poolStart = { wall: performance.now() - p0, cpu: (pc.user + pc.system) / 1000 };
const s0 = performance.now();
const sc0 = process.cpuUsage();
sharded = await ShardedPcapParser.start(2);
const sc = process.cpuUsage(sc0);
const shardStart = { wall: performance.now() - s0, cpu: (sc.user + sc.system) / 1000 };
await parseSharded(capture);

const samples: Record<string, { wall: number[]; cpu: number[] }> = {};
const add = (name: string, wall: number, cpu: number) => {
  const s = (samples[name] ??= { wall: [], cpu: [] });
  s.wall.push(wall);
  s.cpu.push(cpu);
};
const flows: Record<string, number> = {};
let packetsSeen = 0;
let softflowdFlows = 0;
/** Run a tool on the capture and on the 10-packet capture (its start-up), and record both. */
async function toolRep(name: string, run: (f: string) => Promise<ToolRun>): Promise<void> {
  const full = await run(capture);
  const empty = await run(tiny);
  add(name, full.wall, full.cpu);
  add(`${name}:startup`, empty.wall, empty.cpu);
  if (name === 'softflowd') softflowdFlows = Number(/Flows exported: (\d+)/.exec(full.out)?.[1] ?? 0);
}
// Each rep opens with HEIR's one-thread parse and softflowd back to back, the pair the target
// compares, so the host's swings (the same parse took 83 ms in one quiet run and 121 ms in the
// next) fall on both alike; the ratio is also taken within each rep (the paired ratios below).
for (let rep = 0; rep < REPS; rep++) {
  for (const [name, run] of Object.entries(readers)) {
    const r = await inProcess(run);
    add(name, r.wall, r.cpu);
    flows[name] = r.flows;
    if (name === 'heir') {
      packetsSeen = r.packets;
      await toolRep('softflowd', tools.softflowd);
    }
  }
  for (const [name, run] of Object.entries(tools)) if (name !== 'softflowd') await toolRep(name, run);
}
await pool.close();
await sharded.close();
toolRunner.close();
const load1 = loadavg()[0];
rmSync(dir, { recursive: true, force: true });

interface Row {
  name: string;
  bytes: number;
  wall: number;
  cpu: number;
  bestWall: number;
  bestCpu: number;
  startup: string;
}
const result = (name: string, label: string, bytes: number, net: boolean): Row => {
  const s = samples[name];
  const st = net ? samples[`${name}:startup`] : undefined;
  const sw = st ? median(st.wall) : 0;
  const sc = st ? median(st.cpu) : 0;
  return { name: label, bytes, wall: median(s.wall) - sw, cpu: median(s.cpu) - sc, bestWall: best(s.wall) - sw, bestCpu: best(s.cpu) - sc, startup: st ? `${sw.toFixed(0)}/${sc.toFixed(0)}` : '–' };
};
const rows = [
  result('heir', 'heir, one file', size, false),
  result('heir-nol7', 'heir, one file, no L7', size, false),
  result('heir-2t', 'heir, one file, 2 threads', size, false),
  result('heir-files', `heir, ${split.length} files`, splitBytes, false),
  result('heir-pool', `heir, ${split.length} files, ${pool.size} workers`, splitBytes, false),
  result('heir-cli', 'heir ingest --json', size, true),
  result('softflowd', 'softflowd -r', size, true),
  result('argus', 'argus -r', size, true),
];
// A net time under 10 ms is within the start-up time's noise (argus waits about a second before it exits).
const NOISE_MS = 10;
const rate = (bytes: number, ms: number) => (ms < NOISE_MS ? '   (within start-up noise)   ' : `${(bytes / 1e6 / (ms / 1000)).toFixed(1).padStart(6)} MB/s ${((packetCount / ms) * 1000).toFixed(0).padStart(8)} pkt/s`);
const ms = (a: number, b: number) => `${a.toFixed(0)}/${b.toFixed(0)}`.padStart(11);
console.log(`capture: ${sources} raw-IP medical WiFi captures merged (${mergedPackets} packets, ${(oneCopy / 1e6).toFixed(1)} MB) × ${copies} shifted copies = ${(size / 1e6).toFixed(1)} MB, ${packetCount} packets (HEIR read ${packetsSeen}); as separate files: ${split.length} files, ${(splitBytes / 1e6).toFixed(1)} MB`);
console.log(`flows: heir ${flows.heir} (2 threads: ${flows['heir-2t']}, separate files: ${flows['heir-files']}, on the pool: ${flows['heir-pool']}), softflowd ${softflowdFlows} (exported)`);
console.log(`${REPS} runs, median and best; external tools net of start-up (10-packet capture); not in the runs: pool start-up ${poolStart.wall.toFixed(0)} ms wall, ${poolStart.cpu.toFixed(0)} ms CPU (with its warm-up parse), 2-thread parser start-up ${shardStart.wall.toFixed(0)} ms wall, ${shardStart.cpu.toFixed(0)} ms CPU; ${availableParallelism()} cores, load average ${load0.toFixed(1)} → ${load1.toFixed(1)}`);
console.log('modes: "one file" rows run on this thread alone; "2 threads" on this thread and one worker (CPU of both counted); softflowd and argus are single-threaded');
console.log('');
console.log(`${'reader'.padEnd(30)} ${'wall ms med/best'.padStart(16)} ${'cpu ms med/best'.padStart(16)}   median by wall                median by CPU                 start-up wall/cpu ms`);
for (const r of rows) {
  console.log(`${r.name.padEnd(30)} ${ms(r.wall, r.bestWall).padStart(16)} ${ms(r.cpu, r.bestCpu).padStart(16)}   ${rate(r.bytes, r.wall)}   ${rate(r.bytes, r.cpu)}   ${r.startup}`);
}
const softflowd = rows[6];
const argus = rows[7];
// Throughput ratio: the other's time over ours for the same packets (> 1 = HEIR faster).
const ratio = (theirs: number, mine: number) => (theirs < NOISE_MS || mine < NOISE_MS ? ' n/a' : (theirs / mine).toFixed(2));
console.log('');
console.log('throughput ratio, HEIR / tool (> 1 = HEIR faster), median (best):');
for (const r of rows.slice(0, 6)) {
  const parts = [softflowd, argus].map((t) => `${t.name.split(' ')[0]} wall ${ratio(t.wall, r.wall)} (${ratio(t.bestWall, r.bestWall)}) cpu ${ratio(t.cpu, r.cpu)} (${ratio(t.bestCpu, r.bestCpu)})`);
  console.log(`  ${r.name.padEnd(30)} ${parts.join('   ')}`);
}
// The target's pair, rep by rep: softflowd's net time in a rep over HEIR's in the same rep.
const paired = (measure: 'wall' | 'cpu') => {
  const sf = samples.softflowd[measure];
  const startup = median(samples['softflowd:startup'][measure]);
  const xs = samples.heir[measure].map((mine, i) => (sf[i] - startup) / mine).sort((a, b) => a - b);
  const q = (f: number) => xs[Math.min(xs.length - 1, Math.floor(f * xs.length))].toFixed(2);
  return `median ${q(0.5)}, quartiles ${q(0.25)}–${q(0.75)}, range ${xs[0].toFixed(2)}–${xs[xs.length - 1].toFixed(2)}`;
};
console.log('');
console.log(`HEIR one file / softflowd -r within each rep (run back to back; > 1 = HEIR faster), ${REPS} reps:`);
console.log(`  wall ${paired('wall')}`);
console.log(`  cpu  ${paired('cpu')}`);
