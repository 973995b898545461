/**
 * Suricata EVE: the synthetic fixture (test/fixtures/README.md) holds flow events and other event
 * types; only flows become rows, the rest are counted in one warning. Community IDs are checked,
 * including the specification's published example.
 */
import { readFileSync } from 'node:fs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { recentWarnings, resetWarnings } from '../../pipeline/warn.ts';
import { parser } from '../../operators/ingest-eve.ts';
import { parser as zeek } from '../../operators/ingest-zeek.ts';
import { fuzzLineParser, parseBytes, parseFile, quietly, rejectsInput } from '../helpers/ingest.ts';

const EVE = new URL('../fixtures/eve.json', import.meta.url).pathname;

test('flow events become flows; other events are counted, not dead-lettered', async () => {
  resetWarnings();
  const { rows, deadLetters } = await quietly(() => parseFile(parser, EVE));
  assert.equal(deadLetters, []);
  assert.is(rows.length, 7);
  assert.equal(recentWarnings().filter((w) => /skipped EVE events that are not flows \(stats: 1, alert: 1, dns: 1, tls: 1\)/.test(w)).length, 1);
  assert.ok(!recentWarnings().some((w) => /differ/.test(w)), 'every logged community_id equals ours');
  const hl7 = rows[0];
  assert.equal([hl7.src_addr, hl7.src_port, hl7.dst_addr, hl7.dst_port, hl7.ip_proto], ['10.10.1.21', 49152, '10.10.0.5', 2575, 6]);
  assert.equal([hl7.fwd_packets, hl7.bwd_packets, hl7.fwd_bytes, hl7.bwd_bytes], [8, 6, 1452, 358]);
  assert.equal([hl7.ts_start, hl7.ts_end], [1709287200125310, 1709287200538193]);
  assert.is(hl7.duration_s, 0.412883);
  assert.is(hl7.l7_proto, null, 'app_proto failed is null');
  assert.equal([hl7.tcp_flags_fwd, hl7.tcp_flags_bwd, hl7.end_reason], [0x1b, 0x1b, 'idle']);
  assert.is(rows[1].l7_proto, 'dicom');
  const icmp = rows.find((r) => r.ip_proto === 1)!;
  assert.equal([icmp.src_port, icmp.dst_port], [8, 0]);
  const tls = rows.find((r) => r.l7_proto === 'tls')!;
  assert.equal([tls.vlan_id, tls.src_mac, tls.dst_mac, tls.end_reason], [20, '00:1b:21:3a:4f:10', '00:0c:29:aa:bb:cc', 'active']);
  const v6 = rows.find((r) => r.ip_version === 6)!;
  assert.equal([v6.bwd_packets, v6.duration_s, v6.end_reason], [0, 0, 'eof']);
  assert.is(rows[6].community_id, '1:LQU9qZlK+B5F3KDmev6m5PMibrg=', 'the specification example');
});

test('the same connection from Zeek and from Suricata gets the same flow id', async () => {
  const eve = await quietly(() => parseFile(parser, EVE));
  const conn = await quietly(() => parseFile(zeek, new URL('../fixtures/zeek-conn.log', import.meta.url).pathname));
  const zeekIds = new Set(conn.rows.map((r) => r.flow_id));
  assert.ok(eve.rows.filter((r) => zeekIds.has(r.flow_id)).length >= 6);
});

test('bad records are dead letters with the line; mismatching community_id is counted; not EVE is an InputError', async () => {
  const lines = readFileSync(EVE, 'utf8').trim().split('\n');
  const flow = lines[1];
  resetWarnings();
  const input = [
    flow.replace('DlAuR5R6Sv', 'YYYYYYYYYY'),
    flow.replace('"pkts_toserver":8', '"pkts_toserver":-8'),
    flow.replace('"src_ip":"10.10.1.21"', '"src_ip":"not-an-ip"'),
    flow.replace('"start":"2024-03-01T10:00:00.125310+0000"', '"start":"yesterday"'),
    '{"event_type":"flow"}',
    '[1,2,3]',
    '{"event_type":"flow",',
    lines[0],
  ].join('\n');
  const { rows, deadLetters } = await quietly(() => parseBytes(parser, input));
  assert.is(rows.length, 1);
  assert.is(rows[0].community_id, '1:DlAuR5R6Sv+TRKX6xetArCRdlgU=');
  assert.ok(recentWarnings().some((w) => /1 of 1 EVE community_id values differ/.test(w)));
  assert.equal(deadLetters.map((d) => d.reason.replace(/:.*/, '')), ['line 2', 'line 3', 'line 4', 'line 5', 'line 6', 'line 7']);
  assert.match(deadLetters[0].reason, /flow.pkts_toserver is missing or not a count/);
  assert.match(deadLetters[2].reason, /flow.start is missing or not an ISO 8601 time/);
  await rejectsInput(() => parseBytes(parser, 'timestamp,src\n', { input: 'x.csv' }), /x\.csv: not Suricata EVE JSON/);
});

test('fuzz: mutated EVE lines', async () => {
  const lines = readFileSync(EVE, 'utf8').trim().split('\n');
  await fuzzLineParser(parser, lines[1], lines);
});

test.run();
