import type { Command } from '../command.ts';
import { numberFlag, parseArgs, stringFlag, usageError } from '../command.ts';

const USAGE = `usage: heir run [--config FILE] [--nats URL] [--db FILE] [--site ID] [--sensor ID]
                [--model FILE] [--role all|source|worker] [--idle-exit SECONDS] [--stats SECONDS]

Runs a site pipeline from a JSON or TOML config: its sources are parsed into flow batches and
published on the bus; a worker runs the fused operator chain over each batch and stores every
result in DuckDB, acknowledging a batch only after its transaction committed.

  --config FILE        pipeline config (.json or .toml); see docs/config.md
  --nats URL           use NATS JetStream at URL instead of the in-process bus (env HEIR_NATS_URL)
  --db FILE            DuckDB file (env HEIR_DB; config key store)
  --site ID, --sensor ID   override the config's site and sensor ids (env HEIR_SITE, HEIR_SENSOR)
  --model FILE         model for the classify operator
  --role ROLE          all (default): sources and worker in one process; source: publish only;
                       worker: consume and store until SIGINT/SIGTERM or --idle-exit
  --idle-exit SECONDS  stop once nothing has arrived for that long (all: default 2 when every
                       source is a file; worker: runs until a signal unless given)
  --stats SECONDS      print counters on stderr every SECONDS
  --metrics PORT       serve the counters for Prometheus at http://127.0.0.1:PORT/metrics

SIGINT/SIGTERM drain cleanly: no new batches are taken, in-flight batches finish and are
acknowledged, the store is checkpointed. Counters are printed as JSON on stderr at exit.`;

/** `heir run`: a site pipeline from a config. */
export const command: Command = {
  name: 'run',
  summary: 'run a site pipeline from a config (in-process bus, or NATS JetStream with --nats)',
  usage: USAGE,
  async run(argv) {
    const args = parseArgs('run', argv, { config: 'string', nats: 'string', db: 'string', site: 'string', sensor: 'string', model: 'string', role: 'string', 'idle-exit': 'string', stats: 'string', metrics: 'string' });
    if (args.positionals.length > 0) usageError('run', `unexpected argument ${args.positionals[0]}`);
    const role = stringFlag(args, 'role', 'all')!;
    if (!['all', 'source', 'worker'].includes(role)) usageError('run', `invalid --role: ${role} (expected all, source or worker)`);
    const { loadConfig } = await import('../config.ts');
    const config = loadConfig(stringFlag(args, 'config'), {
      nats: stringFlag(args, 'nats'),
      store: stringFlag(args, 'db'),
      site: stringFlag(args, 'site'),
      sensor: stringFlag(args, 'sensor'),
      model: stringFlag(args, 'model'),
    });
    const idleFlag = args.flags['idle-exit'] === undefined ? undefined : numberFlag('run', args, 'idle-exit', 0, 0) * 1000;
    const statsMs = numberFlag('run', args, 'stats', 0, 0) * 1000;
    const { openSite, publishSources, runSite } = await import('../site.ts');
    const site = await openSite(config, { withStore: role !== 'source' });
    const controller = new AbortController();
    let signals = 0;
    const onSignal = (name: string) => {
      signals++;
      if (signals > 1) process.exit(130);
      process.stderr.write(`heir run: ${name}: draining (again to stop at once)\n`);
      controller.abort();
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    const report = () => process.stderr.write(`heir run: ${JSON.stringify({ ...site.runner.counters, bus: site.bus.counters })}\n`);
    const timer = statsMs > 0 ? setInterval(report, statsMs) : undefined;
    const metricsPort = args.flags.metrics === undefined ? undefined : numberFlag('run', args, 'metrics', 0, 0, 65535);
    const metrics = metricsPort === undefined ? undefined : await (await import('../metrics.ts')).serveMetrics(
      metricsPort,
      () => ({ runner: { ...site.runner.counters }, bus: { ...site.bus.counters }, ...(site.store ? { store: { ...site.store.counters } } : {}) }),
      { site: config.site, sensor: config.sensor, role },
    );
    try {
      if (role === 'source') await publishSources(site, controller.signal);
      else if (role === 'worker') await site.runner.work({ signal: controller.signal, idleExitMs: idleFlag });
      else {
        const allFiles = config.sources.length > 0 && config.sources.every((s) => s.path !== '-');
        await runSite(site, controller.signal, idleFlag ?? (allFiles ? 2000 : undefined));
      }
    } finally {
      if (timer) clearInterval(timer);
      metrics?.close();
      report();
      await site.close();
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
    return 0;
  },
};
