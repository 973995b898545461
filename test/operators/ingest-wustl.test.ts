/**
 * WUSTL-EHMS-2020: the shared dataset file (11,422 rows) parsed end to end; totals and label
 * counts are checked against an independent plain reading of the same CSV.
 */
import { readFileSync } from 'node:fs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parser } from '../../operators/ingest-wustl.ts';
import { fuzzLineParser, parseBytes, parseFile, rejectsInput } from '../helpers/ingest.ts';

const FILE = new URL('../../../shared/datasets/wustl-ehms-2020/wustl-ehms-2020.csv', import.meta.url).pathname;
const lines = readFileSync(FILE, 'utf8').trim().split('\n');
const header = lines[0].split(',');
const col = (name: string) => header.indexOf(name);

test('the shared file: every row a flow, totals and labels as in the CSV', async () => {
  const { rows, deadLetters } = await parseFile(parser, FILE);
  assert.equal(deadLetters, []);
  assert.is(rows.length, lines.length - 1);
  const data = lines.slice(1).map((l) => l.split(','));
  const sum = (name: string) => data.reduce((s, f) => s + Number(f[col(name)]), 0);
  assert.is(rows.reduce((s, r) => s + r.fwd_bytes, 0), sum('SrcBytes'));
  assert.is(rows.reduce((s, r) => s + r.bwd_bytes, 0), sum('DstBytes'));
  assert.is(rows.reduce((s, r) => s + r.fwd_packets, 0), sum('TotPkts'));
  const count = (pick: (f: string[]) => string) => {
    const m = new Map<string, number>();
    for (const f of data) m.set(pick(f), (m.get(pick(f)) ?? 0) + 1);
    return m;
  };
  const rowCount = (pick: (r: (typeof rows)[number]) => string) => {
    const m = new Map<string, number>();
    for (const r of rows) m.set(pick(r), (m.get(pick(r)) ?? 0) + 1);
    return m;
  };
  assert.equal(rowCount((r) => `${r.label}/${r.label_category}`), count((f) => `${f[col('Label')]}/${f[col('Attack Category')]}`));
  const first = rows[0];
  assert.equal([first.src_addr, first.dst_addr, first.src_port, first.dst_port, first.src_mac], ['10.0.1.172', '10.0.1.150', 58062, 1111, '84:3a:4b:0f:5b:94']);
  assert.equal([first.duration_s, first.ts_start, first.ts_end, first.pkt_len_min, first.pkt_len_max, first.end_reason], [0.012884, 0, 12884, 60, 310, 'dataset']);
  assert.is(first.community_id, null, 'no protocol column, no 5-tuple');
  const features = JSON.parse(first.features!) as Record<string, number>;
  assert.equal([features.Temp, features.Heart_rate, features.Resp_Rate, features.SrcLoad, features.Packet_num], [28.9, 78, 17, 230984, 2]);
  assert.not.ok('SrcAddr' in features || 'Label' in features || 'Flgs' in features);
  assert.is(Object.keys(features).length, header.length - 13);
  // Two rows carry Argus service names instead of numbers (fido, tfido): resolved, not dropped.
  assert.ok(rows.some((r) => r.src_port === 60179) && rows.some((r) => r.src_port === 60177));
  assert.is(new Set(rows.map((r) => r.flow_id)).size, rows.length, 'flow ids are unique (input name + line)');
});

test('bad rows and a foreign header', async () => {
  const good = lines[1];
  const text = [lines[0], good, good.replace('10.0.1.172', ''), good.replace(',496,', ',lots,'), good + ',extra', good.replace(',58062,', ',99999,')].join('\n');
  const { rows, deadLetters } = await parseBytes(parser, text);
  assert.is(rows.length, 1);
  assert.equal(deadLetters.map((d) => d.reason), [
    'line 3: missing SrcAddr or DstAddr',
    'line 4: SrcBytes is not a number: "lots"',
    'line 5: expected 45 fields, found 46',
    'line 6: Sport is not an integer in 0..65535: "99999"',
  ]);
  await rejectsInput(() => parseBytes(parser, 'StartTime,Proto\n1,tcp\n', { input: 'argus.csv' }), /argus\.csv: not a WUSTL-EHMS-2020 CSV header \(expected columns SrcAddr, DstAddr/);
});

test('fuzz: mutated WUSTL rows', async () => {
  await fuzzLineParser(parser, lines[0], lines.slice(1, 40));
});

test.run();
