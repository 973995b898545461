import { fstatSync, writeSync } from 'node:fs';
import type { Command } from '../command.ts';
import { numberFlag, parseArgs, stringFlag, usageError } from '../command.ts';

const USAGE = `usage: heir collect --listen udp://HOST:PORT [--db FILE] [--json] [--idle-exit SECONDS] [--site ID] [--sensor ID]

Receives IPFIX (RFC 7011), NetFlow v9 and NetFlow v5 export datagrams over UDP and turns each
record into a flow of flow schema v1.

  --listen URL        where to listen, e.g. udp://127.0.0.1:4739 or udp://[::1]:2055 (port 0: any free port)
  --db FILE           store flows and dead letters in this DuckDB file: records are gathered per
                      exporter and domain into batches cut by export time (seconds) and sequence
                      range, id <ipfix|netflow9|netflow5>:<exporter>:<domain>:<first>-<last
                      sequence>:<export time>, so a redelivered export adds nothing
  --json              print each flow as one JSON line on standard output (a batch at a time:
                      flows appear at most a quarter of a second after their exporter goes quiet)
  --idle-exit SECONDS stop after this long without a datagram (otherwise run until interrupted)
  --site ID           site id of the flows (default: site)
  --sensor ID         sensor id of the flows (default: the exporter's address)

On exit a summary goes to standard error: datagrams, flows, templates, sequence gaps, dead letters.
Unidirectional exporter records stay one flow per direction (backward counts 0).`;

/**
 * Where JSON lines go. The collector reuses its buffer once the call returns: a file (or
 * /dev/null) on standard output is written synchronously from that view; a pipe or terminal
 * (written asynchronously, the data kept until it drains) gets a copy.
 */
function jsonWriter(): (lines: Uint8Array) => void {
  const stat = fstatSync(1);
  if (!process.stdout.isTTY && (stat.isFile() || stat.isCharacterDevice())) {
    return (lines) => {
      for (let at = 0; at < lines.length; ) at += writeSync(1, lines, at, lines.length - at);
    };
  }
  return (lines) => {
    // allocUnsafe + set: Buffer.from(Uint8Array) copies element by element.
    const copy = Buffer.allocUnsafe(lines.length);
    copy.set(lines);
    process.stdout.write(copy);
  };
}

/** `heir collect`: the IPFIX / NetFlow collector. */
export const command: Command = {
  name: 'collect',
  summary: 'collect IPFIX / NetFlow v9 / v5 flows over UDP into JSON lines or the store',
  usage: USAGE,
  async run(argv) {
    const args = parseArgs('collect', argv, { listen: 'string', db: 'string', json: 'boolean', 'idle-exit': 'string', site: 'string', sensor: 'string' });
    if (args.positionals.length) usageError('collect', `unexpected argument ${args.positionals[0]}`);
    const listen = stringFlag(args, 'listen');
    if (listen === undefined) usageError('collect', '--listen is required');
    const db = stringFlag(args, 'db');
    const json = args.flags.json === true;
    if (!db && !json) usageError('collect', 'give --json, --db FILE or both (otherwise the flows would go nowhere)');
    const idle = args.flags['idle-exit'] === undefined ? undefined : numberFlag('collect', args, 'idle-exit', 0, 0.001);
    const site = stringFlag(args, 'site', 'site')!;
    const sensor = stringFlag(args, 'sensor');
    const { collect, parseListen } = await import('../collector.ts');
    parseListen(listen);
    const store = db ? await (await import('../store.ts')).openStore(db) : undefined;
    const controller = new AbortController();
    const stop = () => controller.abort();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    try {
      const summary = await collect({
        listen,
        site,
        sensor,
        sink: store,
        idleExitMs: idle === undefined ? undefined : idle * 1000,
        signal: controller.signal,
        json: json ? jsonWriter() : undefined,
        onListening: (address) => process.stderr.write(`heir collect: listening on ${address}\n`),
        onDeadLetter: (entry) => process.stderr.write(`heir collect: dead letter from ${entry.input}: ${entry.reason}\n`),
      });
      process.stderr.write(
        `heir collect: ${summary.datagrams} datagrams, ${summary.flows} flows, ${summary.templates} templates (${summary.optionsTemplates} options templates, ${summary.optionsRecords} options records), ` +
          `${summary.sequenceGaps} sequence gaps (${summary.missedRecords} records missed), ${summary.deadLetters} dead letters, ${summary.pendingDecoded} data sets decoded after their template` +
          (store ? `, ${summary.batchesStored} of ${summary.batches} batches stored in ${db}` : '') +
          '\n',
      );
      return 0;
    } finally {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      await store?.close();
    }
  },
};
