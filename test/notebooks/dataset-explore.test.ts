import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseHTML } from 'linkedom';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { renderToFile } from '../../notebooks/render.ts';
import { assertStandalone, assertVisibleInChromium, countFigures } from '../helpers/notebook-page.ts';
import { resetWarnings } from '../../pipeline/warn.ts';

const dir = mkdtempSync(join(tmpdir(), 'heir-nb-explore-'));
// An empty data directory: the committed samples stand in.
const dataDir = mkdtempSync(join(tmpdir(), 'heir-nb-data-'));

test.after(() => {
  rmSync(dir, { recursive: true, force: true });
  rmSync(dataDir, { recursive: true, force: true });
});

test('WUSTL-EHMS-2020: class balance, leakage warning naming SrcMac, 4 distributions; opens in Chromium', async () => {
  resetWarnings();
  const out = join(dir, 'wustl.html');
  const result = await renderToFile('dataset-explore', out, { dataDir, params: { dataset: 'wustl-ehms-2020' } });
  const html = readFileSync(out, 'utf8');
  assert.is(result.figures, 6);
  const counts = countFigures(html);
  assert.is(counts.figures, 6);
  assert.ok(counts.svgs >= 6, `${counts.svgs} svgs`);
  assert.is(result.warnings, 1);
  assertStandalone(html);

  const { document } = parseHTML(html);
  const warning = document.querySelector('.note.warning');
  assert.ok(warning, 'a leakage warning');
  assert.match(warning!.textContent!, /Leakage:\s*SrcMac \(1\.000\) alone separates the binary classes/);
  assert.match(warning!.textContent!, /SrcMac is not used as a feature/);
  // The leakage table lists SrcMac first as an identifier.
  const leakTable = [...document.querySelectorAll('table')].find((t) => t.querySelector('caption')?.textContent === 'Leakage report (highest 20)');
  assert.ok(leakTable, 'leakage table');
  const first = [...leakTable!.querySelectorAll('tbody tr')][0].querySelectorAll('td');
  assert.equal([first[0].textContent, first[1].textContent, first[2].textContent, first[3].textContent], ['SrcMac', '1', 'yes', 'identifier']);
  // Class balance: 500 rows per category in the sample.
  const balance = document.querySelector('[data-figure="1"]')!;
  assert.match(balance.textContent!, /Rows per category class/);
  assert.is((balance.textContent!.match(/33\.3%/g) ?? []).length, 3);
  // Header: the data it ran on, and the citation.
  assert.match(html, /committed sample, sha256 [0-9a-f]{12}…, 1,500 rows read, 1,500 kept/);
  assert.match(html, /Hady, A\. Ghubaish, T\. Salman, D\. Unal, R\. Jain/);
  // Each cell's source is in a collapsed box.
  assert.is(document.querySelectorAll('details.source').length, result.cells);
  assert.is(document.querySelectorAll('details[open]').length, 0);
  assert.match(html, /ctx\.plot\(\{\s*title: `Rows per \$\{t\} class`/);

  await assertVisibleInChromium(out, 6);
});

test('CICIoMT2024: non-finite and duplicate counts, no leakage warning, Dadkhah et al. cited', async () => {
  const out = join(dir, 'ciciomt.html');
  const result = await renderToFile('dataset-explore', out, { dataDir, params: { dataset: 'ciciomt2024', features: '2' } });
  const html = readFileSync(out, 'utf8');
  assert.is(result.figures, 4);
  assert.is(result.warnings, 0);
  assertStandalone(html);
  const { document } = parseHTML(html);
  const rows = (caption: string) =>
    [...[...document.querySelectorAll('table')].find((t) => t.querySelector('caption')?.textContent === caption)!.querySelectorAll('tbody tr')].map((tr) =>
      [...tr.querySelectorAll('td')].map((td) => td.textContent),
    );
  assert.equal(rows('Rows removed by cleaning'), [
    ['rows read', '3,130'],
    ['malformed (dropped)', '0'],
    ['non-finite feature value (dropped)', '102'],
    ['exact duplicates (dropped)', '10'],
    ['rows kept', '3,018'],
  ]);
  assert.equal(rows('Non-finite values by column'), [['Rate', '102']]);
  assert.match(html, /Number<\/td><td>artefact<\/td>/);
  assert.match(html, /Dadkhah, E\. C\. P\. Neto/);
});

test('an unknown parameter and an unknown dataset are clear errors', async () => {
  try {
    await renderToFile('dataset-explore', join(dir, 'x.html'), { dataDir, params: { datset: 'wustl-ehms-2020' } });
    assert.unreachable();
  } catch (e) {
    assert.match((e as Error).message, /has no parameter 'datset' \(parameters: dataset, sample, balance, leak, features\)/);
  }
  try {
    await renderToFile('dataset-explore', join(dir, 'x.html'), { dataDir, params: { dataset: 'nope' } });
    assert.unreachable();
  } catch (e) {
    assert.match((e as Error).message, /notebook dataset-explore, cell 2: unknown dataset 'nope'/);
  }
});

test.run();
