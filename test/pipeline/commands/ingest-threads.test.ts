/**
 * `heir ingest pcap --threads 2` prints exactly what `--threads 1` prints (every flow, in order)
 * for real medical-device captures, and rejects a thread count below one.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const HEIR = new URL('../../../bin/heir.js', import.meta.url).pathname;
const SHARED = new URL('../../../../shared/datasets/pcaps/medical-devices/', import.meta.url).pathname;
const captures = readdirSync(SHARED, { recursive: true, encoding: 'utf8' })
  .filter((f) => f.endsWith('.pcap') && !f.includes('bluetooth'))
  .map((f) => join(SHARED, f))
  .filter((f) => statSync(f).size > 24)
  .sort((a, b) => statSync(b).size - statSync(a).size)
  .slice(0, 6);

function ingest(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  return spawnSync(process.execPath, [HEIR, 'ingest', 'pcap', '--json', ...args], { encoding: 'utf8', maxBuffer: 1 << 28 });
}

test('two threads print the same flows as one', () => {
  assert.ok(captures.length === 6, `shared captures found in ${SHARED}`);
  const one = ingest('--threads', '1', ...captures);
  const two = ingest('--threads', '2', ...captures);
  assert.is(one.status, 0, one.stderr);
  assert.is(two.status, 0, two.stderr);
  const lines = one.stdout.split('\n').filter(Boolean);
  assert.ok(lines.length > 100, `flows printed (${lines.length})`);
  assert.ok(lines.some((l) => l.includes('"l7_proto":"tls"')), 'L7 facts among them');
  assert.is(two.stdout, one.stdout);
  assert.is(two.stderr, one.stderr);
});

test('a thread count below one is a usage error', () => {
  const r = ingest('--threads', '0', captures[0]);
  assert.is.not(r.status, 0);
  assert.match(r.stderr, /threads/);
});

test.run();
