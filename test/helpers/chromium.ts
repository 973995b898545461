/**
 * Open a rendered page in Debian's Chromium (headless, through playwright-core) and report what a
 * reader would see: the size of every notebook figure, console errors, failed loads and every
 * request the page made besides its own file.
 */
import { existsSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';

/** Debian's Chromium. */
export const CHROMIUM = '/usr/bin/chromium';

/** What the page showed. */
export interface PageReport {
  /** Bounding box of each `.figure` and of the largest `<svg>` inside it, in page order. */
  readonly figures: readonly { readonly width: number; readonly height: number; readonly svgWidth: number; readonly svgHeight: number }[];
  readonly consoleErrors: readonly string[];
  readonly pageErrors: readonly string[];
  /** URLs requested other than the page itself. */
  readonly requests: readonly string[];
  readonly title: string;
}

/** Fail with the package to install when Chromium is missing. */
export function requireChromium(): void {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: install the Debian package chromium (apt-get install chromium)`);
}

/** Load an HTML file and measure its figures. */
export async function inspectPage(path: string): Promise<PageReport> {
  requireChromium();
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-background-networking', '--disable-gpu', '--no-first-run'],
  });
  try {
    const page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
    const consoleErrors: string[] = [];
    const pageErrors: string[] = [];
    const requests: string[] = [];
    const url = pathToFileURL(path).href;
    page.on('console', (m) => {
      if (m.type() === 'error') consoleErrors.push(m.text());
    });
    page.on('pageerror', (e) => pageErrors.push(e.message));
    page.on('request', (r) => {
      if (r.url() !== url) requests.push(r.url());
    });
    page.on('requestfailed', (r) => consoleErrors.push(`failed to load ${r.url()}`));
    await page.goto(url, { waitUntil: 'load' });
    // Sizes as laid out (a hidden figure measures 0 × 0); the chart is the largest SVG of its
    // figure (legend swatches are small ones).
    const figures = await page.evaluate(() =>
      [...document.querySelectorAll('.figure')].map((figure) => {
        const box = figure.getBoundingClientRect();
        let svg = { width: 0, height: 0 };
        for (const s of figure.querySelectorAll('svg')) {
          const b = s.getBoundingClientRect();
          if (b.width * b.height > svg.width * svg.height) svg = { width: b.width, height: b.height };
        }
        return { width: box.width, height: box.height, svgWidth: svg.width, svgHeight: svg.height };
      }),
    );
    return { figures, consoleErrors, pageErrors, requests, title: await page.title() };
  } finally {
    await browser.close();
  }
}
