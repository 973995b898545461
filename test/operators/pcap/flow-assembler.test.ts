/**
 * The flow assembler through the pcap parser, on hand-made packets with known times and sizes:
 * FIN and RST close, idle and active timeouts with interim records, SYN-ACK-first initiator,
 * ICMP pairing, IPv6 extension headers, and the statistics checked against direct formulas.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parsePcap } from '../../../operators/ingest-pcap.ts';
import { DecodedPacket, Decoded, decodeFrame } from '../../../operators/pcap/decode.ts';
import { FlowAssembler } from '../../../operators/pcap/flow-assembler.ts';
import { communityId } from '../../../pipeline/flow-id.ts';
import { flowRows, type FlowRow } from '../../../pipeline/flow-schema.ts';
import { chunked, ethernet, icmp, ipv4, ipv6, pcapFile, tcp, udp, type Frame } from '../../helpers/packets.ts';
import { seededRandom } from '../../../pipeline/random.ts';

const SYN = 0x02;
const ACK = 0x10;
const FIN = 0x01;
const RST = 0x04;
const PSH = 0x08;
const T0 = 1_700_000_000_000_000; // µs

async function flows(frames: Frame[], options: { idleTimeoutS?: number; activeTimeoutS?: number } = {}): Promise<FlowRow[]> {
  const rows: FlowRow[] = [];
  const file = pcapFile(1, frames);
  for await (const out of parsePcap(chunked(file, [97]), { site: 'h', sensor: 's', input: 'hand.pcap', batchSize: 3, ...options })) {
    if (out.flows) rows.push(...flowRows(out.flows));
    assert.is(out.deadLetters, undefined, 'no dead letters expected');
  }
  return rows;
}

const A = '10.0.0.5';
const B = '10.0.0.9';
const MA = '02:00:00:00:00:0a';
const MB = '02:00:00:00:00:0b';
const ab = (ts: number, l4: Uint8Array, ttl = 64): Frame => ({ ts, data: ethernet(MA, MB, ipv4(A, B, 6, l4, ttl)) });
const ba = (ts: number, l4: Uint8Array, ttl = 64): Frame => ({ ts, data: ethernet(MB, MA, ipv4(B, A, 6, l4, ttl)) });

function meanStd(xs: number[]): [number, number] {
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  return [mean, Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / xs.length)];
}

test('TCP connection closed by FIN both ways: one record, counts, flags, stats', async () => {
  const hello = new TextEncoder().encode('hello pump');
  const frames = [
    ab(T0, tcp(40000, 7000, SYN, 100), 64),
    ba(T0 + 1000, tcp(7000, 40000, SYN | ACK, 500), 128),
    ab(T0 + 3000, tcp(40000, 7000, ACK, 101)),
    ab(T0 + 10_000, tcp(40000, 7000, PSH | ACK, 101, hello)),
    ba(T0 + 20_000, tcp(7000, 40000, ACK, 501)),
    ab(T0 + 50_000, tcp(40000, 7000, FIN | ACK, 111)),
    ba(T0 + 51_000, tcp(7000, 40000, FIN | ACK, 501), 60),
    ab(T0 + 52_000, tcp(40000, 7000, ACK, 112)),
  ];
  const rows = await flows(frames);
  assert.is(rows.length, 1, 'the last ACK after both FINs stays in the flow');
  const r = rows[0];
  assert.is(r.end_reason, 'fin');
  assert.is(r.src_addr, A);
  assert.is(r.dst_addr, B);
  assert.is(r.src_port, 40000);
  assert.is(r.dst_port, 7000);
  assert.is(r.src_mac, MA);
  assert.is(r.dst_mac, MB);
  assert.is(r.fwd_packets, 5);
  assert.is(r.bwd_packets, 3);
  assert.is(r.fwd_bytes, 5 * 40 + hello.length);
  assert.is(r.bwd_bytes, 3 * 40);
  assert.is(r.fwd_payload_bytes, hello.length);
  assert.is(r.bwd_payload_bytes, 0);
  assert.is(r.ts_start, T0);
  assert.is(r.ts_end, T0 + 52_000);
  assert.is(r.duration_s, 0.052);
  assert.is(r.syn_count, 2);
  assert.is(r.fin_count, 2);
  assert.is(r.ack_count, 7);
  assert.is(r.psh_count, 1);
  assert.is(r.rst_count, 0);
  assert.is(r.tcp_flags_fwd, SYN | ACK | PSH | FIN);
  assert.is(r.tcp_flags_bwd, SYN | ACK | FIN);
  assert.is(r.ttl_min, 60);
  assert.is(r.ttl_max, 128);
  const times = frames.map((f) => f.ts);
  const iats = times.slice(1).map((t, i) => (t - times[i]) / 1e6);
  const [iatMean, iatStd] = meanStd(iats);
  assert.ok(Math.abs((r.iat_mean ?? NaN) - iatMean) < 1e-12);
  assert.ok(Math.abs((r.iat_std ?? NaN) - iatStd) < 1e-12);
  assert.is(r.iat_min, 0.001);
  assert.is(r.iat_max, 0.03);
  const lens = [40, 40, 40, 50, 40, 40, 40, 40];
  const [lenMean, lenStd] = meanStd(lens);
  assert.ok(Math.abs((r.pkt_len_mean ?? NaN) - lenMean) < 1e-12);
  assert.ok(Math.abs((r.pkt_len_std ?? NaN) - lenStd) < 1e-12);
  assert.is(r.pkt_len_min, 40);
  assert.is(r.pkt_len_max, 50);
  assert.is(r.community_id, communityId(A, B, 6, 40000, 7000));
  assert.is(r.link_type, 1);
  assert.is(r.source, 'pcap');
  assert.match(r.flow_id, /^[0-9a-f]{16}$/);
});

test('RST closes a flow; a new SYN on the same 5-tuple starts a new one', async () => {
  const rows = await flows([
    ab(T0, tcp(40001, 23, SYN, 1)),
    ba(T0 + 500, tcp(23, 40001, RST | ACK, 0)),
    ab(T0 + 900, tcp(40001, 23, SYN, 77)),
    ba(T0 + 1000, tcp(23, 40001, SYN | ACK, 5)),
  ]);
  assert.is(rows.length, 2);
  assert.is(rows[0].end_reason, 'rst');
  assert.is(rows[0].fwd_packets + rows[0].bwd_packets, 2);
  assert.is(rows[1].end_reason, 'eof');
  assert.is(rows[1].ts_start, T0 + 900);
  assert.is.not(rows[0].flow_id, rows[1].flow_id);
});

test('idle timeout ends a flow; the next packet starts another', async () => {
  const u = (ts: number) => ({ ts, data: ethernet(MA, MB, ipv4(A, B, 17, udp(5000, 6000, new Uint8Array(4)))) });
  const rows = await flows([u(T0), u(T0 + 1e6), u(T0 + 100e6), u(T0 + 101e6)], { idleTimeoutS: 30 });
  assert.is(rows.length, 2);
  assert.is(rows[0].end_reason, 'idle');
  assert.is(rows[0].fwd_packets, 2);
  assert.is(rows[0].ts_end, T0 + 1e6);
  assert.is(rows[1].end_reason, 'eof');
  assert.is(rows[1].ts_start, T0 + 100e6);
  assert.is(rows[0].syn_count, null, 'no TCP counters for UDP');
});

test('active timeout cuts a long-lived flow into interim records that add up', async () => {
  const frames: Frame[] = [ab(T0, tcp(40002, 2575, SYN, 1)), ba(T0 + 100, tcp(2575, 40002, SYN | ACK, 1))];
  for (let s = 10; s <= 700; s += 10) frames.push(s % 20 === 0 ? ab(T0 + s * 1e6, tcp(40002, 2575, ACK, 2)) : ba(T0 + s * 1e6, tcp(2575, 40002, ACK, 2)));
  const rows = await flows(frames, { idleTimeoutS: 60, activeTimeoutS: 300 });
  assert.equal(
    rows.map((r) => r.end_reason),
    ['active', 'active', 'eof'],
  );
  assert.is(rows.reduce((n, r) => n + r.fwd_packets + r.bwd_packets, 0), frames.length);
  assert.is(rows[0].ts_start, T0);
  assert.ok(rows[0].ts_end < T0 + 300e6);
  assert.is(rows[1].ts_start, T0 + 300e6);
  for (const r of rows) {
    assert.is(r.src_addr, A, 'the initiator stays the same across interim records');
    assert.is(r.src_port, 40002);
  }
});

test('SYN-ACK seen first: its receiver is the initiator', async () => {
  const rows = await flows([ba(T0, tcp(443, 51000, SYN | ACK, 9)), ab(T0 + 10, tcp(51000, 443, ACK, 1))]);
  assert.is(rows.length, 1);
  assert.is(rows[0].src_addr, A);
  assert.is(rows[0].src_port, 51000);
  assert.is(rows[0].dst_port, 443);
  assert.is(rows[0].fwd_packets, 1);
  assert.is(rows[0].bwd_packets, 1);
});

test('ICMP echo request and reply share one flow; IPv6 extension headers are walked', async () => {
  const rows = await flows([
    { ts: T0, data: ethernet(MA, MB, ipv4(A, B, 1, icmp(8, 0))) },
    { ts: T0 + 200, data: ethernet(MB, MA, ipv4(B, A, 1, icmp(0, 0))) },
    { ts: T0 + 300, data: ethernet(MA, MB, ipv6('fe80:0:0:0:0:0:0:1', '2001:db8:0:0:0:0:0:2', 6, tcp(1234, 104, SYN, 1), 64, true), [10, 20]) },
  ]);
  assert.is(rows.length, 2);
  const echo = rows.find((r) => r.ip_proto === 1);
  assert.ok(echo);
  assert.is(echo.fwd_packets, 1);
  assert.is(echo.bwd_packets, 1);
  assert.is(echo.src_port, 8);
  assert.is(echo.dst_port, 0);
  assert.is(echo.community_id, communityId(A, B, 1, 8, 0));
  const v6 = rows.find((r) => r.ip_version === 6);
  assert.ok(v6);
  assert.is(v6.src_addr, 'fe80::1');
  assert.is(v6.dst_addr, '2001:db8::2');
  assert.is(v6.dst_port, 104);
  assert.is(v6.vlan_id, 10);
  assert.is(v6.fwd_bytes, 40 + 16 + 20);
});

test('batches hold batchSize flows and offsets grow to the file size', async () => {
  const frames: Frame[] = [];
  for (let i = 0; i < 10; i++) frames.push({ ts: T0 + i, data: ethernet(MA, MB, ipv4(A, B, 17, udp(1000 + i, 53, new Uint8Array(0)))) });
  const file = pcapFile(1, frames);
  const sizes: number[] = [];
  const offsets: number[] = [];
  for await (const out of parsePcap(chunked(file, [64]), { site: 'h', sensor: 's', input: 'x', batchSize: 4 })) {
    if (out.flows) sizes.push(out.flows.numRows);
    offsets.push(out.offset);
  }
  assert.equal(sizes, [4, 4, 2]);
  assert.is(offsets[offsets.length - 1], file.length);
  for (let i = 1; i < offsets.length; i++) assert.ok(offsets[i] >= offsets[i - 1]);
});

test('later IPv4 fragments join the flow of their first fragment', async () => {
  const body = udp(5353, 6000, new Uint8Array(1400));
  const whole = ipv4(A, B, 17, body);
  // Split the UDP datagram at 1000 bytes of IP payload: first fragment (MF), then the rest (offset 125 × 8).
  const first = whole.slice(0, 20 + 1000);
  first[6] = 0x20;
  first[2] = (1020 >> 8) & 0xff;
  first[3] = 1020 & 0xff;
  first[4] = 0x12;
  first[5] = 0x34;
  const rest = new Uint8Array(20 + body.length - 1000);
  rest.set(whole.subarray(0, 20), 0);
  rest.set(body.subarray(1000), 20);
  rest[2] = (rest.length >> 8) & 0xff;
  rest[3] = rest.length & 0xff;
  rest[4] = 0x12;
  rest[5] = 0x34;
  rest[6] = 0x00;
  rest[7] = 125;
  const rows = await flows([
    { ts: T0, data: ethernet(MA, MB, first) },
    { ts: T0 + 5, data: ethernet(MA, MB, rest) },
  ]);
  assert.is(rows.length, 1);
  assert.is(rows[0].fwd_packets, 2);
  assert.is(rows[0].src_port, 5353);
  assert.is(rows[0].fwd_bytes, whole.length + 20);
});

test('later IPv6 fragments join the flow of their first fragment', async () => {
  const body = udp(5683, 7000, new Uint8Array(1200));
  const v6 = (fragment: Uint8Array, offsetUnits: number, more: boolean) => {
    const frag = Uint8Array.of(17, 0, (offsetUnits >> 5) & 0xff, ((offsetUnits << 3) & 0xf8) | (more ? 1 : 0), 0xca, 0xfe, 0xba, 0xbe);
    const payload = new Uint8Array(8 + fragment.length);
    payload.set(frag, 0);
    payload.set(fragment, 8);
    const packet = ipv6('fd00:0:0:0:0:0:0:1', 'fd00:0:0:0:0:0:0:2', 44, payload);
    return { ts: T0 + offsetUnits, data: ethernet(MA, MB, packet) };
  };
  const rows = await flows([v6(body.subarray(0, 800), 0, true), v6(body.subarray(800), 100, false)]);
  assert.is(rows.length, 1);
  assert.is(rows[0].fwd_packets, 2);
  assert.is(rows[0].src_port, 5683);
  assert.is(rows[0].dst_port, 7000);
  assert.is(rows[0].ip_proto, 17);
});

test('maxFlows bounds the table: the least recently active flow ends first', () => {
  const ended: string[] = [];
  const assembler = new FlowAssembler((f, reason) => ended.push(`${f.srcPort}:${reason}`), { maxFlows: 2 });
  const p = new DecodedPacket();
  for (let i = 0; i < 4; i++) {
    const frame = ethernet(MA, MB, ipv4(A, B, 17, udp(1000 + i, 53, new Uint8Array(1))));
    assert.is(decodeFrame(p, 1, frame, 0, frame.length), Decoded.IP);
    assembler.add(p, T0 + i, 1);
  }
  assert.equal(ended, ['1000:idle', '1001:idle']);
  assert.is(assembler.activeFlows, 2);
  assembler.flush();
  assert.equal(ended, ['1000:idle', '1001:idle', '1002:eof', '1003:eof']);
});

test('IPv4 flows (numeric 5-tuple table) and the same traffic over IPv6 (keyed by text) give the same flows', async () => {
  // Seeded traffic over many 5-tuples sharing addresses and ports: opens, closes (FIN, RST), idle
  // gaps, and a small maxFlows so the table grows, shrinks and evicts all the time.
  const random = seededRandom(20261128);
  const v4 = (i: number) => `10.${(i >> 8) & 255}.${i & 255}.${(i * 7) & 255}`;
  const v6 = (i: number) => `2001:db8:0:0:0:0:${((10 << 8) | ((i >> 8) & 255)).toString(16)}:${(((i & 255) << 8) | ((i * 7) & 255)).toString(16)}`;
  const frames4: Frame[] = [];
  const frames6: Frame[] = [];
  let ts = T0;
  for (let k = 0; k < 6000; k++) {
    ts += random() < 0.01 ? 8_000_000 : Math.floor(random() * 3000);
    const a = Math.floor(random() * 60);
    const b = Math.floor(random() * 60);
    const sport = 1000 + Math.floor(random() * 40);
    const dport = random() < 0.5 ? 443 : 80 + Math.floor(random() * 4);
    const udpPacket = random() < 0.3;
    const r = random();
    const flags = r < 0.15 ? SYN : r < 0.2 ? FIN | ACK : r < 0.23 ? RST : ACK | PSH;
    const l4 = udpPacket ? udp(sport, dport, new Uint8Array(20)) : tcp(sport, dport, flags, k * 100, new Uint8Array(10));
    const proto = udpPacket ? 17 : 6;
    frames4.push({ ts, data: ipv4(v4(a), v4(b), proto, l4) });
    frames6.push({ ts, data: ipv6(v6(a), v6(b), proto, l4) });
  }
  const parse = async (frames: Frame[]) => {
    const rows: FlowRow[] = [];
    for await (const out of parsePcap(chunked(pcapFile(101, frames), [4096]), { site: 'h', sensor: 's', input: 'mix.pcap', batchSize: 500, idleTimeoutS: 5, maxFlows: 150 })) {
      if (out.flows) rows.push(...flowRows(out.flows));
    }
    return rows;
  };
  const rows4 = await parse(frames4);
  const rows6 = await parse(frames6);
  assert.ok(rows4.length > 1000, `many flows (${rows4.length})`);
  const shape = (r: FlowRow, hdr: number) => [r.src_port, r.dst_port, r.ip_proto, r.end_reason, r.ts_start, r.ts_end, r.fwd_packets, r.bwd_packets, (r.fwd_bytes as number) - hdr * (r.fwd_packets as number), r.tcp_flags_fwd, r.tcp_flags_bwd, r.syn_count, r.fin_count, r.rst_count];
  assert.is(rows6.length, rows4.length);
  for (let i = 0; i < rows4.length; i++) {
    assert.equal(shape(rows4[i], 20), shape(rows6[i], 40), `flow ${i}`);
    for (const side of ['src_addr', 'dst_addr'] as const) {
      const [, p, q, r] = (rows4[i][side] as string).split('.').map(Number);
      assert.is(rows6[i][side], `2001:db8::${((10 << 8) | p).toString(16)}:${((q << 8) | r).toString(16)}`, `flow ${i} ${side}`);
    }
  }
});

test.run();
