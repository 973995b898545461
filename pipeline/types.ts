/**
 * The interfaces of the runtime, apart from their implementations (as nats.js keeps its transport
 * behind one small interface). Operators see only Arrow batches; only `pipeline/` knows about
 * transports and the store.
 */
import type { RecordBatch } from 'apache-arrow';

/** Named record batches travelling together through the operator chain: `flows`, `detections`, … */
export type Tables = Readonly<Record<string, RecordBatch>>;

/** What an operator is, what it reads and what it writes. */
export interface OperatorDescriptor {
  /** Unique name, used in configs: `featurize`, `classify`, `hunt`. */
  readonly name: string;
  /** Bumped when its output changes for the same input. */
  readonly version: string;
  /** One line for `heir operators` and docs. */
  readonly summary: string;
  /** Tables it reads (must be present in the input). */
  readonly reads: readonly string[];
  /** Tables it adds or replaces. */
  readonly writes: readonly string[];
}

/** Context an operator may consult: who it runs for, and a counted warning channel. */
export interface OperatorContext {
  readonly site: string;
  readonly sensor: string;
  /** Deterministic id of the batch being processed (for derived ids). */
  readonly batchId: string;
  /** Report a soft problem; counted by the runner. */
  warn(message: string): void;
}

/**
 * A pure operator: a function over named record batches. It throws on bad input; the runner
 * dead-letters the batch with the reason and goes on.
 */
export interface Operator {
  readonly descriptor: OperatorDescriptor;
  apply(input: Tables, context: OperatorContext): Tables | Promise<Tables>;
  /** Releases resources (models, worker threads) when the pipeline stops. */
  close?(): void | Promise<void>;
}

/** One message on the bus: a deterministic batch id and its bytes (an Arrow IPC stream). */
export interface BusMessage {
  readonly id: string;
  readonly subject: string;
  readonly data: Uint8Array;
  /** 1 on first delivery, higher on redelivery. */
  readonly deliveries: number;
}

/** What a consumer does with each message; resolving acknowledges it, throwing asks for redelivery. */
export type MessageHandler = (message: BusMessage) => Promise<void>;

/** Options of a durable consumer. */
export interface ConsumeOptions {
  /** Durable consumer name; consumers with the same name share the work. */
  readonly durable: string;
  /** Messages handled at once (bounded in-flight work). */
  readonly maxInFlight?: number;
  /** Deliveries before a message goes to the dead-letter subject. */
  readonly maxDeliver?: number;
  /** Stops consuming; the returned promise resolves once in-flight work has finished. */
  readonly signal?: AbortSignal;
  /** Resolve once the subject has been idle this long (for batch jobs and tests). */
  readonly idleExitMs?: number;
}

/** Counters every bus exposes. */
export interface BusCounters {
  published: number;
  duplicates: number;
  delivered: number;
  acked: number;
  redelivered: number;
  deadLettered: number;
}

/**
 * The bus between pipeline stages: the in-process bus (embedded default) or NATS JetStream.
 * Publishing the same id twice within the deduplication window stores it once.
 */
export interface Bus {
  readonly kind: 'memory' | 'nats';
  readonly counters: BusCounters;
  /** Largest message body the bus takes, in bytes (NATS: the server's max_payload). */
  readonly maxPayload: number;
  /** Publish one message; resolves when the bus has durably accepted it. */
  publish(subject: string, id: string, data: Uint8Array): Promise<void>;
  /** Consume `subject` until the signal aborts (or idleExitMs passes with nothing to do). */
  consume(subject: string, handler: MessageHandler, options: ConsumeOptions): Promise<void>;
  /** Messages that went to the dead-letter subject for `subject`. */
  deadLetterSubject(subject: string): string;
  close(): Promise<void>;
}

/** Where batches come from: a file, a stream, a collector. Yields tables with deterministic ids. */
export interface BatchSource {
  readonly name: string;
  batches(signal?: AbortSignal): AsyncIterable<SourceBatch>;
}

/** One batch out of a source. */
export interface SourceBatch {
  /** Deterministic id: source, sensor, file or stream offset, sequence. */
  readonly id: string;
  readonly tables: Tables;
}

/** Where processed tables go: the DuckDB store, or a test collector. */
export interface BatchSink {
  /** Write all tables of one batch atomically; a batch id seen before adds nothing. Returns whether it was new. */
  write(batchId: string, tables: Tables): Promise<boolean>;
  /** Record a dead-lettered input with its reason. */
  deadLetter(...entries: DeadLetter[]): Promise<void>;
  close(): Promise<void>;
}

/** A record or batch that could not be processed, kept with the reason. */
export interface DeadLetter {
  readonly input: string;
  readonly stage: string;
  readonly reason: string;
  readonly batchId?: string;
  /** The offending bytes or record text (truncated), so it can be inspected and replayed. */
  readonly payload?: Uint8Array | string;
}

/** What a source-format parser is. */
export interface ParserDescriptor {
  /** The format word of `heir ingest <format>`: pcap, argus, zeek, eve, cic, wustl, ipfix. */
  readonly format: string;
  readonly version: string;
  readonly summary: string;
  /**
   * True when the parser copies whatever it keeps past the next chunk: the file reader may then
   * read every chunk into one reused buffer (far less garbage on large captures).
   */
  readonly copiesInput?: boolean;
}

/** Options every parser gets. */
export interface ParseOptions {
  readonly site: string;
  readonly sensor: string;
  /** Name of the input (file path, `-`, exporter address) for errors, dead letters and batch ids. */
  readonly input: string;
  /** Flows per emitted batch. */
  readonly batchSize: number;
  /**
   * For live inputs (standard input, sockets): cut a batch once its first flow has waited this
   * long, even when it holds fewer than `batchSize` flows, so detections do not wait for a full batch.
   */
  readonly maxBatchMs?: number;
  /** Parsers that assemble flows from packets: end a flow after this long without a packet. */
  readonly idleTimeoutS?: number;
  /** …and emit an interim record of a flow that has lasted this long. */
  readonly activeTimeoutS?: number;
  readonly signal?: AbortSignal;
}

/** One step of parser output: a batch of flows and/or the records that could not be read. */
export interface ParseOutput {
  /** Flow schema batch (may be absent when this step only reports dead letters). */
  readonly flows?: RecordBatch;
  /** Malformed records with the reason, for the dead-letter store. */
  readonly deadLetters?: readonly DeadLetter[];
  /** Byte offset (or record number) in the input after this step: batch ids derive from it. */
  readonly offset: number;
}

/**
 * An ingest parser: bytes in, flow batches out. Bad records become dead letters and parsing goes
 * on; only an input that cannot be read at all (wrong magic, empty file) throws an InputError.
 */
export interface Parser {
  readonly descriptor: ParserDescriptor;
  parse(chunks: AsyncIterable<Uint8Array>, options: ParseOptions): AsyncIterable<ParseOutput>;
}
