/**
 * Bidirectional flow assembly. Packets are grouped on the 5-tuple regardless of direction; the
 * initiator is the sender of the first packet seen, or the receiver of a SYN-ACK when the SYN was
 * missed. A flow ends on TCP FIN from both sides or RST (after a short linger that absorbs the
 * last ACKs), after an idle timeout, at end of input, or is cut into interim records by the
 * active timeout. Statistics are running (Welford) so a flow costs a fixed number of fields plus
 * the first bytes of payload each way kept for application-layer inspection.
 */
import { bytesWanted, opensServerHello, tlsServerBytesWanted, tlsServerSizeHint } from '../l7/wanted.ts';
import { carveSlab, sharedBytes } from '../../pipeline/shared-bytes.ts';
import type { DecodedPacket } from './decode.ts';

/** Why a flow record was emitted. */
export type EndReason = 'fin' | 'rst' | 'idle' | 'active' | 'eof';

/** Assembler options (times in seconds). */
export interface AssemblerOptions {
  /** A flow with no packet for this long ends ('idle'). Default 60 s. */
  readonly idleTimeoutS?: number;
  /** A flow longer than this emits an interim record and goes on ('active'). Default 300 s. */
  readonly activeTimeoutS?: number;
  /** After FIN from both sides or RST, packets within this time still belong to the flow. Default 2 s. */
  readonly lingerS?: number;
  /** Payload bytes kept per direction for L7 inspection. Default 8192. */
  readonly inspectBytes?: number;
  /** Flows held at most; beyond it the least recently active flow ends early ('idle'). Default 1,000,000. */
  readonly maxFlows?: number;
}

export const DEFAULT_IDLE_TIMEOUT_S = 60;
export const DEFAULT_ACTIVE_TIMEOUT_S = 300;
const DEFAULT_LINGER_S = 2;
const DEFAULT_INSPECT_BYTES = 8192;
const DEFAULT_MAX_FLOWS = 1_000_000;
/** First-fragment ports remembered for pairing later IPv4 fragments. */
const MAX_FRAGMENT_TRAINS = 4096;
const SLAB_BYTES = 256 * 1024;
const FIRST_SLAB_BYTES = 16 * 1024;

// ICMP/ICMPv6 request/reply pairs: both halves share one flow key.
const ICMP_PAIR: Readonly<Record<number, number>> = { 8: 0, 0: 8, 13: 14, 14: 13, 15: 16, 16: 15, 10: 9, 9: 10, 17: 18, 18: 17 };
const ICMP6_PAIR: Readonly<Record<number, number>> = { 128: 129, 129: 128, 133: 134, 134: 133, 135: 136, 136: 135, 130: 131, 131: 130, 144: 145, 145: 144 };

/**
 * Inspection buffers, shared by every assembler of this thread: buffers of ended flows by size
 * class (512 << k), reused by new flows (of this capture or the next one), and the slab new ones
 * are carved from. A buffer comes back only once its flow has been handed over and read.
 */
const buffers = { pool: [] as Uint8Array[][], slab: new Uint8Array(0), slabUsed: 0 };

/**
 * The thread's shared bytes (pipeline/shared-bytes.ts): slabs are carved from it while it has room,
 * and a file is read into it, so payload goes from a chunk to an inspection buffer by one
 * `copyWithin` over it (`copyKept`) instead of a `set()` of a new view.
 */
const shared = sharedBytes();
const sharedBuffer = shared.buffer;

/**
 * Whether every slab of this thread lies in the shared bytes (so does every inspection buffer):
 * true until the shared slab region runs out. Asking a typed array for its `buffer` costs more
 * than the copy of a short payload, so it is asked once per slab and once per source array.
 */
let slabsShared = true;
/** The source array of the last copy (a chunk holds many packets) and whether it lies in the shared bytes. */
let lastSource: Uint8Array | null = null;
let lastSourceShared = false;

/** Copy `n` bytes of `data` at `from` into `buf` (an inspection buffer) at `to`. */
function copyKept(buf: Uint8Array, to: number, data: Uint8Array, from: number, n: number): void {
  if (data !== lastSource) {
    lastSource = data;
    lastSourceShared = data.buffer === sharedBuffer;
  }
  if (slabsShared && lastSourceShared) {
    const at = data.byteOffset + from;
    shared.copyWithin(buf.byteOffset + to, at, at + n);
  } else buf.set(data.subarray(from, from + n), to);
}

/** Flow objects handed over and read, reused for new flows by every assembler of this thread (less garbage per flow). */
const spareFlows: Flow[] = [];
const MAX_SPARE_FLOWS = 4096;

/** One flow (or the current segment of a long-lived one). */
export class Flow {
  // Identity: set when the flow starts (a flow object is reused for a later flow once handed over).
  key = '';
  /** True when the initiator is the lower (address, port) endpoint of the key. */
  initLow = false;
  ipVersion = 0;
  proto = 0;
  /** Address bytes (plain arrays: cheaper per flow than typed arrays with their own buffers). */
  srcAddr: readonly number[] = [];
  dstAddr: readonly number[] = [];
  srcPort = 0;
  dstPort = 0;
  linkType = 0;
  tsStart = 0;
  tsEnd = 0;
  fwdPackets = 0;
  bwdPackets = 0;
  fwdBytes = 0;
  bwdBytes = 0;
  fwdPayload = 0;
  bwdPayload = 0;
  iatN = 0;
  iatMean = 0;
  iatM2 = 0;
  iatMin = Infinity;
  iatMax = 0;
  lenMean = 0;
  lenM2 = 0;
  lenMin = Infinity;
  lenMax = 0;
  ttlMin = 255;
  ttlMax = 0;
  flagsFwd = 0;
  flagsBwd = 0;
  syn = 0;
  fin = 0;
  rst = 0;
  psh = 0;
  ack = 0;
  urg = 0;
  srcMac = -1;
  dstMac = -1;
  vlan = -1;
  finFwd = false;
  finBwd = false;
  /** Set once the flow is closing (FIN both ways or RST). */
  closeReason: EndReason | null = null;
  // Payload kept for L7 inspection, and TCP sequence tracking so retransmissions are not doubled.
  fwdBuf: Uint8Array | null = null;
  fwdLen = 0;
  bwdBuf: Uint8Array | null = null;
  bwdLen = 0;
  fwdSeq = -1;
  bwdSeq = -1;
  /** Bytes worth keeping each way, settled by the first payload (see bytesWanted). */
  fwdWant = -1;
  bwdWant = -1;
  /**
   * IPv4 TCP/UDP/other non-ICMP flows live in the numeric table (`key` is then empty): low and
   * high address, both ports, and the hash of the four with the protocol.
   */
  v4 = false;
  hkA = 0;
  hkB = 0;
  hkP = 0;
  hkH = 0;
  // Intrusive LRU list links (open or closing list).
  prev: Flow | null = null;
  next: Flow | null = null;

  constructor(key: string, initLow: boolean, p: DecodedPacket, initiatorIsSender: boolean, linkType: number) {
    this.start(key, initLow, p, initiatorIsSender, linkType);
  }

  /** Make this object the new flow of packet `p` (all state as a new object's; address arrays reused when of the same length). */
  start(key: string, initLow: boolean, p: DecodedPacket, initiatorIsSender: boolean, linkType: number): this {
    this.key = key;
    this.initLow = initLow;
    this.ipVersion = p.ipVersion;
    this.proto = p.proto;
    this.linkType = linkType;
    const n = p.addrLen;
    const icmp = p.proto === 1 || p.proto === 58;
    const senderFirst = initiatorIsSender || icmp;
    const src = (this.srcAddr.length === n ? this.srcAddr : new Array<number>(n)) as number[];
    const dst = (this.dstAddr.length === n ? this.dstAddr : new Array<number>(n)) as number[];
    const from = senderFirst ? p.srcOff : p.dstOff;
    const to = senderFirst ? p.dstOff : p.srcOff;
    for (let i = 0; i < n; i++) {
      src[i] = p.data[from + i];
      dst[i] = p.data[to + i];
    }
    this.srcAddr = src;
    this.dstAddr = dst;
    this.srcPort = senderFirst ? p.srcPort : p.dstPort;
    this.dstPort = senderFirst ? p.dstPort : p.srcPort;
    this.tsStart = this.tsEnd = 0;
    this.resetSegment();
    this.srcMac = this.dstMac = this.vlan = -1;
    this.finFwd = this.finBwd = false;
    this.closeReason = null;
    this.fwdBuf = this.bwdBuf = null;
    this.fwdLen = this.bwdLen = 0;
    this.fwdSeq = this.bwdSeq = -1;
    this.fwdWant = this.bwdWant = -1;
    this.v4 = false;
    this.hkA = this.hkB = this.hkP = this.hkH = 0;
    this.prev = this.next = null;
    return this;
  }

  /** Total packets of the current segment. */
  get packets(): number {
    return this.fwdPackets + this.bwdPackets;
  }

  /** Clear the counters for the next segment of a long-lived flow (identity and L7 bytes stay). */
  resetSegment(): void {
    this.fwdPackets = this.bwdPackets = this.fwdBytes = this.bwdBytes = this.fwdPayload = this.bwdPayload = 0;
    this.iatN = this.iatMean = this.iatM2 = this.iatMax = 0;
    this.iatMin = Infinity;
    this.lenMean = this.lenM2 = this.lenMax = 0;
    this.lenMin = Infinity;
    this.ttlMin = 255;
    this.ttlMax = 0;
    this.flagsFwd = this.flagsBwd = 0;
    this.syn = this.fin = this.rst = this.psh = this.ack = this.urg = 0;
  }
}

/** Receives every finished flow; the flow object must be read synchronously (it may be reused). */
export type FlowHandler = (flow: Flow, reason: EndReason) => void;

class FlowList {
  head: Flow | null = null;
  tail: Flow | null = null;
  size = 0;
  append(f: Flow): void {
    f.prev = this.tail;
    f.next = null;
    if (this.tail) this.tail.next = f;
    else this.head = f;
    this.tail = f;
    this.size++;
  }
  remove(f: Flow): void {
    if (f.prev) f.prev.next = f.next;
    else this.head = f.next;
    if (f.next) f.next.prev = f.prev;
    else this.tail = f.prev;
    f.prev = f.next = null;
    this.size--;
  }
}

/**
 * The flows of the common case, IPv4 and not ICMP, by their 5-tuple as numbers: open addressing
 * with linear probing (backward-shift deletion), so a packet builds no key string.
 */
class V4Table {
  private slots: (Flow | undefined)[] = new Array<Flow | undefined>(1024).fill(undefined);
  private mask = 1023;
  size = 0;

  static hash(a: number, b: number, ports: number, proto: number): number {
    let h = Math.imul(a ^ 0x9e3779b9, 0x85ebca6b);
    h = Math.imul(h ^ (h >>> 13) ^ b, 0xc2b2ae35);
    h = Math.imul(h ^ (h >>> 16) ^ ports, 0x85ebca6b);
    h = Math.imul(h ^ (h >>> 13) ^ proto, 0xc2b2ae35);
    return h ^ (h >>> 16);
  }

  get(h: number, a: number, b: number, ports: number, proto: number): Flow | undefined {
    const slots = this.slots;
    for (let i = h & this.mask; ; i = (i + 1) & this.mask) {
      const f = slots[i];
      if (f === undefined) return undefined;
      if (f.hkH === h && f.hkA === a && f.hkB === b && f.hkP === ports && f.proto === proto) return f;
    }
  }

  add(f: Flow): void {
    if ((this.size + 1) * 2 > this.slots.length) this.resize(this.slots.length * 2);
    this.place(f);
    this.size++;
  }

  private place(f: Flow): void {
    let i = f.hkH & this.mask;
    while (this.slots[i] !== undefined) i = (i + 1) & this.mask;
    this.slots[i] = f;
  }

  private resize(capacity: number): void {
    const old = this.slots;
    this.slots = new Array<Flow | undefined>(capacity).fill(undefined);
    this.mask = capacity - 1;
    for (const f of old) if (f !== undefined) this.place(f);
  }

  delete(f: Flow): void {
    const slots = this.slots;
    const mask = this.mask;
    let i = f.hkH & mask;
    while (slots[i] !== f) {
      if (slots[i] === undefined) return;
      i = (i + 1) & mask;
    }
    // Move later members of the probe run back into the gap, so lookups never stop early.
    for (let j = (i + 1) & mask; ; j = (j + 1) & mask) {
      const g = slots[j];
      if (g === undefined) break;
      const home = g.hkH & mask;
      const between = i <= j ? home > i && home <= j : home > i || home <= j;
      if (between) continue;
      slots[i] = g;
      i = j;
    }
    slots[i] = undefined;
    this.size--;
  }
}

/** Groups decoded packets into flows and hands finished flows to `onFlow`. */
export class FlowAssembler {
  private readonly table = new Map<string, Flow>();
  private readonly v4 = new V4Table();
  private readonly open = new FlowList();
  private readonly closing = new FlowList();
  private readonly idleUs: number;
  private readonly activeUs: number;
  private readonly lingerUs: number;
  private readonly inspectBytes: number;
  private readonly onFlow: FlowHandler;
  private readonly keyUnits = new Uint16Array(19);
  private readonly maxFlows: number;
  /** Ports of recent first fragments by (addresses, protocol, IP id), so later fragments join their flow. */
  private readonly fragmentPorts = new Map<string, number>();
  private clock = -Infinity;
  private nextSweep = -Infinity;

  constructor(onFlow: FlowHandler, options: AssemblerOptions = {}) {
    const idle = options.idleTimeoutS ?? DEFAULT_IDLE_TIMEOUT_S;
    const active = options.activeTimeoutS ?? DEFAULT_ACTIVE_TIMEOUT_S;
    const linger = options.lingerS ?? DEFAULT_LINGER_S;
    const inspect = options.inspectBytes ?? DEFAULT_INSPECT_BYTES;
    if (!(idle > 0)) throw new RangeError(`invalid idleTimeoutS: ${idle}`);
    if (!(active > 0)) throw new RangeError(`invalid activeTimeoutS: ${active}`);
    if (!(linger >= 0)) throw new RangeError(`invalid lingerS: ${linger}`);
    if (!(inspect >= 0) || !Number.isInteger(inspect)) throw new RangeError(`invalid inspectBytes: ${inspect}`);
    const maxFlows = options.maxFlows ?? DEFAULT_MAX_FLOWS;
    if (!(maxFlows >= 1) || !Number.isInteger(maxFlows)) throw new RangeError(`invalid maxFlows: ${maxFlows}`);
    this.maxFlows = maxFlows;
    this.idleUs = idle * 1e6;
    this.activeUs = active * 1e6;
    this.lingerUs = linger * 1e6;
    this.inspectBytes = inspect;
    this.onFlow = onFlow;
  }

  /** Flows currently held. */
  get activeFlows(): number {
    return this.table.size + this.v4.size;
  }

  /** Account one decoded IP packet captured at `ts` (µs) on `linkType`. */
  add(p: DecodedPacket, ts: number, linkType: number): void {
    p.ts = ts;
    this.addPacket(p, linkType);
  }

  /** `add` of a packet whose capture time is in `p.ts` (the time stays a number field all the way: no heap number per packet). */
  addPacket(p: DecodedPacket, linkType: number): void {
    const ts = p.ts;
    if (ts > this.clock) this.clock = ts;
    if (this.clock >= this.nextSweep) {
      this.sweep(this.clock);
      this.nextSweep = this.clock + 1e6;
    }
    if (p.fragment !== 0) this.pairFragment(p);
    const data = p.data;
    const n = p.addrLen;
    // Which endpoint is "low": compare addresses, then ports. ICMP compares addresses only.
    let cmp = 0;
    // IPv4: each address as one big-endian word (compared unsigned, as the bytes compare).
    let srcWord = 0;
    let dstWord = 0;
    if (n === 4) {
      const so = p.srcOff;
      const d = p.dstOff;
      srcWord = (data[so] << 24) | (data[so + 1] << 16) | (data[so + 2] << 8) | data[so + 3];
      dstWord = (data[d] << 24) | (data[d + 1] << 16) | (data[d + 2] << 8) | data[d + 3];
      cmp = srcWord === dstWord ? 0 : srcWord >>> 0 < dstWord >>> 0 ? -1 : 1;
    } else for (let i = 0; i < n && cmp === 0; i++) cmp = data[p.srcOff + i] - data[p.dstOff + i];
    const icmp = p.proto === 1 || p.proto === 58;
    let lowIsSrc: boolean;
    if (cmp !== 0) lowIsSrc = cmp < 0;
    else lowIsSrc = icmp || p.srcPort <= p.dstPort;
    // IPv4 and not ICMP: the 5-tuple as numbers; everything else by its key text.
    const fast = n === 4 && !icmp;
    let key = '';
    let hA = 0;
    let hB = 0;
    let hP = 0;
    let hH = 0;
    let flow: Flow | undefined;
    if (fast) {
      hA = lowIsSrc ? srcWord : dstWord;
      hB = lowIsSrc ? dstWord : srcWord;
      hP = lowIsSrc ? (p.srcPort << 16) | p.dstPort : (p.dstPort << 16) | p.srcPort;
      hH = V4Table.hash(hA, hB, hP, p.proto);
      flow = this.v4.get(hH, hA, hB, hP, p.proto);
    } else {
      key = this.keyOf(p, lowIsSrc, icmp);
      flow = this.table.get(key);
    }
    const flags = p.tcpFlags;
    if (flow !== undefined) {
      const isSynOnly = p.proto === 6 && (flags & 0x12) === 0x02;
      if (flow.closeReason !== null && isSynOnly) {
        this.finish(flow, flow.closeReason);
        flow = undefined;
      } else if (ts - flow.tsEnd > this.idleUs) {
        this.finish(flow, 'idle');
        flow = undefined;
      } else if (ts - flow.tsStart >= this.activeUs && flow.packets > 0) {
        this.onFlow(flow, 'active');
        flow.resetSegment();
      }
    }
    if (flow === undefined) {
      // A SYN-ACK as first packet means we missed the SYN: its receiver is the initiator.
      const senderInitiates = !(p.proto === 6 && (flags & 0x12) === 0x12);
      const spare = spareFlows.pop();
      flow = spare !== undefined ? spare.start(key, senderInitiates === lowIsSrc, p, senderInitiates, linkType) : new Flow(key, senderInitiates === lowIsSrc, p, senderInitiates, linkType);
      flow.tsStart = ts;
      flow.tsEnd = ts;
      if (this.table.size + this.v4.size >= this.maxFlows && this.open.head !== null) this.finish(this.open.head, 'idle');
      if (fast) {
        flow.v4 = true;
        flow.hkA = hA;
        flow.hkB = hB;
        flow.hkP = hP;
        flow.hkH = hH;
        this.v4.add(flow);
      } else this.table.set(key, flow);
      this.open.append(flow);
    } else if (flow.closeReason === null) {
      // Most packets follow one of the same flow: it is the tail already (moving it would touch
      // its neighbours, cold flows, for nothing).
      if (this.open.tail !== flow) {
        this.open.remove(flow);
        this.open.append(flow);
      }
    } else if (this.closing.tail !== flow) {
      this.closing.remove(flow);
      this.closing.append(flow);
    }
    const fwd = lowIsSrc === flow.initLow;
    this.account(flow, p, fwd);
  }

  /** A first fragment leaves its ports; a later one takes them (and stays without L4 facts). */
  private pairFragment(p: DecodedPacket): void {
    const d = p.data;
    let id = `${p.proto}/${p.ipId}/`;
    for (let i = 0; i < p.addrLen; i++) id += `${d[p.srcOff + i]}.`;
    id += '>';
    for (let i = 0; i < p.addrLen; i++) id += `${d[p.dstOff + i]}.`;
    if (p.fragment === 1) {
      if (this.fragmentPorts.size >= MAX_FRAGMENT_TRAINS) this.fragmentPorts.delete(this.fragmentPorts.keys().next().value as string);
      this.fragmentPorts.set(id, p.srcPort * 65536 + p.dstPort);
    } else {
      const ports = this.fragmentPorts.get(id);
      if (ports !== undefined) {
        p.srcPort = Math.floor(ports / 65536);
        p.dstPort = ports % 65536;
      }
    }
  }

  private keyOf(p: DecodedPacket, lowIsSrc: boolean, icmp: boolean): string {
    const d = p.data;
    const a = lowIsSrc ? p.srcOff : p.dstOff;
    const b = lowIsSrc ? p.dstOff : p.srcOff;
    const u = this.keyUnits;
    let k = 0;
    for (let i = 0; i < p.addrLen; i += 2) u[k++] = (d[a + i] << 8) | d[a + i + 1];
    for (let i = 0; i < p.addrLen; i += 2) u[k++] = (d[b + i] << 8) | d[b + i + 1];
    if (icmp) {
      const pair = (p.proto === 1 ? ICMP_PAIR : ICMP6_PAIR)[p.srcPort];
      if (pair === undefined) {
        u[k++] = p.srcPort;
        u[k++] = p.dstPort;
      } else {
        u[k++] = Math.min(p.srcPort, pair);
        u[k++] = 0xffff;
      }
    } else {
      u[k++] = lowIsSrc ? p.srcPort : p.dstPort;
      u[k++] = lowIsSrc ? p.dstPort : p.srcPort;
    }
    u[k++] = p.proto;
    return String.fromCharCode.apply(null, u.subarray(0, k) as unknown as number[]);
  }

  private account(f: Flow, p: DecodedPacket, fwd: boolean): void {
    const ts = p.ts;
    const len = p.ipLen;
    if (f.packets > 0) {
      const iat = ts > f.tsEnd ? (ts - f.tsEnd) / 1e6 : 0;
      const n = ++f.iatN;
      const d = iat - f.iatMean;
      f.iatMean += d / n;
      f.iatM2 += d * (iat - f.iatMean);
      if (iat < f.iatMin) f.iatMin = iat;
      if (iat > f.iatMax) f.iatMax = iat;
    } else {
      f.tsStart = ts;
    }
    if (ts > f.tsEnd) f.tsEnd = ts;
    const n = f.packets + 1;
    const d = len - f.lenMean;
    f.lenMean += d / n;
    f.lenM2 += d * (len - f.lenMean);
    if (len < f.lenMin) f.lenMin = len;
    if (len > f.lenMax) f.lenMax = len;
    if (p.ttl < f.ttlMin) f.ttlMin = p.ttl;
    if (p.ttl > f.ttlMax) f.ttlMax = p.ttl;
    if (fwd) {
      f.fwdPackets++;
      f.fwdBytes += len;
      f.fwdPayload += p.payloadLen;
      if (f.srcMac < 0 && p.srcMac >= 0) f.srcMac = p.srcMac;
      if (f.dstMac < 0 && p.dstMac >= 0) f.dstMac = p.dstMac;
    } else {
      f.bwdPackets++;
      f.bwdBytes += len;
      f.bwdPayload += p.payloadLen;
      if (f.dstMac < 0 && p.srcMac >= 0) f.dstMac = p.srcMac;
      if (f.srcMac < 0 && p.dstMac >= 0) f.srcMac = p.dstMac;
    }
    if (f.vlan < 0 && p.vlan >= 0) f.vlan = p.vlan;
    if (p.proto === 6 && p.hasL4) {
      const fl = p.tcpFlags;
      if (fwd) f.flagsFwd |= fl;
      else f.flagsBwd |= fl;
      if (fl & 0x02) f.syn++;
      if (fl & 0x01) {
        f.fin++;
        if (fwd) f.finFwd = true;
        else f.finBwd = true;
      }
      if (fl & 0x04) f.rst++;
      if (fl & 0x08) f.psh++;
      if (fl & 0x10) f.ack++;
      if (fl & 0x20) f.urg++;
      // A direction that has kept all it wants needs no call (most packets of a long flow).
      if (this.inspectBytes > 0) {
        const want = fwd ? f.fwdWant : f.bwdWant;
        if (want < 0 || (fwd ? f.fwdLen : f.bwdLen) < want) this.keepTcp(f, p, fwd);
      }
      if (f.closeReason === null && ((fl & 0x04) !== 0 || (f.finFwd && f.finBwd))) {
        f.closeReason = fl & 0x04 ? 'rst' : 'fin';
        this.open.remove(f);
        this.closing.append(f);
      }
    } else if (p.proto === 17 && p.payloadCap > 0 && this.inspectBytes > 0) {
      // UDP: the first datagram each way is what DNS/DHCP inspection reads.
      const n = Math.min(p.payloadCap, this.inspectBytes);
      if (fwd && f.fwdLen === 0) {
        f.fwdBuf = this.acquire(n);
        copyKept(f.fwdBuf, 0, p.data, p.payloadOff, n);
        f.fwdLen = n;
      } else if (!fwd && f.bwdLen === 0) {
        f.bwdBuf = this.acquire(n);
        copyKept(f.bwdBuf, 0, p.data, p.payloadOff, n);
        f.bwdLen = n;
      }
    }
  }

  /** A buffer of at least `min` bytes (a power of two from 512), reused from ended flows when possible. */
  private acquire(min: number): Uint8Array {
    let size = 512;
    let k = 0;
    while (size < min) {
      size <<= 1;
      k++;
    }
    const list = buffers.pool[k];
    if (list !== undefined && list.length > 0) return list.pop() as Uint8Array;
    // New buffers are carved from a shared slab: one backing store per 256 KiB instead of one per
    // flow. Slabs start small and double, so a short capture does not zero a large one.
    if (buffers.slabUsed + size > buffers.slab.length) {
      const bytes = Math.max(Math.min(SLAB_BYTES, buffers.slab.length * 2), FIRST_SLAB_BYTES, size);
      const carved = carveSlab(bytes);
      if (carved === null) slabsShared = false;
      buffers.slab = carved ?? new Uint8Array(bytes);
      buffers.slabUsed = 0;
    }
    const view = buffers.slab.subarray(buffers.slabUsed, buffers.slabUsed + size);
    buffers.slabUsed += size;
    return view;
  }

  private release(buf: Uint8Array | null): void {
    if (buf === null) return;
    const k = Math.log2(buf.length) - 9;
    if (!Number.isInteger(k) || k < 0) return;
    const list = (buffers.pool[k] ??= []);
    if (list.length < 256) list.push(buf);
  }

  /** Append in-order TCP payload to the direction's inspection buffer, skipping retransmissions. */
  private keepTcp(f: Flow, p: DecodedPacket, fwd: boolean): void {
    const have = fwd ? f.fwdLen : f.bwdLen;
    const want = fwd ? f.fwdWant : f.bwdWant;
    // Enough kept this way: sequence tracking is no longer needed either.
    if (want >= 0 && have >= want) return;
    const seqNow = fwd ? f.fwdSeq : f.bwdSeq;
    let off = p.payloadOff;
    let cap = p.payloadCap;
    let len = p.payloadLen;
    let seq = p.tcpSeq;
    if (p.tcpFlags & 0x02) seq = (seq + 1) >>> 0;
    if (seqNow >= 0 && len > 0) {
      const behind = -((seq - seqNow) | 0);
      if (behind > 0) {
        // A retransmission, whole or partly: keep only bytes not seen before.
        if (behind >= len) return;
        off += behind;
        cap -= behind;
        len -= behind;
        seq = seqNow;
      }
    }
    if (len > 0 || seqNow < 0) {
      if (fwd) f.fwdSeq = (seq + len) >>> 0;
      else f.bwdSeq = (seq + len) >>> 0;
    }
    if (cap <= 0) return;
    // The opening bytes of a direction settle how much of it is worth keeping, before copying any.
    let wanted = want;
    if (wanted < 0 && have === 0 && cap >= 9) {
      wanted = bytesWanted(p.data, off, cap, this.inspectBytes);
      if (fwd) f.fwdWant = wanted;
      else f.bwdWant = wanted;
    }
    const limit = wanted >= 0 ? wanted : this.inspectBytes;
    let buf = fwd ? f.fwdBuf : f.bwdBuf;
    const need = Math.min(limit, have + cap);
    if (buf === null || buf.length < need) {
      // Sized once where the size it will reach is known (the opening said how long it is, or a
      // ServerHello shows where its certificate ends), and a direction keeping the whole allowance
      // that outgrows its first buffer goes to the allowance at once: each doubling copied the
      // kept bytes again (a certificate or an HTTP request arrives over several packets).
      let size = Math.max(need, 512);
      if (wanted >= 0 && wanted < this.inspectBytes) size = wanted;
      else if (buf !== null) size = this.inspectBytes;
      else if (wanted === this.inspectBytes) {
        const hint = tlsServerSizeHint(p.data, off, cap);
        if (hint > size) size = hint;
      }
      const grown = this.acquire(Math.min(limit, size));
      if (buf) {
        copyKept(grown, 0, buf, 0, have);
        this.release(buf);
      }
      buf = grown;
    }
    const data = p.data;
    // Short copies in a loop; longer ones natively (a view costs less than the loop then).
    if (need - have <= 32) for (let i = have, j = off; i < need; i++, j++) buf[i] = data[j];
    else copyKept(buf, have, data, off, need - have);
    if (wanted < 0 && need >= 9) wanted = bytesWanted(buf, 0, need, this.inspectBytes);
    // A ServerHello before TLS 1.3 keeps the allowance until the kept bytes show where the first
    // certificate ends (or that the version is 1.3, or that no certificate follows).
    if (wanted === this.inspectBytes && opensServerHello(buf, need)) {
      const enough = tlsServerBytesWanted(buf, need);
      if (enough >= 0) wanted = Math.min(this.inspectBytes, Math.max(enough, need));
    }
    if (fwd) {
      f.fwdBuf = buf;
      f.fwdLen = need;
      f.fwdWant = wanted;
    } else {
      f.bwdBuf = buf;
      f.bwdLen = need;
      f.bwdWant = wanted;
    }
  }

  private finish(f: Flow, reason: EndReason): void {
    if (f.v4) this.v4.delete(f);
    else this.table.delete(f.key);
    if (f.closeReason === null) this.open.remove(f);
    else this.closing.remove(f);
    if (f.packets > 0) this.onFlow(f, reason);
    // The handler has read the flow (synchronously, as documented): its buffers can serve others.
    this.release(f.fwdBuf);
    this.release(f.bwdBuf);
    f.fwdBuf = f.bwdBuf = null;
    if (spareFlows.length < MAX_SPARE_FLOWS) spareFlows.push(f);
  }

  /** End flows idle (or lingering after close) at capture time `now` (µs). */
  sweep(now: number): void {
    for (let f = this.closing.head; f !== null && now - f.tsEnd > this.lingerUs; f = this.closing.head) this.finish(f, f.closeReason ?? 'fin');
    for (let f = this.open.head; f !== null && now - f.tsEnd > this.idleUs; f = this.open.head) this.finish(f, 'idle');
  }

  /** End of input: emit every flow still held (closed ones with their close reason). */
  flush(): void {
    for (let f = this.closing.head; f !== null; f = this.closing.head) this.finish(f, f.closeReason ?? 'fin');
    for (let f = this.open.head; f !== null; f = this.open.head) this.finish(f, 'eof');
  }
}
