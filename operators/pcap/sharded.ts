/**
 * One capture file parsed by several threads at once, with the same output as one thread. Every
 * thread reads the whole file (cheap: pooled synchronous reads from the page cache) and assembles
 * every flow, so all of them end the same flows at the same packets and cut batches at the same
 * flows and offsets; each then builds only its share of the flow batches (batch b on thread
 * b % threads): the records, the L7 facts, the ids and the Arrow columns, which are most of the
 * parse. The main thread is the first shard and yields the outputs in order, its own or the
 * worker's (moved as one buffer per batch), so flows, batch boundaries, dead letters and offsets
 * are those of `parsePcap` alone. No packet crosses between threads.
 *
 * Workers load the TypeScript sources when they start (about a second of CPU each), so this pays
 * only on large inputs: start once, parse many files, close.
 *
 * @example
 * const sharded = await ShardedPcapParser.start(2);
 * for await (const out of sharded.parseFile('big.pcap', { site: 's', sensor: 'x', input: 'big.pcap', batchSize: 2000 })) …
 * await sharded.close();
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { readChunks } from '../../pipeline/sources.ts';
import type { ParseOutput, Parser } from '../../pipeline/types.ts';
import { parsePcap, parser as pcapParser, type PcapParseOptions, type ShardOutput } from '../ingest-pcap.ts';
import { PcapWorkerPool, type FileResult } from './parallel.ts';

/** True when `path` is a regular, uncompressed file (what every shard can read by itself). */
export function shardableFile(path: string): boolean {
  if (path === '-') return false;
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return false;
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) return false;
    const head = new Uint8Array(2);
    const n = readSync(fd, head, 0, 2, 0);
    return !(n === 2 && head[0] === 0x1f && head[1] === 0x8b);
  } finally {
    closeSync(fd);
  }
}

/** A file parser on this thread and `threads - 1` workers. */
export class ShardedPcapParser {
  /** One single-worker pool per further shard (shard i + 1 on pools[i]). */
  private readonly pools: PcapWorkerPool[];

  private constructor(pools: PcapWorkerPool[]) {
    this.pools = pools;
  }

  /** Start the workers of a `threads`-way parse (at least 2) and wait until they have loaded the parser. */
  static async start(threads = 2): Promise<ShardedPcapParser> {
    if (!Number.isInteger(threads) || threads < 2) throw new RangeError(`a sharded parse needs at least 2 threads, not ${threads}`);
    const started = await Promise.allSettled(Array.from({ length: threads - 1 }, () => PcapWorkerPool.start(1)));
    const pools = started.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
    const failed = started.find((r) => r.status === 'rejected');
    if (failed !== undefined) {
      await Promise.all(pools.map((p) => p.close()));
      throw (failed as PromiseRejectedResult).reason;
    }
    return new ShardedPcapParser(pools);
  }

  /** Threads of a parse, this one included. */
  get threads(): number {
    return this.pools.length + 1;
  }

  /**
   * Parse one capture file (`options.input` names it in dead letters and errors, as with
   * `parsePcap`). Standard input, pipes and gzip files cannot be read by every thread: they are
   * parsed on this thread alone. With `chunks`, this thread reads those (they must be the
   * file's `readChunks(path, { reuse: true })`, as the workers read it); otherwise it reads them itself.
   */
  async *parseFile(path: string, options: PcapParseOptions, chunks?: AsyncIterable<Uint8Array>): AsyncGenerator<ParseOutput> {
    const own = chunks ?? readChunks(path, { reuse: true });
    if (options.maxBatchMs !== undefined || !shardableFile(path)) {
      yield* parsePcap(own, options);
      return;
    }
    const count = this.threads;
    const { stats: _stats, signal: _signal, input: _input, ...shared } = options;
    const others = this.pools.map((pool, i) => pool.parseFiles([path], { ...shared, shard: { index: i + 1, count } })[Symbol.asyncIterator]());
    // A pull is awaited later (after this thread's own work); a worker that dies meanwhile must not
    // count as an unhandled rejection before then.
    const pull = (s: number): Promise<IteratorResult<FileResult>> => {
      const p = others[s].next();
      p.catch(() => undefined);
      return p;
    };
    // The first pull sends each worker its job: they start while this thread starts too.
    const next: Promise<IteratorResult<FileResult>>[] = others.map((_, s) => pull(s));
    /** Outputs of each worker taken so far (each yields the same sequence of outputs as this thread). */
    const taken = others.map(() => 0);
    /** The next output of worker shard `s` (throws its error; its end must not come first). */
    const take = async (s: number): Promise<ParseOutput> => {
      const r = await next[s];
      if (r.done) throw new Error(`pcap shard ${s + 1} of ${path} ended early`);
      next[s] = pull(s);
      if (r.value.end?.error) throw r.value.end.error;
      if (r.value.output === undefined) throw new Error(`pcap shard ${s + 1} of ${path} ended before its outputs`);
      taken[s]++;
      return r.value.output;
    };
    /** Worker shard `s`'s output number `k` (the ones before it are placeholders, passed over). */
    const outputOf = async (s: number, k: number): Promise<ParseOutput> => {
      while (taken[s] < k) await take(s);
      return take(s);
    };
    try {
      // k: outputs so far (the same sequence in every shard); b: flow batches among them (batch b
      // is built by shard b % count; outputs of dead letters alone come from this thread).
      let k = 0;
      let b = 0;
      for await (const out of parsePcap(own, { ...options, shard: { index: 0, count } })) {
        // This thread yields its own outputs without waiting for the workers, and waits only for
        // the batches they build.
        const elsewhere = (out as ShardOutput).elsewhere === true;
        const batch = elsewhere || out.flows !== undefined ? b++ : -1;
        if (elsewhere) {
          const s = (batch % count) - 1;
          const built = s >= 0 ? await outputOf(s, k) : undefined;
          if (built === undefined || built.flows === undefined) throw new Error(`pcap shards of ${path} disagree at output ${k}`);
          yield { flows: built.flows, deadLetters: built.deadLetters, offset: out.offset };
        } else yield out;
        k++;
      }
      // Each worker's remaining placeholders, then its end.
      for (let s = 0; s < others.length; s++) {
        while (taken[s] < k) await take(s);
        const r = await next[s];
        if (r.done || r.value.end === undefined) throw new Error(`pcap shard ${s + 1} of ${path} has more outputs than this thread`);
        if (r.value.end.error) throw r.value.end.error;
      }
    } finally {
      // Close each worker's results (abandoned or failed part-way, the pool first lets the worker finish the file).
      await Promise.allSettled(others.map((it) => it.return(undefined)));
    }
  }

  /** A pcap parser (for a file source) that shards regular files over these threads. */
  parser(): Parser {
    return { descriptor: pcapParser.descriptor, parse: (chunks, options) => this.parseFile(options.input, options, chunks) };
  }

  /** Stop the workers. */
  async close(): Promise<void> {
    await Promise.all(this.pools.map((p) => p.close()));
  }
}
