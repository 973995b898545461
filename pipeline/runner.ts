/**
 * The runner: sources publish batches on the bus; workers consume them, run the fused operator
 * chain and write every resulting table with the batch id in one store transaction, and only
 * then acknowledge. Operators throw; the runner decides: malformed input is dead-lettered at once,
 * other failures are redelivered and dead-lettered after `maxDeliver` attempts.
 */
import { deadLetterBatch } from './dead-letters.ts';
import { InputError, messageOf } from './errors.ts';
import { FramePool, decodeTables, encodeTables } from './ipc.ts';
import { flowsSubject } from './subjects.ts';
import type { BatchSink, BatchSource, Bus, BusMessage, DeadLetter, Operator, OperatorContext, SourceBatch, Tables } from './types.ts';
import { warn } from './warn.ts';

/** Options of a runner. */
export interface RunnerOptions {
  readonly site: string;
  readonly sensor: string;
  readonly bus: Bus;
  /** Where results go; needed by workers, not by sources. */
  readonly sink?: BatchSink;
  /** The operator chain, fused in this process. */
  readonly operators?: readonly Operator[];
  /** Batches handled at once by a worker. */
  readonly maxInFlight?: number;
  /** Deliveries of a failing batch before it is dead-lettered. */
  readonly maxDeliver?: number;
  /** Publishes awaiting acknowledgement at once. */
  readonly maxPublishing?: number;
}

/** What the runner has done, for `--stats`, tests and metrics. */
export interface RunnerCounters {
  batchesPublished: number;
  rowsPublished: number;
  batchesProcessed: number;
  batchesDuplicate: number;
  rowsIn: number;
  rowsStored: number;
  deadLetters: number;
  operatorFailures: number;
  warnings: number;
}

/** Runs sources into the bus and the operator chain from the bus into the sink. */
export class Runner {
  readonly counters: RunnerCounters = { batchesPublished: 0, rowsPublished: 0, batchesProcessed: 0, batchesDuplicate: 0, rowsIn: 0, rowsStored: 0, deadLetters: 0, operatorFailures: 0, warnings: 0 };
  readonly subject: string;
  private readonly options: RunnerOptions;
  private readonly framePool = new FramePool();

  constructor(options: RunnerOptions) {
    this.options = options;
    this.subject = flowsSubject(options.site);
  }

  /**
   * Publish every batch of a source, keeping up to `maxPublishing` acknowledgements in flight.
   * Over NATS the frames are written into reused buffers: the client has copied a message into its
   * socket buffer before the server acknowledges it, so a frame's buffer is free once its publish
   * resolved (the in-process bus keeps the frame itself, so there every frame is new).
   */
  async publish(source: BatchSource | AsyncIterable<SourceBatch>, signal?: AbortSignal): Promise<void> {
    const limit = this.options.maxPublishing ?? 32;
    const pending = new Set<Promise<void>>();
    let failure: unknown;
    const pool = this.options.bus.kind === 'nats' ? this.framePool : undefined;
    const iterable = 'batches' in source ? source.batches(signal) : source;
    for await (const whole of iterable) {
      for (const batch of this.fit(whole, pool)) {
        if (signal?.aborted || failure) break;
        const rows = batch.tables.flows?.numRows ?? 0;
        const p = this.options.bus
          .publish(this.subject, batch.id, batch.data)
          .then(() => {
            this.counters.batchesPublished++;
            this.counters.rowsPublished += rows;
            // Only after success: a failed publish may still be queued in the client for a reconnect.
            pool?.release(batch.data);
          })
          .catch((error) => {
            failure ??= error;
          })
          .finally(() => pending.delete(p));
        pending.add(p);
        while (pending.size >= limit) await Promise.race(pending);
      }
    }
    await Promise.all(pending);
    if (failure) throw failure;
  }

  /** Consume the site's subject until the signal aborts (or the bus is idle for `idleExitMs`). */
  async work(options: { signal?: AbortSignal; idleExitMs?: number; durable?: string } = {}): Promise<void> {
    await this.options.bus.consume(this.subject, (message) => this.handle(message), {
      durable: options.durable ?? `heir-worker-${this.options.site.replace(/[^A-Za-z0-9_-]/g, '_')}`,
      maxInFlight: this.options.maxInFlight ?? 4,
      maxDeliver: this.options.maxDeliver ?? 5,
      signal: options.signal,
      idleExitMs: options.idleExitMs,
    });
  }

  /**
   * Encode a batch, halving it until each part fits the bus's largest message. Parts get ids
   * `id/1`, `id/2`, … (deterministic, so a re-published part is still deduplicated); dead letters
   * ride with the first part.
   */
  private *fit(batch: SourceBatch, pool?: FramePool): Generator<{ id: string; tables: Tables; data: Uint8Array }> {
    const data = encodeTables(batch.tables, pool);
    const flows = batch.tables.flows;
    if (data.length <= this.options.bus.maxPayload || !flows || flows.numRows < 2) {
      yield { id: batch.id, tables: batch.tables, data };
      return;
    }
    pool?.release(data);
    const half = Math.ceil(flows.numRows / 2);
    const { flows: _, ...rest } = batch.tables;
    yield* this.fit({ id: `${batch.id}/1`, tables: { ...rest, flows: flows.slice(0, half) } }, pool);
    yield* this.fit({ id: `${batch.id}/2`, tables: { flows: flows.slice(half) } }, pool);
  }

  /** Batches this runner has finished with: stored, found duplicate, or dead-lettered. */
  get handled(): number {
    return this.counters.batchesProcessed + this.counters.deadLetters;
  }

  /**
   * Resolve once every batch this process published has been handled and nothing else arrived
   * for `quietMs` (the end of a batch job that publishes and works in one process).
   */
  async drained(quietMs: number, signal?: AbortSignal): Promise<void> {
    let last = this.handled;
    let since = Date.now();
    while (!signal?.aborted) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      if (this.handled !== last) {
        last = this.handled;
        since = Date.now();
      } else if (this.handled >= this.options.bus.counters.published && Date.now() - since >= quietMs) return;
    }
  }

  /** Run the fused operator chain over one batch's tables. */
  async applyOperators(batchId: string, tables: Tables): Promise<Tables> {
    let current: Tables = tables;
    for (const operator of this.options.operators ?? []) {
      // A batch may lack what an operator reads (a batch of dead letters only has no flows):
      // the operator has nothing to do, which is not a failure.
      if (operator.descriptor.reads.some((table) => current[table] === undefined)) continue;
      const context: OperatorContext = {
        site: this.options.site,
        sensor: this.options.sensor,
        batchId,
        warn: (message) => {
          this.counters.warnings++;
          warn(`${operator.descriptor.name}: ${message}`);
        },
      };
      const out = await operator.apply(current, context);
      current = { ...current, ...out };
    }
    return current;
  }

  /** Process one batch directly (no bus): the same path a worker takes. */
  async process(batchId: string, tables: Tables): Promise<boolean> {
    const sink = this.requireSink();
    this.counters.rowsIn += tables.flows?.numRows ?? 0;
    const out = await this.applyOperators(batchId, tables);
    const fresh = await sink.write(batchId, out);
    this.counters.batchesProcessed++;
    if (fresh) this.counters.rowsStored += out.flows?.numRows ?? 0;
    else this.counters.batchesDuplicate++;
    return fresh;
  }

  private async handle(message: BusMessage): Promise<void> {
    const sink = this.requireSink();
    let tables: Tables;
    try {
      tables = decodeTables(message.data, `${message.subject} ${message.id}`);
    } catch (error) {
      // A malformed frame never becomes valid: keep it and acknowledge, do not redeliver.
      await this.deadLetter(sink, { input: message.subject, stage: 'decode', reason: messageOf(error), batchId: message.id, payload: message.data });
      return;
    }
    try {
      await this.process(message.id, tables);
    } catch (error) {
      this.counters.operatorFailures++;
      const final = error instanceof InputError || message.deliveries >= (this.options.maxDeliver ?? 5);
      if (!final) throw error;
      await this.deadLetter(sink, { input: message.subject, stage: 'process', reason: `${messageOf(error)} (after ${message.deliveries} deliveries)`, batchId: message.id, payload: message.data });
    }
  }

  /** Keep a refused message under its batch id, so a redelivery of it is not kept twice. */
  private async deadLetter(sink: BatchSink, entry: DeadLetter): Promise<void> {
    if (entry.batchId !== undefined) await sink.write(entry.batchId, { dead_letters: deadLetterBatch([entry]) });
    else await sink.deadLetter(entry);
    this.counters.deadLetters++;
  }

  private requireSink(): BatchSink {
    if (!this.options.sink) throw new Error('this runner has no sink: it can publish but not process');
    return this.options.sink;
  }

  /** Close the operators (the bus and the sink belong to the caller). */
  async close(): Promise<void> {
    for (const operator of this.options.operators ?? []) await operator.close?.();
  }
}
