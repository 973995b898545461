/**
 * Output check for pcap ingest changes: runs `heir ingest pcap --json` of a reference checkout
 * (HEIR_BASE, a directory holding another revision of this repository, e.g. made with
 * `git archive <commit> | tar -x -C DIR` and a node_modules link) and of this checkout over the
 * same captures, and compares the flows line by line and field by field. Exits 1 on any
 * difference, naming the first ones.
 *
 *   HEIR_BASE=/tmp/heir-base npx tsx benchmarks/ingest-identical.ts [CAPTURE|DIR ...] [-- heir ingest flags]
 *
 * Default captures: every .pcap/.pcapng under ../shared/datasets/pcaps. With a reference output
 * kept from an earlier run (HEIR_BASE_JSON=FILE), the reference checkout is not run; the reference
 * output of a run is kept at HEIR_KEEP_JSON=FILE when given.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

const here = resolve(import.meta.dirname, '..');
const argv = process.argv.slice(2);
const dash = argv.indexOf('--');
const paths = dash < 0 ? argv : argv.slice(0, dash);
const flags = dash < 0 ? [] : argv.slice(dash + 1);

function captures(root: string): string[] {
  const st = statSync(root);
  if (st.isFile()) return [root];
  const out: string[] = [];
  for (const name of readdirSync(root).sort()) out.push(...(statSync(join(root, name)).isDirectory() ? captures(join(root, name)) : /\.pcap(ng)?$/.test(name) ? [join(root, name)] : []));
  return out;
}

const files = (paths.length > 0 ? paths : [resolve(here, '../shared/datasets/pcaps')]).flatMap((p) => captures(resolve(p)));
if (files.length === 0) throw new Error('no captures found');

function run(root: string): { out: string; err: string; cpuMs: number; wallMs: number } {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, [join(root, 'bin/heir.js'), 'ingest', 'pcap', '--json', ...flags, ...files], { cwd: root, maxBuffer: 1 << 30, encoding: 'utf8' });
  const wallMs = performance.now() - t0;
  if (r.status !== 0) throw new Error(`${root}: heir ingest exited ${r.status}: ${r.stderr.slice(-2000)}`);
  return { out: r.stdout, err: r.stderr, cpuMs: 0, wallMs };
}

const baseJson = process.env.HEIR_BASE_JSON;
const base = process.env.HEIR_BASE;
let before: string;
if (baseJson) before = readFileSync(baseJson, 'utf8');
else {
  if (!base) throw new Error('set HEIR_BASE (a reference checkout) or HEIR_BASE_JSON (its output)');
  const r = run(resolve(base));
  before = r.out;
  process.stderr.write(`reference: ${r.err.trim().split('\n').pop()} (${r.wallMs.toFixed(0)} ms)\n`);
  if (process.env.HEIR_KEEP_JSON) writeFileSync(process.env.HEIR_KEEP_JSON, before);
}
const now = run(here);
process.stderr.write(`this checkout: ${now.err.trim().split('\n').pop()} (${now.wallMs.toFixed(0)} ms)\n`);

const a = before.split('\n').filter(Boolean);
const b = now.out.split('\n').filter(Boolean);
let differences = 0;
const byField = new Map<string, number>();
const shown: string[] = [];
for (let i = 0; i < Math.max(a.length, b.length); i++) {
  if (a[i] === b[i]) continue;
  differences++;
  if (a[i] === undefined || b[i] === undefined) {
    byField.set('(missing line)', (byField.get('(missing line)') ?? 0) + 1);
    continue;
  }
  const x = JSON.parse(a[i]) as Record<string, unknown>;
  const y = JSON.parse(b[i]) as Record<string, unknown>;
  for (const k of new Set([...Object.keys(x), ...Object.keys(y)])) {
    if (JSON.stringify(x[k]) === JSON.stringify(y[k])) continue;
    byField.set(k, (byField.get(k) ?? 0) + 1);
    if (shown.length < 10) shown.push(`line ${i + 1} (${String(y.community_id)}) ${k}: ${JSON.stringify(x[k])} → ${JSON.stringify(y[k])}`);
  }
}
console.log(`${files.length} captures${flags.length ? ` (${flags.join(' ')})` : ''}: reference ${a.length} flows, now ${b.length} flows, ${differences} differing lines`);
if (differences > 0) {
  for (const [k, n] of byField) console.log(`  ${k}: ${n}`);
  for (const s of shown) console.log(`  ${s}`);
  process.exitCode = 1;
} else console.log('identical: every flow, in the same order, with the same values');
