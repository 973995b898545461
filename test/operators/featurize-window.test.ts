import fc from 'fast-check';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { CIC_WINDOW_FEATURES_V1 } from '../../operators/feature-sets.ts';
import {
  WindowFeaturizer, createWindowState, flushWindows, pushPackets, windowFeatures, windowFeaturesBatch, windowPacketOf, windowsFromCapture, type WindowPacket,
} from '../../operators/featurize-window.ts';
import { DecodedPacket, decodeFrame } from '../../operators/pcap/decode.ts';

const F = CIC_WINDOW_FEATURES_V1.features;
const value = (features: Float64Array, name: string) => features[F.indexOf(name)];
const close = (a: number, b: number, what: string) => assert.ok(Math.abs(a - b) < 1e-9, `${what}: ${a} ≠ ${b}`);

const mac = (last: number) => [0x02, 0, 0, 0, 0, last];
const ip4 = (s: string) => s.split('.').map(Number);

/** An Ethernet/IPv4/TCP frame with a TCP header of `thl` bytes and `payload` bytes of data. */
function tcpFrame(src: string, dst: string, sport: number, dport: number, flags: number, thl: number, payload = 0, ttl = 64): Uint8Array {
  const total = 20 + thl + payload;
  const f = new Uint8Array(14 + total);
  f.set(mac(2), 0);
  f.set(mac(1), 6);
  f.set([0x08, 0x00], 12);
  const ip = 14;
  f.set([0x45, 0, total >> 8, total & 255, 0, 0, 0x40, 0, ttl, 6, 0, 0, ...ip4(src), ...ip4(dst)], ip);
  const t = ip + 20;
  f.set([sport >> 8, sport & 255, dport >> 8, dport & 255, 0, 0, 0, 1, 0, 0, 0, 0, (thl / 4) << 4, flags, 0xff, 0xff], t);
  return f;
}

/** An Ethernet ARP reply: `sender` is at MAC 02:..:senderMac, told to `target`. */
function arpFrame(sender: string, target: string, senderMac: number): Uint8Array {
  const f = new Uint8Array(42);
  f.set(mac(9), 0);
  f.set(mac(senderMac), 6);
  f.set([0x08, 0x06, 0, 1, 0x08, 0x00, 6, 4, 0, 2, ...mac(senderMac), ...ip4(sender), ...mac(9), ...ip4(target)], 12);
  return f;
}

function packet(frame: Uint8Array, ts: number): WindowPacket {
  const d = new DecodedPacket();
  const r = decodeFrame(d, 1, frame, 0, frame.length);
  const p = windowPacketOf(d, r, 1, frame, 0, frame.length, frame.length, ts);
  assert.ok(p, 'decodes');
  return p!;
}

test('decoded frames become window packets (TCP header length, ports, flags, ARP addresses)', () => {
  const syn = packet(tcpFrame('10.0.0.1', '10.0.0.2', 50000, 80, 0x02, 40), 5);
  assert.equal([syn.src, syn.dst, syn.srcPort, syn.dstPort, syn.tcpFlags, syn.transportHeaderLength, syn.ttl, syn.length, syn.proto], ['10.0.0.1', '10.0.0.2', 50000, 80, 2, 40, 64, 74, 6]);
  const arp = packet(arpFrame('10.0.0.2', '10.0.0.9', 0x66), 6);
  assert.equal([arp.arp, arp.src, arp.dst, arp.ipVersion, arp.proto, arp.srcMac], [true, '10.0.0.2', '10.0.0.9', 0, 0, 0x020000000066]);
});

test('CIC window features of a TCP handshake, computed by hand', () => {
  // SYN (74 B, 40 B header), SYN-ACK (74 B, 40 B), ACK (66 B, 32 B) at 0, 1 ms and 3 ms.
  const packets = [
    packet(tcpFrame('10.0.0.1', '10.0.0.2', 50000, 80, 0x02, 40), 0),
    packet(tcpFrame('10.0.0.2', '10.0.0.1', 80, 50000, 0x12, 40), 1000),
    packet(tcpFrame('10.0.0.1', '10.0.0.2', 50000, 80, 0x10, 32), 3000),
  ];
  const f = windowFeatures(packets);
  close(value(f, 'Header_Length'), 112 / 3, 'Header_Length');
  close(value(f, 'Protocol Type'), 6, 'Protocol Type');
  close(value(f, 'Time_To_Live'), 64, 'TTL');
  close(value(f, 'Rate'), 2 / 0.003, 'Rate');
  close(value(f, 'syn_flag_number'), 2 / 3, 'syn');
  close(value(f, 'ack_flag_number'), 2 / 3, 'ack');
  close(value(f, 'fin_flag_number'), 0, 'fin');
  assert.equal([value(f, 'ack_count'), value(f, 'syn_count'), value(f, 'rst_count')], [2, 2, 0]);
  assert.equal([value(f, 'HTTP'), value(f, 'HTTPS'), value(f, 'TCP'), value(f, 'UDP'), value(f, 'IPv'), value(f, 'LLC'), value(f, 'ARP')], [1, 0, 1, 0, 1, 1, 0]);
  assert.equal([value(f, 'Tot sum'), value(f, 'Min'), value(f, 'Max'), value(f, 'Number')], [214, 66, 74, 3]);
  const mean = 214 / 3;
  const variance = (2 * (74 - mean) ** 2 + (66 - mean) ** 2) / 3;
  close(value(f, 'AVG'), mean, 'AVG');
  close(value(f, 'Tot size'), mean, 'Tot size');
  close(value(f, 'Variance'), variance, 'Variance');
  close(value(f, 'Std'), Math.sqrt(variance), 'Std');
  close(value(f, 'IAT'), 0.0015, 'IAT');
  // A single packet has no rate and no inter-arrival time.
  const one = windowFeatures(packets.slice(0, 1));
  assert.equal([value(one, 'Rate'), value(one, 'IAT'), value(one, 'Number'), value(one, 'Variance')], [0, 0, 1, 0]);
});

test('windows: N packets per address pair, both directions together; short windows on timeout and at the end', () => {
  const state = createWindowState({ size: 10, timeoutMicros: 2_000_000 });
  const a: WindowPacket[] = [];
  for (let i = 0; i < 12; i++) {
    const out = i % 2 === 0;
    a.push(packet(tcpFrame(out ? '10.0.0.1' : '10.0.0.2', out ? '10.0.0.2' : '10.0.0.1', out ? 40000 : 2575, out ? 2575 : 40000, 0x18, 32, 10), i * 1000));
  }
  const b = [packet(tcpFrame('10.0.0.3', '10.0.0.2', 40001, 443, 0x02, 40), 500)];
  const emitted = pushPackets(state, [...a.slice(0, 10), ...b, ...a.slice(10)]);
  assert.is(emitted.length, 1);
  assert.is(value(emitted[0].features, 'Number'), 10);
  assert.is(emitted[0].src, '10.0.0.1');
  // 3 s later (event time) the other pairs' windows have timed out and go out short.
  const late = pushPackets(state, [packet(tcpFrame('10.0.0.5', '10.0.0.6', 1, 2, 0x02, 20), 3_000_000)]);
  assert.equal(late.map((w) => value(w.features, 'Number')).sort(), [1, 2]);
  const rest = flushWindows(state);
  assert.equal(rest.map((w) => w.src), ['10.0.0.5']);
  const batch = windowFeaturesBatch([...emitted, ...late, ...rest]);
  assert.is(batch.numRows, 4);
  assert.is(batch.schema.metadata.get('heir.feature_set'), 'cic-window@1');
  assert.throws(() => createWindowState({ size: 1 }), /invalid window size/);
});

test('a pcap stream is featurized through the pcap reader and decoder', async () => {
  const frames = [tcpFrame('10.0.0.1', '10.0.0.2', 1, 2, 2, 20), tcpFrame('10.0.0.2', '10.0.0.1', 2, 1, 0x14, 20), arpFrame('10.0.0.2', '10.0.0.1', 7)];
  const header = new Uint8Array(24);
  const dv = new DataView(header.buffer);
  dv.setUint32(0, 0xa1b2c3d4, true);
  dv.setUint16(4, 2, true);
  dv.setUint16(6, 4, true);
  dv.setUint32(16, 65535, true);
  dv.setUint32(20, 1, true);
  const records = frames.map((f, i) => {
    const r = new Uint8Array(16 + f.length);
    const v = new DataView(r.buffer);
    v.setUint32(0, 1767225600 + i, true);
    v.setUint32(4, 0, true);
    v.setUint32(8, f.length, true);
    v.setUint32(12, f.length, true);
    r.set(f, 16);
    return r;
  });
  async function* chunks() {
    yield header;
    for (const r of records) yield r;
  }
  const windows = await windowsFromCapture(chunks(), 'test.pcap');
  assert.is(windows.length, 1);
  assert.is(value(windows[0].features, 'Number'), 3);
  close(value(windows[0].features, 'ARP'), 1 / 3, 'ARP share');
  close(value(windows[0].features, 'rst_flag_number'), 1 / 3, 'RST share');
  close(value(windows[0].features, 'IAT'), 1, 'IAT seconds');
  assert.equal([...windows[0].macs].sort(), [0x020000000001, 0x020000000007]);
  async function* empty() {}
  await windowsFromCapture(empty(), 'none.pcap').then(() => assert.unreachable('empty input'), (e: Error) => assert.match(e.message, /none.pcap: empty capture/));
});

test('properties: shares stay in [0, 1], Std² = Variance, every packet lands in exactly one window', () => {
  const packetArb = fc.record({
    dt: fc.integer({ min: 0, max: 3_000_000 }),
    pair: fc.integer({ min: 0, max: 4 }),
    length: fc.integer({ min: 42, max: 1514 }),
    proto: fc.constantFrom(0, 1, 2, 6, 17),
    flags: fc.integer({ min: 0, max: 255 }),
    port: fc.constantFrom(22, 23, 53, 80, 443, 1883, 2575, 40000),
  });
  fc.assert(
    fc.property(fc.array(packetArb, { minLength: 1, maxLength: 200 }), fc.integer({ min: 2, max: 12 }), (specs, size) => {
      let ts = 0;
      const packets: WindowPacket[] = specs.map((s) => {
        ts += s.dt;
        const ip = s.proto !== 0;
        return {
          ts, length: s.length, linkHeader: true, arp: !ip, ipVersion: ip ? 4 : 0, proto: s.proto, ttl: ip ? 64 : 0,
          src: `10.0.0.${s.pair}`, dst: '10.0.0.200', srcPort: s.proto === 6 || s.proto === 17 ? 50000 : -1, dstPort: s.proto === 6 || s.proto === 17 ? s.port : -1,
          tcpFlags: s.proto === 6 ? s.flags : 0, transportHeaderLength: s.proto === 6 ? 20 : s.proto === 0 || s.proto === 2 ? 0 : 8, srcMac: -1,
        };
      });
      const state = createWindowState({ size, timeoutMicros: 2_000_000 });
      const windows = [...pushPackets(state, packets), ...flushWindows(state)];
      assert.is(windows.reduce((n, w) => n + value(w.features, 'Number'), 0), packets.length);
      for (const w of windows) {
        const f = w.features;
        assert.ok(value(f, 'Number') >= 1 && value(f, 'Number') <= size);
        for (const name of ['fin_flag_number', 'syn_flag_number', 'rst_flag_number', 'psh_flag_number', 'ack_flag_number', 'ece_flag_number', 'cwr_flag_number', 'HTTP', 'HTTPS', 'DNS', 'Telnet', 'SSH', 'TCP', 'UDP', 'ICMP', 'IGMP', 'ARP', 'IPv', 'LLC']) {
          assert.ok(value(f, name) >= 0 && value(f, name) <= 1, `${name} = ${value(f, name)}`);
        }
        close(value(f, 'Std') ** 2, value(f, 'Variance'), 'Std²');
        assert.ok(value(f, 'Min') <= value(f, 'AVG') + 1e-9 && value(f, 'AVG') <= value(f, 'Max') + 1e-9);
        assert.ok(Number.isFinite(value(f, 'Rate')) && value(f, 'Rate') >= 0);
      }
    }),
    { numRuns: 200, seed: 42 },
  );
});

test('the streaming featurizer hands out window batches as windows close', () => {
  const wf = new WindowFeaturizer({ size: 2 });
  const d = new DecodedPacket();
  const frames = [tcpFrame('10.0.0.1', '10.0.0.2', 1, 2, 2, 20), tcpFrame('10.0.0.2', '10.0.0.1', 2, 1, 0x12, 20), tcpFrame('10.0.0.1', '10.0.0.2', 1, 2, 0x10, 20)];
  frames.forEach((f, i) => wf.add(d, decodeFrame(d, 1, f, 0, f.length), 1, f, 0, f.length, f.length, i * 10));
  const first = wf.take()!;
  assert.is(first.numRows, 1);
  assert.is(wf.take(), null);
  const last = wf.flush()!;
  assert.is(last.numRows, 1);
  assert.is(last.getChild('Number')!.get(0), 1);
});

test.run();
