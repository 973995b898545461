/**
 * Byte sources for the parsers: files (plain or gzip, detected by magic) and standard input,
 * read as a stream of chunks so a capture never has to fit in memory, and the adapter that
 * turns a parser's output into batches with deterministic ids.
 */
import { closeSync, createReadStream, fstatSync, openSync, readSync } from 'node:fs';
import { createGunzip } from 'node:zlib';
import { parserFor } from '../operators/parsers.ts';
import { fdChunks } from './file-chunks.ts';
import { deadLetterBatch } from './dead-letters.ts';
import { ErrorCode, UserError, messageOf } from './errors.ts';
import { syntheticSource } from './synthetic-source.ts';
import type { SourceConfig } from './config.ts';
import type { BatchSource, ParseOptions, Parser, SourceBatch } from './types.ts';

/**
 * Read a file (`-` for standard input) as byte chunks; gzip files are decompressed on the way.
 * With `reuse`, a plain file is read into one buffer reused for every chunk: only for consumers
 * that copy what they keep (parsers with `copiesInput`).
 */
export async function* readChunks(path: string, options: { reuse?: boolean } = {}): AsyncIterable<Uint8Array> {
  if (path === '-') {
    for await (const chunk of process.stdin) yield chunk as Uint8Array;
    return;
  }
  // One open for the gzip check and the reading; a plain file is read from the same descriptor.
  // Opening, sniffing and reading a regular file are synchronous: each takes microseconds from the
  // page cache, less than a round trip through the thread pool (which a busy machine delays).
  let fd: number;
  let gzip = false;
  let size: number | undefined;
  const head = new Uint8Array(2);
  let headBytes = 0;
  try {
    fd = openSync(path, 'r');
  } catch (error) {
    throw new UserError(ErrorCode.INPUT_UNREADABLE, `cannot read ${path}: ${messageOf(error)}`, { cause: error });
  }
  try {
    try {
      const st = fstatSync(fd);
      if (st.isFile()) {
        size = st.size;
        headBytes = readSync(fd, head, 0, 2, 0);
        gzip = headBytes === 2 && head[0] === 0x1f && head[1] === 0x8b;
      }
    } catch (error) {
      throw new UserError(ErrorCode.INPUT_UNREADABLE, `cannot read ${path}: ${messageOf(error)}`, { cause: error });
    }
    const chunks = gzip
      ? createReadStream(path, { highWaterMark: 1 << 20 }).pipe(createGunzip())
      : size !== undefined
        ? fdChunks(fd, size, options.reuse === true)
        : createReadStream(path, { fd, autoClose: false, highWaterMark: 1 << 20 });
    try {
      for await (const chunk of chunks) yield chunk as Uint8Array;
    } catch (error) {
      throw new UserError(ErrorCode.INPUT_UNREADABLE, `cannot read ${path}: ${messageOf(error)}`, { cause: error });
    }
  } finally {
    closeSync(fd);
  }
}

/** Options of a file source. */
export interface FileSourceOptions {
  readonly site: string;
  readonly sensor: string;
  readonly batchSize?: number;
  /** Time limit of a batch from standard input (a live stream; default 1000 ms); files ignore it. */
  readonly maxBatchMs?: number;
  /** Flow idle timeout of packet parsers (default: 5 s for standard input, the parser's own for files). */
  readonly idleTimeoutS?: number;
  /** Flow active timeout of packet parsers (default: 30 s for standard input, the parser's own for files). */
  readonly activeTimeoutS?: number;
  /** The parser to use instead of the format's own (e.g. a pcap parser that shards files over threads). */
  readonly parser?: Parser;
}

/** Flow timeouts of a live stream (standard input): detections within seconds, interim records of floods. */
export const LIVE_IDLE_TIMEOUT_S = 5;
export const LIVE_ACTIVE_TIMEOUT_S = 30;

/**
 * A parser over one input as a batch source. Batch ids are `format:sensor:input:offset:sequence`, so
 * reading the same file again yields the same ids (the store then adds nothing).
 */
export function fileSource(format: string, path: string, options: FileSourceOptions): BatchSource {
  return {
    name: `${format}:${path}`,
    async *batches(signal?: AbortSignal): AsyncIterable<SourceBatch> {
      const parser = options.parser ?? (await parserFor(format));
      const parseOptions: ParseOptions = {
        site: options.site,
        sensor: options.sensor,
        input: path,
        batchSize: options.batchSize ?? 2000,
        // Files are cut by count only, so that reading one again yields the same batch ids.
        maxBatchMs: path === '-' ? (options.maxBatchMs ?? 1000) : undefined,
        // A live stream ends flows sooner, so UDP/ICMP attacks are seen within seconds (the lab
        // that trains the default model assembles flows with the same 5 s idle timeout).
        idleTimeoutS: options.idleTimeoutS ?? (path === '-' ? LIVE_IDLE_TIMEOUT_S : undefined),
        activeTimeoutS: options.activeTimeoutS ?? (path === '-' ? LIVE_ACTIVE_TIMEOUT_S : undefined),
        signal,
      };
      // Several outputs may end at one offset (the end-of-file flush), so the output's sequence
      // number is part of the id too; both are the same when the same input is read again. The
      // site is part of it because JetStream deduplicates message ids across the whole stream:
      // two sites reading the same file must not take each other's batches for duplicates.
      let sequence = 0;
      for await (const out of parser.parse(readChunks(path, { reuse: parser.descriptor.copiesInput === true }), parseOptions)) {
        sequence++;
        const tables: Record<string, import('apache-arrow').RecordBatch> = {};
        if (out.flows && out.flows.numRows > 0) tables.flows = out.flows;
        if (out.deadLetters && out.deadLetters.length > 0) tables.dead_letters = deadLetterBatch(out.deadLetters);
        if (Object.keys(tables).length === 0) continue;
        yield { id: `${format}:${options.site}:${options.sensor}:${path}:${out.offset}:${sequence}`, tables };
      }
    },
  };
}

/** The batch source a configured input describes. */
export function sourceFromConfig(source: SourceConfig, options: FileSourceOptions): BatchSource {
  if (source.format === 'synthetic') {
    return syntheticSource({ site: options.site, sensor: options.sensor, count: source.count ?? 0, seed: source.seed, batchSize: options.batchSize });
  }
  return fileSource(source.format, source.path!, {
    ...options,
    idleTimeoutS: source.idleTimeoutS ?? options.idleTimeoutS,
    activeTimeoutS: source.activeTimeoutS ?? options.activeTimeoutS,
  });
}
