/**
 * Reading dataset CSV files (plain or gzip-compressed): a header and rows of text cells. Quoted
 * cells (RFC 4180) are handled; a row whose cell count differs from the header's is reported with
 * its line number rather than guessed at.
 */
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { ErrorCode, UserError } from '../pipeline/errors.ts';

/** A parsed CSV file. */
export interface CsvText {
  readonly path: string;
  readonly header: readonly string[];
  /** Cells per row, in file order. */
  readonly rows: readonly (readonly string[])[];
  /** The raw text of each row (for exact-duplicate detection). */
  readonly lines: readonly string[];
  /** Rows whose cell count was wrong: line number (1-based) and reason. */
  readonly malformed: readonly { line: number; reason: string }[];
}

/** Read a `.csv` or `.csv.gz` file (gzip is recognised by its magic bytes, whatever the name). */
export function readCsvFile(path: string): CsvText {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (error) {
    throw new UserError(ErrorCode.INPUT_UNREADABLE, `cannot read ${path}: ${(error as Error).message}`, { cause: error });
  }
  if (bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b) {
    try {
      bytes = gunzipSync(bytes);
    } catch (error) {
      throw new UserError(ErrorCode.INPUT_UNREADABLE, `${path}: not a readable gzip file: ${(error as Error).message}`, { cause: error });
    }
  }
  return parseCsv(bytes.toString('utf8'), path);
}

/** Parse CSV text; the first line is the header. */
export function parseCsv(text: string, path = '<text>'): CsvText {
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  const lines = text.split(/\r?\n/);
  while (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  if (lines.length === 0) throw new UserError(ErrorCode.INPUT_MALFORMED, `${path}: empty file (no header)`);
  const header = splitLine(lines[0]).map((h) => h.trim());
  const rows: string[][] = [];
  const kept: string[] = [];
  const malformed: { line: number; reason: string }[] = [];
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i];
    if (line === '') continue;
    const cells = splitLine(line);
    if (cells.length !== header.length) {
      malformed.push({ line: i + 1, reason: `${cells.length} cells, header has ${header.length}` });
      continue;
    }
    rows.push(cells);
    kept.push(line);
  }
  return { path, header, rows, lines: kept, malformed };
}

function splitLine(line: string): string[] {
  if (line.indexOf('"') === -1) return line.split(',');
  const cells: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i];
    if (quoted) {
      if (ch === '"') {
        if (line[i + 1] === '"') {
          cell += '"';
          i++;
        } else quoted = false;
      } else cell += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') {
      cells.push(cell);
      cell = '';
    } else cell += ch;
  }
  cells.push(cell);
  return cells;
}

/** A cell as a number: CIC writes `inf`/`-inf`, pandas `nan`; empty is NaN. */
export function numberOf(cell: string): number {
  const t = cell.trim();
  if (t === '') return NaN;
  const n = Number(t);
  if (!Number.isNaN(n)) return n;
  const lower = t.toLowerCase();
  if (lower === 'inf' || lower === '+inf' || lower === 'infinity') return Infinity;
  if (lower === '-inf' || lower === '-infinity') return -Infinity;
  return NaN;
}
