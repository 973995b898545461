/**
 * Pipeline throughput, all in one run on the same batches (synthetic flows, labelled so):
 *   - the parts alone: Arrow IPC encode + decode, DuckDB append (Store.write, the same path and
 *     settings the workers use), raw NATS JetStream publish + consume of the same bytes (msg ids,
 *     acks, nothing else);
 *   - the whole pipeline: in-process bus and NATS JetStream (publish → decode → store → ack).
 * Prints flows/s by wall time and flows per CPU-second (this process, all its threads, plus
 * nats-server where it takes part), and the ratios the targets are stated in, both ways:
 *   in-process pipeline ≥ 50% of its slowest part; NATS pipeline ≥ 30% of raw NATS publish+consume.
 * Every rep runs every part on a fresh nats-server and fresh stores; best and median are printed.
 * The pipelines keep the store where `heir run` does by default (site.ts: on the receiving
 * thread); --compare also runs each with the store on a thread of its own (`store_thread = true`),
 * alternating, and prints the A/B (store thread / receiving thread) for both.
 * Usage: HEIR_BENCH_REPS=3 npx tsx benchmarks/pipeline.bench.ts [--flows N] [--batch N] [--in-flight N] [--compare] [--json]
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { jetstream, jetstreamManager, AckPolicy } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { MemoryBus } from '../pipeline/bus-memory.ts';
import { NatsBus } from '../pipeline/bus-nats.ts';
import { decodeTables, encodeTables } from '../pipeline/ipc.ts';
import { Runner } from '../pipeline/runner.ts';
import { openStore } from '../pipeline/store.ts';
import { openStoreWorker } from '../pipeline/store-worker.ts';
import { syntheticSource } from '../pipeline/synthetic-source.ts';
import type { SourceBatch } from '../pipeline/types.ts';
import { startNats, type NatsServer } from '../test/helpers/nats.ts';

const args = process.argv.slice(2);
const arg = (name: string, fallback: number) => {
  const i = args.indexOf(`--${name}`);
  return i === -1 ? fallback : Number(args[i + 1]);
};
const FLOWS = arg('flows', 200_000);
const IN_FLIGHT = arg('in-flight', 32);
/** Also run both pipelines with the store placed the other way (see pipeline()), alternating with the others. */
const COMPARE = args.includes('--compare');
const REPS = Number(process.env.HEIR_BENCH_REPS ?? 1);
/** NATS's default max_payload: the raw part sends each frame as one message, as the pipeline does. */
const MAX_PAYLOAD = 1024 * 1024;

// Batches of ~1 MB of Arrow IPC, the largest that fit NATS's default max_payload (the flow schema
// grows, so the row count is derived from the bytes a row takes, unless --batch says otherwise).
async function fittingBatch(): Promise<number> {
  for await (const b of syntheticSource({ site: 'bench', sensor: 's', count: 2000, batchSize: 2000, seed: 3 }).batches()) {
    const perRow = encodeTables(b.tables).length / b.tables.flows.numRows;
    return Math.floor((0.97 * MAX_PAYLOAD) / perRow / 100) * 100;
  }
  throw new Error('the synthetic source gave no batch');
}
const BATCH = arg('batch', 0) || (await fittingBatch());

const batches: SourceBatch[] = [];
for await (const b of syntheticSource({ site: 'bench', sensor: 's', count: FLOWS, batchSize: BATCH, seed: 3 }).batches()) batches.push(b);
const frames = batches.map((b) => encodeTables(b.tables));
const bytes = frames.reduce((n, f) => n + f.length, 0);
const largest = Math.max(...frames.map((f) => f.length));
if (largest > MAX_PAYLOAD) throw new Error(`batches of ${BATCH} flows make frames of ${largest} bytes, over NATS's ${MAX_PAYLOAD}: use a smaller --batch`);

/** CPU seconds (user + system) nats-server has used so far, from /proc (Linux). */
function serverCpu(server: NatsServer): number {
  const hz = 100; // USER_HZ on Linux
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    let cmdline: string;
    try {
      cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    } catch {
      continue;
    }
    const argv = cmdline.split('\0');
    if (!argv[0]?.endsWith('nats-server') || argv[argv.indexOf('-p') + 1] !== String(server.port)) continue;
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / hz; // utime, stime
  }
  throw new Error(`no nats-server process listening on port ${server.port} in /proc`);
}

interface Measure {
  wall: number;
  cpu: number;
}

/** Wall and CPU seconds of fn: this process (every thread) plus nats-server if given. */
async function timed(fn: () => Promise<unknown>, server?: NatsServer): Promise<Measure> {
  const c = process.cpuUsage();
  const s = server ? serverCpu(server) : 0;
  const t = performance.now();
  await fn();
  const wall = (performance.now() - t) / 1000;
  const own = process.cpuUsage(c);
  return { wall, cpu: (own.user + own.system) / 1e6 + (server ? serverCpu(server) - s : 0) };
}

async function rawNats(server: NatsServer): Promise<Measure> {
  const nc = await connect({ servers: server.url });
  const jsm = await jetstreamManager(nc);
  await jsm.streams.add({ name: 'RAW', subjects: ['raw.>'] });
  await jsm.consumers.add('RAW', { durable_name: 'raw', ack_policy: AckPolicy.Explicit });
  const js = jetstream(nc);
  const measure = await timed(async () => {
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
    await nc.flush();
  }, server);
  await nc.drain();
  return measure;
}

// The whole pipeline, in-process or over NATS, with the store on the receiving thread as `heir run`
// has it by default, or with `storeThread` on a thread of its own; the stores are closed
// (checkpointed) inside the measured time, as the DuckDB part's is.
async function pipeline(dir: string, kind: 'memory' | 'nats', server: NatsServer, storeThread = false): Promise<Measure> {
  const file = join(dir, `${kind}${storeThread ? '-store-thread' : ''}.duckdb`);
  const store = storeThread ? await openStoreWorker(file) : await openStore(file);
  const bus = kind === 'memory' ? new MemoryBus() : await NatsBus.connect({ url: server.url });
  // Each variant its own site (subject, consumer) and batch ids: JetStream would drop a second
  // variant's batches as duplicates of the first's.
  const variant = `${kind}${storeThread ? '-store-thread' : ''}`;
  const runner = new Runner({ site: `bench-${variant}`, sensor: 's', bus, sink: store, maxInFlight: IN_FLIGHT });
  let idle = 0;
  const measure = await timed(async () => {
    const work = runner.work({ idleExitMs: 200 });
    await runner.publish((async function* () {
      for (const b of batches) yield { id: `${variant}/${b.id}`, tables: b.tables };
    })());
    await runner.drained(0);
    const drained = performance.now();
    await work;
    idle = Math.min(0.2, (performance.now() - drained) / 1000);
    const stored = await store.count('flows');
    if (stored !== FLOWS) throw new Error(`${kind} pipeline stored ${stored} of ${FLOWS}`);
    await store.close();
  }, kind === 'nats' ? server : undefined);
  await bus.close();
  return { wall: measure.wall - idle, cpu: measure.cpu }; // the idle wait that ends the worker is not work
}

interface Rep {
  ipcEncodeDecode: Measure;
  duckdbAppend: Measure;
  natsRawPublishConsume: Measure;
  pipelineInProcess: Measure;
  pipelineNats: Measure;
  pipelineInProcessStoreThread?: Measure;
  pipelineNatsStoreThread?: Measure;
}

async function rep(): Promise<Rep> {
  const dir = mkdtempSync(join(tmpdir(), 'heir-bench-'));
  const server = await startNats();
  try {
    const ipcEncodeDecode = await timed(async () => {
      for (const b of batches) decodeTables(encodeTables(b.tables), 'bench');
    });
    const decoded = frames.map((f) => decodeTables(f, 'bench'));
    let n = 0;
    const duckdbAppend = await timed(async () => {
      // The store at its best: every batch handed over at once, so it commits in the largest groups.
      const store = await openStore(join(dir, 'append.duckdb'));
      await Promise.all(decoded.map((t) => store.write(`b${n++}`, t)));
      await store.close();
    });
    const natsRawPublishConsume = await rawNats(server);
    if (!COMPARE) {
      const pipelineInProcess = await pipeline(dir, 'memory', server);
      const pipelineNats = await pipeline(dir, 'nats', server);
      return { ipcEncodeDecode, duckdbAppend, natsRawPublishConsume, pipelineInProcess, pipelineNats };
    }
    // Alternating, the order flipped every rep, so both see the same load.
    const first = reps.length % 2 === 0;
    const inProcessThreadFirst = first ? await pipeline(dir, 'memory', server, true) : undefined;
    const pipelineInProcess = await pipeline(dir, 'memory', server);
    const pipelineInProcessStoreThread = inProcessThreadFirst ?? (await pipeline(dir, 'memory', server, true));
    const natsThreadFirst = first ? await pipeline(dir, 'nats', server, true) : undefined;
    const pipelineNats = await pipeline(dir, 'nats', server);
    const pipelineNatsStoreThread = natsThreadFirst ?? (await pipeline(dir, 'nats', server, true));
    return { ipcEncodeDecode, duckdbAppend, natsRawPublishConsume, pipelineInProcess, pipelineNats, pipelineInProcessStoreThread, pipelineNatsStoreThread };
  } finally {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

const reps: Rep[] = [];
for (let i = 0; i < REPS; i++) reps.push(await rep());

const best = (xs: number[]) => Math.max(...xs);
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const byWall = (m: Measure) => FLOWS / m.wall;
const byCpu = (m: Measure) => FLOWS / m.cpu;
type Part = keyof Rep;
const parts = Object.keys(reps[0]) as Part[];
// Ratios are taken within each rep (same load), then summarised.
const ratios = (rate: (m: Measure) => number) =>
  reps.map((r) => ({
    inProcessVsSlowestPart: rate(r.pipelineInProcess) / Math.min(rate(r.ipcEncodeDecode), rate(r.duckdbAppend)),
    natsPipelineVsRawNats: rate(r.pipelineNats) / rate(r.natsRawPublishConsume),
    natsPipelineVsSlowestPart: rate(r.pipelineNats) / Math.min(rate(r.ipcEncodeDecode), rate(r.duckdbAppend), rate(r.natsRawPublishConsume)),
    ...(r.pipelineNatsStoreThread && r.pipelineInProcessStoreThread
      ? {
          natsStoreThreadVsRawNats: rate(r.pipelineNatsStoreThread) / rate(r.natsRawPublishConsume),
          natsStoreThreadVsOneThread: rate(r.pipelineNatsStoreThread) / rate(r.pipelineNats),
          inProcessStoreThreadVsOneThread: rate(r.pipelineInProcessStoreThread) / rate(r.pipelineInProcess),
        }
      : {}),
  }));
const summary = (values: number[], digits = 0) => ({ best: +best(values).toFixed(digits), median: +median(values).toFixed(digits) });
type Ratios = ReturnType<typeof ratios>[0];
const ratioSummary = (rows: Ratios[]) =>
  Object.fromEntries((Object.keys(rows[0]) as (keyof Ratios)[]).map((k) => [k, summary(rows.map((r) => r[k]!), 2)])) as Record<keyof Ratios, { best: number; median: number }>;

const result = {
  machine: `${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}`,
  node: process.version,
  flows: FLOWS,
  batch: BATCH,
  inFlight: IN_FLIGHT,
  reps: REPS,
  megabytes: +(bytes / 1e6).toFixed(1),
  flowsPerSecond: Object.fromEntries(parts.map((p) => [p, summary(reps.map((r) => byWall(r[p]!)))])),
  flowsPerCpuSecond: Object.fromEntries(parts.map((p) => [p, summary(reps.map((r) => byCpu(r[p]!)))])),
  ratios: ratioSummary(ratios(byWall)),
  ratiosByCpu: ratioSummary(ratios(byCpu)),
  targets: { inProcessVsSlowestPart: 0.5, natsPipelineVsRawNats: 0.3 },
};
if (args.includes('--json')) console.log(JSON.stringify(result));
else {
  const fmt = (v: number) => v.toLocaleString('en').padStart(9);
  console.log(`pipeline benchmark: ${FLOWS} synthetic flows in batches of ${BATCH} (${result.megabytes} MB of Arrow IPC), ${IN_FLIGHT} in flight, ${result.machine}, Node ${process.version}, ${REPS} rep(s): best / median`);
  console.log(`  ${''.padEnd(24)} ${'flows/s (wall)'.padStart(21)}   ${'flows per CPU-second'.padStart(21)}`);
  for (const p of parts) console.log(`  ${p.padEnd(24)} ${fmt(result.flowsPerSecond[p].best)} / ${fmt(result.flowsPerSecond[p].median)}   ${fmt(result.flowsPerCpuSecond[p].best)} / ${fmt(result.flowsPerCpuSecond[p].median)}`);
  const line = (label: string, key: keyof typeof result.ratios, target?: number) =>
    console.log(`  ${label.padEnd(38)} wall ${result.ratios[key].best.toFixed(2)} / ${result.ratios[key].median.toFixed(2)}   CPU ${result.ratiosByCpu[key].best.toFixed(2)} / ${result.ratiosByCpu[key].median.toFixed(2)}${target ? `  (target ≥ ${target})` : ''}`);
  line('in-process pipeline / slowest part:', 'inProcessVsSlowestPart', 0.5);
  line('NATS pipeline / raw NATS pub+consume:', 'natsPipelineVsRawNats', 0.3);
  line('NATS pipeline / its slowest part:', 'natsPipelineVsSlowestPart');
  if (COMPARE) {
    line('same, store on its own thread:', 'natsStoreThreadVsRawNats', 0.3);
    line('NATS, store thread / one thread:', 'natsStoreThreadVsOneThread');
    line('in-process, store thread / one thread:', 'inProcessStoreThreadVsOneThread');
  }
  console.log('  (CPU: this process, all threads; the NATS rows add nats-server)');
}
