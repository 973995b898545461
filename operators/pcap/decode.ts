/**
 * Link, network and transport header decoding into one reusable `DecodedPacket` (no allocation
 * per packet): link types Ethernet (1), raw IP (101, 12, 14, 228, 229), Linux cooked SLL (113)
 * and SLL2 (276), BSD null/loopback (0, 108), IEEE 802.11 (105) and radiotap 802.11 (127) data
 * frames of open networks; 802.1Q/802.1ad VLAN tags; IPv4, IPv6 with extension headers; TCP,
 * UDP, ICMP, ICMPv6.
 */

/** Outcome of decoding one frame. */
export const Decoded = {
  /** An IP packet with its transport header read as far as it applies. */
  IP: 0,
  /** A well-formed frame that is not IP (ARP, LLDP, STP, 802.3 LLC …): skipped, counted. */
  NOT_IP: 1,
  /** A frame whose headers are cut or inconsistent: `reason` says why. */
  BAD: 2,
} as const;
export type Decoded = (typeof Decoded)[keyof typeof Decoded];

/** Link types whose frames carry no IP (Bluetooth LE sniffers). */
export const BLE_LINK_TYPES: ReadonlySet<number> = new Set([251, 256, 272]);
/** Link types this decoder reads. */
export const SUPPORTED_LINK_TYPES: ReadonlySet<number> = new Set([0, 1, 12, 14, 101, 105, 108, 113, 127, 228, 229, 276]);

/** Fields of the last decoded packet. Offsets point into `data`. */
export class DecodedPacket {
  data: Uint8Array = new Uint8Array(0);
  /**
   * Capture time in µs, set by the caller for the flow assembler (`FlowAssembler.addPacket`): a
   * time passed as an argument to a call that is not inlined is a new heap number per packet.
   */
  ts = 0.5;
  reason = '';
  ipVersion = 0;
  /** Offset of the source address (4 or 16 bytes) in `data`. */
  srcOff = 0;
  dstOff = 0;
  addrLen = 4;
  proto = 0;
  /** Ports for TCP/UDP, type and code for ICMP; 0 otherwise. */
  srcPort = 0;
  dstPort = 0;
  ttl = 0;
  /** IP packet length from the IP header (not the captured length). */
  ipLen = 0;
  /** Transport payload length from the headers (may exceed the captured bytes). */
  payloadLen = 0;
  /** Offset and captured length of the transport payload. */
  payloadOff = 0;
  payloadCap = 0;
  hasL4 = false;
  tcpFlags = 0;
  tcpSeq = 0;
  /** MAC addresses as 48-bit numbers, -1 when the link layer has none. */
  srcMac = -1;
  dstMac = -1;
  /** Outer VLAN id, -1 when untagged. */
  vlan = -1;
  /** Fragmentation: 0 unfragmented, 1 first fragment (has ports), 2 later fragment (no ports). */
  fragment = 0;
  /** IPv4 identification or IPv6 fragment identification (pairs later fragments with the first). */
  ipId = 0;
}

function mac48(d: Uint8Array, o: number): number {
  return (d[o] * 0x10000 + ((d[o + 1] << 8) | d[o + 2])) * 0x1000000 + ((d[o + 3] << 16) | (d[o + 4] << 8) | d[o + 5]);
}

function bad(p: DecodedPacket, reason: string): Decoded {
  p.reason = reason;
  return Decoded.BAD;
}

// Reasons of the per-packet decoders, formatted out of line by `badHeader`: with their texts
// built in place, ipv4() and transport() were too large for V8 to inline into the frame decoder.
const IPV4_CUT = 0;
const IPV4_VERSION = 1;
const IPV4_IHL = 2;
const IPV4_OPTIONS = 3;
const IPV4_TOTAL = 4;
const TCP_CUT = 5;
const TCP_SHORT = 6;
const TCP_OFFSET = 7;
const TCP_LONG = 8;
const UDP_CUT = 9;
const UDP_SHORT = 10;
const ICMP_CUT = 11;

/** `bad()` with the reason `what` about the values `a` and `b`. */
function badHeader(p: DecodedPacket, what: number, a: number, b: number): Decoded {
  return bad(p, headerReason(what, a, b));
}

function headerReason(what: number, a: number, b: number): string {
  switch (what) {
    case IPV4_CUT:
      return `IPv4 header cut short (${Math.max(0, a)} of 20 bytes)`;
    case IPV4_VERSION:
      return `IPv4 header with version ${a}`;
    case IPV4_IHL:
      return `IPv4 header length ${a} below 20`;
    case IPV4_OPTIONS:
      return `IPv4 options cut short (${a} of ${b} bytes)`;
    case IPV4_TOTAL:
      return `IPv4 total length ${a} below its header length ${b}`;
    case TCP_CUT:
      return `TCP header cut short (${Math.max(0, a)} bytes captured)`;
    case TCP_SHORT:
      return `TCP segment of ${a} bytes`;
    case TCP_OFFSET:
      return `TCP data offset ${a} below 20`;
    case TCP_LONG:
      return `TCP header length ${a} exceeds the segment (${b} bytes)`;
    case UDP_CUT:
      return `UDP header cut short (${Math.max(0, a)} bytes captured)`;
    case UDP_SHORT:
      return `UDP datagram of ${a} bytes`;
    default:
      return `ICMP header cut short (${Math.max(0, a)} bytes captured)`;
  }
}

/** Decode one frame of `linkType` at `data[start, start + caplen)`. */
export function decodeFrame(p: DecodedPacket, linkType: number, data: Uint8Array, start: number, caplen: number): Decoded {
  // The same chunk for many packets: a store only when it changes.
  if (p.data !== data) p.data = data;
  p.srcMac = -1;
  p.dstMac = -1;
  p.vlan = -1;
  p.hasL4 = false;
  p.tcpFlags = 0;
  p.srcPort = 0;
  p.dstPort = 0;
  p.payloadLen = 0;
  p.payloadCap = 0;
  p.fragment = 0;
  const end = start + caplen;
  switch (linkType) {
    case 1: {
      if (caplen < 14) return bad(p, `Ethernet frame of ${caplen} bytes is shorter than its header`);
      p.dstMac = mac48(data, start);
      p.srcMac = mac48(data, start + 6);
      return etherType(p, data, start + 12, end);
    }
    case 101:
    case 12:
    case 14:
    case 228:
    case 229:
      return ipByVersion(p, data, start, end);
    case 0:
    case 108: {
      if (caplen < 4) return bad(p, 'loopback frame shorter than its 4-byte family');
      // The family is in the capturing host's byte order (0) or network order (108): accept both.
      const be = (data[start] << 24) | (data[start + 1] << 16) | (data[start + 2] << 8) | data[start + 3];
      const le = (data[start + 3] << 24) | (data[start + 2] << 16) | (data[start + 1] << 8) | data[start];
      const family = be >>> 0 < 256 ? be : le;
      if (family === 2) return ipv4(p, data, start + 4, end);
      if (family === 24 || family === 28 || family === 30 || family === 10) return ipv6(p, data, start + 4, end);
      return Decoded.NOT_IP;
    }
    case 113: {
      if (caplen < 16) return bad(p, 'Linux cooked (SLL) frame shorter than its 16-byte header');
      const halen = (data[start + 4] << 8) | data[start + 5];
      if (halen === 6) setSllMac(p, data, start + 6, (data[start] << 8) | data[start + 1]);
      return etherType(p, data, start + 14, end);
    }
    case 276: {
      if (caplen < 20) return bad(p, 'Linux cooked (SLL2) frame shorter than its 20-byte header');
      if (data[start + 11] === 6) setSllMac(p, data, start + 12, data[start + 10]);
      return etherType(p, data, start, end, start + 20);
    }
    case 105:
      return wifi(p, data, start, end);
    case 127: {
      if (caplen < 8) return bad(p, 'radiotap header cut short');
      if (data[start] !== 0) return bad(p, `radiotap version ${data[start]}`);
      const len = data[start + 2] | (data[start + 3] << 8);
      if (len < 8 || len > caplen) return bad(p, `radiotap length ${len} outside the frame (${caplen} bytes)`);
      // Find the Flags field: after the present words (bit 31 chains another), behind an 8-byte-aligned TSFT.
      const present = (data[start + 4] | (data[start + 5] << 8) | (data[start + 6] << 16) | (data[start + 7] << 24)) >>> 0;
      let o = start + 8;
      for (let w = present; (w & 0x80000000) !== 0 && o + 4 <= start + len; o += 4) w = (data[o] | (data[o + 1] << 8) | (data[o + 2] << 16) | (data[o + 3] << 24)) >>> 0;
      if (present & 1) o = start + (((o - start + 7) & ~7) + 8);
      // Flags bit 0x10: the frame ends with a 4-byte FCS that is not ours to read.
      const withFcs = (present & 2) !== 0 && o < start + len && (data[o] & 0x10) !== 0;
      return wifi(p, data, start + len, withFcs ? end - 4 : end);
    }
    default:
      return bad(p, `unsupported link type ${linkType}`);
  }
}

/** An 802.11 frame: data frames of open networks carry LLC/SNAP and then IP; everything else is not IP. */
function wifi(p: DecodedPacket, data: Uint8Array, o: number, end: number): Decoded {
  if (end - o < 24) return end - o >= 10 ? Decoded.NOT_IP : bad(p, `802.11 header cut short (${Math.max(0, end - o)} bytes)`);
  const fc0 = data[o];
  const fc1 = data[o + 1];
  const type = (fc0 >> 2) & 3;
  const subtype = fc0 >> 4;
  // Management, control, null-function and protected (encrypted) frames carry no readable IP.
  if (type !== 2 || (subtype & 4) !== 0 || (fc1 & 0x40) !== 0) return Decoded.NOT_IP;
  const toDs = (fc1 & 1) !== 0;
  const fromDs = (fc1 & 2) !== 0;
  let hdr = toDs && fromDs ? 30 : 24;
  if (subtype & 8) hdr += (fc1 & 0x80) !== 0 ? 6 : 2; // QoS control, and HT control when the order bit is set
  if (end - o < hdr + 8) return bad(p, '802.11 data frame shorter than its header and LLC/SNAP');
  const a1 = o + 4;
  const a2 = o + 10;
  const a3 = o + 16;
  p.dstMac = mac48(data, toDs ? a3 : a1);
  p.srcMac = mac48(data, toDs && fromDs ? o + 24 : fromDs ? a3 : a2);
  const llc = o + hdr;
  if (data[llc] !== 0xaa || data[llc + 1] !== 0xaa || data[llc + 2] !== 0x03) return Decoded.NOT_IP;
  return etherType(p, data, llc + 6, end);
}

// SLL shows one address, the sender's; packet type 4 means sent by the capturing host.
function setSllMac(p: DecodedPacket, data: Uint8Array, o: number, _packetType: number): void {
  p.srcMac = mac48(data, o);
}

/** Dispatch on an EtherType at `typeOff`; the next header starts at `next` (default typeOff + 2). */
function etherType(p: DecodedPacket, data: Uint8Array, typeOff: number, end: number, next = typeOff + 2): Decoded {
  let t = (data[typeOff] << 8) | data[typeOff + 1];
  let o = next;
  // 802.1Q, 802.1ad and the old QinQ type: 2 bytes TCI, 2 bytes inner type, any depth.
  while (t === 0x8100 || t === 0x88a8 || t === 0x9100) {
    if (o + 4 > end) return bad(p, 'VLAN tag cut short');
    if (p.vlan < 0) p.vlan = ((data[o] << 8) | data[o + 1]) & 0x0fff;
    t = (data[o + 2] << 8) | data[o + 3];
    o += 4;
  }
  if (t === 0x0800) return ipv4(p, data, o, end);
  if (t === 0x86dd) return ipv6(p, data, o, end);
  return Decoded.NOT_IP;
}

function ipByVersion(p: DecodedPacket, data: Uint8Array, o: number, end: number): Decoded {
  if (o >= end) return bad(p, 'empty raw IP packet');
  const v = data[o] >> 4;
  if (v === 4) return ipv4(p, data, o, end);
  if (v === 6) return ipv6(p, data, o, end);
  return bad(p, `raw IP packet with IP version ${v}`);
}

function ipv4(p: DecodedPacket, data: Uint8Array, o: number, end: number): Decoded {
  if (end - o < 20) return badHeader(p, IPV4_CUT, end - o, 0);
  if (data[o] >> 4 !== 4) return badHeader(p, IPV4_VERSION, data[o] >> 4, 0);
  const ihl = (data[o] & 0x0f) * 4;
  if (ihl < 20) return badHeader(p, IPV4_IHL, ihl, 0);
  if (end - o < ihl) return badHeader(p, IPV4_OPTIONS, end - o, ihl);
  let total = (data[o + 2] << 8) | data[o + 3];
  // Segmentation offload writes 0 here; the captured length is then the best there is.
  if (total === 0) total = end - o;
  if (total < ihl) return badHeader(p, IPV4_TOTAL, total, ihl);
  p.ipVersion = 4;
  p.addrLen = 4;
  p.srcOff = o + 12;
  p.dstOff = o + 16;
  p.ttl = data[o + 8];
  p.proto = data[o + 9];
  p.ipLen = total;
  const fragOffset = ((data[o + 6] & 0x1f) << 8) | data[o + 7];
  const moreFragments = (data[o + 6] & 0x20) !== 0;
  p.ipId = (data[o + 4] << 8) | data[o + 5];
  // Bytes of this packet that were captured (a snaplen may cut them; trailing padding is not ours).
  const capEnd = Math.min(end, o + total);
  if (fragOffset !== 0) {
    p.fragment = 2;
    p.payloadLen = total - ihl;
    return Decoded.IP;
  }
  if (moreFragments) p.fragment = 1;
  return transport(p, data, o + ihl, capEnd, total - ihl);
}

function ipv6(p: DecodedPacket, data: Uint8Array, o: number, end: number): Decoded {
  if (end - o < 40) return bad(p, `IPv6 header cut short (${Math.max(0, end - o)} of 40 bytes)`);
  if (data[o] >> 4 !== 6) return bad(p, `IPv6 header with version ${data[o] >> 4}`);
  let payload = (data[o + 4] << 8) | data[o + 5];
  if (payload === 0) payload = end - o - 40; // jumbogram or offload
  p.ipVersion = 6;
  p.addrLen = 16;
  p.srcOff = o + 8;
  p.dstOff = o + 24;
  p.ttl = data[o + 7];
  p.ipLen = payload + 40;
  const capEnd = Math.min(end, o + 40 + payload);
  let next = data[o + 6];
  let h = o + 40;
  let remaining = payload;
  // Walk extension headers: hop-by-hop 0, routing 43, fragment 44, destination options 60, AH 51, mobility 135.
  for (let guard = 0; guard < 16; guard++) {
    if (next === 0 || next === 43 || next === 60 || next === 135 || next === 51 || next === 44) {
      if (h + 8 > capEnd) return bad(p, `IPv6 extension header ${next} cut short`);
      const len = next === 44 ? 8 : next === 51 ? (data[h + 1] + 2) * 4 : (data[h + 1] + 1) * 8;
      if (next === 44) {
        p.ipId = ((data[h + 4] << 24) | (data[h + 5] << 16) | (data[h + 6] << 8) | data[h + 7]) >>> 0;
        if ((((data[h + 2] << 8) | data[h + 3]) & 0xfff8) !== 0) {
          p.fragment = 2;
          p.proto = data[h];
          p.payloadLen = Math.max(0, remaining - 8);
          return Decoded.IP;
        }
        if ((data[h + 3] & 1) !== 0) p.fragment = 1;
      }
      if (len > remaining) return bad(p, `IPv6 extension header ${next} longer than the packet`);
      next = data[h];
      h += len;
      remaining -= len;
      continue;
    }
    break;
  }
  p.proto = next;
  return transport(p, data, h, capEnd, remaining);
}

function transport(p: DecodedPacket, data: Uint8Array, o: number, capEnd: number, length: number): Decoded {
  // One small function per transport (each small enough for V8 to inline where it is hot).
  const proto = p.proto;
  if (proto === 6) return tcp(p, data, o, capEnd - o, length);
  if (proto === 17) return udp(p, data, o, capEnd - o, length);
  if (proto === 1 || proto === 58) return icmp(p, data, o, capEnd - o, length);
  p.payloadLen = length;
  return Decoded.IP;
}

function tcp(p: DecodedPacket, data: Uint8Array, o: number, cap: number, length: number): Decoded {
  if (cap < 14) return cap < 0 || length >= 20 ? badHeader(p, TCP_CUT, cap, 0) : badHeader(p, TCP_SHORT, length, 0);
  const off = (data[o + 12] >> 4) * 4;
  if (off < 20) return badHeader(p, TCP_OFFSET, off, 0);
  if (off > length) return badHeader(p, TCP_LONG, off, length);
  p.srcPort = (data[o] << 8) | data[o + 1];
  p.dstPort = (data[o + 2] << 8) | data[o + 3];
  p.tcpSeq = ((data[o + 4] << 24) | (data[o + 5] << 16) | (data[o + 6] << 8) | data[o + 7]) >>> 0;
  p.tcpFlags = data[o + 13];
  p.hasL4 = true;
  p.payloadLen = length - off;
  p.payloadOff = o + off;
  p.payloadCap = Math.max(0, Math.min(cap - off, p.payloadLen));
  return Decoded.IP;
}

function udp(p: DecodedPacket, data: Uint8Array, o: number, cap: number, length: number): Decoded {
  if (cap < 8) return badHeader(p, UDP_CUT, cap, 0);
  if (length < 8) return badHeader(p, UDP_SHORT, length, 0);
  p.srcPort = (data[o] << 8) | data[o + 1];
  p.dstPort = (data[o + 2] << 8) | data[o + 3];
  p.hasL4 = true;
  p.payloadLen = length - 8;
  p.payloadOff = o + 8;
  p.payloadCap = Math.min(cap - 8, p.payloadLen);
  return Decoded.IP;
}

function icmp(p: DecodedPacket, data: Uint8Array, o: number, cap: number, length: number): Decoded {
  if (cap < 2) return badHeader(p, ICMP_CUT, cap, 0);
  p.srcPort = data[o];
  p.dstPort = data[o + 1];
  p.hasL4 = true;
  p.payloadLen = Math.max(0, length - 8);
  return Decoded.IP;
}
