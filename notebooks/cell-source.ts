/**
 * The source text of each cell of a notebook file, as written (comments, types and formatting
 * kept), for the collapsed "source" box under each cell of the rendered page. The file is parsed
 * with the TypeScript compiler: the cells are the elements of the array passed to `notebook(…)`;
 * an element that is a name shows the declaration it names (a cell defined above the list).
 * Without the compiler (a production install) the functions' own text is used instead.
 */
import { readFileSync } from 'node:fs';
import type { Cell } from './notebook.ts';

type TS = typeof import('typescript');

async function compiler(): Promise<TS | null> {
  try {
    const mod = (await import('typescript')) as TS & { default?: TS };
    return mod.default ?? mod;
  } catch {
    return null;
  }
}

/** Source of each cell, in order; falls back to the runtime text when the file cannot be read as expected. */
export async function cellSources(path: string | null, cells: readonly Cell[]): Promise<string[]> {
  const fallback = cells.map((cell) => (typeof cell === 'function' ? cell.toString() : `md\`${cell.markdown}\``));
  if (!path) return fallback;
  const ts = await compiler();
  if (!ts) return fallback;
  const text = readFileSync(path, 'utf8');
  const file = ts.createSourceFile(path, text, ts.ScriptTarget.ES2022, true, ts.ScriptKind.TS);
  const declarations = new Map<string, string>();
  let elements: readonly import('typescript').Expression[] | null = null;
  const visit = (node: import('typescript').Node): void => {
    if (ts.isVariableStatement(node)) {
      for (const d of node.declarationList.declarations) if (ts.isIdentifier(d.name)) declarations.set(d.name.text, node.getText(file));
    } else if (ts.isFunctionDeclaration(node) && node.name) declarations.set(node.name.text, node.getText(file));
    if (elements === null && ts.isCallExpression(node) && ts.isIdentifier(node.expression) && node.expression.text === 'notebook') {
      const list = node.arguments[1];
      if (list && ts.isArrayLiteralExpression(list)) elements = list.elements;
    }
    ts.forEachChild(node, visit);
  };
  visit(file);
  const found = elements as readonly import('typescript').Expression[] | null;
  if (!found || found.length !== cells.length) return fallback;
  return found.map((e) => (ts.isIdentifier(e) && declarations.has(e.text) ? declarations.get(e.text)! : dedentFirst(e.getText(file), e.getStart(file), text)));
}

/** Re-indent an element's text: its first line starts at its column, later lines keep the file's indentation. */
function dedentFirst(snippet: string, start: number, text: string): string {
  const lineStart = text.lastIndexOf('\n', start - 1) + 1;
  const column = start - lineStart;
  const lines = snippet.split('\n');
  return lines.map((l, i) => (i === 0 ? l : l.slice(Math.min(column, l.length - l.trimStart().length)))).join('\n');
}
