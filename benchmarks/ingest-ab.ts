/**
 * A/B of pcap ingest in one process: `parsePcap` of a reference checkout (HEIR_BASE) and of this
 * checkout, imported side by side and run alternately over the same capture (the machine's load
 * falls on both alike). Prints CPU ms per parse, median and best, and the ratio.
 *
 *   HEIR_BASE=/tmp/heir-base npx tsx benchmarks/ingest-ab.ts FILE [runs]
 *
 * The lower quartile is printed too: on a loaded machine it moves less than the median.
 */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

type Parse = typeof import('../operators/ingest-pcap.ts');
type Chunks = typeof import('../pipeline/sources.ts');
const base = process.env.HEIR_BASE;
if (!base) throw new Error('set HEIR_BASE to a reference checkout');
const path = process.argv[2];
if (!path) throw new Error('give a capture file');
const runs = Number(process.argv[3] ?? 9);
const load = async (root: string) => ({
  pcap: (await import(pathToFileURL(resolve(root, 'operators/ingest-pcap.ts')).href)) as Parse,
  src: (await import(pathToFileURL(resolve(root, 'pipeline/sources.ts')).href)) as Chunks,
});
const sides = { before: await load(base), now: await load(resolve(import.meta.dirname, '..')) };

async function once(side: (typeof sides)['now']): Promise<{ cpu: number; flows: number }> {
  const c0 = process.cpuUsage();
  let flows = 0;
  for await (const out of side.pcap.parsePcap(side.src.readChunks(path, { reuse: true }), { site: 'bench', sensor: 'bench', batchSize: 2000, input: path })) flows += out.flows?.numRows ?? 0;
  const c = process.cpuUsage(c0);
  return { cpu: (c.user + c.system) / 1000, flows };
}

const cpu: Record<string, number[]> = { before: [], now: [] };
for (const side of Object.values(sides)) await once(side);
for (let i = 0; i < runs; i++) {
  for (const [name, side] of Object.entries(sides)) {
    const r = await once(side);
    cpu[name].push(r.cpu);
  }
}
const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const quartile = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 2];
const best = (xs: number[]) => Math.min(...xs);
for (const name of Object.keys(cpu)) console.log(`${name.padEnd(7)} CPU ms per parse: median ${med(cpu[name]).toFixed(0)}, lower quartile ${quartile(cpu[name]).toFixed(0)}, best ${best(cpu[name]).toFixed(0)}`);
console.log(`now / before: median ${(med(cpu.now) / med(cpu.before)).toFixed(2)}, lower quartile ${(quartile(cpu.now) / quartile(cpu.before)).toFixed(2)}, best ${(best(cpu.now) / best(cpu.before)).toFixed(2)}`);
