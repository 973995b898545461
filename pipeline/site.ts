/**
 * A site pipeline assembled from its configuration: the bus (in-process or NATS JetStream), the
 * DuckDB store and the fused operator chain, with one `close()` that drains them in order.
 */
import { defaultOperators, loadOperators } from '../operators/index.ts';
import { MemoryBus } from './bus-memory.ts';
import type { PipelineConfig } from './config.ts';
import { Runner } from './runner.ts';
import { sourceFromConfig } from './sources.ts';
import { openStore, type Store } from './store.ts';
import { openStoreWorker, type StoreWorker } from './store-worker.ts';
import type { Bus } from './types.ts';

/** A running site pipeline. */
export interface Site {
  readonly config: PipelineConfig;
  readonly bus: Bus;
  /** Absent for a source-only process. */
  readonly store?: Store | StoreWorker;
  readonly runner: Runner;
  close(): Promise<void>;
}

/** Open the bus (`memory` unless a NATS URL is configured) for a config. */
export async function openBus(config: PipelineConfig): Promise<Bus> {
  if (config.bus.kind === 'nats') {
    const { NatsBus } = await import('./bus-nats.ts');
    return NatsBus.connect({ url: config.bus.url!, stream: config.bus.stream, ackWaitMs: config.bus.ackWaitMs });
  }
  return new MemoryBus();
}

/**
 * The store of a worker: on the receiving thread, or with `store_thread = true` on a thread of its
 * own (store-worker.ts), so that receiving and decoding overlap with appending and committing. On
 * this project's 2-core benchmark machine the own thread did not pay, on NATS or in process: it
 * costs 5-13 % more CPU for no more flows per second (benchmarks/README.md, Pipeline;
 * `pipeline.bench.ts --compare` measures both placements in one run), so it is not the default.
 */
export function openSiteStore(config: PipelineConfig): Promise<Store | StoreWorker> {
  return config.storeThread ? openStoreWorker(config.store) : openStore(config.store);
}

/** Assemble a site: `withStore: false` for a process that only publishes. */
export async function openSite(config: PipelineConfig, options: { withStore?: boolean } = {}): Promise<Site> {
  // No operators key: the default chain (features, classification, hunt rules, inventory).
  const operators = await loadOperators(config.operators ?? (await defaultOperators(config.model)), { model: config.model });
  const store = options.withStore === false ? undefined : await openSiteStore(config);
  let bus: Bus;
  try {
    bus = await openBus(config);
  } catch (error) {
    await store?.close();
    throw error;
  }
  const runner = new Runner({ site: config.site, sensor: config.sensor, bus, sink: store, operators, maxInFlight: config.bus.maxInFlight, maxDeliver: config.bus.maxDeliver });
  return {
    config,
    bus,
    store,
    runner,
    async close() {
      await runner.close();
      await bus.close();
      await store?.close();
    },
  };
}

/** Publish every configured source of a site (the source role). */
export async function publishSources(site: Site, signal?: AbortSignal): Promise<void> {
  const { config } = site;
  for (const source of config.sources) {
    await site.runner.publish(sourceFromConfig(source, { site: config.site, sensor: config.sensor, batchSize: config.batch.maxRows, maxBatchMs: config.batch.maxMs }), signal);
  }
}

/**
 * Sources and worker in one process. The worker starts at once (the in-process bus is bounded).
 * With `idleExitMs`, it stops once publishing has ended and everything published has been
 * handled for that long; otherwise it runs until the signal. On the signal, sources stop first
 * and the worker still stores what was already published (the in-process bus keeps nothing across
 * processes), then stops.
 */
export async function runSite(site: Site, signal: AbortSignal, idleExitMs?: number): Promise<void> {
  const stopSources = new AbortController();
  const stopWorker = new AbortController();
  const onAbort = () => stopSources.abort();
  signal.addEventListener('abort', onAbort, { once: true });
  if (signal.aborted) stopSources.abort();
  const working = site.runner.work({ signal: stopWorker.signal });
  try {
    await Promise.race([publishSources(site, stopSources.signal), working]);
    if (idleExitMs !== undefined) await Promise.race([site.runner.drained(idleExitMs, signal), working]);
    else if (!signal.aborted) await Promise.race([new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true })), working]);
    await Promise.race([site.runner.drained(0), working]);
  } finally {
    stopWorker.abort();
    signal.removeEventListener('abort', onAbort);
    await working;
  }
}
