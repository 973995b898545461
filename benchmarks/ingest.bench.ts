/**
 * pcap → flows throughput, side by side on one capture: HEIR's pcap parser (operators/ingest-pcap.ts
 * `parser`, in process, through the same byte source as `heir ingest`), the whole `heir ingest pcap
 * FILE --json` command, `softflowd -r FILE` (exporting NetFlow to a discard port on loopback) and
 * `argus -r FILE -w /dev/null`.
 *
 * The capture: every non-empty WiFi capture of the shared medical-device set (raw IP, link type
 * 101), merged in timestamp order, then repeated with each copy shifted past the idle timeouts so
 * its flows are new flows, until it is at least HEIR_BENCH_MB (default 40) MB. External tools are
 * timed as whole processes (GNU time: wall, user+system CPU); their start-up and shutdown cost is
 * measured on a 10-packet capture and subtracted. Runs alternate between the tools so they share the
 * machine's load; medians of HEIR_BENCH_REPS (default 3) runs.
 *
 *   npx tsx benchmarks/ingest.bench.ts
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parser } from '../operators/ingest-pcap.ts';
import { fileChunksReused } from '../pipeline/file-chunks.ts';
import { readChunks } from '../pipeline/sources.ts';

const REPS = Number(process.env.HEIR_BENCH_REPS ?? 3);
const TARGET_BYTES = Number(process.env.HEIR_BENCH_MB ?? 40) * 1e6;
const SHARED = new URL('../../shared/datasets/pcaps/medical-devices/', import.meta.url).pathname;
const HEIR_BIN = new URL('../bin/heir.js', import.meta.url).pathname;

function need(tool: string, pkg: string): void {
  if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0) throw new Error(`${tool} is not installed: apt-get install ${pkg}`);
}
need('softflowd', 'softflowd');
need('argus', 'argus-server');
if (!statSync('/usr/bin/time', { throwIfNoEntry: false })) throw new Error('GNU time is not installed: apt-get install time');

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

/** Write packets as a pcap, copy k shifted by k × shift seconds. */
function writeCapture(path: string, packets: readonly Packet[], copies: number, shiftSeconds: number): number {
  const size = 24 + copies * packets.reduce((n, p) => n + 8 + p.bytes.length, 0);
  const out = Buffer.alloc(size);
  out.writeUInt32LE(0xa1b2c3d4, 0);
  out.writeUInt16LE(2, 4);
  out.writeUInt16LE(4, 6);
  out.writeUInt32LE(65535, 16);
  out.writeUInt32LE(101, 20);
  let o = 24;
  for (let k = 0; k < copies; k++) {
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
const files = readdirSync(SHARED, { recursive: true, encoding: 'utf8' })
  .filter((f) => f.endsWith('.pcap') && !f.includes('bluetooth'))
  .map((f) => join(SHARED, f))
  .filter((f) => statSync(f).size > 24)
  .sort();
const merged: Packet[] = [];
let skipped = 0;
for (const f of files) {
  const packets = readRawIpPcap(f);
  if (packets) merged.push(...packets);
  else skipped++;
}
merged.sort((a, b) => a.seconds - b.seconds || a.micros - b.micros);
const spanSeconds = merged[merged.length - 1].seconds - merged[0].seconds;
const oneCopy = 24 + merged.reduce((n, p) => n + 8 + p.bytes.length, 0);
const copies = Math.max(1, Math.ceil(TARGET_BYTES / oneCopy));
// HEIR_BENCH_CAPTURE=FILE keeps the capture (for profiling: node --cpu-prof on the same bytes).
const capture = process.env.HEIR_BENCH_CAPTURE ?? join(dir, 'medical-wifi.pcap');
// An hour beyond the span: every flow of a copy has ended (idle timeouts) before the next starts.
const packetCount = writeCapture(capture, merged, copies, spanSeconds + 3600);
const tiny = join(dir, 'tiny.pcap');
writeCapture(tiny, merged.slice(0, 10), 1, 0);
const size = statSync(capture).size;

/** Wall and CPU time of a process, ms, with what it printed on stderr. */
function timed(cmd: string, args: string[], keepStdout = false): { wall: number; cpu: number; stderr: string } {
  const r = spawnSync('sh', ['-c', `exec /usr/bin/time -f 'heir-time %e %U %S' "$@" ${keepStdout ? '>&2' : '> /dev/null'}`, 'sh', cmd, ...args], { encoding: 'utf8', maxBuffer: 1 << 26 });
  const m = /heir-time ([\d.]+) ([\d.]+) ([\d.]+)/.exec(r.stderr);
  if (r.status !== 0 || !m) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}): ${r.stderr.slice(-2000)}`);
  return { wall: Number(m[1]) * 1000, cpu: (Number(m[2]) + Number(m[3])) * 1000, stderr: r.stderr };
}

/**
 * HEIR's parser in this process: over the same chunked file reader as `heir ingest` (a fresh 1 MiB
 * buffer per chunk), or over one reused 1 MiB buffer (pipeline/file-chunks.ts; less garbage).
 */
async function inProcess(path: string, reused = false): Promise<{ wall: number; cpu: number; flows: number }> {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  let flows = 0;
  for await (const out of parser.parse(reused ? fileChunksReused(path) : readChunks(path), { site: 'bench', sensor: 'bench', input: path, batchSize: 2000 })) flows += out.flows?.numRows ?? 0;
  const c = process.cpuUsage(c0);
  return { wall: performance.now() - t0, cpu: (c.user + c.system) / 1000, flows };
}

const tools = {
  // softflowd prints its statistics (flows exported) on standard output.
  softflowd: (f: string) => timed('softflowd', ['-r', f, '-n', '127.0.0.1:9'], true),
  argus: (f: string) => timed('argus', ['-r', f, '-w', '/dev/null']),
  'heir-cli': (f: string) => timed(process.execPath, [HEIR_BIN, 'ingest', 'pcap', f, '--json']),
};
type Tool = keyof typeof tools;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1];

await inProcess(capture); // warm-up: module loading and JIT
const samples: Record<string, { wall: number[]; cpu: number[] }> = {};
const add = (name: string, wall: number, cpu: number) => {
  const s = (samples[name] ??= { wall: [], cpu: [] });
  s.wall.push(wall);
  s.cpu.push(cpu);
};
let heirFlows = 0;
let softflowdFlows = 0;
for (let rep = 0; rep < REPS; rep++) {
  const h = await inProcess(capture);
  heirFlows = h.flows;
  add('heir', h.wall, h.cpu);
  const hr = await inProcess(capture, true);
  add('heir-reused', hr.wall, hr.cpu);
  for (const tool of Object.keys(tools) as Tool[]) {
    const full = tools[tool](capture);
    const empty = tools[tool](tiny);
    add(tool, full.wall, full.cpu);
    add(`${tool}:startup`, empty.wall, empty.cpu);
    if (tool === 'softflowd') softflowdFlows = Number(/Flows exported: (\d+)/.exec(full.stderr)?.[1] ?? 0);
  }
}
rmSync(dir, { recursive: true, force: true });

const result = (name: string, net: boolean) => {
  const s = samples[name];
  const st = net ? samples[`${name}:startup`] : undefined;
  const wall = median(s.wall) - (st ? median(st.wall) : 0);
  const cpu = median(s.cpu) - (st ? median(st.cpu) : 0);
  return { wall, cpu, startupWall: st ? median(st.wall) : 0, startupCpu: st ? median(st.cpu) : 0 };
};
const rows = [
  { name: 'heir (in process)', ...result('heir', false) },
  { name: 'heir (reused buffer)', ...result('heir-reused', false) },
  { name: 'heir ingest --json', ...result('heir-cli', true) },
  { name: 'softflowd -r', ...result('softflowd', true) },
  { name: 'argus -r', ...result('argus', true) },
];
// A net time at or below zero means the run was within the start-up time's noise (argus waits about a second before it exits).
const rate = (ms: number) => ms <= 0 ? '   (within start-up noise)    ' : `${(size / 1e6 / (ms / 1000)).toFixed(1).padStart(6)} MB/s ${((packetCount / ms) * 1000).toFixed(0).padStart(8)} pkt/s`;
console.log(`capture: ${files.length - skipped} raw-IP medical WiFi captures merged (${merged.length} packets, ${(oneCopy / 1e6).toFixed(1)} MB) × ${copies} shifted copies = ${(size / 1e6).toFixed(1)} MB, ${packetCount} packets`);
console.log(`flows: heir ${heirFlows}, softflowd ${softflowdFlows} (exported); median of ${REPS} runs; external tools net of start-up (10-packet capture)`);
console.log('');
console.log(`${'tool'.padEnd(20)} ${'wall ms'.padStart(8)} ${'cpu ms'.padStart(8)}   throughput by wall            by CPU                    start-up wall/cpu ms`);
for (const r of rows) {
  console.log(`${r.name.padEnd(20)} ${r.wall.toFixed(0).padStart(8)} ${r.cpu.toFixed(0).padStart(8)}   ${rate(r.wall)}   ${rate(r.cpu)}   ${r.startupWall.toFixed(0)}/${r.startupCpu.toFixed(0)}`);
}
const [ours, reused, cli, softflowd, argus] = rows;
const ratio = (theirs: number, mine: number) => (theirs <= 0 ? 'n/a' : (theirs / mine).toFixed(2));
console.log('');
for (const [name, other] of [['softflowd', softflowd], ['argus', argus]] as const) {
  console.log(`ratio ours/${name.padEnd(9)} (throughput, >1 = HEIR faster): in process wall ${ratio(other.wall, ours.wall)}, cpu ${ratio(other.cpu, ours.cpu)}; reused buffer wall ${ratio(other.wall, reused.wall)}, cpu ${ratio(other.cpu, reused.cpu)}; heir ingest --json wall ${ratio(other.wall, cli.wall)}, cpu ${ratio(other.cpu, cli.cpu)}`);
}
