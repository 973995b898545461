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
import { abCpu } from './ab-cpu.ts';

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

await abCpu(sides, async (side) => (await once(side)).cpu, runs, 'parse', { warm: 1, digits: 0 });
