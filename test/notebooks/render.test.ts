import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseHTML } from 'linkedom';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { formatValue, listNotebookFiles, renderToFile } from '../../notebooks/render.ts';
import { ErrorCode, UserError } from '../../pipeline/errors.ts';
import { markdownToHtml } from '../../notebooks/markdown.ts';
import { md } from '../../notebooks/notebook.ts';
import { heir } from '../helpers/cli.ts';
import { inspectPage } from '../helpers/chromium.ts';
import { assertStandalone, countFigures } from '../helpers/notebook-page.ts';

const TINY = fileURLToPath(new URL('./fixtures/tiny.ts', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'heir-nb-render-'));

test.after(() => rmSync(dir, { recursive: true, force: true }));

test('a notebook renders every kind of output into one escaped, standalone page with each cell source', async () => {
  const out = join(dir, 'tiny.html');
  const result = await renderToFile(TINY, out, { now: new Date('2026-01-02T03:04:05Z') });
  assert.equal({ cells: result.cells, figures: result.figures, tables: result.tables, warnings: result.warnings }, { cells: 5, figures: 1, tables: 1, warnings: 1 });
  const html = readFileSync(out, 'utf8');
  assertStandalone(html);
  assert.equal(countFigures(html), { figures: 1, svgs: 1 });
  assert.match(html, /<title>Tiny &lt;notebook&gt;<\/title>/);
  assert.match(html, /<dt>rendered<\/dt><dd>2026-01-02T03:04:05\.000Z by heir \d+\.\d+\.\d+/);
  assert.match(html, /<dt>parameters<\/dt><dd><code>rows=5<\/code> <code>fail=no<\/code><\/dd>/);
  assert.match(html, /<dt>notebook<\/dt><dd><code>test\/notebooks\/fixtures\/tiny\.ts<\/code>/);

  const { document } = parseHTML(html) as unknown as { document: Document };
  const cells = [...document.querySelectorAll('section.cell')];
  assert.is(cells.length, 5);
  // Markdown: escaped, headings start at h2, inline markup, a list, links as text.
  const first = cells[0].querySelector('.output')!;
  assert.is(first.querySelector('h2')!.textContent, 'Heading with <script>alert(1)</script>');
  assert.is(document.querySelectorAll('script').length, 0);
  assert.is(first.querySelector('strong')!.textContent, 'bold');
  assert.is(first.querySelector('em')!.textContent, 'italics');
  assert.is(first.querySelector('code')!.textContent, 'code');
  assert.equal([...first.querySelectorAll('li')].map((li) => li.textContent), ['one', 'two']);
  assert.is(first.querySelectorAll('a').length, 0);
  assert.match(first.textContent!, /link \(https:\/\/example\.org\/x\)/);
  // Sources: the declaration of a cell kept in a constant, and the text of an inline one with its comment.
  const sources = cells.map((c) => c.querySelector('details.source code')!.textContent!);
  assert.match(sources[1], /^const squares = \(ctx: NotebookContext\) =>\n  ctx\.plot\(/);
  assert.match(sources[2], /^async \(ctx\) => \{\n  \/\/ Counting rows once per render\./);
  assert.match(sources[0], /^md`/);
  // Table: limit, number formatting; once() computed one value.
  const rows = [...cells[2].querySelectorAll('tbody tr')].map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent));
  assert.equal(rows, [['0', '0', 'row 0'], ['1', '0.5', 'row 1'], ['2', '1', 'row 2']]);
  assert.match(cells[2].textContent!, /2 more rows not shown \(5 in all\)/);
  assert.is(cells[2].querySelector('pre.text')!.textContent, 'once: 5');
  assert.is(cells[3].querySelector('.note.warning strong')!.textContent, 'warning');
  assert.is(cells[4].querySelector('.output em')!.textContent, 'markdown');
});

test('parameters: given values, unknown names, bad numbers; a failing cell is named', async () => {
  const more = await renderToFile(TINY, join(dir, 'p.html'), { params: { rows: '7' } });
  assert.is(more.tables, 1);
  assert.match(readFileSync(join(dir, 'p.html'), 'utf8'), /4 more rows not shown \(7 in all\)/);
  const failure = async (params: Record<string, string>) => {
    try {
      await renderToFile(TINY, join(dir, 'f.html'), { params });
    } catch (e) {
      assert.instance(e, UserError);
      return e as UserError;
    }
    throw new Error('expected the render to fail');
  };
  assert.match((await failure({ row: '3' })).message, /notebook 'Tiny <notebook>' has no parameter 'row' \(parameters: rows, fail\)/);
  assert.match((await failure({ rows: 'abc' })).message, /notebook tiny, cell 3: notebook parameter rows=abc is not a number/);
  const failed = await failure({ fail: 'yes' });
  assert.is(failed.code, ErrorCode.NOTEBOOK_FAILED);
  assert.match(failed.message, /^notebook tiny, cell 5: the cell failed · on purpose$/);
  assert.match((await failure({ fail: 'maybe' })).message, /fail=maybe is not a boolean/);
});

test('the standalone check catches an external image or stylesheet', () => {
  const page = `<meta http-equiv="Content-Security-Policy" content="default-src 'none'"><p>ok</p>`;
  // uvu rethrows its own assertion errors from assert.throws, so catch them here.
  const failure = (html: string) => {
    try {
      assertStandalone(html);
    } catch (e) {
      return (e as Error).message;
    }
    return null;
  };
  assert.is(failure(page), null);
  assert.match(failure(page + '<img src="https://example.org/a.png">') ?? '', /external references/);
  assert.match(failure(page + '<link rel="stylesheet" href="//cdn.example/x.css">') ?? '', /links a resource/);
  assert.match(failure(page + '<div style="background:url(http://x/y.png)"></div>') ?? '', /CSS loads a URL/);
  assert.match(failure('<p>no policy</p>') ?? '', /forbids network loads/);
});

test('md removes the indentation of cell text, also when the text starts beside the backtick', () => {
  const n = 3;
  const a = md`
      # Title ${n}
        indented code-like line
      - x
    `;
  assert.is(a.markdown, '# Title 3\n  indented code-like line\n- x');
  const b = md`## Heading
      - one
      - two`;
  assert.is(b.markdown, '## Heading\n- one\n- two');
  assert.is(markdownToHtml(b.markdown), '<h3>Heading</h3>\n<ul><li>one</li><li>two</li></ul>');
  assert.is(markdownToHtml('1. a\n2. b\n\n```\n<x> & y\n```'), '<ol><li>a</li><li>b</li></ol>\n<pre><code>&lt;x&gt; &amp; y</code></pre>');
});

test('the Chromium check sees a hidden figure, a blocked external image and a script error', async () => {
  const page = join(dir, 'broken.html');
  const svg = '<svg width="300" height="120" viewBox="0 0 300 120"><rect width="300" height="120" fill="teal"></rect></svg>';
  writeFileSync(
    page,
    `<!doctype html><html><head><meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'"><title>broken</title></head><body>` +
      `<div class="figure">${svg}</div><div class="figure" style="display:none">${svg}</div>` +
      `<img src="https://example.org/a.png"><script>throw new Error('boom')</script></body></html>`,
  );
  const report = await inspectPage(page);
  assert.is(report.figures.length, 2);
  assert.ok(report.figures[0].svgWidth === 300 && report.figures[0].svgHeight === 120, JSON.stringify(report.figures[0]));
  assert.equal([report.figures[1].width, report.figures[1].height], [0, 0]);
  assert.ok(report.consoleErrors.some((e) => /Content Security Policy|example\.org/.test(e)), report.consoleErrors.join('\n'));
  assert.ok(report.pageErrors.some((e) => /boom/.test(e)), report.pageErrors.join('\n'));
});

test('formatValue: grouped integers, four significant digits, exponents for the extremes', () => {
  assert.equal([1234567, 0.123456, 12.3456, 1e-5, 2.5e8, null, 'x', true].map(formatValue), ['1,234,567', '0.1235', '12.35', '1.000e-5', '250,000,000', '—', 'x', 'true']);
  assert.is(formatValue(2.5e8 + 0.5), '2.500e+8');
});

test('heir notebook list names the three notebooks and their parameters; an unknown notebook is one clear line', async () => {
  assert.equal(listNotebookFiles().map((f) => f.name), ['dataset-explore', 'model-evaluation', 'rama-benchmark']);
  const list = await heir(['notebook', 'list']);
  assert.is(list.code, 0, list.stderr);
  assert.match(list.stdout, /^dataset-explore\s+Dataset exploration: /m);
  assert.match(list.stdout, /^model-evaluation\s+Model evaluation: /m);
  assert.match(list.stdout, /^rama-benchmark\s+RAMA benchmark: /m);
  assert.match(list.stdout, /--param trees=30 {2}trees in the forest/);
  const missing = await heir(['notebook', 'render', 'nope']);
  assert.is(missing.code, 1);
  assert.match(missing.stderr, /no notebook 'nope' \(notebooks: dataset-explore, model-evaluation, rama-benchmark; or give the path of a \.ts file\)/);
  assert.is(missing.stderr.trim().split('\n').length, 1);
});

test.run();
