/**
 * IPFIX / NetFlow v9 / v5: hand-built datagrams for each protocol rule (templates, options,
 * variable-length and enterprise fields, late templates, sequence gaps, malformed input), then
 * interoperability: softflowd exports a real capture (the shared baby-monitor pcaps merged) to HEIR's
 * collector and to nfdump's nfcapd, and flow counts, packet and byte totals, per-flow counters and
 * sequence-error counts must agree exactly. One run goes through the `heir collect` CLI with --db.
 * Last, fast-check fuzzing of the decoder with random and mutated datagrams.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { once } from 'node:events';
import { closeSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import fc from 'fast-check';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { collect, parseListen } from '../../pipeline/collector.ts';
import { communityId } from '../../pipeline/flow-id.ts';
import { flowBatch, flowRows, type FlowRow } from '../../pipeline/flow-schema.ts';
import { openStore } from '../../pipeline/store.ts';
import { FlowDecoder, IE } from '../../operators/ingest-ipfix.ts';
import { ExportColumns } from '../../operators/ingest-ipfix-columns.ts';
import { addressText } from '../../pipeline/flow-id.ts';
import { freePort, requireTool } from '../helpers/loopback.ts';
import { FUZZ_RUNS } from '../helpers/ingest.ts';
import { type Field, ip4, ipfix, set, templateRecord, u16, u32, u64, u8 } from '../helpers/ipfix-datagrams.ts';

const dir = mkdtempSync(join(tmpdir(), 'heir-ipfix-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));
const ROOT = new URL('../../', import.meta.url).pathname;
const PCAPS = new URL('../../../shared/datasets/pcaps/medical-devices/babymonitor/wifi/', import.meta.url).pathname;

// ---- datagram builders ---------------------------------------------------------------------

function varField(bytes: Buffer): Buffer {
  return bytes.length < 255 ? Buffer.concat([u8(bytes.length), bytes]) : Buffer.concat([u8(255), u16(bytes.length), bytes]);
}

const FLOW_TEMPLATE: readonly Field[] = [
  [IE.sourceIPv4Address, 4],
  [IE.destinationIPv4Address, 4],
  [IE.sourceTransportPort, 2],
  [IE.destinationTransportPort, 2],
  [IE.protocolIdentifier, 1],
  [IE.tcpControlBits, 2],
  [IE.octetDeltaCount, 8],
  [IE.packetDeltaCount, 4],
  [IE.flowStartMilliseconds, 8],
  [IE.flowEndMilliseconds, 8],
  [IE.flowEndReason, 1],
  [IE.vlanId, 2],
  [IE.sourceMacAddress, 6],
  [IE.destinationMacAddress, 6],
  [82, 65535], // interfaceName, variable length: skipped by length
  [9999, 4, 12345], // an enterprise field HEIR does not know: skipped by length
  [IE.octetDeltaCount, 4, 29305], // RFC 5103 reverseOctetDeltaCount
  [IE.packetDeltaCount, 4, 29305], // reversePacketDeltaCount
];

function flowRecord(sport: number, packets: number, octets: number, iface = 'eth0'): Buffer {
  return Buffer.concat([
    ip4('10.10.1.21'),
    ip4('10.10.0.5'),
    u16(sport),
    u16(2575),
    u8(6),
    u16(0x1b),
    u64(octets),
    u32(packets),
    u64(1709287200125),
    u64(1709287200538),
    u8(3),
    u16(20),
    Buffer.from([0x00, 0x1b, 0x21, 0x3a, 0x4f, 0x10]),
    Buffer.from([0x00, 0x0c, 0x29, 0xaa, 0xbb, 0xcc]),
    varField(Buffer.from(iface)),
    u32(7),
    u32(octets / 2),
    u32(packets - 1),
  ]);
}

/**
 * The columns of a decoder run hold exactly `rows`: as JSON lines (byte for byte what JSON.stringify
 * gives for the rows of an Arrow batch built from the row objects) and as an Arrow batch.
 */
function sameRows(columns: ExportColumns, rows: readonly Partial<FlowRow>[]): void {
  const expected = flowRows(flowBatch(rows)).map((r) => JSON.stringify(r) + '\n');
  const chunks: Buffer[] = [];
  columns.jsonLines((chunk) => chunks.push(Buffer.from(chunk)));
  assert.is(Buffer.concat(chunks).toString(), expected.join(''));
  assert.equal(flowRows(columns.toBatch()).map((r) => JSON.stringify(r) + '\n'), expected);
  assert.is(columns.length, 0, 'the batch took the rows');
}

// ---- protocol rules --------------------------------------------------------------------------

test('IPFIX: template, variable-length and enterprise fields, biflow reverse counters', () => {
  const decoder = new FlowDecoder({ site: 'h1', sensor: 'edge' });
  const message = ipfix(5, 0, set(2, templateRecord(256, FLOW_TEMPLATE)), set(256, flowRecord(49152, 8, 1452), flowRecord(49153, 3, 180, 'x'.repeat(300))));
  const out = decoder.decode(message, '10.0.0.9:4000');
  assert.equal(out.deadLetters, []);
  assert.is(out.batchId, 'ipfix:10.0.0.9:4000:5:0');
  assert.is(out.flows.length, 2);
  const f = out.flows[0];
  assert.equal([f.src_addr, f.dst_addr, f.src_port, f.dst_port, f.ip_proto, f.ip_version], ['10.10.1.21', '10.10.0.5', 49152, 2575, 6, 4]);
  assert.equal([f.fwd_bytes, f.fwd_packets, f.bwd_bytes, f.bwd_packets], [1452, 8, 726, 7]);
  assert.equal([f.ts_start, f.ts_end, f.duration_s, f.end_reason], [1709287200125000, 1709287200538000, 0.413, 'fin']);
  assert.equal([f.tcp_flags_fwd, f.vlan_id, f.src_mac, f.dst_mac, f.source, f.sensor_id], [0x1b, 20, '00:1b:21:3a:4f:10', '00:0c:29:aa:bb:cc', 'ipfix', 'edge']);
  assert.is(f.community_id, communityId('10.10.1.21', '10.10.0.5', 6, 49152, 2575));
  assert.is(out.flows[1].src_port, 49153, 'a 300-byte variable-length field (3-byte length) is skipped correctly');
  assert.is(decoder.stats.templates, 1);
  // The column path (heir collect): JSON lines and the Arrow batch hold the same rows as decode().
  const columns = new ExportColumns(1);
  const again = new FlowDecoder({ site: 'h1', sensor: 'edge' }).decodeInto(message, '10.0.0.9:4000', columns);
  assert.is(again.records, 2);
  sameRows(columns, out.flows);
});

test('IPFIX: data before its template waits, then decodes; a full buffer and shutdown dead-letter', () => {
  const decoder = new FlowDecoder({ site: 'h1', maxPendingSets: 2 });
  const early = decoder.decode(ipfix(1, 0, set(256, flowRecord(1000, 2, 100))), 'e:1');
  assert.equal([early.flows.length, early.deadLetters.length, decoder.pendingCount], [0, 0, 1]);
  const late = decoder.decode(ipfix(1, 1, set(2, templateRecord(256, FLOW_TEMPLATE)), set(256, flowRecord(1001, 2, 100))), 'e:1');
  assert.equal(late.flows.map((f) => f.src_port), [1000, 1001], 'the buffered set first, in its own context');
  assert.equal([decoder.stats.pendingSets, decoder.stats.pendingDecoded, decoder.pendingCount], [1, 1, 0]);
  // Three sets for an unknown template with room for two: the oldest is dead-lettered.
  for (let i = 0; i < 3; i++) decoder.decode(ipfix(1, 3 + i, set(300, flowRecord(2000 + i, 1, 1))), 'e:1');
  assert.is(decoder.pendingCount, 2);
  assert.is(decoder.stats.deadLetters, 1);
  const rest = decoder.flushPending();
  assert.is(rest.length, 2);
  assert.match(rest[0].reason, /template 300 .* never got its template/);
  // A template of another exporter or domain does not release them.
  assert.is(decoder.templateCount('e:1', 1), 1);
  assert.is(decoder.templateCount('e:2', 1), 0);
});

test('IPFIX: sequence gaps per exporter/domain; template withdrawal; options with systemInitTime', () => {
  const decoder = new FlowDecoder({ site: 'h1' });
  const uptimeTemplate: readonly Field[] = [
    [IE.sourceIPv4Address, 4],
    [IE.destinationIPv4Address, 4],
    [IE.protocolIdentifier, 1],
    [IE.icmpTypeCodeIPv4, 2],
    [IE.packetDeltaCount, 4],
    [IE.octetDeltaCount, 4],
    [IE.flowStartSysUpTime, 4],
    [IE.flowEndSysUpTime, 4],
  ];
  const options = templateRecord(257, [[149, 4], [IE.systemInitTimeMilliseconds, 8]], 1);
  const first = ipfix(7, 100, set(2, templateRecord(256, uptimeTemplate)), set(3, options), set(257, Buffer.concat([u32(1), u64(1709280000000)])), set(256, Buffer.concat([ip4('10.10.2.14'), ip4('10.10.0.1'), u8(1), u16(0x0800), u32(2), u32(168), u32(5000), u32(6002)])));
  const a = decoder.decode(first, 'x:1');
  assert.equal(a.deadLetters, []);
  assert.equal([decoder.stats.optionsTemplates, decoder.stats.optionsRecords], [1, 1]);
  assert.equal([a.flows[0].ts_start, a.flows[0].ts_end, a.flows[0].src_port, a.flows[0].dst_port], [1709280005000000, 1709280006002000, 8, 0]);
  // Two data records were sent (one options, one flow): the next message must say 102.
  decoder.decode(ipfix(7, 102), 'x:1');
  assert.is(decoder.stats.sequenceGaps, 0);
  decoder.decode(ipfix(7, 110), 'x:1');
  assert.equal([decoder.stats.sequenceGaps, decoder.stats.missedRecords], [1, 8]);
  decoder.decode(ipfix(8, 500), 'x:1');
  assert.is(decoder.stats.sequenceGaps, 1, 'another domain has its own counter');
  // Withdrawal of template 256: its data is pending again.
  decoder.decode(ipfix(7, 110, set(2, Buffer.concat([u16(256), u16(0)]))), 'x:1');
  assert.is(decoder.templateCount('x:1', 7), 1);
  decoder.decode(ipfix(7, 110, set(256, Buffer.alloc(31))), 'x:1');
  assert.is(decoder.pendingCount, 1);
});

test('NetFlow v9 (FIRST/LAST_SWITCHED against sysUptime) and v5', () => {
  const decoder = new FlowDecoder({ site: 'h1' });
  const fields: readonly Field[] = [[8, 4], [12, 4], [7, 2], [11, 2], [4, 1], [1, 4], [2, 4], [22, 4], [21, 4]];
  const record = Buffer.concat([ip4('10.10.1.30'), ip4('10.10.0.8'), u16(50311), u16(104), u8(6), u32(543640), u32(372), u32(90_000), u32(93_871)]);
  const body = Buffer.concat([set(0, templateRecord(260, fields)), set(260, record, Buffer.alloc(3))]);
  const header = Buffer.concat([u16(9), u16(2), u32(100_000), u32(1709287200), u32(41), u32(3)]);
  const out = decoder.decode(Buffer.concat([header, body]), 'r:2055');
  assert.equal(out.deadLetters, []);
  assert.is(out.batchId, 'netflow9:r:2055:3:41');
  const f = out.flows[0];
  assert.equal([f.source, f.dst_port, f.fwd_packets, f.fwd_bytes, f.bwd_packets], ['netflow9', 104, 372, 543640, 0]);
  assert.equal([f.ts_start, f.ts_end], [(1709287200000 - 10_000) * 1000, (1709287200000 - 6_129) * 1000]);
  const v5 = Buffer.concat([u16(5), u16(1), u32(100_000), u32(1709287200), u32(500_000_000), u32(77), u8(0), u8(1), u16(0)]);
  const rec = Buffer.concat([ip4('10.10.2.14'), ip4('10.10.0.1'), ip4('0.0.0.0'), u16(1), u16(2), u32(2), u32(168), u32(95_000), u32(96_000), u16(0), u16(0x0800), u8(0), u8(0), u8(1), u8(0), u16(0), u16(0), u8(0), u8(0), u16(0)]);
  const o5 = decoder.decode(Buffer.concat([v5, rec]), 'r:2055');
  assert.equal([o5.flows[0].source, o5.flows[0].src_port, o5.flows[0].dst_port, o5.flows[0].ts_start], ['netflow5', 8, 0, (1709287200500 - 5_000) * 1000]);
  assert.is(o5.batchId, 'netflow5:r:2055:1:77');
  const columns = new ExportColumns(1);
  const again = new FlowDecoder({ site: 'h1' });
  again.decodeInto(Buffer.concat([header, body]), 'r:2055', columns);
  again.decodeInto(Buffer.concat([v5, rec]), 'r:2055', columns);
  sameRows(columns, [...out.flows, ...o5.flows]);
});

test('malformed datagrams are dead letters with a reason, never exceptions', () => {
  const decoder = new FlowDecoder({ site: 'h1' });
  const reasons = [Buffer.alloc(2), Buffer.from([0, 7, 0, 0]), ipfix(1, 0).subarray(0, 10), Buffer.concat([ipfix(1, 0, set(2, templateRecord(256, FLOW_TEMPLATE))).subarray(0, 30)]), ipfix(1, 0, set(2, Buffer.concat([u16(256), u16(3), u16(1), u16(4)]))), ipfix(1, 0, set(2, templateRecord(256, [[8, 0]]))), ipfix(1, 0, set(1, Buffer.alloc(4)))].map((d) => decoder.decode(d, 'bad:1').deadLetters.map((x) => x.reason).join(' | '));
  assert.match(reasons[0], /too short/);
  assert.match(reasons[1], /unsupported version 7/);
  assert.match(reasons[2], /shorter than its 16-byte header/);
  assert.match(reasons[3], /does not fit the 30-byte datagram/);
  assert.match(reasons[4], /template 256 is truncated at field 2 of 3/);
  assert.match(reasons[5], /field 8 has length 0/);
  assert.match(reasons[6], /reserved set id 1/);
  assert.is(addressText(Uint8Array.from([0x20, 1, 0xd, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1])), '2001:db8::1');
});

// ---- interoperability with softflowd and nfdump -----------------------------------------------

let merged = '';
function mergedPcap(): string {
  if (merged) return merged;
  requireTool('mergecap', 'wireshark-common');
  const files = readdirSync(PCAPS).filter((f) => f.endsWith('.pcap')).map((f) => PCAPS + f);
  merged = join(dir, 'babymonitor.pcap');
  const r = spawnSync('mergecap', ['-F', 'pcap', '-w', merged, ...files], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`mergecap failed: ${r.stderr}`);
  return merged;
}

/** Export a pcap with softflowd (asynchronously: the collector in this process must keep reading). */
async function softflowd(pcap: string, port: number, version: number): Promise<void> {
  requireTool('softflowd', 'softflowd');
  const child = spawn('softflowd', ['-r', pcap, '-n', `127.0.0.1:${port}`, '-v', String(version), '-d'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const [code] = await once(child, 'exit');
  if (code !== 0) throw new Error(`softflowd failed (${code}): ${stderr}`);
}

/** Flow key with counters, comparable between nfdump and HEIR. */
const key = (src: string, dst: string, sp: number, dp: number, proto: number, packets: number, bytes: number) => `${src} ${sp} > ${dst} ${dp} p${proto} ${packets}pk ${bytes}B`;

async function viaHeir(version: number): Promise<{ keys: string[]; gaps: number; rows: FlowRow[] }> {
  const rows: FlowRow[] = [];
  let resolvePort!: (port: number) => void;
  const bound = new Promise<number>((resolve) => (resolvePort = resolve));
  const run = collect({ listen: 'udp://127.0.0.1:0', site: 'h1', idleExitMs: 1500, json: (lines) => rows.push(...Buffer.from(lines).toString().trim().split('\n').map((line) => JSON.parse(line) as FlowRow)), onListening: (address) => resolvePort(Number(address.split(':').pop())) });
  await softflowd(mergedPcap(), await bound, version);
  const stats = await run;
  assert.is(stats.deadLetters, 0);
  const keys = rows.map((r) => key(r.src_addr!, r.dst_addr!, r.src_port!, r.dst_port!, r.ip_proto!, r.fwd_packets, r.fwd_bytes));
  return { keys: keys.sort(), gaps: stats.sequenceGaps, rows };
}

async function viaNfdump(version: number): Promise<{ keys: string[]; gaps: number; totals: number[] }> {
  requireTool('nfcapd', 'nfdump');
  const out = mkdtempSync(join(dir, `nf${version}-`));
  const port = await freePort();
  const nfcapd = spawn('nfcapd', ['-b', '127.0.0.1', '-p', String(port), '-w', out, '-t', '3600'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  nfcapd.stdout.on('data', (d) => (log += d));
  nfcapd.stderr.on('data', (d) => (log += d));
  const deadline = Date.now() + 10_000;
  while (!/Startup/.test(log) && Date.now() < deadline) await sleep(50);
  await softflowd(mergedPcap(), port, version);
  await sleep(500);
  nfcapd.kill('SIGTERM');
  await once(nfcapd, 'exit');
  const csv = spawnSync('nfdump', ['-R', out, '-q', '-o', 'csv', '-N'], { encoding: 'utf8', maxBuffer: 64 << 20 });
  if (csv.status !== 0) throw new Error(`nfdump failed: ${csv.stderr}`);
  const lines = csv.stdout.trim().split('\n').filter((l) => /^\d{4}-/.test(l));
  const keys = lines.map((l) => {
    const f = l.split(',');
    const proto = { TCP: 6, UDP: 17, ICMP: 1 }[f[7]] ?? Number(f[7]);
    return key(f[3], f[4], Number(f[5]), Number(f[6]), proto, Number(f[11]), Number(f[12]));
  });
  const stat = /Flows: (\d+), Packets: (\d+), Bytes: (\d+), Sequence Errors: (\d+)/.exec(log);
  assert.ok(stat, `nfcapd summary in its log: ${log.slice(-300)}`);
  return { keys: keys.sort(), gaps: Number(stat![4]), totals: [Number(stat![1]), Number(stat![2]), Number(stat![3])] };
}

for (const [version, name] of [
  [10, 'IPFIX'],
  [9, 'NetFlow v9'],
  [5, 'NetFlow v5'],
] as const) {
  test(`softflowd ${name} export: HEIR's collector and nfcapd agree exactly`, async () => {
    const heir = await viaHeir(version);
    const nf = await viaNfdump(version);
    assert.ok(heir.keys.length > 1000, `a real export (${heir.keys.length} flows)`);
    assert.is(heir.keys.length, nf.keys.length, 'flow count');
    assert.is(heir.keys.length, nf.totals[0]);
    const packets = heir.rows.reduce((s, r) => s + r.fwd_packets + r.bwd_packets, 0);
    const bytes = heir.rows.reduce((s, r) => s + r.fwd_bytes + r.bwd_bytes, 0);
    assert.equal([packets, bytes], [nf.totals[1], nf.totals[2]], 'packet and byte totals');
    assert.equal(heir.keys, nf.keys, 'every flow with its counters');
    assert.is(heir.gaps, nf.gaps, 'sequence errors counted alike');
    assert.ok(heir.rows.every((r) => r.bwd_packets === 0 && r.community_id !== null));
  });
}

test('heir collect CLI: --json lines and --db rows for an IPFIX export', async () => {
  const port = await freePort();
  const db = join(dir, 'collect.duckdb');
  const child = spawn(process.execPath, [join(ROOT, 'bin/heir.js'), 'collect', '--listen', `udp://127.0.0.1:${port}`, '--json', '--db', db, '--idle-exit', '2', '--site', 'h1'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  const deadline = Date.now() + 20_000;
  while (!/listening on/.test(stderr) && Date.now() < deadline) await sleep(50);
  assert.match(stderr, new RegExp(`listening on udp://127.0.0.1:${port}`));
  await softflowd(mergedPcap(), port, 10);
  const [code] = await once(child, 'exit');
  assert.is(code, 0, stderr);
  const lines = stdout.trim().split('\n');
  const flows = lines.map((l) => JSON.parse(l) as FlowRow);
  const summary = /(\d+) datagrams, (\d+) flows, (\d+) templates .* (\d+) dead letters/.exec(stderr);
  assert.ok(summary, stderr);
  assert.is(Number(summary![2]), flows.length);
  assert.is(Number(summary![4]), 0);
  assert.ok(flows.every((f) => f.source === 'ipfix' && f.site_id === 'h1' && f.sensor_id === '127.0.0.1'));
  const store = await openStore(db, { readOnly: true });
  try {
    const [row] = await store.all<{ n: bigint; p: number; b: number }>(`SELECT count(*) AS n, sum(fwd_packets) AS p, sum(fwd_bytes) AS b FROM flows`);
    assert.equal([Number(row.n), row.p, row.b], [flows.length, flows.reduce((s, f) => s + f.fwd_packets, 0), flows.reduce((s, f) => s + f.fwd_bytes, 0)]);
    const [ids] = await store.all<{ n: bigint }>(`SELECT count(*) AS n FROM _batches WHERE batch_id LIKE 'ipfix:127.0.0.1:%'`);
    assert.ok(Number(ids.n) > 0 && Number(ids.n) < Number(summary![1]) / 4, `records gathered across datagrams: ${ids.n} batches for ${summary![1]} datagrams`);
    assert.match(stderr, new RegExp(`${ids.n} of ${ids.n} batches stored`));
  } finally {
    await store.close();
  }
});

test('collector --db: batches cut by export time and sequence; a redelivery with other pauses adds no rows', async () => {
  const db = join(dir, 'redelivery.duckdb');
  const exportTime = 1709287200;
  // Six messages of one exporter over three export seconds, sequence numbers gap-free.
  const messages: Buffer[] = [];
  let sequence = 0;
  for (const [second, records] of [[0, 2], [0, 3], [0, 1], [1, 2], [1, 2], [2, 1]] as const) {
    const body = [set(2, templateRecord(256, FLOW_TEMPLATE)), set(256, ...Array.from({ length: records }, (_, i) => flowRecord(10000 + sequence + i, 2, 100)))];
    const m = ipfix(4, sequence, ...body);
    m.writeUInt32BE(exportTime + second, 4);
    messages.push(m);
    sequence += records;
  }
  const senderPort = await freePort();
  const run = async (pauseAfter: ReadonlySet<number>) => {
    const store = await openStore(db);
    let resolvePort!: (port: number) => void;
    const bound = new Promise<number>((resolve) => (resolvePort = resolve));
    const done = collect({ listen: 'udp://127.0.0.1:0', site: 'h1', sink: store, idleExitMs: 1200, onListening: (a) => resolvePort(Number(a.split(':').pop())) });
    const port = await bound;
    const socket = createSocket('udp4');
    socket.bind(senderPort, '127.0.0.1');
    await once(socket, 'listening');
    for (const [i, m] of messages.entries()) {
      await new Promise<void>((resolve, reject) => socket.send(m, port, '127.0.0.1', (e) => (e ? reject(e) : resolve())));
      if (pauseAfter.has(i)) await sleep(400);
    }
    socket.close();
    const summary = await done;
    const [row] = await store.all<{ n: bigint }>('SELECT count(*) AS n FROM flows');
    const ids = (await store.all<{ batch_id: string }>('SELECT batch_id FROM _batches ORDER BY batch_id')).map((r) => r.batch_id);
    await store.close();
    return { summary, rows: Number(row.n), ids };
  };
  // Sent back to back, then again with the exporter pausing at each new export second.
  const first = await run(new Set());
  assert.equal([first.summary.flows, first.summary.batches, first.summary.batchesStored, first.rows], [11, 3, 3, 11]);
  assert.equal(first.ids, [`ipfix:127.0.0.1:${senderPort}:4:0-5:${exportTime}`, `ipfix:127.0.0.1:${senderPort}:4:10-10:${exportTime + 2}`, `ipfix:127.0.0.1:${senderPort}:4:6-8:${exportTime + 1}`]);
  const second = await run(new Set([2, 4]));
  assert.equal([second.summary.flows, second.summary.batches, second.summary.batchesStored, second.rows], [11, 3, 0, 11], 'the redelivery is cut into the same batches and adds nothing');
});

test('collector: IPv6 listen address, a late template across datagrams, bad --listen values', async () => {
  const rows: FlowRow[] = [];
  let resolvePort!: (port: number) => void;
  const bound = new Promise<number>((resolve) => (resolvePort = resolve));
  const dead: string[] = [];
  const run = collect({ listen: 'udp://[::1]:0', site: 'h1', idleExitMs: 400, json: (lines) => rows.push(...Buffer.from(lines).toString().trim().split('\n').map((l) => JSON.parse(l) as FlowRow)), onDeadLetter: (d) => dead.push(d.reason), onListening: (a) => resolvePort(Number(a.split(':').pop())) });
  const port = await bound;
  const socket = createSocket('udp6');
  const send = (d: Buffer) => new Promise<void>((resolve, reject) => socket.send(d, port, '::1', (e) => (e ? reject(e) : resolve())));
  await send(ipfix(9, 0, set(256, flowRecord(3000, 4, 400))));
  await send(ipfix(9, 1, set(2, templateRecord(256, FLOW_TEMPLATE))));
  await send(ipfix(9, 1, set(300, flowRecord(3001, 1, 1))));
  socket.close();
  const summary = await run;
  assert.equal(rows.map((r) => r.src_port), [3000]);
  assert.equal([summary.pendingDecoded, summary.deadLetters], [1, 1]);
  assert.match(dead[0], /template 300 .* never got its template/);
  assert.match(summary.listen, /^udp:\/\/\[::1\]:\d+$/);
  for (const bad of ['tcp://127.0.0.1:4739', 'udp://127.0.0.1', 'udp://127.0.0.1:70000', '127.0.0.1:4739']) {
    assert.throws(() => parseListen(bad), /invalid --listen/);
  }
});

test('heir collect --json into a file: lines written from the reused buffer are whole and in order', async () => {
  const port = await freePort();
  const file = join(dir, 'collect.jsonl');
  const out = openSync(file, 'w');
  const child = spawn(process.execPath, [join(ROOT, 'bin/heir.js'), 'collect', '--listen', `udp://127.0.0.1:${port}`, '--json', '--idle-exit', '1', '--site', 'h1'], { stdio: ['ignore', out, 'pipe'] });
  closeSync(out);
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  const deadline = Date.now() + 20_000;
  while (!/listening on/.test(stderr) && Date.now() < deadline) await sleep(50);
  // 1,500 records over 50 messages (more than a megabyte of JSON: several chunks of the buffer).
  const socket = createSocket('udp4');
  for (let m = 0; m < 50; m++) {
    const records = Array.from({ length: 30 }, (_, i) => flowRecord(20000 + m * 30 + i, 1 + i, 100 * (i + 1)));
    await new Promise<void>((resolve, reject) => socket.send(ipfix(2, m * 30, set(2, templateRecord(256, FLOW_TEMPLATE)), set(256, ...records)), port, '127.0.0.1', (e) => (e ? reject(e) : resolve())));
  }
  socket.close();
  const [code] = await once(child, 'exit');
  assert.is(code, 0, stderr);
  const text = readFileSync(file, 'utf8');
  assert.ok(text.length > 1 << 20, `${text.length} bytes of JSON`);
  const ports = text.trimEnd().split('\n').map((line) => (JSON.parse(line) as FlowRow).src_port);
  assert.equal(ports, Array.from({ length: 1500 }, (_, i) => 20000 + i));
});

test('heir collect: usage errors are one line and exit 2', () => {
  const r = spawnSync(process.execPath, [join(ROOT, 'bin/heir.js'), 'collect', '--json'], { encoding: 'utf8' });
  assert.is(r.status, 2);
  assert.match(r.stderr, /^heir collect: --listen is required/);
  const r2 = spawnSync(process.execPath, [join(ROOT, 'bin/heir.js'), 'collect', '--listen', 'udp://127.0.0.1:4739'], { encoding: 'utf8' });
  assert.is(r2.status, 2);
  assert.match(r2.stderr, /give --json, --db FILE or both/);
});

// ---- fuzzing ---------------------------------------------------------------------------------

test('fuzz: random and mutated datagrams never throw; every flow fits the schema', () => {
  const template = set(2, templateRecord(256, FLOW_TEMPLATE));
  const valid = [
    ipfix(1, 0, template, set(256, flowRecord(1, 2, 100), flowRecord(2, 3, 300, 'y'.repeat(260)))),
    ipfix(1, 2, set(3, templateRecord(257, [[149, 4], [IE.systemInitTimeMilliseconds, 8]], 1)), set(257, Buffer.concat([u32(1), u64(1)]))),
    Buffer.concat([u16(9), u16(2), u32(1), u32(2), u32(3), u32(4), set(0, templateRecord(260, [[8, 4], [12, 4], [1, 4], [2, 4], [21, 4], [22, 4]])), set(260, Buffer.alloc(24, 1))]),
    Buffer.concat([u16(5), u16(1), Buffer.alloc(20), Buffer.alloc(48, 2)]),
  ];
  const mutate = fc.tuple(fc.constantFrom(...valid), fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 6 }), fc.nat(), fc.boolean()).map(([base, flips, cut, truncate]) => {
    const b = Buffer.from(base);
    for (const [i, v] of flips) b[i % b.length] = v;
    return truncate ? b.subarray(0, cut % (b.length + 1)) : b;
  });
  const lengths = fc.tuple(fc.constantFrom(...valid), fc.nat(), fc.constantFrom(0, 1, 3, 4, 0xfffe, 0xffff)).map(([base, at, v]) => {
    const b = Buffer.from(base);
    const i = at % Math.max(1, b.length - 1);
    b.writeUInt16BE(v, i - (i % 2));
    return b;
  });
  const datagram = fc.oneof(fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a)), mutate, lengths);
  fc.assert(
    fc.property(fc.array(datagram, { minLength: 1, maxLength: 4 }), (datagrams) => {
      const decoder = new FlowDecoder({ site: 'f', maxPendingSets: 2 });
      // The collector's path too: the same datagrams into columns, then the batch and JSON lines.
      const columnar = new FlowDecoder({ site: 'f', maxPendingSets: 2 });
      const columns = new ExportColumns(1);
      const rows: Partial<FlowRow>[] = [];
      for (const d of datagrams) {
        const out = decoder.decode(d, 'fuzz:1');
        for (const dl of out.deadLetters) assert.ok(dl.reason.length > 0 && dl.stage === 'ingest-ipfix');
        if (out.flows.length) flowBatch(out.flows);
        rows.push(...out.flows);
        assert.is(columnar.decodeInto(d, 'fuzz:1', columns).records, out.flows.length);
      }
      sameRows(columns, rows);
      decoder.flushPending();
      assert.is(decoder.pendingCount, 0);
    }),
    { numRuns: FUZZ_RUNS, seed: 4739, endOnFailure: true },
  );
});

test.run();
