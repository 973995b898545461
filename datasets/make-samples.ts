/**
 * Writes the committed samples in `datasets/samples/` from the full files: for each class (WUSTL
 * category) or capture (CICIoMT2024), an evenly spaced subset of its rows, in file order, so the
 * samples keep every class, the temporal order, and the traps (inf values, duplicates, SrcMac).
 * Run: npx tsx datasets/make-samples.ts [DATA_DIR]
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { readCsvFile } from './csv.ts';
import { ADAPTERS, defaultDataDir, SAMPLES_DIR } from './registry.ts';

/** Rows kept per class or capture. */
const PER_GROUP: Readonly<Record<string, number>> = { 'wustl-ehms-2020': 500, ciciomt2024: 150 };

const dataDir = process.argv[2] ?? defaultDataDir();
for (const adapter of ADAPTERS) {
  const csv = readCsvFile(join(dataDir, adapter.file));
  const index = new Map(csv.header.map((h, i) => [h, i]));
  const groups = new Map<string, number[]>();
  csv.rows.forEach((row, r) => {
    const cell = (name: string) => (index.has(name) ? row[index.get(name)!] : undefined);
    const labels = adapter.labels(cell, csv.path);
    const key = adapter.group(cell, csv.path) ?? ('error' in labels ? '?' : labels.category);
    let list = groups.get(key);
    if (!list) groups.set(key, (list = []));
    list.push(r);
  });
  const keep = new Set<number>();
  for (const list of groups.values()) {
    const want = Math.min(list.length, PER_GROUP[adapter.name]);
    for (let j = 0; j < want; j++) keep.add(list[Math.floor((j * list.length) / want)]);
  }
  const lines = [csv.header.join(','), ...csv.lines.filter((_, r) => keep.has(r))];
  const text = lines.join('\n') + '\n';
  const out = join(SAMPLES_DIR, adapter.sample);
  writeFileSync(out, adapter.sample.endsWith('.gz') ? gzipSync(text, { level: 9 }) : text);
  console.log(`${out}: ${lines.length - 1} rows`);
}
