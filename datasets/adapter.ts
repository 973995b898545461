/**
 * What a dataset adapter tells the loader: which file layout a header is, what each column is
 * (feature, label, identifier, capture-processing artefact, group), and the labels of a row at
 * each granularity. The loader (load.ts) does the rest the same way for every dataset.
 */

/** Label granularity: attack or not, attack family, or the finest class the dataset has. */
export type Target = 'binary' | 'category' | 'class';

/** The targets, in the order `--target` lists them. */
export const TARGETS: readonly Target[] = ['binary', 'category', 'class'];

/** Why a column is not a plain feature. */
export type ColumnRole = 'feature' | 'label' | 'identifier' | 'artefact' | 'group';

/** Labels of one row at every granularity. */
export interface RowLabels {
  readonly binary: string;
  readonly category: string;
  readonly class: string;
}

/** A dataset's knowledge of its files. */
export interface DatasetAdapter {
  /** Name used by `heir datasets` and `--dataset`. */
  readonly name: string;
  readonly title: string;
  /** Citation to show wherever data or results are shown. */
  readonly citation: string;
  /** The file under the data directory (`<data-dir>/<path>`). */
  readonly file: string;
  /** The committed sample under `datasets/samples/`. */
  readonly sample: string;
  /** The layout of a header (for example `cic-39`), or an error message naming what is missing. */
  layout(header: readonly string[]): { layout: string } | { error: string };
  /** Role of a column (and why, for identifiers and artefacts). */
  role(column: string): { role: ColumnRole; reason?: string };
  /** Reads the labels of a row; `cell(name)` gives the row's cell of a column. */
  labels(cell: (column: string) => string | undefined, file: string): RowLabels | { error: string };
  /** Capture (group) of a row, or null where the dataset has none. */
  group(cell: (column: string) => string | undefined, file: string): string | null;
  /** The benign class name at every target (for `benign` flags and binary metrics). */
  readonly benign: string;
}
