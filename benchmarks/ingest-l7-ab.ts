/**
 * A/B of the L7 dissectors alone: the kept payload of every flow of a capture (assembled once by
 * this checkout's reader, decoder and assembler, and copied out), then `inspectL7Into` of a
 * reference checkout (HEIR_BASE) and of this one over all of them, alternately, in one process.
 * Prints CPU ms per pass over the capture's flows (median, lower quartile, best) and the ratios.
 *
 *   HEIR_BASE=/tmp/heir-base npx tsx benchmarks/ingest-l7-ab.ts FILE [runs]
 *
 * The facts object is cleared between flows by a generated function, as the flow writer does.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { abCpu } from './ab-cpu.ts';
import { Decoded, DecodedPacket, SUPPORTED_LINK_TYPES, decodeFrame } from '../operators/pcap/decode.ts';
import { FlowAssembler } from '../operators/pcap/flow-assembler.ts';
import { CaptureReader } from '../operators/pcap/reader.ts';
import { emptyFacts } from '../operators/pcap/fact-columns.ts';
import type { L7Facts, L7Streams } from '../operators/l7/types.ts';

type Inspect = typeof import('../operators/l7/inspect.ts');
const base = process.env.HEIR_BASE;
if (!base) throw new Error('set HEIR_BASE to a reference checkout');
const path = process.argv[2];
if (!path) throw new Error('give a capture file');
const runs = Number(process.argv[3] ?? 31);

// The kept payload of every TCP/UDP flow that kept any, as the flow writer hands it to the dissectors.
const flows: L7Streams[] = [];
const assembler = new FlowAssembler((f) => {
  if ((f.proto !== 6 && f.proto !== 17) || (f.fwdLen === 0 && f.bwdLen === 0)) return;
  const copy = (buf: Uint8Array | null, n: number) => (buf === null ? new Uint8Array(0) : buf.slice(0, n));
  flows.push({ fwd: copy(f.fwdBuf, f.fwdLen), bwd: copy(f.bwdBuf, f.bwdLen), proto: f.proto, srcPort: f.srcPort, dstPort: f.dstPort });
});
const packet = new DecodedPacket();
const reader = new CaptureReader(path, {
  packet(data, start, caplen, _wire, ts, linkType) {
    if (SUPPORTED_LINK_TYPES.has(linkType) && decodeFrame(packet, linkType, data, start, caplen) === Decoded.IP) assembler.add(packet, ts, linkType);
  },
  bad() {},
});
reader.push(readFileSync(path));
reader.end();
assembler.flush();

const side = async (root: string) => {
  const { inspectL7Into } = (await import(pathToFileURL(resolve(root, 'operators/l7/inspect.ts')).href)) as Inspect;
  const facts = emptyFacts();
  const clear = new Function('f', Object.keys(facts).map((k) => `f.${k} = undefined;`).join('\n')) as (f: L7Facts) => void;
  return () => {
    const c0 = process.cpuUsage();
    for (const s of flows) {
      inspectL7Into(s, facts);
      clear(facts);
    }
    const c = process.cpuUsage(c0);
    return (c.user + c.system) / 1000;
  };
};

console.log(`${flows.length} flows with kept payload`);
await abCpu({ before: await side(base), now: await side(resolve(import.meta.dirname, '..')) }, (once) => once(), runs, `pass over the flows`, { digits: 2 });
