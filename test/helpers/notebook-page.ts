/** Checks shared by the notebook tests: a rendered page is standalone and its figures show in Chromium. */
import * as assert from 'uvu/assert';
import { inspectPage } from './chromium.ts';

/** Figures the renderer marked, and `<svg>` elements in all. */
export function countFigures(html: string): { figures: number; svgs: number } {
  return { figures: (html.match(/<div class="figure" data-figure="\d+">/g) ?? []).length, svgs: (html.match(/<svg[\s>]/g) ?? []).length };
}

/** No script, stylesheet link, frame or object, and no src/href/url() that reaches the network. */
export function assertStandalone(html: string): void {
  assert.not.match(html, /<script[\s>]/i, 'page has a script');
  assert.not.match(html, /<link[\s>]/i, 'page links a resource');
  assert.not.match(html, /<(iframe|object|embed)[\s>]/i, 'page embeds a frame or object');
  const external = html.match(/\b(?:src|href|xlink:href|action)\s*=\s*["']?\s*(?:https?:)?\/\/[^"'\s>]*/gi) ?? [];
  assert.equal(external, [], `external references: ${external.join(', ')}`);
  const cssUrls = html.match(/url\(\s*["']?(?:https?:)?\/\//gi) ?? [];
  assert.equal(cssUrls, [], 'CSS loads a URL');
  assert.match(html, /Content-Security-Policy" content="default-src 'none'/, 'the page forbids network loads');
}

/** Open the page in Chromium: every figure has a non-empty box, no console or page error, no request. */
export async function assertVisibleInChromium(path: string, expectedFigures: number): Promise<void> {
  const report = await inspectPage(path);
  assert.equal(report.figures.length, expectedFigures, 'figures on the page');
  report.figures.forEach((f, i) => {
    assert.ok(f.width > 100 && f.height > 50, `figure ${i + 1} box ${f.width}×${f.height}`);
    assert.ok(f.svgWidth > 100 && f.svgHeight > 50, `figure ${i + 1} svg ${f.svgWidth}×${f.svgHeight}`);
  });
  assert.equal(report.consoleErrors, [], 'console errors');
  assert.equal(report.pageErrors, [], 'page errors');
  assert.equal(report.requests, [], 'requests besides the page');
}
