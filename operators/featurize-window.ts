/**
 * Featurize (b): CICIoMT2024 / CICIoT2023-style packet-window features computed from decoded
 * packets (feature set cic-window@1, CIC's 39-feature layout and names). CIC averages per-packet
 * values over windows of 10 (or 100) consecutive packets of a capture that holds one attack; a
 * live network mixes devices and attacks, so here a window is up to `size` consecutive packets of
 * one address pair, and a window that does not fill within `timeoutMicros` of event time is
 * emitted short (so a slow scan still yields features). docs/features.md lists every definition
 * and every deviation from CIC's.
 *
 * Windows span batches, so the windower keeps its open windows in an explicit state object
 * (`createWindowState`) that the caller owns; features of a window are a pure function of its
 * packets (`windowFeatures`).
 */
import type { RecordBatch } from 'apache-arrow';
import { batchFromColumns } from '../pipeline/columns.ts';
import { ConfigError, InputError } from '../pipeline/errors.ts';
import { CIC_WINDOW_FEATURES_V1, featureSchema } from './feature-sets.ts';
import { Decoded, DecodedPacket, SUPPORTED_LINK_TYPES, decodeFrame } from './pcap/decode.ts';
import { addressText } from '../pipeline/flow-id.ts';
import { CaptureReader } from './pcap/reader.ts';

/** The packet facts the window features need (filled from the pcap decoder's output). */
export interface WindowPacket {
  /** Capture time, epoch microseconds. */
  readonly ts: number;
  /** Frame length on the wire (pcap orig_len), bytes. */
  readonly length: number;
  /** True when the frame has a link-layer header (Ethernet, 802.11, SLL); false for raw IP. */
  readonly linkHeader: boolean;
  readonly arp: boolean;
  /** 4, 6, or 0 for a frame that is not IP. */
  readonly ipVersion: number;
  /** IP protocol number (6 TCP, 17 UDP, 1 ICMP, 2 IGMP, 58 ICMPv6); 0 when not IP. */
  readonly proto: number;
  /** IPv4 TTL / IPv6 hop limit; 0 when not IP. */
  readonly ttl: number;
  /** Source address (IP, or the ARP sender protocol address). */
  readonly src: string | null;
  readonly dst: string | null;
  /** TCP/UDP ports; -1 when absent. */
  readonly srcPort: number;
  readonly dstPort: number;
  /** TCP flags byte (FIN=1 SYN=2 RST=4 PSH=8 ACK=16 URG=32 ECE=64 CWR=128); 0 when not TCP. */
  readonly tcpFlags: number;
  /** Transport header length: TCP data offset × 4, 8 for UDP and ICMP, 0 otherwise. */
  readonly transportHeaderLength: number;
  /** Source MAC as a 48-bit number; -1 when the link layer has none. */
  readonly srcMac: number;
}

/** Options of the windower. */
export interface WindowOptions {
  /** Packets per window (CIC: 10, or 100 for its DoS/DDoS captures). */
  readonly size?: number;
  /** A window not filled this long after its first packet (event time) is emitted short. */
  readonly timeoutMicros?: number;
}

/** One emitted window: its key columns and its 39 features in set order. */
export interface PacketWindow {
  readonly id: string;
  readonly tsStart: number;
  readonly tsEnd: number;
  readonly src: string | null;
  readonly dst: string | null;
  readonly features: Float64Array;
  /** Distinct source MACs of the window's frames (labelling ARP spoofing needs them). */
  readonly macs: readonly number[];
  label: string | null;
}

interface OpenWindow {
  readonly key: string;
  readonly packets: WindowPacket[];
}

/** The windower's state: open windows per address pair. Owned by the caller, one per sensor stream. */
export interface WindowState {
  readonly size: number;
  readonly timeoutMicros: number;
  readonly open: Map<string, OpenWindow>;
  /** Windows emitted per pair so far (gives each window a deterministic id). */
  readonly sequence: Map<string, number>;
  /** Largest event time seen. */
  maxTs: number;
  lastSweep: number;
  emitted: number;
}

/** Create windower state; options are validated here, once. */
export function createWindowState(options: WindowOptions = {}): WindowState {
  const size = options.size ?? 10;
  const timeoutMicros = options.timeoutMicros ?? 2_000_000;
  if (!Number.isInteger(size) || size < 2 || size > 10_000) throw new ConfigError(`invalid window size: ${size} (an integer 2..10000)`);
  if (!(timeoutMicros > 0)) throw new ConfigError(`invalid window timeout: ${timeoutMicros} µs`);
  return { size, timeoutMicros, open: new Map(), sequence: new Map(), maxTs: -Infinity, lastSweep: -Infinity, emitted: 0 };
}

/** The window key of a packet: the unordered address pair (both directions share a window). */
export function pairKey(p: WindowPacket): string {
  const a = p.src ?? '?';
  const b = p.dst ?? '?';
  return a < b ? `${a}|${b}` : `${b}|${a}`;
}

/** Add packets (in capture order); returns the windows they completed, plus windows that timed out. */
export function pushPackets(state: WindowState, packets: Iterable<WindowPacket>): PacketWindow[] {
  const done: PacketWindow[] = [];
  for (const p of packets) {
    if (p.ts > state.maxTs) state.maxTs = p.ts;
    const key = pairKey(p);
    let w = state.open.get(key);
    if (w && p.ts - w.packets[0].ts > state.timeoutMicros) {
      done.push(close(state, w));
      w = undefined;
    }
    if (!w) {
      w = { key, packets: [] };
      state.open.set(key, w);
    }
    w.packets.push(p);
    if (w.packets.length >= state.size) done.push(close(state, w));
    // Sweep for windows other pairs left idle, a few times per timeout (not per packet).
    if (state.maxTs - state.lastSweep > state.timeoutMicros / 4) {
      state.lastSweep = state.maxTs;
      sweep(state, state.maxTs, done);
    }
  }
  return done;
}

/** Emit windows whose timeout has passed at event time `now` (µs): a heartbeat for idle streams. */
export function expireWindows(state: WindowState, now: number): PacketWindow[] {
  const done: PacketWindow[] = [];
  sweep(state, now, done);
  return done;
}

/** Emit every open window (end of input). */
export function flushWindows(state: WindowState): PacketWindow[] {
  const done: PacketWindow[] = [];
  for (const w of [...state.open.values()].sort((a, b) => a.packets[0].ts - b.packets[0].ts)) done.push(close(state, w));
  return done;
}

function sweep(state: WindowState, now: number, done: PacketWindow[]): void {
  for (const w of state.open.values()) {
    if (now - w.packets[0].ts > state.timeoutMicros) done.push(close(state, w));
  }
}

function close(state: WindowState, w: OpenWindow): PacketWindow {
  state.open.delete(w.key);
  const seq = state.sequence.get(w.key) ?? 0;
  state.sequence.set(w.key, seq + 1);
  state.emitted++;
  const first = w.packets[0];
  return {
    id: `${w.key}|${first.ts}|${seq}`,
    tsStart: first.ts,
    tsEnd: w.packets[w.packets.length - 1].ts,
    src: first.src,
    dst: first.dst,
    features: windowFeatures(w.packets),
    macs: [...new Set(w.packets.map((p) => p.srcMac).filter((m) => m >= 0))],
    label: null,
  };
}

// CIC marks application protocols by well-known port (either side): port → bit of its protocols.
const APP_NAMES = ['HTTP', 'HTTPS', 'DNS', 'Telnet', 'SMTP', 'SSH', 'IRC', 'DHCP'] as const;
const APP_PORTS: Readonly<Record<(typeof APP_NAMES)[number], readonly number[]>> = { HTTP: [80], HTTPS: [443], DNS: [53], Telnet: [23], SMTP: [25], SSH: [22], IRC: [194, 6667], DHCP: [67, 68] };
const PORT_APPS = new Uint8Array(65536);
APP_NAMES.forEach((name, bit) => {
  for (const port of APP_PORTS[name]) PORT_APPS[port] |= 1 << bit;
});

const FEATURE_INDEX: Readonly<Record<string, number>> = Object.fromEntries(CIC_WINDOW_FEATURES_V1.features.map((name, i) => [name, i]));

/**
 * The 39 cic-window@1 features of a run of packets (in capture order), in set order. Fractions
 * (flag numbers, protocol indicators) are per-packet 0/1 values averaged over the window, as CIC's
 * per-packet averaging gives; counts are counts within the window.
 */
export function windowFeatures(packets: readonly WindowPacket[]): Float64Array {
  const out = new Float64Array(CIC_WINDOW_FEATURES_V1.features.length);
  const n = packets.length;
  if (n === 0) return out;
  let header = 0, proto = 0, ttl = 0, ipCount = 0;
  const flags = [0, 0, 0, 0, 0, 0, 0]; // fin syn rst psh ack ece cwr
  const bits = [1, 2, 4, 8, 16, 64, 128];
  const app = new Float64Array(APP_NAMES.length);
  let tcp = 0, udp = 0, arp = 0, icmp = 0, igmp = 0, llc = 0;
  let sum = 0, min = Infinity, max = -Infinity;
  for (let i = 0; i < n; i++) {
    const p = packets[i];
    header += p.transportHeaderLength;
    proto += p.proto;
    if (p.ipVersion !== 0) {
      ipCount++;
      ttl += p.ttl;
    }
    if (p.proto === 6) {
      tcp++;
      for (let k = 0; k < 7; k++) if (p.tcpFlags & bits[k]) flags[k]++;
    } else if (p.proto === 17) udp++;
    else if (p.proto === 1 || p.proto === 58) icmp++;
    else if (p.proto === 2) igmp++;
    if (p.arp) arp++;
    if (p.linkHeader) llc++;
    if (p.proto === 6 || p.proto === 17) {
      const bits = (p.srcPort >= 0 ? PORT_APPS[p.srcPort] : 0) | (p.dstPort >= 0 ? PORT_APPS[p.dstPort] : 0);
      if (bits !== 0) for (let k = 0; k < APP_NAMES.length; k++) if (bits & (1 << k)) app[k]++;
    }
    sum += p.length;
    if (p.length < min) min = p.length;
    if (p.length > max) max = p.length;
  }
  const mean = sum / n;
  let sq = 0;
  for (let i = 0; i < n; i++) sq += (packets[i].length - mean) ** 2;
  const variance = sq / n;
  const span = (packets[n - 1].ts - packets[0].ts) / 1e6;
  const set = (name: string, v: number) => {
    out[FEATURE_INDEX[name]] = v;
  };
  set('Header_Length', header / n);
  set('Protocol Type', proto / n);
  set('Time_To_Live', ipCount > 0 ? ttl / ipCount : 0);
  // Packets per second over the window; a window whose packets share one timestamp is taken over 1 µs.
  set('Rate', n >= 2 ? (n - 1) / Math.max(span, 1e-6) : 0);
  const flagNames = ['fin', 'syn', 'rst', 'psh', 'ack', 'ece', 'cwr'];
  for (let k = 0; k < 7; k++) set(`${flagNames[k]}_flag_number`, flags[k] / n);
  set('ack_count', flags[4]);
  set('syn_count', flags[1]);
  set('fin_count', flags[0]);
  set('rst_count', flags[2]);
  for (let k = 0; k < APP_NAMES.length; k++) set(APP_NAMES[k], app[k] / n);
  set('TCP', tcp / n);
  set('UDP', udp / n);
  set('ARP', arp / n);
  set('ICMP', icmp / n);
  set('IGMP', igmp / n);
  set('IPv', ipCount / n);
  set('LLC', llc / n);
  set('Tot sum', sum);
  set('Min', min);
  set('Max', max);
  set('AVG', mean);
  set('Std', Math.sqrt(variance));
  set('Tot size', mean);
  set('IAT', n >= 2 ? span / (n - 1) : 0);
  set('Number', n);
  set('Variance', variance);
  return out;
}

/** The window_features table (feature set cic-window@1) of emitted windows. */
export function windowFeaturesBatch(windows: readonly PacketWindow[]): RecordBatch {
  const { schema, columns } = featureSchema(CIC_WINDOW_FEATURES_V1);
  const n = windows.length;
  const cols: Record<string, ArrayLike<unknown>> = {
    window_id: windows.map((w) => w.id),
    ts_start: windows.map((w) => w.tsStart),
    ts_end: windows.map((w) => w.tsEnd),
    src_addr: windows.map((w) => w.src),
    dst_addr: windows.map((w) => w.dst),
    label: windows.map((w) => w.label),
  };
  const names = CIC_WINDOW_FEATURES_V1.features;
  for (let j = 0; j < names.length; j++) {
    const a = new Float64Array(n);
    for (let i = 0; i < n; i++) a[i] = windows[i].features[j];
    cols[names[j]] = a;
  }
  return batchFromColumns(schema, columns, cols, n);
}

/**
 * The window packet of a frame the pcap decoder has read (`decodeFrame` → `result`). ARP frames,
 * which the decoder reports as not IP, are read here only as far as their sender and target
 * protocol addresses (Ethernet/IPv4 ARP); other non-IP frames keep null addresses.
 */
export function windowPacketOf(p: DecodedPacket, result: Decoded, linkType: number, data: Uint8Array, start: number, caplen: number, wireLength: number, ts: number): WindowPacket | null {
  if (result === Decoded.BAD) return null;
  const linkHeader = linkType === 1 || linkType === 113 || linkType === 276;
  if (result === Decoded.NOT_IP) {
    let arp = false;
    let src: string | null = null;
    let dst: string | null = null;
    // Ethernet (untagged) ARP for IPv4: hardware type 1, protocol 0x0800, lengths 6 and 4.
    if (linkType === 1 && caplen >= 42 && data[start + 12] === 0x08 && data[start + 13] === 0x06) {
      arp = true;
      const o = start + 14;
      if (data[o + 4] === 6 && data[o + 5] === 4) {
        src = addressText(data.subarray(o + 14, o + 18));
        dst = addressText(data.subarray(o + 24, o + 28));
      }
    }
    return { ts, length: wireLength, linkHeader, arp, ipVersion: 0, proto: 0, ttl: 0, src, dst, srcPort: -1, dstPort: -1, tcpFlags: 0, transportHeaderLength: 0, srcMac: p.srcMac };
  }
  const src = addressOf(p.data, p.srcOff, p.addrLen);
  const dst = addressOf(p.data, p.dstOff, p.addrLen);
  const ports = p.hasL4 && (p.proto === 6 || p.proto === 17);
  let thl = 0;
  if (p.hasL4) {
    if (p.proto === 6) thl = tcpHeaderLength(p);
    else if (p.proto === 17 || p.proto === 1 || p.proto === 58) thl = 8;
  }
  return {
    ts,
    length: wireLength,
    linkHeader,
    arp: false,
    ipVersion: p.ipVersion,
    proto: p.proto,
    ttl: p.ttl,
    src,
    dst,
    srcPort: ports ? p.srcPort : -1,
    dstPort: ports ? p.dstPort : -1,
    tcpFlags: p.proto === 6 ? p.tcpFlags : 0,
    transportHeaderLength: thl,
    srcMac: p.srcMac,
  };
}

// IPv4 address texts by their 32-bit value: a capture has few addresses and many packets, so
// each is formatted once instead of once per packet (bounded; cleared when full).
const ipv4Text = new Map<number, string>();

function addressOf(data: Uint8Array, off: number, len: number): string {
  if (len !== 4) return addressText(data.subarray(off, off + len));
  const key = ((data[off] << 24) | (data[off + 1] << 16) | (data[off + 2] << 8) | data[off + 3]) >>> 0;
  let text = ipv4Text.get(key);
  if (text === undefined) {
    if (ipv4Text.size >= 65536) ipv4Text.clear();
    text = addressText(data.subarray(off, off + 4));
    ipv4Text.set(key, text);
  }
  return text;
}

/** TCP data offset × 4 of a decoded TCP packet (IPv4 options and plain IPv6 headers honoured; 20 otherwise). */
function tcpHeaderLength(p: DecodedPacket): number {
  const d = p.data;
  const tcpStart = p.ipVersion === 4 ? p.srcOff - 12 + (d[p.srcOff - 12] & 0x0f) * 4 : p.srcOff + 32;
  if (tcpStart + 13 > d.length) return 20;
  const thl = (d[tcpStart + 12] >> 4) * 4;
  // The decoder put the payload right after the header: a mismatch means extension headers moved it.
  return tcpStart + thl === p.payloadOff ? thl : 20;
}

/**
 * Streaming packet-window featurizer for an ingest that already reads and decodes packets (the
 * pcap parser's record sink): hand it every decoded frame, take the `window_features` batch of the
 * windows closed so far whenever a flow batch is cut.
 * @example
 * const windows = new WindowFeaturizer();
 * // in the CaptureReader sink, after decodeFrame(p, linkType, data, start, caplen) returned r:
 * windows.add(p, r, linkType, data, start, caplen, wireLen, ts);
 * const batch = windows.take(); // null when no window closed
 */
export class WindowFeaturizer {
  readonly state: WindowState;
  private ready: PacketWindow[] = [];
  private pending: WindowPacket[] = [];

  constructor(options: WindowOptions = {}) {
    this.state = createWindowState(options);
  }

  /** Add one decoded frame; damaged frames are ignored here (the flow ingest dead-letters them). */
  add(p: DecodedPacket, result: Decoded, linkType: number, data: Uint8Array, start: number, caplen: number, wireLength: number, ts: number): void {
    const wp = windowPacketOf(p, result, linkType, data, start, caplen, wireLength, ts);
    if (wp) this.pending.push(wp);
    if (this.pending.length >= 256) this.drainPending();
  }

  /** The windows closed since the last call, as a `window_features` batch (null when none). */
  take(): RecordBatch | null {
    this.drainPending();
    if (this.ready.length === 0) return null;
    const batch = windowFeaturesBatch(this.ready);
    this.ready = [];
    return batch;
  }

  /** Close every open window (end of input) and return them with any not yet taken. */
  flush(): RecordBatch | null {
    this.drainPending();
    this.ready.push(...flushWindows(this.state));
    return this.take();
  }

  private drainPending(): void {
    if (this.pending.length === 0) return;
    this.ready.push(...pushPackets(this.state, this.pending));
    this.pending = [];
  }
}

/** Counters of one capture featurization. */
export interface CaptureWindowStats {
  packets: number;
  bad: number;
  skipped: number;
  windows: number;
}

/**
 * Featurize a whole capture (file chunks, or `tcpdump -w -` on a pipe) into packet windows, in
 * event-time order of their first packet. Damaged records are counted in `stats.bad` (the flow
 * ingest dead-letters them); the windower state may be passed in to continue a stream.
 */
export async function windowsFromCapture(chunks: AsyncIterable<Uint8Array>, input: string, options: { state?: WindowState; stats?: CaptureWindowStats } = {}): Promise<PacketWindow[]> {
  const state = options.state ?? createWindowState();
  const stats = options.stats ?? { packets: 0, bad: 0, skipped: 0, windows: 0 };
  const decoded = new DecodedPacket();
  const out: PacketWindow[] = [];
  const pending: WindowPacket[] = [];
  const reader = new CaptureReader(input, {
    packet(data, start, caplen, wireLen, ts, linkType) {
      stats.packets++;
      if (!SUPPORTED_LINK_TYPES.has(linkType)) {
        stats.skipped++;
        return;
      }
      const r = decodeFrame(decoded, linkType, data, start, caplen);
      const wp = windowPacketOf(decoded, r, linkType, data, start, caplen, wireLen, ts);
      if (wp) pending.push(wp);
      else stats.bad++;
    },
    bad() {
      stats.bad++;
    },
  });
  let sawBytes = false;
  for await (const chunk of chunks) {
    if (chunk.length > 0) sawBytes = true;
    reader.push(chunk);
    if (pending.length > 0) {
      out.push(...pushPackets(state, pending));
      pending.length = 0;
    }
  }
  if (!sawBytes) throw new InputError(input, 'empty capture');
  reader.end();
  out.push(...pushPackets(state, pending), ...flushWindows(state));
  out.sort((a, b) => a.tsStart - b.tsStart || (a.id < b.id ? -1 : 1));
  stats.windows += out.length;
  return out;
}
