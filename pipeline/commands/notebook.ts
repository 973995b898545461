import type { Command } from '../command.ts';
import { parseArgs, stringFlag, usageError } from '../command.ts';

const USAGE = `usage: heir notebook list
       heir notebook render NAME [--db FILE|DIR] [--data-dir DIR] [--out FILE.html] [--param k=v]...

Data-science notebooks (notebooks/*.ts, docs/notebooks.md), rendered to one standalone HTML page
with inline Observable Plot figures that opens offline in a browser.

  list       the notebooks, their parameters and defaults
  render     run a notebook's cells and write the page; NAME is a notebook of notebooks/ or the
             path of a .ts file

options:
  --db FILE|DIR    DuckDB store the notebook reads, or a directory of Parquet files written by
                   heir export (default: DIR/site.duckdb when it exists)
  --data-dir DIR   datasets directory (default: HEIR_DATA_DIR, else ../shared/datasets; the
                   committed samples stand in for missing files)
  --out FILE.html  page to write (default: NAME.html in the current directory)
  --param k=v      a notebook parameter (repeatable)
`;

const FLAGS = { db: 'string', 'data-dir': 'string', out: 'string', param: 'multiple' } as const;

/** `heir notebook list|render`. */
export const command: Command = {
  name: 'notebook',
  summary: 'list and render the data-science notebooks to standalone HTML',
  usage: USAGE,
  async run(argv) {
    const args = parseArgs('notebook', argv, FLAGS);
    const [sub, name, ...rest] = args.positionals;
    if (sub !== 'list' && sub !== 'render') usageError('notebook', `expected list or render, got ${sub ?? 'nothing'}`);
    const render = await import('../../notebooks/render.ts');
    if (sub === 'list') {
      if (name !== undefined) usageError('notebook', `list takes no argument, got ${name}`);
      for (const file of render.listNotebookFiles()) {
        const { notebook } = await render.loadNotebook(file.name);
        process.stdout.write(`${file.name.padEnd(20)} ${notebook.title}: ${notebook.description}\n`);
        for (const [k, p] of Object.entries(notebook.params)) process.stdout.write(`${''.padEnd(20)}   --param ${k}=${p.default}  ${p.doc}\n`);
      }
      return 0;
    }
    if (name === undefined) usageError('notebook', 'render needs a notebook NAME (see heir notebook list)');
    if (rest.length > 0) usageError('notebook', `unexpected argument ${rest[0]}`);
    const params: Record<string, string> = {};
    for (const p of (args.flags.param as string[] | undefined) ?? []) {
      const eq = p.indexOf('=');
      if (eq <= 0) usageError('notebook', `--param ${p}: expected k=v`);
      params[p.slice(0, eq)] = p.slice(eq + 1);
    }
    const base = name.endsWith('.ts') ? name.replace(/^.*\//, '').slice(0, -3) : name;
    const out = stringFlag(args, 'out', `${base}.html`)!;
    const result = await render.renderToFile(name, out, { db: stringFlag(args, 'db'), dataDir: stringFlag(args, 'data-dir'), params });
    const count = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;
    const parts = [count(result.cells, 'cell'), count(result.figures, 'figure'), count(result.tables, 'table'), ...(result.warnings > 0 ? [count(result.warnings, 'warning')] : [])];
    process.stdout.write(`wrote ${result.out}: ${parts.join(', ')} in ${result.seconds.toFixed(1)} s\n`);
    return 0;
  },
};
