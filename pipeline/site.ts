/**
 * A site pipeline assembled from its configuration: the bus (in-process or NATS JetStream), the
 * DuckDB store and the fused operator chain, with one `close()` that drains them in order.
 */
import { loadOperators } from '../operators/index.ts';
import { MemoryBus } from './bus-memory.ts';
import type { PipelineConfig } from './config.ts';
import { Runner } from './runner.ts';
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
