/**
 * A/B of the pcap flow identity alone (operators/pcap/flow-identity.ts): the `FlowIdentities` of
 * a reference checkout (HEIR_BASE) and of this checkout, imported side by side, take the same
 * batches of 2000 seeded IPv4 TCP/UDP flows and hash them, alternately. Prints CPU ms per 40,000
 * flows (median and best) and the ratio. The whole parse's A/B is benchmarks/ingest-ab.ts.
 *
 *   HEIR_BASE=/tmp/heir-base npx tsx benchmarks/ingest-ids-ab.ts [runs]
 */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { abCpu } from './ab-cpu.ts';

type Ids = typeof import('../operators/pcap/flow-identity.ts');
const base = process.env.HEIR_BASE;
if (!base) throw new Error('set HEIR_BASE to a reference checkout');
const runs = Number(process.argv[2] ?? 25);
const load = async (root: string) => (await import(pathToFileURL(resolve(root, 'operators/pcap/flow-identity.ts')).href)) as Ids;
const sides = { before: new (await load(base)).FlowIdentities(), now: new (await load(resolve(import.meta.dirname, '..'))).FlowIdentities() };

const BATCH = 2000;
const BATCHES = 20;
let seed = 7;
const next = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32;
const flows = Array.from({ length: BATCH }, () => ({
  src: Uint8Array.from([10, 0, (next() * 256) | 0, (next() * 256) | 0]),
  dst: Uint8Array.from([192, 168, (next() * 256) | 0, (next() * 256) | 0]),
  proto: next() < 0.7 ? 6 : 17,
  sport: (next() * 65536) | 0,
  dport: (next() * 1024) | 0,
  ts: 1_700_000_000_000_000 + Math.floor(next() * 1e9),
}));
const cid = new Uint8Array(30 * BATCH);
const fid = new Uint8Array(16 * BATCH);

function once(ids: InstanceType<Ids['FlowIdentities']>): number {
  const c0 = process.cpuUsage();
  for (let r = 0; r < BATCHES; r++) {
    for (let k = 0; k < BATCH; k++) {
      const f = flows[k];
      ids.add(f.src, f.dst, 4, f.proto, f.sport, f.dport, f.ts, 'site-a', 'sensor-1', 30 * k, 16 * k);
    }
    ids.finish(cid, fid);
  }
  const c = process.cpuUsage(c0);
  return (c.user + c.system) / 1000;
}

await abCpu(sides, once, runs, `${BATCH * BATCHES} flows`);
