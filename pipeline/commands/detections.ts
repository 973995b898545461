import type { Command } from '../command.ts';
import { numberFlag, parseArgs, stringFlag, usageError } from '../command.ts';

const USAGE = `usage: heir detections --db FILE [--json] [--gap SECONDS]

Lists detections as incidents: repeated detections of one (device, threat, label) are folded
into one incident while each comes less than --gap seconds (default 60) after the previous one
ended, with the count, first_seen and last_seen, the highest confidence, the taxonomy and what
drove the most confident detection.
  --db FILE      the site's DuckDB store
  --json         one JSON object per line: label, threat, confidence, device, first_seen,
                 last_seen, taxonomy, count, mean_confidence, drivers
  --gap SECONDS  quiet time that separates two incidents (default 60)`;

/** `heir detections`: detections grouped into incidents. */
export const command: Command = {
  name: 'detections',
  summary: 'list detections grouped into incidents (device, threat, label) with counts and first/last seen',
  usage: USAGE,
  async run(argv) {
    const args = parseArgs('detections', argv, { db: 'string', json: 'boolean', gap: 'string' });
    if (args.positionals.length) usageError('detections', `unexpected argument ${args.positionals[0]}`);
    const db = stringFlag(args, 'db');
    if (!db) usageError('detections', '--db FILE is required');
    const gap = numberFlag('detections', args, 'gap', 60, 0);
    const { existsSync } = await import('node:fs');
    if (!existsSync(db)) usageError('detections', `no store at ${db}`);
    const { openStore } = await import('../store.ts');
    const { incidents } = await import('../incidents.ts');
    const store = await openStore(db, { readOnly: true });
    try {
      const list = await incidents(store, gap);
      if (args.flags.json === true) {
        for (const i of list) {
          const line = { label: i.label, threat: i.threat, confidence: i.confidence, device: i.device, first_seen: i.first_seen, last_seen: i.last_seen, taxonomy: i.taxonomy, count: i.count, mean_confidence: i.mean_confidence, drivers: i.drivers };
          process.stdout.write(JSON.stringify(line) + '\n');
        }
        return 0;
      }
      if (list.length === 0) {
        process.stdout.write(`no detections in ${db}\n`);
        return 0;
      }
      const header = ['first_seen', 'last_seen', 'device', 'threat', 'label', 'count', 'conf'];
      const rows = list.map((i) => [i.first_seen.slice(0, 23), i.last_seen.slice(0, 23), i.device, i.threat, i.label, String(i.count), i.confidence.toFixed(2)]);
      const widths = header.map((h, k) => Math.max(h.length, ...rows.map((r) => r[k].length)));
      const fmt = (r: string[]) => r.map((v, k) => (k === 5 || k === 6 ? v.padStart(widths[k]) : v.padEnd(widths[k]))).join('  ').trimEnd();
      process.stdout.write([fmt(header), ...rows.map(fmt)].join('\n') + '\n');
      process.stdout.write(`${list.length} incident(s), ${list.reduce((s, i) => s + i.count, 0)} detection(s); incidents split after ${gap} s without a detection\n`);
      return 0;
    } finally {
      await store.close();
    }
  },
};
