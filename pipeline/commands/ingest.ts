import type { Command } from '../command.ts';
import { numberFlag, parseArgs, stringFlag, usageError } from '../command.ts';

const USAGE = `usage: heir ingest <format> <file|->... [--site ID] [--sensor ID] [--db FILE] [--json]
                   [--operators LIST] [--model FILE] [--batch N]
                   [--idle-timeout SECONDS] [--active-timeout SECONDS]

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

Malformed records go to the dead-letter table with the reason and are counted. Per-file errors
are reported on stderr; the exit code is non-zero only when nothing could be read.`;

/** `heir ingest`: parse files or a stream into flows, as JSON lines or into the store. */
export const command: Command = {
  name: 'ingest',
  summary: 'parse pcap, Argus, Zeek, Suricata EVE or dataset CSV files into flows (JSON lines or DuckDB)',
  usage: USAGE,
  async run(argv) {
    const args = parseArgs('ingest', argv, { site: 'string', sensor: 'string', db: 'string', json: 'boolean', operators: 'string', model: 'string', batch: 'string', 'idle-timeout': 'string', 'active-timeout': 'string' });
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
        for await (const batch of fileSource(format, input, { site, sensor, batchSize, idleTimeoutS, activeTimeoutS }).batches()) {
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
    if (runner) await runner.close();
    await store?.close();
    const summary = { files: inputs.length, readable, flows, deadLetters, ...(runner ? { stored: runner.counters.rowsStored, duplicateBatches: runner.counters.batchesDuplicate } : {}) };
    process.stderr.write(`heir ingest: ${JSON.stringify(summary)}\n`);
    return readable === 0 ? 1 : 0;
  },
};
