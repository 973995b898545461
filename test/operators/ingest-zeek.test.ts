/**
 * Zeek conn.log: the synthetic TSV and JSON fixtures (test/fixtures/README.md) must give the same
 * flows; fields, nulls, history flags and Community IDs are checked against values known
 * independently (the Community ID specification's published example).
 */
import { readFileSync } from 'node:fs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { recentWarnings, resetWarnings } from '../../pipeline/warn.ts';
import { parser } from '../../operators/ingest-zeek.ts';
import { fuzzLineParser, parseBytes, parseFile, quietly, rejectsInput } from '../helpers/ingest.ts';

const TSV = new URL('../fixtures/zeek-conn.log', import.meta.url).pathname;
const JSONL = new URL('../fixtures/zeek-conn.json', import.meta.url).pathname;

test('TSV conn.log: every connection becomes a flow with Zeek fields mapped', async () => {
  resetWarnings();
  const { rows, deadLetters } = await quietly(() => parseFile(parser, TSV));
  assert.equal(deadLetters, []);
  assert.is(rows.length, 9);
  assert.equal(recentWarnings(), [], 'logged community_id values all equal ours');
  const hl7 = rows[0];
  assert.is(hl7.ts_start, 1709287200125310);
  assert.is(hl7.ts_end, 1709287200125310 + 412883);
  assert.is(hl7.duration_s, 0.412883);
  assert.equal([hl7.src_addr, hl7.src_port, hl7.dst_addr, hl7.dst_port, hl7.ip_proto], ['10.10.1.21', 49152, '10.10.0.5', 2575, 6]);
  assert.equal([hl7.fwd_packets, hl7.bwd_packets, hl7.fwd_bytes, hl7.bwd_bytes, hl7.fwd_payload_bytes, hl7.bwd_payload_bytes], [8, 6, 1452, 358, 1024, 38]);
  assert.is(hl7.end_reason, 'fin');
  assert.is(hl7.l7_proto, null, "'-' service is null");
  // ShADadFf: originator SYN, ACK, FIN; responder SYN+ACK, ACK, FIN.
  assert.is(hl7.tcp_flags_fwd, 0x02 | 0x10 | 0x01);
  assert.is(hl7.tcp_flags_bwd, 0x12 | 0x10 | 0x01);
  assert.is(rows[2].l7_proto, 'mqtt');
  assert.is(rows[2].end_reason, 'idle');
  const icmp = rows[4];
  assert.equal([icmp.ip_proto, icmp.src_port, icmp.dst_port, icmp.tcp_flags_fwd], [1, 8, 0, null]);
  const mdns = rows[5];
  assert.equal([mdns.ip_version, mdns.duration_s, mdns.fwd_payload_bytes, mdns.bwd_packets], [6, 0, null, 0]);
  assert.is(rows[6].end_reason, 'rst');
  assert.is(rows[7].l7_proto, 'tls', 'ssl,http → first service, ssl spelled tls');
  assert.is(rows[8].community_id, '1:LQU9qZlK+B5F3KDmev6m5PMibrg=', 'the specification example');
  assert.ok(rows.every((r) => r.source === 'zeek' && r.site_id === 'test-site'));
});

test('JSON lines give the same flows as TSV (same flow ids)', async () => {
  const tsv = await quietly(() => parseFile(parser, TSV));
  const json = await quietly(() => parseFile(parser, JSONL));
  assert.equal(json.deadLetters, []);
  assert.equal(json.rows, tsv.rows);
});

test('ISO timestamps, a mismatching community_id, bad rows, and a non-conn log', async () => {
  const line = readFileSync(JSONL, 'utf8').split('\n')[0];
  const iso = line.replace('"ts":1709287200.12531', '"ts":"2024-03-01T10:00:00.125310Z"');
  const wrongCid = line.replace('DlAuR5R6Sv', 'XXXXXXXXXX');
  resetWarnings();
  const { rows, deadLetters } = await quietly(() => parseBytes(parser, [iso, wrongCid, '{"ts":1,"id.orig_h":"10.0.0.1"}', 'not json', line.replace('"id.orig_p":49152', '"id.orig_p":70000')].join('\n')));
  assert.is(rows.length, 2);
  assert.is(rows[0].ts_start, 1709287200125310);
  assert.is(rows[1].community_id, '1:DlAuR5R6Sv+TRKX6xetArCRdlgU=', 'ours is kept');
  assert.ok(recentWarnings().some((w) => /1 of 2 Zeek community_id values differ/.test(w)));
  assert.equal(deadLetters.map((d) => d.reason.replace(/:.*/, '')), ['line 3', 'line 4', 'line 5']);
  assert.match(deadLetters[0].reason, /missing id.orig_p/);
  assert.match(deadLetters[2].reason, /id.orig_p is not a port/);
  const tsv = readFileSync(TSV, 'utf8');
  const badTsv = tsv.replace('1709287201.004771', 'yesterday').replace('\t1883\ttcp', '\t1883\ttcp\textra');
  const bad = await quietly(() => parseBytes(parser, badTsv));
  assert.is(bad.rows.length, 7);
  assert.equal(bad.deadLetters.map((d) => d.reason), ['line 10: ts is not a time: "yesterday"', 'line 11: expected 22 fields, found 23']);
  await rejectsInput(() => parseBytes(parser, tsv.replace('#path\tconn', '#path\tdns'), { input: 'dns.log' }), /dns\.log: line 5: a Zeek dns log, not a conn log/);
  await rejectsInput(() => parseBytes(parser, 'ts,uid\n1,2\n', { input: 'a.csv' }), /a\.csv: not a Zeek conn\.log/);
});

test('fuzz: TSV and JSON conn.log', async () => {
  const tsv = readFileSync(TSV, 'utf8').trim().split('\n');
  const header = tsv.filter((l) => l.startsWith('#') && !l.startsWith('#close')).join('\n');
  await fuzzLineParser(parser, header, [...tsv.filter((l) => !l.startsWith('#')), '#close\t2024-03-01-10-05-00'], { runs: Math.ceil(Number(process.env.HEIR_FUZZ_RUNS ?? 10_000) / 2) });
  const json = readFileSync(JSONL, 'utf8').trim().split('\n');
  await fuzzLineParser(parser, json[0], json.slice(1), { runs: Math.ceil(Number(process.env.HEIR_FUZZ_RUNS ?? 10_000) / 2), seed: 7 });
});

test.run();
