/** `npx heir demo` on a fresh data directory, as a newcomer runs it, and once more on the same one. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { heir } from '../helpers/cli.ts';
import { openStore } from '../../pipeline/store.ts';

const dir = mkdtempSync(join(tmpdir(), 'heir-demo-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

test('heir demo stores every flow and shows incidents, findings and RAMA', async () => {
  const r = await heir(['demo', '--data-dir', dir], { timeoutMs: 300_000 });
  assert.is(r.code, 0, r.stderr);
  const m = /pipeline: (\d+) flows in (\d+) batches, (\d+) stored/.exec(r.stdout);
  assert.ok(m, r.stdout);
  assert.is(m![3], m![1], 'every published flow is stored');
  assert.ok(Number(m![1]) > 1000);
  for (const rule of ['cleartext-hl7', 'cleartext-dicom', 'telnet-service', 'default-credentials', 'obsolete-tls-version']) assert.match(r.stdout, rule);
  assert.match(r.stdout, /TCP_IP-DoS-SYN\s+denial-of-service/, 'the lab SYN flood is an incident');
  assert.match(r.stdout, /demo-hospital\s+\d+\.\d\d\s+/, 'a site RAMA score');

  const store = await openStore(join(dir, 'site.duckdb'), { readOnly: true });
  const [row] = await store.all<{ flows: number; with_facts: number }>("SELECT count(*)::INTEGER AS flows, count(*) FILTER (WHERE hl7_message_type IS NOT NULL OR dicom_called_ae IS NOT NULL)::INTEGER AS with_facts FROM flows");
  await store.close();
  assert.is(row.flows, Number(m![1]));
  assert.ok(row.with_facts >= 2, 'HL7 and DICOM facts are stored');
});

test('running the demo again on the same directory adds nothing', async () => {
  const r = await heir(['demo', '--data-dir', dir], { timeoutMs: 300_000 });
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stdout, /, 0 stored \((\d+) batches already stored\)/);
});

test.run();
