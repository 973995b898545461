import type { Command } from '../command.ts';
import { numberFlag, parseArgs, stringFlag, usageError } from '../command.ts';

const USAGE = `usage: heir sensor --connect tcp://HOST:PORT [--site ID] [--sensor ID] [--window N]
                   [--resend SECONDS] [--batch N] [--seed N] <format> <file|->...

Parses traffic at the edge and sends the flow batches to a site gateway (heir gateway) over
ZeroMQ. Every batch is kept until the gateway acknowledges that the bus or store has it, and is
sent again after --resend seconds without an acknowledgement, so a gateway restart loses
nothing; batch ids make a resent batch a duplicate that is stored once. At most --window batches
are unacknowledged: then the input is not read further (back-pressure on the capture or file).

  <format>           pcap (also pcapng), argus, zeek, eve, cic, wustl, or synthetic COUNT
                     (generated flows, for load tests); '-' reads standard input:
                     tcpdump -i eth0 -w - | heir sensor --connect tcp://gw:5555 pcap -
  --connect ENDPOINT gateway endpoint, e.g. tcp://10.1.0.5:5555
  --site ID          site id (default site-1); --sensor ID (default: the host name)
  --window N         unacknowledged batches at most (default 16)
  --resend SECONDS   resend timeout (default 5; doubles for a batch that stays unanswered, up to 8x)
  --batch N          flows per batch (default 1000)
  --seed N           seed of the synthetic format (default 1)

Exits 0 once every batch is acknowledged; counters are printed as JSON on stderr. SIGINT/SIGTERM
stop reading and exit non-zero with the number of batches left unacknowledged. See docs/edge.md.`;

/** \`heir sensor\`: parse at the edge and stream batches to a gateway over ZeroMQ. */
export const command: Command = {
  name: 'sensor',
  summary: 'parse captures or logs at the edge and stream flow batches to a gateway over ZeroMQ',
  usage: USAGE,
  async run(argv) {
    const args = parseArgs('sensor', argv, { connect: 'string', site: 'string', sensor: 'string', window: 'string', resend: 'string', batch: 'string', seed: 'string' });
    const connect = stringFlag(args, 'connect');
    if (!connect) usageError('sensor', 'give --connect tcp://HOST:PORT of the gateway');
    const [format, ...inputs] = args.positionals;
    if (!format) usageError('sensor', 'give a format and at least one file (or -)');
    const { FORMATS } = await import('../../operators/parsers.ts');
    if (format !== 'synthetic' && !FORMATS.includes(format)) usageError('sensor', `unknown format '${format}' (formats: ${[...FORMATS, 'synthetic'].join(', ')})`);
    if (inputs.length === 0) usageError('sensor', format === 'synthetic' ? 'give the number of synthetic flows' : 'give at least one file, or - for standard input');
    const site = stringFlag(args, 'site', 'site-1')!;
    const { hostname } = await import('node:os');
    const sensor = stringFlag(args, 'sensor', hostname())!;
    const window = numberFlag('sensor', args, 'window', 16, 1, 100_000);
    const resendMs = numberFlag('sensor', args, 'resend', 5, 0.01, 3600) * 1000;
    const batchSize = numberFlag('sensor', args, 'batch', 1000, 1, 1_000_000);
    const seed = numberFlag('sensor', args, 'seed', 1, 0, 2 ** 32 - 1);

    const { fileSource } = await import('../sources.ts');
    const { syntheticSource } = await import('../synthetic-source.ts');
    const { EdgeSensor } = await import('../edge/EdgeSensor.ts');
    type SourceBatch = import('../types.ts').SourceBatch;
    async function* batches(signal: AbortSignal): AsyncIterable<SourceBatch> {
      if (format === 'synthetic') {
        for (const input of inputs) {
          const count = Number(input);
          if (!Number.isInteger(count) || count < 0) usageError('sensor', `synthetic needs a whole number of flows, not '${input}'`);
          yield* syntheticSource({ site, sensor, count, seed, batchSize }).batches(signal);
        }
        return;
      }
      for (const input of inputs) yield* fileSource(format, input, { site, sensor, batchSize }).batches(signal);
    }

    const edge = new EdgeSensor({ connect: connect!, window, resendMs });
    const controller = new AbortController();
    const onSignal = (name: string) => {
      process.stderr.write(`heir sensor: ${name}: stopping\n`);
      controller.abort();
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    try {
      const counters = await edge.run(batches(controller.signal), controller.signal);
      process.stderr.write(`heir sensor: ${JSON.stringify(counters)}\n`);
      if (counters.unacked > 0) {
        process.stderr.write(`heir sensor: ${counters.unacked} batches were not acknowledged by ${connect}\n`);
        return 1;
      }
      return 0;
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
  },
};
