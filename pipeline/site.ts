/**
 * A site pipeline assembled from its configuration: the bus (in-process or NATS JetStream), the
 * DuckDB store and the fused operator chain, with one `close()` that drains them in order.
 */
import { loadOperators } from '../operators/index.ts';
import { MemoryBus } from './bus-memory.ts';
import type { PipelineConfig } from './config.ts';
import { Runner } from './runner.ts';
import { sourceFromConfig } from './sources.ts';
import { openStore, type Store } from './store.ts';
import type { Bus } from './types.ts';

/** A running site pipeline. */
export interface Site {
  readonly config: PipelineConfig;
  readonly bus: Bus;
  /** Absent for a source-only process. */
  readonly store?: Store;
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

/** Assemble a site: `withStore: false` for a process that only publishes. */
export async function openSite(config: PipelineConfig, options: { withStore?: boolean } = {}): Promise<Site> {
  const operators = await loadOperators(config.operators, { model: config.model });
  const store = options.withStore === false ? undefined : await openStore(config.store);
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
 * Sources and worker in one process: the worker starts at once (the in-process bus is bounded)
 * and stops once publishing has ended and everything published has been handled for
 * `idleExitMs`, or when the signal aborts. Without `idleExitMs` it runs until the signal.
 */
export async function runSite(site: Site, signal: AbortSignal, idleExitMs?: number): Promise<void> {
  const stop = new AbortController();
  const onAbort = () => stop.abort();
  signal.addEventListener('abort', onAbort, { once: true });
  const working = site.runner.work({ signal: stop.signal });
  try {
    await publishSources(site, stop.signal);
    if (idleExitMs !== undefined) await site.runner.drained(idleExitMs, stop.signal);
    else await new Promise((resolve) => stop.signal.addEventListener('abort', resolve, { once: true }));
  } finally {
    stop.abort();
    signal.removeEventListener('abort', onAbort);
    await working;
  }
}
