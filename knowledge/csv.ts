/**
 * A small RFC 4180 CSV reader (quoted fields, doubled quotes, newlines inside quotes) that keeps
 * the line number each record starts on, so errors can name the line.
 */

/** One record with the 1-based line it starts on. */
export interface CsvRecord {
  readonly line: number;
  readonly fields: string[];
}

/** Split CSV text into records. Throws an Error naming the line for an unterminated quote. */
export function parseCsv(text: string): CsvRecord[] {
  const records: CsvRecord[] = [];
  let fields: string[] = [];
  let field = '';
  let line = 1;
  let start = 1;
  let quoted = false;
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  const n = text.length;
  const endRecord = () => {
    fields.push(field);
    if (!(fields.length === 1 && fields[0] === '')) records.push({ line: start, fields });
    fields = [];
    field = '';
  };
  for (; i < n; i++) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i++;
        } else quoted = false;
      } else {
        if (ch === '\n') line++;
        field += ch;
      }
      continue;
    }
    if (ch === '"' && field === '') quoted = true;
    else if (ch === ',') {
      fields.push(field);
      field = '';
    } else if (ch === '\n' || ch === '\r') {
      if (ch === '\r' && text[i + 1] === '\n') i++;
      endRecord();
      line++;
      start = line;
    } else field += ch;
  }
  if (quoted) throw new Error(`line ${start}: a quoted field is not closed`);
  if (field !== '' || fields.length > 0) endRecord();
  return records;
}

/** Records as objects keyed by the header row; `line` is kept. Extra cells are an error naming the line. */
export function csvObjects(text: string): { header: string[]; rows: { line: number; values: Record<string, string> }[] } {
  const records = parseCsv(text);
  if (records.length === 0) return { header: [], rows: [] };
  const header = records[0].fields.map((h) => h.trim());
  const rows = records.slice(1).map((r) => {
    if (r.fields.length > header.length) throw new Error(`line ${r.line}: ${r.fields.length} fields, but the header has ${header.length}`);
    const values: Record<string, string> = {};
    header.forEach((h, j) => (values[h] = r.fields[j] ?? ''));
    return { line: r.line, values };
  });
  return { header, rows };
}
