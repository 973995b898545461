/**
 * The notebook format: a notebook is a TypeScript module in `notebooks/` whose default export is
 * `notebook(title, cells)`. A cell is markdown (md`…`) or a function of the render context that
 * returns what to show: a Plot figure (`ctx.plot({...})`), a table, preformatted text, a note, more
 * markdown, or a list of those. `notebooks/render.ts` runs the cells in order and writes one
 * standalone HTML file (docs/notebooks.md).
 *
 * @example
 * export default notebook('Class balance', [
 *   md`# Class balance`,
 *   async (ctx) => ctx.plot({ marks: [Plot.barY(rows, { x: 'class', y: 'rows' })] }),
 * ]);
 */
import type { PlotOptions } from '@observablehq/plot';
import type { Dataset } from '../datasets/load.ts';
import type { Target } from '../datasets/adapter.ts';

/** Markdown, as a cell or as a cell's output. */
export interface Markdown {
  readonly kind: 'markdown';
  readonly markdown: string;
}

/** Rows shown as an HTML table. */
export interface Table {
  readonly kind: 'table';
  readonly rows: readonly Readonly<Record<string, unknown>>[];
  /** Columns in order (default: the keys of the first row). */
  readonly columns?: readonly string[];
  readonly caption?: string;
  /** Most rows shown (default 50); the rest are counted below the table. */
  readonly limit?: number;
}

/** Preformatted text. */
export interface Text {
  readonly kind: 'text';
  readonly text: string;
}

/** A highlighted box of markdown. */
export interface Note {
  readonly kind: 'note';
  readonly level: 'info' | 'warning';
  readonly markdown: string;
}

/** A rendered figure: what `ctx.plot` (Plot.plot with the render's document) returns. */
export interface Figure {
  readonly outerHTML: string;
}

/** What a code cell may return. Strings are markdown; null and undefined show nothing. */
export type Output = Markdown | Table | Text | Note | Figure | string | null | undefined | readonly Output[];

/** A code cell: runs with the render context. */
export type CodeCell = (ctx: NotebookContext) => Output | Promise<Output>;

/** A cell: markdown or code. */
export type Cell = Markdown | CodeCell;

/** A notebook module's default export. */
export interface Notebook {
  readonly kind: 'notebook';
  readonly title: string;
  /** One line for `heir notebook list`. */
  readonly description: string;
  /** Parameters the notebook reads, with their defaults and meaning (shown by `heir notebook list`). */
  readonly params: Readonly<Record<string, { readonly default: string; readonly doc: string }>>;
  readonly cells: readonly Cell[];
}

/** How a notebook loads a dataset (see `loadNamed` in the internal entry). */
export interface LoadRequest {
  /** Use the committed sample even when the full file is in the data directory. */
  readonly sample?: boolean;
  readonly target?: Target;
  readonly keep?: readonly string[];
}

/** What `ctx.store()` gives: a site's DuckDB file, or a directory of its Parquet export. */
export interface NotebookStore {
  /** The DuckDB file or Parquet directory. */
  readonly path: string;
  /** Run a query; rows as plain objects (BIGINT as number where it is safe). */
  all<T = Record<string, unknown>>(sql: string): Promise<T[]>;
  /** Table (or view) names. */
  tables(): Promise<string[]>;
  /** Rows of a table (0 when it does not exist). */
  count(table: string): Promise<number>;
}

/** What every cell is given. */
export interface NotebookContext {
  /** `--param k=v` values over the notebook's declared defaults. */
  readonly params: Readonly<Record<string, string>>;
  /** A parameter as a number, with a clear error when it is not one. */
  numberParam(name: string): number;
  /** A parameter as a boolean (`1`, `true`, `yes` are true). */
  booleanParam(name: string): boolean;
  /** The server-side DOM document figures are built in. */
  readonly document: Document;
  /** `Plot.plot(options)` in the render's document. */
  plot(options: PlotOptions): Figure;
  /**
   * The store of `--db`: a DuckDB file opened read-only, or a directory of Parquet files (`heir
   * export`) as views; default `<data-dir>/site.duckdb`. Opened once per render.
   */
  store(): Promise<NotebookStore>;
  /** Datasets by name through the dataset adapters, loaded once per render. */
  readonly data: {
    readonly dir: string;
    load(name: string, request?: LoadRequest): Dataset;
  };
  /** Compute a value once per render and share it between cells (a trained model, a query). */
  once<T>(key: string, compute: () => T | Promise<T>): Promise<T>;
  /** Record something the notebook read, for the header (datasets and stores record themselves). */
  source(description: string): void;
}

/** A markdown cell (or output): md`# Title ${value}`. Values are inserted as text. */
export function md(strings: TemplateStringsArray | string, ...values: unknown[]): Markdown {
  if (typeof strings === 'string') return { kind: 'markdown', markdown: strings };
  let text = strings[0];
  values.forEach((v, i) => (text += String(v) + strings[i + 1]));
  return { kind: 'markdown', markdown: dedent(text) };
}

/** A table output. */
export function table(rows: readonly Readonly<Record<string, unknown>>[], options: { columns?: readonly string[]; caption?: string; limit?: number } = {}): Table {
  return { kind: 'table', rows, ...options };
}

/** A preformatted text output. */
export function text(value: string): Text {
  return { kind: 'text', text: value };
}

/** A highlighted note (warning: a finding the reader must not miss, such as a leaking column). */
export function note(level: 'info' | 'warning', markdown: string): Note {
  return { kind: 'note', level, markdown };
}

/** Declare a notebook. */
export function notebook(
  title: string,
  cells: readonly Cell[],
  options: { description?: string; params?: Readonly<Record<string, { default: string; doc: string }>> } = {},
): Notebook {
  if (title.trim() === '') throw new TypeError('a notebook needs a title');
  cells.forEach((cell, i) => {
    if (typeof cell !== 'function' && !(cell && (cell as Markdown).kind === 'markdown')) throw new TypeError(`notebook '${title}': cell ${i + 1} is neither markdown nor a function`);
  });
  return { kind: 'notebook', title, description: options.description ?? title, params: options.params ?? {}, cells };
}

/** Remove the indentation common to the non-blank lines of a template (cells are indented in source). */
function dedent(value: string): string {
  const lines = value.replace(/^\n/, '').split('\n');
  let indent = Infinity;
  // A first line that starts right after the backtick has no indentation of its own: skip it.
  lines.forEach((line, i) => {
    if (line.trim() !== '' && !(i === 0 && !value.startsWith('\n'))) indent = Math.min(indent, line.length - line.trimStart().length);
  });
  if (!Number.isFinite(indent) || indent === 0) return lines.join('\n').trimEnd();
  return lines.map((l) => l.slice(Math.min(indent, l.length - l.trimStart().length))).join('\n').trimEnd();
}
