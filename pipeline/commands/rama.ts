import type { Command } from '../command.ts';
import { numberFlag, parseArgs, stringFlag, usageError, type ParsedArgs } from '../command.ts';
import { ErrorCode, UserError } from '../errors.ts';

const USAGE = `usage: heir rama <devices|site|benchmark|whatif|simulate> --db FILE [options]

RAMA (Risk Assessment of Medical Applications), 0–100, 100 = best security status (docs/rama.md).

  devices    score every device; stores rama_device_scores
             --json: one line per device {"device","site","score","band","contributions":[{"factor","points"}]}
             where 100 + Σ points = score (to 0.01)
  site       score devices, units and sites; stores rama_device_scores, rama_site_scores and the
             day's rama_snapshots
  benchmark  each site among its peers (size, type, region): percentile, robust z, outliers, trend;
             groups of fewer than --k sites are suppressed; --epsilon releases differentially
             private percentiles per peer group (Laplace, budget tracked)
  whatif     the remediations that would raise a site's score most, ranked by gain
  simulate   fill --db with a SYNTHETIC fleet (real product lines and CVEs, simulated hospitals)

options:
  --db FILE          DuckDB store (required)
  --json             JSON lines instead of text
  --as-of TIME       ISO time the scores are for (default: now); attacks decay towards it
  --site SITE        only this site (devices, whatif; whatif needs it when the store has several)
  --limit N          whatif: remediations to list (default 10)
  --k N              benchmark: minimum peer-group size (default 5)
  --epsilon E        benchmark: epsilon per peer level for the DP release
  --budget B         benchmark: total epsilon budget (default 1)
  --seed S           benchmark: seed of the DP noise (tests only; default: crypto randomness);
                     simulate: seed of the fleet (default 1)
  --hospitals N      simulate: hospitals (default 20)
  --devices N        simulate: exact total of devices (default: sizes as drawn)
`;

const FLAGS = {
  db: 'string',
  json: 'boolean',
  'as-of': 'string',
  site: 'string',
  limit: 'string',
  k: 'string',
  epsilon: 'string',
  budget: 'string',
  seed: 'string',
  hospitals: 'string',
  devices: 'string',
} as const;

function asOfOf(args: ParsedArgs): number {
  const text = stringFlag(args, 'as-of');
  if (text === undefined) return Date.now() * 1000;
  const ms = Date.parse(text);
  if (!Number.isFinite(ms)) usageError('rama', `invalid --as-of: ${text} (expected an ISO time such as 2026-11-28T00:00:00Z)`);
  return ms * 1000;
}

let pipeClosed = false;
let watching = false;
/** A reader that stops early (`| head`) closes the pipe: stop writing quietly, not with a stack. */
function watchPipe(): void {
  if (watching) return;
  watching = true;
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') throw error;
    pipeClosed = true;
  });
}

/** `heir rama devices|site|benchmark|whatif|simulate`. */
export const command: Command = {
  name: 'rama',
  summary: 'RAMA security scores: devices, sites, peer benchmarks, what-if, simulated fleets',
  usage: USAGE,
  async run(argv) {
    const [sub, ...rest] = argv;
    if (!sub || !['devices', 'site', 'benchmark', 'whatif', 'simulate'].includes(sub)) usageError('rama', `expected devices, site, benchmark, whatif or simulate, got ${sub ?? 'nothing'}`);
    const args = parseArgs('rama', rest, FLAGS);
    const db = stringFlag(args, 'db');
    if (!db) usageError('rama', '--db FILE is required');
    if (args.positionals.length > 0) usageError('rama', `unexpected argument: ${args.positionals[0]}`);
    const io = await import('../rama-io.ts');
    watchPipe();
    const out = (line: string) => {
      if (!pipeClosed) process.stdout.write(line + '\n');
    };
    switch (sub) {
      case 'simulate':
        return io.simulate(db, {
          hospitals: numberFlag('rama', args, 'hospitals', 20, 1, 100_000),
          seed: numberFlag('rama', args, 'seed', 1, 0, 2 ** 32 - 1),
          devices: args.flags.devices === undefined ? undefined : numberFlag('rama', args, 'devices', 0, 1, 10_000_000),
          asOf: asOfOf(args),
          json: args.flags.json === true,
        }, out);
      case 'devices':
      case 'site':
        return io.score(db, { mode: sub, asOf: asOfOf(args), json: args.flags.json === true, site: stringFlag(args, 'site') }, out);
      case 'whatif':
        return io.whatif(db, { asOf: asOfOf(args), json: args.flags.json === true, site: stringFlag(args, 'site'), limit: numberFlag('rama', args, 'limit', 10, 1, 10_000) }, out);
      case 'benchmark': {
        const epsilon = args.flags.epsilon === undefined ? undefined : numberFlag('rama', args, 'epsilon', 0, 1e-6, 100);
        return io.benchmark(db, {
          json: args.flags.json === true,
          k: numberFlag('rama', args, 'k', 5, 1, 1_000_000),
          epsilon,
          budget: numberFlag('rama', args, 'budget', 1, 1e-6, 1000),
          seed: args.flags.seed === undefined ? undefined : numberFlag('rama', args, 'seed', 0, 0, 2 ** 32 - 1),
        }, out);
      }
      default:
        throw new UserError(ErrorCode.USAGE, `heir rama: unknown sub-command ${sub}`);
    }
  },
};
