/**
 * Pipeline throughput, all in one run on the same batches (synthetic flows, labelled so):
 *   - the parts alone: Arrow IPC encode + decode, DuckDB append (Store.write), raw NATS JetStream
 *     publish + consume of the same bytes (msg ids, acks, nothing else);
 *   - the whole pipeline: in-process bus and NATS JetStream (publish → decode → store → ack).
 * Prints flows/s and the ratios the targets are stated in:
 *   in-process pipeline ≥ 50% of its slowest part; NATS pipeline ≥ 30% of raw NATS publish+consume.
 * Usage: npx tsx benchmarks/pipeline.bench.ts [--flows N] [--batch N] [--json]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { jetstream, jetstreamManager, AckPolicy } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { MemoryBus } from '../pipeline/bus-memory.ts';
import { NatsBus } from '../pipeline/bus-nats.ts';
import { decodeTables, encodeTables } from '../pipeline/ipc.ts';
import { Runner } from '../pipeline/runner.ts';
import { openStore } from '../pipeline/store.ts';
import { syntheticSource } from '../pipeline/synthetic-source.ts';
import type { SourceBatch } from '../pipeline/types.ts';
import { startNats } from '../test/helpers/nats.ts';

const args = process.argv.slice(2);
const arg = (name: string, fallback: number) => {
  const i = args.indexOf(`--${name}`);
  return i === -1 ? fallback : Number(args[i + 1]);
};
const FLOWS = arg('flows', 200_000);
const IN_FLIGHT = arg('in-flight', 16);
const BATCH = arg('batch', 2000); // ~1 MB of Arrow IPC: NATS's default max_payload
const dir = mkdtempSync(join(tmpdir(), 'heir-bench-'));
const nats = await startNats();

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t = performance.now();
  await fn();
  return (performance.now() - t) / 1000;
}

const batches: SourceBatch[] = [];
for await (const b of syntheticSource({ site: 'bench', sensor: 's', count: FLOWS, batchSize: BATCH, seed: 3 }).batches()) batches.push(b);
const frames = batches.map((b) => encodeTables(b.tables));
const bytes = frames.reduce((n, f) => n + f.length, 0);
const rate = (seconds: number) => FLOWS / seconds;

// Parts alone.
const ipc = await timed(async () => {
  for (const b of batches) decodeTables(encodeTables(b.tables), 'bench');
});
const decoded = frames.map((f) => decodeTables(f, 'bench'));
let n = 0;
const duck = await timed(async () => {
  // The store at its best: every batch handed over at once, so it commits in groups.
  const store = await openStore(join(dir, 'append.duckdb'));
  await Promise.all(decoded.map((t) => store.write(`b${n++}`, t)));
  await store.close();
});
const rawNats = await timed(async () => {
  const nc = await connect({ servers: nats.url });
  const jsm = await jetstreamManager(nc);
  await jsm.streams.add({ name: 'RAW', subjects: ['raw.>'] });
  await jsm.consumers.add('RAW', { durable_name: 'raw', ack_policy: AckPolicy.Explicit });
  const js = jetstream(nc);
  const inFlight = new Set<Promise<unknown>>();
  for (let i = 0; i < frames.length; i++) {
    const p = js.publish('raw.flows', frames[i], { msgID: `raw-${i}` }).finally(() => inFlight.delete(p));
    inFlight.add(p);
    while (inFlight.size >= 32) await Promise.race(inFlight);
  }
  await Promise.all(inFlight);
  const consumer = await js.consumers.get('RAW', 'raw');
  const messages = await consumer.consume({ max_messages: 16 });
  let got = 0;
  for await (const m of messages) {
    m.ack();
    if (++got === frames.length) break;
  }
  await nc.drain();
});

// The whole pipeline, in-process and over NATS.
async function pipeline(kind: 'memory' | 'nats'): Promise<number> {
  const store = await openStore(join(dir, `${kind}.duckdb`));
  const bus = kind === 'memory' ? new MemoryBus() : await NatsBus.connect({ url: nats.url });
  const runner = new Runner({ site: `bench-${kind}`, sensor: 's', bus, sink: store, maxInFlight: IN_FLIGHT });
  const seconds = await timed(async () => {
    const work = runner.work({ idleExitMs: 200 });
    await runner.publish((async function* () {
      yield* batches;
    })());
    await runner.drained(0);
    await work;
  });
  if ((await store.count('flows')) !== FLOWS) throw new Error(`${kind} pipeline stored ${await store.count('flows')} of ${FLOWS}`);
  await bus.close();
  await store.close();
  return seconds - 0.2; // the idle wait that ends the worker is not work
}
const memory = await pipeline('memory');
const jet = await pipeline('nats');
await nats.stop();
rmSync(dir, { recursive: true, force: true });

const slowestPart = Math.min(rate(ipc), rate(duck));
const result = {
  machine: `${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}`,
  node: process.version,
  flows: FLOWS,
  batch: BATCH,
  megabytes: +(bytes / 1e6).toFixed(1),
  flowsPerSecond: {
    ipcEncodeDecode: Math.round(rate(ipc)),
    duckdbAppend: Math.round(rate(duck)),
    natsRawPublishConsume: Math.round(rate(rawNats)),
    pipelineInProcess: Math.round(rate(memory)),
    pipelineNats: Math.round(rate(jet)),
  },
  ratios: {
    inProcessVsSlowestPart: +(rate(memory) / slowestPart).toFixed(2),
    natsPipelineVsRawNats: +(rate(jet) / rate(rawNats)).toFixed(2),
    natsPipelineVsSlowestPart: +(rate(jet) / Math.min(slowestPart, rate(rawNats))).toFixed(2),
  },
  targets: { inProcessVsSlowestPart: 0.5, natsPipelineVsRawNats: 0.3 },
};
if (args.includes('--json')) console.log(JSON.stringify(result));
else {
  console.log(`pipeline benchmark: ${FLOWS} synthetic flows in batches of ${BATCH} (${result.megabytes} MB of Arrow IPC), ${result.machine}, Node ${process.version}`);
  for (const [k, v] of Object.entries(result.flowsPerSecond)) console.log(`  ${k.padEnd(24)} ${v.toLocaleString('en').padStart(10)} flows/s`);
  console.log(`  in-process pipeline / slowest part:   ${result.ratios.inProcessVsSlowestPart}  (target ≥ 0.5)`);
  console.log(`  NATS pipeline / raw NATS pub+consume: ${result.ratios.natsPipelineVsRawNats}  (target ≥ 0.3)`);
  console.log(`  NATS pipeline / its slowest part:     ${result.ratios.natsPipelineVsSlowestPart}`);
}
