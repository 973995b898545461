/**
 * Profiling driver for pcap ingest: parses one capture HEIR_PROFILE_REPS times (default 10) the
 * way `heir ingest` does, after one warm-up, and prints CPU and wall per parse.
 *
 *   node --cpu-prof --cpu-prof-dir=/tmp/prof --import tsx benchmarks/ingest-profile.ts FILE [inspectBytes]
 */
import { parsePcap, pcapStats } from '../operators/ingest-pcap.ts';
import { readChunks } from '../pipeline/sources.ts';

const path = process.argv[2];
if (!path) throw new Error('give a capture file');
const inspectBytes = process.argv[3] === undefined ? undefined : Number(process.argv[3]);
const reps = Number(process.env.HEIR_PROFILE_REPS ?? 10);

async function once(): Promise<number> {
  let flows = 0;
  for await (const out of parsePcap(readChunks(path, { reuse: true }), { site: 'bench', sensor: 'bench', batchSize: 2000, input: path, stats: pcapStats(), inspectBytes })) flows += out.flows?.numRows ?? 0;
  return flows;
}

await once();
const cpu: number[] = [];
let flows = 0;
for (let i = 0; i < reps; i++) {
  const c0 = process.cpuUsage();
  flows = await once();
  const c = process.cpuUsage(c0);
  cpu.push((c.user + c.system) / 1000);
}
cpu.sort((a, b) => a - b);
console.log(`${flows} flows; CPU ms per parse: best ${cpu[0].toFixed(0)}, median ${cpu[cpu.length >> 1].toFixed(0)}`);
