/**
 * pcap → flows throughput: HEIR's parser (in process, the file read in 1 MiB chunks into one reused
 * buffer, L7 inspection on, Arrow batches of 4096 flows; also on two threads, operators/pcap/sharded.ts,
 * the worker started before the runs) against `softflowd -r` and `argus -r` on the same capture, run alternately so
 * they share the machine's load. The capture is every non-empty WiFi/mobile capture of the shared
 * medical-device set concatenated with mergecap (link type 101). Medians of HEIR_BENCH_REPS runs.
 * The tools run from a helper process started first (benchmarks/ingest-tool-runner.ts): this process
 * does not fork while it holds the parsed data, and a tool's CPU is its exact rusage.
 *
 *   npx tsx benchmarks/ingest-pcap.bench.ts [capture.pcap]
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parsePcap, pcapStats } from '../operators/ingest-pcap.ts';
import { ShardedPcapParser } from '../operators/pcap/sharded.ts';
import { fileChunksReused } from '../pipeline/file-chunks.ts';
import { ToolRunner } from './ingest-tool-runner.ts';

const toolRunner = ToolRunner.start();

const REPS = Number(process.env.HEIR_BENCH_REPS ?? 5);
const shared = new URL('../../shared/datasets/pcaps/medical-devices/', import.meta.url).pathname;

function need(tool: string, pkg: string): void {
  if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0) throw new Error(`${tool} is not installed: apt-get install ${pkg}`);
}

const dir = mkdtempSync(join(tmpdir(), 'heir-bench-pcap-'));
let capture = process.argv[2];
if (!capture) {
  need('mergecap', 'wireshark-common');
  const files = readdirSync(shared, { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.pcap') && !f.includes('bluetooth'))
    .map((f) => join(shared, f))
    .filter((f) => statSync(f).size > 0)
    .sort();
  capture = join(dir, 'medical-wifi.pcap');
  const r = spawnSync('mergecap', ['-a', '-w', capture, ...files]);
  if (r.status !== 0) throw new Error(`mergecap failed: ${r.stderr}`);
}
const size = statSync(capture).size;

/** One in-process parse; `inspectBytes: 0` switches L7 inspection off (flows and statistics only, as the tools). */
async function heir(inspectBytes = 8192): Promise<{ ms: number; cpuMs: number; packets: number; flows: number }> {
  const stats = pcapStats();
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  for await (const out of parsePcap(fileChunksReused(capture), { site: 'bench', sensor: 'b', input: capture, batchSize: 4096, stats, inspectBytes })) void out;
  const c = process.cpuUsage(c0);
  return { ms: performance.now() - t0, cpuMs: (c.user + c.system) / 1000, packets: stats.packets, flows: stats.flows };
}

/** The same on this thread and one worker (CPU of both). */
async function heirSharded(parser: ShardedPcapParser): Promise<{ ms: number; cpuMs: number }> {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  for await (const out of parser.parseFile(capture, { site: 'bench', sensor: 'b', input: capture, batchSize: 4096 })) void out;
  const c = process.cpuUsage(c0);
  return { ms: performance.now() - t0, cpuMs: (c.user + c.system) / 1000 };
}

async function external(cmd: string, args: string[]): Promise<{ ms: number; cpuMs: number }> {
  const r = await toolRunner.run(cmd, args);
  return { ms: r.wall, cpuMs: r.cpu };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1];

need('softflowd', 'softflowd');
need('argus', 'argus-server');
const cold = await heir(); // first run in the process: includes JIT warm-up
await heir(0);
const s0 = performance.now();
const sharded = await ShardedPcapParser.start(2);
const shardedStart = performance.now() - s0;
await heirSharded(sharded);
const runs = { two: [] as number[], twoCpu: [] as number[], heir: [] as number[], heirCpu: [] as number[], bare: [] as number[], bareCpu: [] as number[], softflowd: [] as number[], softflowdCpu: [] as number[], argus: [] as number[], argusCpu: [] as number[] };
let packets = 0;
let flows = 0;
for (let i = 0; i < REPS; i++) {
  const h = await heir();
  runs.heir.push(h.ms);
  runs.heirCpu.push(h.cpuMs);
  packets = h.packets;
  flows = h.flows;
  const t = await heirSharded(sharded);
  runs.two.push(t.ms);
  runs.twoCpu.push(t.cpuMs);
  const b = await heir(0);
  runs.bare.push(b.ms);
  runs.bareCpu.push(b.cpuMs);
  const s = await external('softflowd', ['-r', capture, '-n', '127.0.0.1:9']);
  runs.softflowd.push(s.ms);
  runs.softflowdCpu.push(s.cpuMs);
  const a = await external('argus', ['-r', capture, '-w', join(dir, 'out.argus')]);
  runs.argus.push(a.ms);
  runs.argusCpu.push(a.cpuMs);
}
await sharded.close();
toolRunner.close();
rmSync(dir, { recursive: true, force: true });

const line = (name: string, ms: number, cpu: number) =>
  `${name.padEnd(11)} wall ${ms.toFixed(0).padStart(6)} ms  cpu ${cpu.toFixed(0).padStart(6)} ms  ${((packets / ms) * 1000).toFixed(0).padStart(8)} packets/s  ${(size / 1e6 / (ms / 1000)).toFixed(1).padStart(7)} MB/s`;
console.log(`capture: ${capture} (${(size / 1e6).toFixed(1)} MB, ${packets} packets, HEIR flows ${flows}), median of ${REPS}`);
console.log(line('heir', median(runs.heir), median(runs.heirCpu)));
console.log(line('heir no L7', median(runs.bare), median(runs.bareCpu)));
console.log(`${line('heir 2 thr', median(runs.two), median(runs.twoCpu))}  (worker start-up ${shardedStart.toFixed(0)} ms wall, not in the runs)`);
console.log(line('heir cold', cold.ms, cold.cpuMs));
console.log(line('softflowd', median(runs.softflowd), median(runs.softflowdCpu)));
console.log(line('argus', median(runs.argus), median(runs.argusCpu)));
const ratio = (a: number[], b: number[]) => (median(a) / median(b)).toFixed(2);
console.log(`ratio wall (>1 = HEIR faster): vs softflowd ${ratio(runs.softflowd, runs.heir)} (no L7 ${ratio(runs.softflowd, runs.bare)}, 2 threads ${ratio(runs.softflowd, runs.two)}), vs argus ${ratio(runs.argus, runs.heir)} (no L7 ${ratio(runs.argus, runs.bare)})`);
console.log(`ratio cpu  (>1 = HEIR cheaper): vs softflowd ${ratio(runs.softflowdCpu, runs.heirCpu)} (no L7 ${ratio(runs.softflowdCpu, runs.bareCpu)}, 2 threads ${ratio(runs.softflowdCpu, runs.twoCpu)}), vs argus ${ratio(runs.argusCpu, runs.heirCpu)} (no L7 ${ratio(runs.argusCpu, runs.bareCpu)})`);
