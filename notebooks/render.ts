/**
 * The notebook renderer: runs a notebook's cells in order with a context (the DuckDB store of
 * `--db`, the datasets of `--data-dir`, `--param` values) and writes ONE standalone HTML file:
 * figures are Observable Plot SVG built server-side in a linkedom document and inlined, each cell's
 * source sits in a collapsed box under it, a header says when it ran, on what data and with which
 * parameters. The page loads nothing (a Content-Security-Policy of `default-src 'none'` enforces
 * it), so it opens offline and can be mailed or archived as is.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import * as Plot from '@observablehq/plot';
import { parseHTML } from 'linkedom';
import { loadDataset, type Dataset } from '../datasets/load.ts';
import { defaultDataDir, locateDataset } from '../datasets/registry.ts';
import { ErrorCode, HeirError, UserError, messageOf } from '../pipeline/errors.ts';
import { openStore } from '../pipeline/store.ts';
import { openParquetDir } from './parquet-store.ts';
import { cellSources } from './cell-source.ts';
import { escapeHtml, markdownToHtml } from './markdown.ts';
import type { Figure, LoadRequest, Notebook, NotebookContext, NotebookStore, Output } from './notebook.ts';

/** The directory of the versioned notebooks. */
export const NOTEBOOKS_DIR = fileURLToPath(new URL('./', import.meta.url));

/** Files of `notebooks/` that make up the format and renderer, not notebooks. */
const LIBRARY = new Set(['notebook', 'render', 'markdown', 'cell-source', 'citations', 'parquet-store']);

/** A notebook file. */
export interface NotebookFile {
  readonly name: string;
  readonly path: string;
}

/** The notebooks in a directory (every `.ts` file but the renderer's own), by name. */
export function listNotebookFiles(dir = NOTEBOOKS_DIR): NotebookFile[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts') && !LIBRARY.has(f.slice(0, -3)))
    .sort()
    .map((f) => ({ name: f.slice(0, -3), path: join(dir, f) }));
}

/** Import a notebook by name (a file of `notebooks/`) or by path to a `.ts` file. */
export async function loadNotebook(nameOrPath: string): Promise<NotebookFile & { notebook: Notebook }> {
  const byPath = nameOrPath.endsWith('.ts') ? resolve(nameOrPath) : null;
  const file = byPath ? { name: basename(byPath, '.ts'), path: byPath } : listNotebookFiles().find((f) => f.name === nameOrPath);
  if (!file || !existsSync(file.path)) {
    const names = listNotebookFiles().map((f) => f.name).join(', ');
    throw new UserError(ErrorCode.NOTEBOOK_NOT_FOUND, `no notebook '${nameOrPath}' (notebooks: ${names}; or give the path of a .ts file)`);
  }
  const mod = (await import(pathToFileURL(file.path).href)) as { default?: Notebook };
  if (!mod.default || mod.default.kind !== 'notebook') {
    throw new UserError(ErrorCode.NOTEBOOK_NOT_FOUND, `${file.path}: not a notebook (its default export must be notebook(title, cells))`);
  }
  return { ...file, notebook: mod.default };
}

/** How to render. */
export interface RenderOptions {
  /** DuckDB file or Parquet directory for `ctx.store()`; default `<dataDir>/site.duckdb` when that exists. */
  readonly db?: string;
  /** Datasets directory (default: `HEIR_DATA_DIR`, else `../shared/datasets`). */
  readonly dataDir?: string;
  readonly params?: Readonly<Record<string, string>>;
  /** Notebook file, for the per-cell source and the header. */
  readonly path?: string;
  readonly name?: string;
  /** Time shown in the header (default now). */
  readonly now?: Date;
}

/** A rendered notebook. */
export interface RenderResult {
  readonly html: string;
  readonly cells: number;
  readonly figures: number;
  readonly tables: number;
  readonly warnings: number;
  /** What the notebook read (datasets, stores, recorded sources). */
  readonly sources: readonly string[];
  readonly seconds: number;
}

function sha256Prefix(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex').slice(0, 12);
}

const REPO_ROOT = fileURLToPath(new URL('../', import.meta.url));

function productVersion(): string {
  const version = (JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string }).version;
  try {
    const commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
    return `heir ${version} (commit ${commit})`;
  } catch {
    return `heir ${version}`;
  }
}

/** Parameters: the notebook's defaults overridden by the given ones; undeclared names are an error (typos). */
function resolveParams(nb: Notebook, given: Readonly<Record<string, string>>): Record<string, string> {
  const params: Record<string, string> = {};
  for (const [k, spec] of Object.entries(nb.params)) params[k] = spec.default;
  for (const [k, v] of Object.entries(given)) {
    if (!(k in nb.params)) {
      const known = Object.keys(nb.params);
      throw new UserError(ErrorCode.USAGE, `notebook '${nb.title}' has no parameter '${k}' (${known.length > 0 ? `parameters: ${known.join(', ')}` : 'it takes none'})`);
    }
    params[k] = v;
  }
  return params;
}

/** Run a notebook's cells and build its page. */
export async function renderNotebook(nb: Notebook, options: RenderOptions = {}): Promise<RenderResult> {
  const started = performance.now();
  const label = options.name ?? nb.title;
  const params = resolveParams(nb, options.params ?? {});
  const dataDir = resolve(options.dataDir ?? defaultDataDir());
  const { document } = parseHTML('<!doctype html><html><head></head><body></body></html>');
  const sources: string[] = [];
  const memo = new Map<string, Promise<unknown>>();
  const datasets = new Map<string, Dataset>();
  let store: Promise<NotebookStore & { close(): Promise<void> }> | null = null;

  const ctx: NotebookContext = {
    params,
    numberParam(name) {
      const raw = params[name];
      const n = Number(raw);
      if (raw === undefined || raw.trim() === '' || !Number.isFinite(n)) throw new UserError(ErrorCode.USAGE, `notebook parameter ${name}=${raw ?? ''} is not a number`);
      return n;
    },
    booleanParam(name) {
      const raw = (params[name] ?? '').toLowerCase();
      if (['1', 'true', 'yes'].includes(raw)) return true;
      if (['0', 'false', 'no', ''].includes(raw)) return false;
      throw new UserError(ErrorCode.USAGE, `notebook parameter ${name}=${raw} is not a boolean (1/0, true/false, yes/no)`);
    },
    document: document as unknown as Document,
    plot(plotOptions) {
      return Plot.plot({ ...plotOptions, document: document as unknown as Document }) as unknown as Figure;
    },
    store() {
      store ??= (async () => {
        const fallback = join(dataDir, 'site.duckdb');
        const path = options.db ?? (existsSync(fallback) ? fallback : null);
        if (!path) throw new UserError(ErrorCode.USAGE, `notebook ${label} reads a DuckDB store: give --db FILE (filled by heir demo, or heir rama simulate then heir rama site)`);
        if (!existsSync(path)) throw new UserError(ErrorCode.STORE_OPEN, `DuckDB file ${path} does not exist`);
        const parquet = statSync(path).isDirectory();
        const opened = parquet ? await openParquetDir(path) : await openStore(path, { readOnly: true });
        const counts: string[] = [];
        for (const t of await opened.tables()) counts.push(`${t} ${(await opened.count(t)).toLocaleString('en-US')}`);
        sources.push(`${parquet ? 'Parquet export' : 'DuckDB store'} ${path} (${counts.join(', ') || 'no tables'})`);
        return opened;
      })();
      return store;
    },
    data: {
      dir: dataDir,
      load(name: string, request: LoadRequest = {}) {
        const key = JSON.stringify([name, request.sample ?? false, request.target ?? 'binary', request.keep ?? []]);
        let data = datasets.get(key);
        if (!data) {
          const loc = locateDataset(name, dataDir, request.sample ?? false);
          data = loadDataset(loc.adapter, loc.path, { keep: request.keep, leakTarget: request.target ?? 'binary' });
          datasets.set(key, data);
          const c = data.cleaning;
          sources.push(`dataset ${name}: ${loc.path} (${loc.sample ? 'committed sample' : 'full file'}, sha256 ${sha256Prefix(loc.path)}…, ${c.rowsRead.toLocaleString('en-US')} rows read, ${c.rowsKept.toLocaleString('en-US')} kept)`);
        }
        return data;
      },
    },
    once<T>(key: string, compute: () => T | Promise<T>): Promise<T> {
      let value = memo.get(key) as Promise<T> | undefined;
      if (!value) memo.set(key, (value = Promise.resolve().then(compute)));
      return value;
    },
    source(description) {
      sources.push(description);
    },
  };

  const cellSource = await cellSources(options.path ?? null, nb.cells);
  const counts = { figures: 0, tables: 0, warnings: 0 };
  const sections: string[] = [];
  try {
    for (let i = 0; i < nb.cells.length; i++) {
      const cell = nb.cells[i];
      let output: Output;
      try {
        output = typeof cell === 'function' ? await cell(ctx) : cell;
      } catch (error) {
        const where = `notebook ${label}, cell ${i + 1}`;
        if (error instanceof HeirError) throw new UserError(error.code, `${where}: ${error.message}`, { cause: error });
        // One line: a multi-line message (a DuckDB binder error with its caret) is joined.
        const text = messageOf(error).split('\n').map((l) => l.trim()).filter((l) => l !== '' && !/^\^+$/.test(l)).join(' · ');
        throw new UserError(ErrorCode.NOTEBOOK_FAILED, `${where}: ${text}`, { cause: error });
      }
      const html = renderOutput(output, counts, `notebook ${label}, cell ${i + 1}`);
      const kind = typeof cell === 'function' ? 'code' : 'markdown';
      sections.push(
        `<section class="cell ${kind}" id="cell-${i + 1}">\n<div class="output">${html}</div>\n<details class="source"><summary>cell ${i + 1} source</summary><pre><code>${escapeHtml(cellSource[i])}</code></pre></details>\n</section>`,
      );
    }
  } finally {
    // Assigned inside ctx.store(), which the compiler cannot see from here.
    const opened = store as Promise<NotebookStore & { close(): Promise<void> }> | null;
    if (opened) await (await opened.catch(() => null))?.close();
  }
  const seconds = (performance.now() - started) / 1000;
  const html = page(nb, {
    when: (options.now ?? new Date()).toISOString(),
    file: options.path ? relative(REPO_ROOT, options.path) || options.path : null,
    params,
    sources,
    seconds,
    counts,
    sections,
  });
  return { html, cells: nb.cells.length, ...counts, sources, seconds };
}

/** Render a notebook by name or path to one HTML file. */
export async function renderToFile(nameOrPath: string, out: string, options: Omit<RenderOptions, 'path' | 'name'> = {}): Promise<RenderResult & { out: string; name: string }> {
  const file = await loadNotebook(nameOrPath);
  const result = await renderNotebook(file.notebook, { ...options, path: file.path, name: file.name });
  const target = resolve(out);
  if (!existsSync(dirname(target)) || !statSync(dirname(target)).isDirectory()) throw new UserError(ErrorCode.USAGE, `cannot write ${out}: ${dirname(target)} is not a directory`);
  writeFileSync(target, result.html);
  return { ...result, out: target, name: file.name };
}

function isFigure(value: unknown): value is Figure {
  return typeof value === 'object' && value !== null && typeof (value as Figure).outerHTML === 'string';
}

function renderOutput(output: Output, counts: { figures: number; tables: number; warnings: number }, where: string): string {
  if (output === null || output === undefined) return '';
  if (typeof output === 'string') return markdownToHtml(output);
  if (Array.isArray(output)) return (output as readonly Output[]).map((o) => renderOutput(o, counts, where)).join('\n');
  if (isFigure(output)) {
    counts.figures++;
    return `<div class="figure" data-figure="${counts.figures}">${output.outerHTML}</div>`;
  }
  const o = output as Exclude<Output, string | null | undefined | readonly Output[] | Figure>;
  switch (o.kind) {
    case 'markdown':
      return markdownToHtml(o.markdown);
    case 'text':
      return `<pre class="text">${escapeHtml(o.text)}</pre>`;
    case 'note':
      if (o.level === 'warning') counts.warnings++;
      return `<div class="note ${o.level}" role="${o.level === 'warning' ? 'alert' : 'note'}">${markdownToHtml(o.markdown)}</div>`;
    case 'table':
      counts.tables++;
      return tableHtml(o.rows, o.columns, o.caption, o.limit ?? 50);
    default:
      throw new UserError(ErrorCode.NOTEBOOK_FAILED, `${where}: returned something that is not markdown, a figure, a table, text or a note (${JSON.stringify(output)?.slice(0, 80)})`);
  }
}

/** A cell value as table text: integers grouped, other numbers to four significant digits. */
export function formatValue(value: unknown): string {
  if (value === null || value === undefined) return '—';
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) return String(value);
    if (Number.isInteger(value)) return value.toLocaleString('en-US');
    const abs = Math.abs(value);
    return abs !== 0 && (abs < 1e-3 || abs >= 1e7) ? value.toExponential(3) : String(Number(value.toPrecision(4)));
  }
  if (typeof value === 'bigint') return value.toLocaleString('en-US');
  if (value instanceof Date) return value.toISOString();
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

function tableHtml(rows: readonly Readonly<Record<string, unknown>>[], columns: readonly string[] | undefined, caption: string | undefined, limit: number): string {
  const cols = columns ?? (rows.length > 0 ? Object.keys(rows[0]) : []);
  const numeric = cols.map((c) => rows.length > 0 && rows.every((r) => r[c] === null || r[c] === undefined || typeof r[c] === 'number' || typeof r[c] === 'bigint'));
  const head = `<tr>${cols.map((c, j) => `<th${numeric[j] ? ' class="num"' : ''}>${escapeHtml(c)}</th>`).join('')}</tr>`;
  const body = rows
    .slice(0, limit)
    .map((r) => `<tr>${cols.map((c, j) => `<td${numeric[j] ? ' class="num"' : ''}>${escapeHtml(formatValue(r[c]))}</td>`).join('')}</tr>`)
    .join('\n');
  const more = rows.length > limit ? `<p class="more">${(rows.length - limit).toLocaleString('en-US')} more rows not shown (${rows.length.toLocaleString('en-US')} in all)</p>` : '';
  const empty = rows.length === 0 ? '<p class="more">no rows</p>' : '';
  return `<div class="table"><table>${caption ? `<caption>${escapeHtml(caption)}</caption>` : ''}<thead>${head}</thead><tbody>${body}</tbody></table>${more}${empty}</div>`;
}

const STYLE = `
:root { color-scheme: light; --fg: #1d1d1f; --muted: #5f6368; --line: #d9dce1; --bg-soft: #f6f7f9; }
body { margin: 0; font: 15px/1.5 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--fg); background: #fff; }
header, main, footer { max-width: 980px; margin: 0 auto; padding: 0 24px; }
header { border-bottom: 1px solid var(--line); padding-bottom: 12px; }
header h1 { margin: 24px 0 4px; font-size: 26px; }
header .description { margin: 0 0 12px; color: var(--muted); }
header dl { display: grid; grid-template-columns: max-content 1fr; gap: 2px 16px; margin: 0; font-size: 13px; }
header dt { color: var(--muted); }
header dd { margin: 0; overflow-wrap: anywhere; }
header ul { margin: 0; padding-left: 18px; }
.cell { border-bottom: 1px solid var(--line); padding: 16px 0; }
.cell.markdown .output > :first-child { margin-top: 0; }
.figure { margin: 12px 0; overflow-x: auto; }
.figure figure { margin: 0; }
.figure h2 { font-size: 16px; margin: 0 0 4px; }
.figure h3 { font-size: 13px; font-weight: normal; color: var(--muted); margin: 0 0 8px; }
.table { overflow-x: auto; margin: 12px 0; }
table { border-collapse: collapse; font-size: 13px; }
caption { text-align: left; font-weight: 600; padding-bottom: 4px; }
th, td { border-bottom: 1px solid var(--line); padding: 3px 10px; text-align: left; white-space: nowrap; }
th { background: var(--bg-soft); }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
.more { color: var(--muted); font-size: 12px; margin: 4px 0; }
pre { background: var(--bg-soft); padding: 10px 12px; overflow-x: auto; font-size: 12.5px; line-height: 1.45; }
code { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace; font-size: 0.92em; }
.note { border-left: 4px solid #4269d0; background: #eef2fb; padding: 4px 14px; margin: 12px 0; }
.note.warning { border-left-color: #d1495b; background: #fcefef; }
details.source summary { cursor: pointer; color: var(--muted); font-size: 12px; }
.url { color: var(--muted); overflow-wrap: anywhere; }
footer { color: var(--muted); font-size: 12px; padding: 16px 24px 32px; }
`;

function page(
  nb: Notebook,
  info: { when: string; file: string | null; params: Record<string, string>; sources: readonly string[]; seconds: number; counts: { figures: number; tables: number; warnings: number }; sections: readonly string[] },
): string {
  const params = Object.entries(info.params);
  const rows: [string, string][] = [
    ['rendered', `${escapeHtml(info.when)} by ${escapeHtml(productVersion())} in ${info.seconds.toFixed(1)} s`],
    ...(info.file ? [['notebook', `<code>${escapeHtml(info.file)}</code>`] as [string, string]] : []),
    ['parameters', params.length > 0 ? params.map(([k, v]) => `<code>${escapeHtml(k)}=${escapeHtml(v)}</code>`).join(' ') : 'none'],
    ['data', info.sources.length > 0 ? `<ul>${info.sources.map((s) => `<li>${escapeHtml(s)}</li>`).join('')}</ul>` : 'none'],
    ['contents', `${nb.cells.length} cells, ${info.counts.figures} figures, ${info.counts.tables} tables${info.counts.warnings > 0 ? `, ${info.counts.warnings} warning${info.counts.warnings === 1 ? '' : 's'}` : ''}`],
  ];
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="${escapeHtml(productVersion())} notebook renderer">
<title>${escapeHtml(nb.title)}</title>
<style>${STYLE}</style>
</head>
<body>
<header>
<h1>${escapeHtml(nb.title)}</h1>
<p class="description">${escapeHtml(nb.description)}</p>
<dl>${rows.map(([k, v]) => `<dt>${k}</dt><dd>${v}</dd>`).join('')}</dl>
</header>
<main>
${info.sections.join('\n')}
</main>
<footer>Standalone page: figures are inline SVG (Observable Plot), nothing is loaded from the network. Each cell's source is under it.</footer>
</body>
</html>
`;
}
