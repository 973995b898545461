import type { Command } from '../command.ts';
import { numberFlag, parseArgs, stringFlag, usageError } from '../command.ts';

const USAGE = `usage: heir ingest <format> <file|->... [--site ID] [--sensor ID] [--db FILE] [--json]
                   [--operators LIST] [--model FILE] [--batch N]
                   [--idle-timeout SECONDS] [--active-timeout SECONDS] [--threads N]

Parses device traffic into the flow schema. Formats: pcap (also pcapng, by magic), argus
(ra -c , output), zeek (conn.log TSV or JSON), eve (Suricata EVE flow events), cic (CICIoMT2024
CSV, 39 or 45 features), wustl (WUSTL-EHMS-2020 CSV). Gzip files are read as they are. '-' reads
standard input (tcpdump -w - | heir ingest pcap -).

  --db FILE         feed the site pipeline: flows and whatever the operators make of them
                    (features, detections, findings, devices) are stored in this DuckDB file
  --json            print the parsed flows, one JSON object per line (flow-schema field names,
                    timestamps in epoch microseconds)
  --operators LIST  operators run with --db (default: featurize,classify,hunt,inventory;
                    classify only where a model is available); 'none' for flows only
  --model FILE      model for the classify operator (default: the shipped model)
  --site ID         site id (default site-1); --sensor ID (default: the format name)
  --batch N         flows per batch (default 2000)
  --idle-timeout S, --active-timeout S
                    pcap flow timeouts: a flow ends after S seconds without a packet; a flow
                    that lasts S seconds gets an interim record. Defaults: 60 and 300 for files,
                    5 and 30 for standard input (a live stream: detections within seconds)
  --threads N       pcap: threads per capture file (each reads the file and assembles every
                    flow; each builds its share of the batches: the same output as one thread).
                    Default: 2 when the capture files total at least 4 GiB and a second core
                    is idle (load average below cores - 1): the second thread costs about a
                    second to start and 1.5x the CPU, so it pays only on large files on a
                    machine with a free core. 1 forces one thread.

Malformed records go to the dead-letter table with the reason and are counted. Per-file errors
are reported on stderr; the exit code is non-zero only when nothing could be read.`;

/**
 * Capture bytes from which a second thread pays for its start: about a second of wall and CPU
 * (the worker loads the TypeScript sources) against at best a third of the parse time saved
 * (about 60 ms per 100 MB on a quiet machine; see benchmarks/README-ingest.md).
 */
const AUTO_THREADS_BYTES = 4 * 2 ** 30;

/**
 * The multi-threaded pcap parser for these inputs, or undefined for one thread: `threads` when
 * given, otherwise 2 when the regular capture files total at least AUTO_THREADS_BYTES and a
 * second core is idle (one-minute load average below the cores less one; on a busy machine the
 * second thread only waits for a core and adds CPU).
 */
async function shardedParser(inputs: readonly string[], threads: number | undefined): Promise<import('../../operators/pcap/sharded.ts').ShardedPcapParser | undefined> {
  const { statSync } = await import('node:fs');
  const { availableParallelism, loadavg } = await import('node:os');
  let count = threads;
  if (count === undefined) {
    let bytes = 0;
    for (const input of inputs) {
      try {
        const st = statSync(input);
        if (st.isFile()) bytes += st.size;
      } catch {
        // Unreadable inputs are reported when their turn comes.
      }
    }
    const cores = availableParallelism();
    count = cores >= 2 && loadavg()[0] < cores - 1 && bytes >= AUTO_THREADS_BYTES ? 2 : 1;
  }
  if (count < 2) return undefined;
  const { ShardedPcapParser } = await import('../../operators/pcap/sharded.ts');
  return ShardedPcapParser.start(count);
}

/** `heir ingest`: parse files or a stream into flows, as JSON lines or into the store. */
export const command: Command = {
  name: 'ingest',
  summary: 'parse pcap, Argus, Zeek, Suricata EVE or dataset CSV files into flows (JSON lines or DuckDB)',
  usage: USAGE,
  async run(argv) {
    const args = parseArgs('ingest', argv, { site: 'string', sensor: 'string', db: 'string', json: 'boolean', operators: 'string', model: 'string', batch: 'string', 'idle-timeout': 'string', 'active-timeout': 'string', threads: 'string' });
    const [format, ...inputs] = args.positionals;
    if (!format) usageError('ingest', 'give a format and at least one file (or -)');
    const { FORMATS } = await import('../../operators/parsers.ts');
    if (!FORMATS.includes(format)) usageError('ingest', `unknown format '${format}' (formats: ${FORMATS.join(', ')})`);
    if (inputs.length === 0) usageError('ingest', 'give at least one file, or - for standard input');
    const db = stringFlag(args, 'db');
    const json = args.flags.json === true;
    if (!db && !json) usageError('ingest', 'give --json, --db FILE or both (otherwise the flows would go nowhere)');
    const site = stringFlag(args, 'site', 'site-1')!;
    const sensor = stringFlag(args, 'sensor', format)!;
    const batchSize = numberFlag('ingest', args, 'batch', 2000, 1, 1_000_000);
    const idleTimeoutS = args.flags['idle-timeout'] === undefined ? undefined : numberFlag('ingest', args, 'idle-timeout', 60, 0.001, 86_400);
    const activeTimeoutS = args.flags['active-timeout'] === undefined ? undefined : numberFlag('ingest', args, 'active-timeout', 300, 0.001, 86_400);

    const threads = args.flags.threads === undefined ? undefined : numberFlag('ingest', args, 'threads', 1, 1, 64);
    if (threads !== undefined && !Number.isInteger(threads)) usageError('ingest', `--threads must be a whole number, not ${threads}`);
    const sharded = format === 'pcap' ? await shardedParser(inputs, threads) : undefined;

    const { fileSource } = await import('../sources.ts');
    const { flowRows } = await import('../flow-schema.ts');
    const { messageOf } = await import('../errors.ts');
    let runner: import('../runner.ts').Runner | undefined;
    let store: import('../store.ts').Store | undefined;
    if (db) {
      const { openStore } = await import('../store.ts');
      const { MemoryBus } = await import('../bus-memory.ts');
      const { Runner } = await import('../runner.ts');
      const { defaultOperators, loadOperators } = await import('../../operators/index.ts');
      const model = stringFlag(args, 'model');
      const listed = stringFlag(args, 'operators');
      const names = listed === undefined ? await defaultOperators(model) : listed === 'none' ? [] : listed.split(',').map((s) => s.trim()).filter(Boolean);
      const operators = await loadOperators(names, { model });
      store = await openStore(db);
      runner = new Runner({ site, sensor, bus: new MemoryBus(), sink: store, operators });
    }

    let readable = 0;
    let flows = 0;
    let deadLetters = 0;
    for (const input of inputs) {
      let fileFlows = 0;
      try {
        for await (const batch of fileSource(format, input, { site, sensor, batchSize, idleTimeoutS, activeTimeoutS, parser: sharded?.parser() }).batches()) {
          const n = batch.tables.flows?.numRows ?? 0;
          fileFlows += n;
          deadLetters += batch.tables.dead_letters?.numRows ?? 0;
          if (json && batch.tables.flows) {
            let out = '';
            for (const row of flowRows(batch.tables.flows)) out += JSON.stringify(row) + '\n';
            if (!process.stdout.write(out)) await new Promise((r) => process.stdout.once('drain', r));
          }
          if (runner) await runner.process(batch.id, batch.tables);
        }
        readable++;
      } catch (error) {
        const message = messageOf(error);
        process.stderr.write(`heir ingest: ${message.startsWith(input) ? message : `${input}: ${message}`}\n`);
      }
      flows += fileFlows;
    }
    await sharded?.close();
    if (runner) await runner.close();
    await store?.close();
    const summary = { files: inputs.length, readable, flows, deadLetters, ...(runner ? { stored: runner.counters.rowsStored, duplicateBatches: runner.counters.batchesDuplicate } : {}) };
    process.stderr.write(`heir ingest: ${JSON.stringify(summary)}\n`);
    return readable === 0 ? 1 : 0;
  },
};
