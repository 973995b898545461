import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseHTML } from 'linkedom';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { renderToFile } from '../../notebooks/render.ts';
import { assertStandalone, assertVisibleInChromium, countFigures } from '../helpers/notebook-page.ts';

const dir = mkdtempSync(join(tmpdir(), 'heir-nb-model-'));
const dataDir = mkdtempSync(join(tmpdir(), 'heir-nb-data-'));

test.after(() => {
  rmSync(dir, { recursive: true, force: true });
  rmSync(dataDir, { recursive: true, force: true });
});

function tableRows(document: Document, caption: string): string[][] {
  const t = [...document.querySelectorAll('table')].find((x) => x.querySelector('caption')?.textContent === caption);
  assert.ok(t, `table ${caption}`);
  return [...t!.querySelectorAll('tbody tr')].map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent ?? ''));
}

test('CICIoMT2024 category model: confusion matrix sums to the test rows, per-class scores, two importances; opens in Chromium', async () => {
  const out = join(dir, 'model.html');
  const result = await renderToFile('model-evaluation', out, { dataDir, params: { dataset: 'ciciomt2024', trees: '10', repeats: '1' } });
  const html = readFileSync(out, 'utf8');
  assert.is(result.figures, 4);
  assert.is(countFigures(html).figures, 4);
  assertStandalone(html);
  const { document } = parseHTML(html) as unknown as { document: Document };

  const scores = Object.fromEntries(tableRows(document, 'Held-out scores').map(([k, v]) => [k, v]));
  const testRows = Number(scores['test rows'].replaceAll(',', ''));
  // 3,018 rows kept, 30% of each class to test.
  assert.ok(testRows > 880 && testRows < 930, `test rows ${testRows}`);
  assert.is(Number(scores['training rows'].replaceAll(',', '')) + testRows, 3018);
  assert.is(scores.classes, '6');
  const accuracy = Number(scores['accuracy (test)']);
  assert.ok(accuracy > 0.6 && accuracy <= 1, `accuracy ${accuracy}`);

  // The confusion matrix's cell labels are counts that add up to the test rows, 6 × 6 of them.
  const confusion = document.querySelector('[data-figure="1"]')!;
  assert.match(confusion.querySelector('h2')!.textContent!, /Confusion matrix/);
  const labels = [...confusion.querySelectorAll('g[aria-label="text"] text')].map((t) => Number(t.textContent));
  assert.is(labels.length, 36);
  assert.is(labels.reduce((a, b) => a + b, 0), testRows);

  // Per-class: supports add up to the test rows; recall of each class = its diagonal / its row.
  const perClass = tableRows(document, 'Per-class scores');
  assert.equal(perClass.map((r) => r[0]), ['Benign', 'DDoS', 'DoS', 'MQTT', 'Recon', 'Spoofing']);
  assert.is(perClass.reduce((a, r) => a + Number(r[4].replaceAll(',', '')), 0), testRows);
  perClass.forEach((r, i) => {
    const row = labels.slice(i * 6, i * 6 + 6);
    const recall = row[i] / row.reduce((a, b) => a + b, 0);
    assert.ok(Math.abs(Number(r[2]) - recall) < 5e-4, `${r[0]} recall ${r[2]} vs ${recall}`);
  });

  // Both importances are drawn and tabulated for every feature (38).
  assert.match(html, /Impurity importance \(highest 15\)/);
  assert.match(html, /Permutation importance on the test rows \(highest 15\)/);
  assert.match(html, /18 more rows not shown \(38 in all\)/);
  // Leakage check: the Number artefact was kept out.
  assert.match(html, /Number<\/td><td>artefact<\/td>/);
  assert.match(html, /Dadkhah, E\. C\. P\. Neto/);

  await assertVisibleInChromium(out, 4);
});

test('WUSTL-EHMS-2020 with a temporal split: the leaking SrcMac is named and was kept out of the features', async () => {
  const out = join(dir, 'wustl.html');
  const result = await renderToFile('model-evaluation', out, { dataDir, params: { dataset: 'wustl-ehms-2020', target: 'binary', split: 'temporal', trees: '5', repeats: '1' } });
  const html = readFileSync(out, 'utf8');
  assert.is(result.figures, 4);
  assert.match(html, /temporal split/);
  assert.match(html, /<code>SrcMac<\/code> \(1\.000\) alone separates the binary classes and was kept out of the features/);
  assert.match(html, /Hady, A\. Ghubaish/);
});

test('a bad split name fails naming the cell and the parameter', async () => {
  try {
    await renderToFile('model-evaluation', join(dir, 'x.html'), { dataDir, params: { split: 'random' } });
    assert.unreachable();
  } catch (e) {
    assert.match((e as Error).message, /notebook model-evaluation, cell 2: parameter split=random: expected stratified, temporal, grouped/);
  }
});

test.run();
