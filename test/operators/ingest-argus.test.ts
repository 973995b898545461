/**
 * Argus CSV: a real capture (a shared medical-device pcap) read by argus, printed by ra in the
 * explicit-field form (-n -u -s …) and in the default form, and parsed. Packet and byte totals must
 * equal what tshark counts in the same pcap.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { communityId } from '../../pipeline/flow-id.ts';
import { recentWarnings, resetWarnings } from '../../pipeline/warn.ts';
import { parser } from '../../operators/ingest-argus.ts';
import { requireTool } from '../helpers/loopback.ts';
import { fuzzLineParser, parseBytes, parseFile, quietly, rejectsInput } from '../helpers/ingest.ts';

const PCAP = new URL('../../../shared/datasets/pcaps/medical-devices/babymonitor/wifi/6_1.pcap', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'heir-argus-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

function sh(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed: ${r.stderr}`);
  return r.stdout;
}

let archive = '';
function argusArchive(): string {
  if (archive) return archive;
  requireTool('argus', 'argus-server');
  requireTool('ra', 'argus-client');
  archive = join(dir, 'out.argus');
  sh('argus', ['-r', PCAP, '-w', archive]);
  return archive;
}

/** Packets and IP bytes in the pcap, counted by tshark. */
function pcapTotals(): { packets: number; bytes: number } {
  requireTool('tshark', 'tshark');
  const lengths = sh('tshark', ['-r', PCAP, '-T', 'fields', '-e', 'ip.len']).trim().split('\n');
  return { packets: lengths.length, bytes: lengths.reduce((s, l) => s + Number(l), 0) };
}

test('ra -n -u -s with direction counts: totals equal the pcap, each way kept', async () => {
  const csv = join(dir, 'fields.csv');
  writeFileSync(csv, sh('ra', ['-r', argusArchive(), '-c', ',', '-n', '-u', '-s', 'stime', 'ltime', 'dur', 'proto', 'saddr', 'sport', 'dir', 'daddr', 'dport', 'spkts', 'dpkts', 'sbytes', 'dbytes', 'pkts', 'bytes', 'state']));
  const { rows, deadLetters } = await parseFile(parser, csv);
  assert.equal(deadLetters, []);
  const lines = sh('ra', ['-r', argusArchive(), '-n', '-c', ',', '-s', 'proto']).trim().split('\n').slice(1);
  assert.is(rows.length, lines.filter((l) => l.trim() !== 'man').length, 'one flow per non-management record');
  const totals = pcapTotals();
  assert.is(rows.reduce((s, r) => s + r.fwd_packets + r.bwd_packets, 0), totals.packets);
  assert.is(rows.reduce((s, r) => s + r.fwd_bytes + r.bwd_bytes, 0), totals.bytes);
  assert.ok(rows.some((r) => r.bwd_packets > 0), 'responder counts are kept');
  const dns = rows.find((r) => r.ip_proto === 17 && r.dst_port === 53)!;
  assert.ok(dns, 'a DNS flow');
  assert.is(dns.community_id, communityId(dns.src_addr, dns.dst_addr, 17, dns.src_port, 53));
  assert.is(dns.source, 'argus');
  assert.ok(dns.ts_start > 1.6e15 && dns.ts_end >= dns.ts_start, 'epoch microseconds from -u');
  assert.is(dns.duration_s, (dns.ts_end - dns.ts_start) / 1e6);
  // Deterministic: parsing again gives the same flow ids.
  const again = await parseFile(parser, csv);
  assert.equal(again.rows.map((r) => r.flow_id), rows.map((r) => r.flow_id));
});

test('default ra -c , output: header learned, service names resolved, undated times warned', async () => {
  const csv = join(dir, 'default.csv');
  writeFileSync(csv, sh('ra', ['-r', argusArchive(), '-c', ',']));
  resetWarnings();
  const { rows, deadLetters } = await quietly(() => parseFile(parser, csv));
  assert.equal(deadLetters, []);
  const totals = pcapTotals();
  assert.is(rows.reduce((s, r) => s + r.fwd_packets, 0), totals.packets);
  assert.ok(rows.every((r) => r.bwd_packets === 0), 'no per-direction counts in the default field set');
  assert.ok(rows.some((r) => r.dst_port === 443) && rows.some((r) => r.dst_port === 853), 'https and domain-s resolved to ports');
  assert.ok(recentWarnings().some((w) => /has no date/.test(w)));
});

test('malformed rows are dead letters naming the line; wrong header is an InputError', async () => {
  const header = 'StartTime,Dur,Proto,SrcAddr,Sport,Dir,DstAddr,Dport,TotPkts,TotBytes,State';
  const text = [
    header,
    '1681865073.037992,0.5,tcp,192.168.1.108,47904,   ->,10.215.173.2,853,3,180,FIN',
    '1681865073.1,0.5,tcp,192.168.1.108,47905,   ->,10.215.173.2,853,3',
    '1681865073.2,abc,tcp,192.168.1.108,47906,   ->,10.215.173.2,853,3,180,FIN',
    '1681865073.3,0.5,tcp,192.168.1.108,not-a-service,   ->,10.215.173.2,853,3,180,FIN',
    '1681865073.4,0.5,udp,10.215.173.1,41636,  <->,10.215.173.2,53,2,350,CON',
  ].join('\n');
  const { rows, deadLetters } = await parseBytes(parser, text);
  assert.is(rows.length, 2);
  assert.equal(rows.map((r) => r.end_reason), ['fin', 'active']);
  assert.equal(deadLetters.map((d) => d.reason.split(':')[0]), ['line 3', 'line 4', 'line 5']);
  assert.match(deadLetters[0].reason, /expected 11 fields, found 9/);
  assert.match(deadLetters[1].reason, /Dur is not a number/);
  await rejectsInput(() => parseBytes(parser, 'ts,uid,orig\n1,2,3\n', { input: 'x.csv' }), /x\.csv: not an Argus CSV header .*missing StartTime, Proto, SrcAddr, DstAddr/);
  await rejectsInput(() => parseBytes(parser, '', { input: 'empty.csv' }), /empty\.csv: empty input/);
});

test('fuzz: random and mutated Argus CSV never crashes and bad lines are dead-lettered', async () => {
  await fuzzLineParser(parser, 'StartTime,Dur,Proto,SrcAddr,Sport,Dir,DstAddr,Dport,SrcPkts,DstPkts,SrcBytes,DstBytes,TotPkts,TotBytes,State', [
    '1681865073.037992,0.000000,tcp,192.168.1.108,47904,   ->,10.215.173.2,853,1,0,60,0,1,60,REQ',
    '1681865073.319540,0.017608,udp,10.215.173.1,41636,  <->,10.215.173.2,53,1,1,79,271,2,350,CON',
    '1681865073.5,0.1,icmp,10.215.173.1,0x0008,  <->,10.215.173.2,0x0000,1,1,84,84,2,168,ECO',
    '1681865074.0,0.002673,man,0,0,,0,0,0,0,0,0,0,0,STA',
  ]);
});

test.run();
