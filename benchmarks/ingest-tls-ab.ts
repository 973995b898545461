/**
 * A/B of the TLS dissector alone: `inspectL7` of a reference checkout (HEIR_BASE) and of this
 * checkout, imported side by side, read the same seeded ClientHello records (300 shapes, each
 * repeated as devices repeat theirs, GREASE, SNI and ALPN mixed), alternately. Prints CPU ms per
 * 20,000 hellos (median and best) and the ratio. The whole parse's A/B is benchmarks/ingest-ab.ts.
 *
 *   HEIR_BASE=/tmp/heir-base npx tsx benchmarks/ingest-tls-ab.ts [runs]
 */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { abCpu } from './ab-cpu.ts';

type Inspect = typeof import('../operators/l7/inspect.ts');
const base = process.env.HEIR_BASE;
if (!base) throw new Error('set HEIR_BASE to a reference checkout');
const runs = Number(process.argv[2] ?? 25);
const load = async (root: string) => (await import(pathToFileURL(resolve(root, 'operators/l7/inspect.ts')).href)) as Inspect;
const sides = { before: await load(base), now: await load(resolve(import.meta.dirname, '..')) };

let seed = 11;
const next = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32;
const pick = (n: number) => Math.floor(next() * n);
const u16 = (v: number) => [v >> 8, v & 255];
const GREASE = [0x0a0a, 0x3a3a, 0xdada];
const list = (n: number, grease: boolean) => {
  const out = Array.from({ length: n }, () => 1 + pick(0xfe00));
  if (grease) out.unshift(GREASE[pick(3)]);
  return out;
};

/** A TLS record holding a ClientHello of a random shape, session id and random included. */
function hello(): Uint8Array {
  const grease = next() < 0.5;
  const ext = (type: number, body: number[]) => [...u16(type), ...u16(body.length), ...body];
  const exts: number[] = [];
  if (grease) exts.push(...ext(GREASE[pick(3)], []));
  if (next() < 0.8) {
    const name = Array.from(`device-${pick(50)}.example.org`, (c) => c.charCodeAt(0));
    exts.push(...ext(0, [...u16(name.length + 3), 0, ...u16(name.length), ...name]));
  }
  const groups = list(2 + pick(6), grease);
  exts.push(...ext(10, [...u16(groups.length * 2), ...groups.flatMap(u16)]));
  exts.push(...ext(11, [1, 0]));
  const sig = list(6 + pick(12), false);
  exts.push(...ext(13, [...u16(sig.length * 2), ...sig.flatMap(u16)]));
  if (next() < 0.5) {
    const alpn = [...'h2'].map((c) => c.charCodeAt(0));
    exts.push(...ext(16, [...u16(alpn.length + 1), alpn.length, ...alpn]));
  }
  const versions = grease ? [GREASE[pick(3)], 0x0304, 0x0303] : [0x0303];
  exts.push(...ext(43, [versions.length * 2, ...versions.flatMap(u16)]));
  const ciphers = list(8 + pick(40), grease);
  const body = [3, 3, ...Array.from({ length: 32 }, () => pick(256)), 32, ...Array.from({ length: 32 }, () => pick(256)), ...u16(ciphers.length * 2), ...ciphers.flatMap(u16), 1, 0, ...u16(exts.length), ...exts];
  const hs = [1, 0, body.length >> 8, body.length & 255, ...body];
  return Uint8Array.from([22, 3, 1, ...u16(hs.length), ...hs]);
}

const shapes = Array.from({ length: 300 }, hello);
const records = Array.from({ length: 20_000 }, () => shapes[pick(shapes.length)]);
const empty = new Uint8Array(0);

function once(side: Inspect): number {
  const c0 = process.cpuUsage();
  for (const rec of records) side.inspectL7({ fwd: rec, bwd: empty, proto: 6, srcPort: 40000, dstPort: 443 });
  const c = process.cpuUsage(c0);
  return (c.user + c.system) / 1000;
}

await abCpu(sides, once, runs, `${records.length} hellos`);
