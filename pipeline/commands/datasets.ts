import type { Command } from '../command.ts';
import { parseArgs, stringFlag, usageError } from '../command.ts';

const USAGE = `usage: heir datasets list [--data-dir DIR] [--json]
       heir datasets describe NAME [--data-dir DIR] [--sample] [--target binary|category|class] [--json]

list      the datasets HEIR reads (wustl-ehms-2020, ciciomt2024) and where their files are:
          DIR, else $HEIR_DATA_DIR, else ../shared/datasets; the committed samples otherwise.
describe  schema (every column, its kind and role), cleaning (non-finite values, exact
          duplicates), class balance at every target, and the leakage report: identifier,
          artefact and constant columns dropped by default, and the columns that alone
          separate the classes of --target (default binary).
  --sample   describe the committed sample even where the full file exists
  --json     machine-readable output`;

/** `heir datasets`: list and describe the IoMT datasets. */
export const command: Command = {
  name: 'datasets',
  summary: 'list the IoMT datasets and describe one (schema, class balance, leakage report)',
  usage: USAGE,
  async run(argv) {
    const args = parseArgs('datasets', argv, { 'data-dir': 'string', json: 'boolean', sample: 'boolean', target: 'string' });
    const [verb, name, ...rest] = args.positionals;
    if (rest.length > 0) usageError('datasets', `unexpected argument ${rest[0]}`);
    const { ADAPTERS, locateDataset, defaultDataDir } = await import('../../datasets/registry.ts');
    const dataDir = stringFlag(args, 'data-dir') ?? defaultDataDir();
    const json = args.flags.json === true;
    if (verb === 'list') {
      if (name) usageError('datasets', `unexpected argument ${name}`);
      const rows = ADAPTERS.map((a) => {
        try {
          const loc = locateDataset(a.name, dataDir);
          return { name: a.name, title: a.title, path: loc.path, sample: loc.sample, citation: a.citation };
        } catch {
          return { name: a.name, title: a.title, path: null, sample: false, citation: a.citation };
        }
      });
      if (json) process.stdout.write(JSON.stringify(rows, null, 2) + '\n');
      else {
        for (const r of rows) process.stdout.write(`${r.name.padEnd(16)} ${r.path ? (r.sample ? 'sample ' : 'full   ') + r.path : 'missing'}\n  ${r.title}\n  cite: ${r.citation}\n`);
      }
      return 0;
    }
    if (verb !== 'describe') usageError('datasets', verb ? `unknown sub-command ${verb} (list, describe)` : 'give list or describe NAME');
    if (!name) usageError('datasets', 'describe needs a dataset NAME');
    const target = stringFlag(args, 'target', 'binary')!;
    if (!['binary', 'category', 'class'].includes(target)) usageError('datasets', `invalid --target ${target} (binary, category, class)`);
    const { loadDataset } = await import('../../datasets/load.ts');
    const { setWarningSink } = await import('../warn.ts');
    const loc = locateDataset(name, dataDir, args.flags.sample === true);
    // The leakage report below lists what warn() would say; keep stderr quiet for this command.
    const previous = setWarningSink(null);
    const data = (() => {
      try {
        return loadDataset(loc.adapter, loc.path, { leakTarget: target as 'binary' });
      } finally {
        setWarningSink(previous);
      }
    })();
    const balance: Record<string, Record<string, number>> = {};
    for (const t of ['binary', 'category', 'class'] as const) {
      const labels = data.targets[t];
      const counts: Record<string, number> = {};
      for (const c of labels.classes) counts[c] = 0;
      for (let i = 0; i < labels.y.length; i++) counts[labels.classes[labels.y[i]]]++;
      balance[t] = counts;
    }
    const dropped = data.columns.filter((c) => !c.kept && c.role !== 'label' && c.role !== 'group');
    const leaks = data.leakage.filter((l) => l.leaks);
    const report = {
      name: data.name,
      path: data.path,
      sample: loc.sample,
      layout: data.layout,
      rows: data.rows,
      features: data.features,
      columns: data.columns,
      cleaning: data.cleaning,
      balance,
      leakage: { target, dropped, separating: leaks, top: data.leakage.slice(0, 10) },
      citation: loc.adapter.citation,
    };
    if (json) {
      process.stdout.write(JSON.stringify(report, null, 2) + '\n');
      return 0;
    }
    const out: string[] = [];
    out.push(`${data.name} (${loc.sample ? 'committed sample' : 'full file'}): ${data.path}`);
    out.push(`layout ${data.layout}; ${data.cleaning.rowsRead} rows read, ${data.rows} kept; ${data.features.length} features`);
    out.push('', 'cleaning:');
    out.push(`  malformed rows dropped:    ${data.cleaning.malformed}${data.cleaning.malformedExamples.length ? ` (${data.cleaning.malformedExamples.join('; ')})` : ''}`);
    out.push(`  non-finite rows dropped:   ${data.cleaning.nonFinite}${Object.keys(data.cleaning.nonFiniteByColumn).length ? ` (${Object.entries(data.cleaning.nonFiniteByColumn).map(([k, v]) => `${k}: ${v}`).join(', ')})` : ''}`);
    out.push(`  exact duplicates dropped:  ${data.cleaning.duplicates}`);
    out.push('', 'schema:');
    for (const c of data.columns) out.push(`  ${c.name.padEnd(18)} ${c.kind.padEnd(11)} ${c.kept ? 'feature' : c.role}${c.reason ? ` — ${c.reason}` : ''}`);
    for (const t of ['binary', 'category', 'class'] as const) {
      out.push('', `class balance (${t}):`);
      for (const [c, n] of Object.entries(balance[t])) out.push(`  ${c.padEnd(26)} ${String(n).padStart(7)}  ${((100 * n) / data.rows).toFixed(1)}%`);
    }
    out.push('', `leakage (${target}):`);
    out.push(`  dropped by default: ${dropped.map((c) => `${c.name} (${c.role})`).join(', ') || 'none'}`);
    if (leaks.length > 0) for (const l of leaks) out.push(`  WARNING: ${l.column} alone separates the ${target} classes (balanced accuracy ${l.score.toFixed(3)})`);
    else out.push('  no single column separates the classes (balanced accuracy < 0.98)');
    out.push(`  most separating columns: ${data.leakage.slice(0, 5).map((l) => `${l.column} ${l.score.toFixed(3)}`).join(', ')}`);
    out.push('', `cite: ${loc.adapter.citation}`);
    process.stdout.write(out.join('\n') + '\n');
    return 0;
  },
};
