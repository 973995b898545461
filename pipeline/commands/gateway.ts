import type { Command } from '../command.ts';
import { numberFlag, parseArgs, stringFlag, usageError } from '../command.ts';

const USAGE = `usage: heir gateway --bind tcp://HOST:PORT [--nats URL] [--db FILE] [--site ID]
                    [--config FILE] [--in-flight N] [--stats SECONDS]

Receives flow batches from edge sensors (heir sensor) over ZeroMQ and puts them on the site's
bus. With --nats each batch is published to NATS JetStream with its batch id as Nats-Msg-Id
(workers: heir run --role worker); without it the gateway runs the in-process pipeline itself
and stores into --db. A batch is acknowledged to its sensor only after JetStream acknowledged
the publish, or the store transaction committed. A message that is not a valid batch is kept
in the dead-letter table with the reason, and the gateway goes on.

  --bind ENDPOINT   ZeroMQ endpoint to listen on, e.g. tcp://0.0.0.0:5555
  --nats URL        publish to NATS JetStream at URL (env HEIR_NATS_URL)
  --db FILE         without --nats: DuckDB file the in-process pipeline stores into
  --site ID         site id (subject heir.<site>.flows); default from --config, else site-1
  --config FILE     pipeline config (operators, model, bus settings) for the in-process pipeline
  --in-flight N     batches handed to the bus or store at once (default 8)
  --stats SECONDS   print counters on stderr every SECONDS

Runs until SIGINT/SIGTERM, then finishes the batches in hand and prints its counters as JSON on
stderr. See docs/edge.md.`;

/** \`heir gateway\`: ZeroMQ edge sensors in, bus or store out. */
export const command: Command = {
  name: 'gateway',
  summary: 'receive flow batches from edge sensors over ZeroMQ and publish them on the bus (or store them)',
  usage: USAGE,
  async run(argv) {
    const args = parseArgs('gateway', argv, { bind: 'string', nats: 'string', db: 'string', site: 'string', config: 'string', 'in-flight': 'string', stats: 'string' });
    if (args.positionals.length > 0) usageError('gateway', `unexpected argument ${args.positionals[0]}`);
    const bind = stringFlag(args, 'bind');
    if (!bind) usageError('gateway', 'give --bind tcp://HOST:PORT to listen on');
    const nats = stringFlag(args, 'nats');
    const db = stringFlag(args, 'db');
    const configPath = stringFlag(args, 'config');
    if (!nats && !process.env.HEIR_NATS_URL && !db && !configPath) usageError('gateway', 'give --nats URL (publish to JetStream) or --db FILE (store in process)');
    const maxInFlight = numberFlag('gateway', args, 'in-flight', 8, 1, 1024);
    const statsMs = numberFlag('gateway', args, 'stats', 0, 0) * 1000;

    const { loadConfig } = await import('../config.ts');
    const config = loadConfig(configPath, { nats, store: db, site: stringFlag(args, 'site') });
    const { EdgeGateway } = await import('../edge/EdgeGateway.ts');
    const { busGatewaySink, storeGatewaySink } = await import('../edge/gateway-sinks.ts');
    const { openSite } = await import('../site.ts');
    const { flowsSubject } = await import('../subjects.ts');
    // With a bus the gateway only publishes; the in-process pipeline needs the store.
    const viaBus = config.bus.kind === 'nats';
    const site = await openSite(config, { withStore: !viaBus });
    const sink = viaBus ? busGatewaySink(site.bus, flowsSubject(config.site)) : storeGatewaySink(site.runner);
    let gateway: import('../edge/EdgeGateway.ts').EdgeGateway;
    try {
      gateway = await EdgeGateway.bind({ bind: bind!, sink, maxInFlight });
    } catch (error) {
      await site.close();
      throw error;
    }
    const controller = new AbortController();
    const onSignal = (name: string) => {
      process.stderr.write(`heir gateway: ${name}: finishing the batches in hand\n`);
      controller.abort();
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    const report = () => process.stderr.write(`heir gateway: ${JSON.stringify({ ...gateway.counters, bus: site.bus.counters })}\n`);
    const timer = statsMs > 0 ? setInterval(report, statsMs) : undefined;
    process.stderr.write(`heir gateway: listening on ${bind}, ${viaBus ? `publishing to ${config.bus.url}` : `storing into ${config.store}`}\n`);
    try {
      await gateway.run(controller.signal);
    } finally {
      if (timer) clearInterval(timer);
      report();
      await site.close();
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
    return 0;
  },
};
