/**
 * Fuzzing the pcap parser and the L7 dissectors with fast-check (seeded): random bytes behind each
 * magic, mutated and truncated real captures, absurd record and block lengths, random chunking.
 * Every case must end with flows and dead letters or an InputError — never another exception or a
 * hang, and cutting the input into different chunks never changes the outcome. Runs: HEIR_FUZZ_RUNS
 * (default 10000) for the parser and for the dissectors, a tenth of it for chunk invariance.
 */
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parser } from '../../operators/ingest-pcap.ts';
import { inspectL7 } from '../../operators/l7/inspect.ts';
import { InputError } from '../../pipeline/errors.ts';
import { FLOW_COLUMNS } from '../../pipeline/flow-schema.ts';
import { chunked, pcapngFile } from '../helpers/packets.ts';

const RUNS = Number(process.env.HEIR_FUZZ_RUNS ?? 10000);
const FIXTURES = new URL('../fixtures/pcaps/', import.meta.url).pathname;
const SEEDS = ['hl7-mllp.pcap', 'ftp-login.pcap', 'telnet-login.pcap', 'dicom-echo.pcap', 'tls10.pcap', 'mqtt-login.pcap'].map((f) => new Uint8Array(readFileSync(FIXTURES + f)));
// A pcapng seed built from the HL7 capture's bytes (records re-wrapped), so block paths are fuzzed too.
const NG_SEED = pcapngFile(1, [{ ts: 1_700_000_000_000_000, data: SEEDS[0].subarray(40, 40 + 74) }, { ts: 1_700_000_000_100_000, data: SEEDS[0].subarray(130, 200) }], { tsresol: 9 });
const ALL_SEEDS = [...SEEDS, NG_SEED];
const MAGICS = [
  [0xd4, 0xc3, 0xb2, 0xa1],
  [0xa1, 0xb2, 0xc3, 0xd4],
  [0x4d, 0x3c, 0xb2, 0xa1],
  [0x34, 0xcd, 0xb2, 0xa1],
  [0x0a, 0x0d, 0x0d, 0x0a],
];

/** Random bytes behind a valid magic (and a plausible pcap header half the time). */
const randomCapture = fc.tuple(fc.constantFrom(...MAGICS), fc.uint8Array({ maxLength: 1500 }), fc.constantFrom(1, 101, 113, 276, 0, 108, 228, 229, 105, 127, 272, 147)).map(([magic, body, link]) => {
  const out = new Uint8Array(24 + body.length);
  out.set(magic, 0);
  out.set(body, 24);
  if (magic[0] !== 0x0a && body.length % 2 === 0) new DataView(out.buffer).setUint32(20, link, true);
  return out;
});

/** A real capture with some bytes overwritten and maybe cut short. */
const mutatedCapture = fc
  .tuple(fc.constantFrom(...ALL_SEEDS), fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 12 }), fc.option(fc.nat(), { nil: undefined }))
  .map(([seed, edits, cut]) => {
    const out = seed.slice();
    for (const [pos, value] of edits) out[pos % out.length] = value;
    return cut === undefined ? out : out.subarray(0, cut % (out.length + 1));
  });

/** A real capture with one length field (record caplen or block length) replaced by a huge value. */
const hugeLength = fc.tuple(fc.constantFrom(...ALL_SEEDS), fc.nat(), fc.integer({ min: 0x40000, max: 0xffffffff })).map(([seed, at, value]) => {
  const out = seed.slice();
  const pos = seed === NG_SEED ? 4 + 4 * (at % ((out.length - 8) >> 2)) : 24 + 8 + (at % (out.length - 36));
  new DataView(out.buffer).setUint32(Math.min(pos, out.length - 4), value >>> 0, true);
  return out;
});

const inputs = fc.oneof({ arbitrary: mutatedCapture, weight: 5 }, { arbitrary: randomCapture, weight: 3 }, { arbitrary: hugeLength, weight: 2 }, { arbitrary: fc.uint8Array({ maxLength: 64 }), weight: 1 });
const chunkSizes = fc.array(fc.integer({ min: 1, max: 4096 }), { minLength: 1, maxLength: 4 });

const COLUMN_NAMES = FLOW_COLUMNS.map((c) => c.name);

test(`pcap parser survives ${RUNS} fuzzed inputs`, async () => {
  const started = performance.now();
  let rejected = 0;
  let flows = 0;
  let dead = 0;
  await fc.assert(
    fc.asyncProperty(inputs, chunkSizes, async (bytes, sizes) => {
      let last = 0;
      try {
        for await (const out of parser.parse(chunked(bytes, sizes), { site: 's', sensor: 'x', input: 'fuzz.pcap', batchSize: 64 })) {
          if (out.offset < last || out.offset > bytes.length) throw new Error(`offset ${out.offset} out of order or past ${bytes.length}`);
          last = out.offset;
          if (out.flows) {
            flows += out.flows.numRows;
            if (out.flows.schema.fields.map((f) => f.name).join() !== COLUMN_NAMES.join()) throw new Error('flow batch with a foreign schema');
          }
          for (const d of out.deadLetters ?? []) {
            dead++;
            if (d.stage !== 'parse' || d.input !== 'fuzz.pcap' || d.reason.length === 0) throw new Error(`malformed dead letter ${JSON.stringify(d)}`);
            if (d.payload !== undefined && d.payload.length > 256) throw new Error(`dead-letter payload of ${d.payload.length} bytes`);
          }
        }
      } catch (error) {
        if (!(error instanceof InputError)) throw error;
        if (!error.message.startsWith('fuzz.pcap: ')) throw new Error(`InputError not naming the input: ${error.message}`);
        rejected++;
      }
    }),
    { numRuns: RUNS, seed: 20241128 },
  );
  const seconds = (performance.now() - started) / 1000;
  assert.ok(rejected > 0 && flows > 0 && dead > 0, `every outcome should occur: ${JSON.stringify({ rejected, flows, dead })}`);
  assert.ok(seconds < 60, `fuzzing took ${seconds.toFixed(1)} s`);
});

/** Everything a parse produced, as comparable text (flow ids and counts, dead-letter reasons, the error). */
async function outcome(bytes: Uint8Array, sizes: number[]): Promise<string> {
  const parts: string[] = [];
  try {
    for await (const out of parser.parse(chunked(bytes, sizes), { site: 's', sensor: 'x', input: 'fuzz.pcap', batchSize: 1000 })) {
      if (out.flows) for (let i = 0; i < out.flows.numRows; i++) parts.push(`${out.flows.getChild('flow_id')?.get(i)}:${out.flows.getChild('fwd_packets')?.get(i)}:${out.flows.getChild('bwd_packets')?.get(i)}:${out.flows.getChild('l7_proto')?.get(i)}`);
      for (const d of out.deadLetters ?? []) parts.push(d.reason);
    }
  } catch (error) {
    parts.push(`error ${(error as Error).message}`);
  }
  return parts.sort().join('\n');
}

test(`chunk boundaries never change the outcome (${Math.ceil(RUNS / 10)} fuzzed inputs)`, async () => {
  await fc.assert(
    fc.asyncProperty(fc.oneof(mutatedCapture, hugeLength), chunkSizes, async (bytes, sizes) => {
      const whole = await outcome(bytes, [bytes.length || 1]);
      const pieces = await outcome(bytes, sizes);
      if (whole !== pieces) throw new Error(`chunks ${sizes} changed the outcome:\n${whole}\n---\n${pieces}`);
    }),
    { numRuns: Math.ceil(RUNS / 10), seed: 99 },
  );
});

const SIGNATURES = [
  [0x16, 0x03, 0x01, 0x00, 0x40, 0x01],
  [0x16, 0x03, 0x03, 0x00, 0x40, 0x02],
  [0x0b, 0x4d, 0x53, 0x48, 0x7c],
  [0x01, 0x00, 0x00, 0x00, 0x00, 0x50, 0x00, 0x01],
  [0x10, 0x20, 0x00, 0x04, 0x4d, 0x51, 0x54, 0x54, 0x05],
  [0x47, 0x45, 0x54, 0x20, 0x2f, 0x20, 0x48, 0x54, 0x54, 0x50, 0x2f, 0x31, 0x2e, 0x31, 0x0d, 0x0a],
  [0xff, 0xfb, 0x01],
  [0x32, 0x32, 0x30, 0x20],
  [0x53, 0x53, 0x48, 0x2d],
  [],
];

test(`L7 dissectors survive ${RUNS} fuzzed payloads behind protocol signatures`, () => {
  const stream = fc.tuple(fc.constantFrom(...SIGNATURES), fc.uint8Array({ maxLength: 600 })).map(([sig, rest]) => Uint8Array.from([...sig, ...rest]));
  fc.assert(
    fc.property(stream, stream, fc.constantFrom(6, 17), fc.constantFrom(53, 67, 80, 1883, 104, 2575), (fwd, bwd, proto, port) => {
      const facts = inspectL7({ fwd, bwd, proto, srcPort: 40000, dstPort: port });
      for (const key of Object.keys(facts)) if (!COLUMN_NAMES.includes(key as never)) throw new Error(`unknown fact ${key}`);
    }),
    { numRuns: RUNS, seed: 7 },
  );
});

test.run();
