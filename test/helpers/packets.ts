/**
 * Hand-made packets and capture files for parser tests: IPv4/IPv6 with TCP, UDP or ICMP, link
 * headers (Ethernet with VLAN tags, SLL, SLL2, null/loopback), and pcap/pcapng writers in either
 * byte order and time resolution. Checksums are left at zero (the parser does not verify them).
 */

/** Dotted IPv4 to bytes. */
export function ip4(text: string): Uint8Array {
  return Uint8Array.from(text.split('.').map(Number));
}

/** Full IPv6 (8 groups, no ::) to bytes. */
export function ip6(text: string): Uint8Array {
  const out = new Uint8Array(16);
  text.split(':').forEach((g, i) => {
    const v = parseInt(g || '0', 16);
    out[2 * i] = v >> 8;
    out[2 * i + 1] = v & 0xff;
  });
  return out;
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** TCP segment: header (20 bytes, no options) + payload. */
export function tcp(sport: number, dport: number, flags: number, seq: number, payload: Uint8Array = new Uint8Array(0), ack = 0): Uint8Array {
  const h = new Uint8Array(20);
  const v = new DataView(h.buffer);
  v.setUint16(0, sport);
  v.setUint16(2, dport);
  v.setUint32(4, seq >>> 0);
  v.setUint32(8, ack >>> 0);
  h[12] = 5 << 4;
  h[13] = flags;
  v.setUint16(14, 65535);
  return concat(h, payload);
}

/** UDP datagram. */
export function udp(sport: number, dport: number, payload: Uint8Array): Uint8Array {
  const h = new Uint8Array(8);
  const v = new DataView(h.buffer);
  v.setUint16(0, sport);
  v.setUint16(2, dport);
  v.setUint16(4, 8 + payload.length);
  return concat(h, payload);
}

/** ICMP message (type, code, 2 bytes checksum, 4 bytes rest) + data. */
export function icmp(type: number, code: number, data: Uint8Array = new Uint8Array(8)): Uint8Array {
  return concat(Uint8Array.of(type, code, 0, 0, 0, 1, 0, 1), data);
}

/** IPv4 packet around a transport segment. */
export function ipv4(src: string, dst: string, proto: number, l4: Uint8Array, ttl = 64): Uint8Array {
  const h = new Uint8Array(20);
  const v = new DataView(h.buffer);
  h[0] = 0x45;
  v.setUint16(2, 20 + l4.length);
  h[8] = ttl;
  h[9] = proto;
  h.set(ip4(src), 12);
  h.set(ip4(dst), 16);
  return concat(h, l4);
}

/** IPv6 packet; `ext` adds a hop-by-hop and a destination-options header before the transport. */
export function ipv6(src: string, dst: string, proto: number, l4: Uint8Array, hops = 64, ext = false): Uint8Array {
  const extHeaders = ext ? concat(Uint8Array.of(60, 0, 1, 4, 0, 0, 0, 0), Uint8Array.of(proto, 0, 1, 4, 0, 0, 0, 0)) : new Uint8Array(0);
  const h = new Uint8Array(40);
  const v = new DataView(h.buffer);
  h[0] = 0x60;
  v.setUint16(4, extHeaders.length + l4.length);
  h[6] = ext ? 0 : proto;
  h[7] = hops;
  h.set(ip6(src), 8);
  h.set(ip6(dst), 24);
  return concat(h, extHeaders, l4);
}

function macBytes(mac: string): Uint8Array {
  return Uint8Array.from(mac.split(':').map((x) => parseInt(x, 16)));
}

/** Ethernet frame; `vlans` adds tags outermost first (802.1ad outer type when there are two). */
export function ethernet(src: string, dst: string, ip: Uint8Array, vlans: number[] = []): Uint8Array {
  const type = (ip[0] >> 4) === 6 ? 0x86dd : 0x0800;
  const out: Uint8Array[] = [macBytes(dst), macBytes(src)];
  vlans.forEach((id, i) => {
    const tpid = i === 0 && vlans.length > 1 ? 0x88a8 : 0x8100;
    out.push(Uint8Array.of(tpid >> 8, tpid & 0xff, id >> 8, id & 0xff));
  });
  out.push(Uint8Array.of(type >> 8, type & 0xff), ip);
  return concat(...out);
}

/** Linux cooked capture v1 header (link type 113) around an IP packet. */
export function sll(ip: Uint8Array, mac = '02:00:00:00:00:01'): Uint8Array {
  const h = new Uint8Array(16);
  h[5] = 6;
  h.set(macBytes(mac), 6);
  const type = (ip[0] >> 4) === 6 ? 0x86dd : 0x0800;
  h[14] = type >> 8;
  h[15] = type & 0xff;
  return concat(h, ip);
}

/** Linux cooked capture v2 header (link type 276). */
export function sll2(ip: Uint8Array, mac = '02:00:00:00:00:01'): Uint8Array {
  const h = new Uint8Array(20);
  const type = (ip[0] >> 4) === 6 ? 0x86dd : 0x0800;
  h[0] = type >> 8;
  h[1] = type & 0xff;
  h[9] = 1;
  h[11] = 6;
  h.set(macBytes(mac), 12);
  return concat(h, ip);
}

/** BSD null/loopback header (link type 0, host order little-endian; 108 network order). */
export function nullLink(ip: Uint8Array, networkOrder = false): Uint8Array {
  const family = (ip[0] >> 4) === 6 ? 30 : 2;
  const h = networkOrder ? Uint8Array.of(0, 0, 0, family) : Uint8Array.of(family, 0, 0, 0);
  return concat(h, ip);
}

/** One record for a capture writer: time in µs and frame bytes. */
export interface Frame {
  readonly ts: number;
  readonly data: Uint8Array;
}

/** A classic pcap file. */
export function pcapFile(linkType: number, frames: readonly Frame[], options: { bigEndian?: boolean; nanos?: boolean } = {}): Uint8Array {
  const le = !options.bigEndian;
  const parts: Uint8Array[] = [];
  const h = new Uint8Array(24);
  const v = new DataView(h.buffer);
  v.setUint32(0, options.nanos ? 0xa1b23c4d : 0xa1b2c3d4, le);
  v.setUint16(4, 2, le);
  v.setUint16(6, 4, le);
  v.setUint32(16, 262144, le);
  v.setUint32(20, linkType, le);
  parts.push(h);
  for (const f of frames) {
    const r = new Uint8Array(16);
    const rv = new DataView(r.buffer);
    rv.setUint32(0, Math.floor(f.ts / 1e6), le);
    rv.setUint32(4, options.nanos ? (f.ts % 1e6) * 1000 : f.ts % 1e6, le);
    rv.setUint32(8, f.data.length, le);
    rv.setUint32(12, f.data.length, le);
    parts.push(r, f.data);
  }
  return concat(...parts);
}

/** A pcapng file with one section and one interface; `tsresol` 6 (µs) or 9 (ns). */
export function pcapngFile(linkType: number, frames: readonly Frame[], options: { bigEndian?: boolean; tsresol?: number } = {}): Uint8Array {
  const le = !options.bigEndian;
  const block = (type: number, body: Uint8Array) => {
    const padded = (body.length + 3) & ~3;
    const b = new Uint8Array(12 + padded);
    const v = new DataView(b.buffer);
    v.setUint32(0, type, le);
    v.setUint32(4, b.length, le);
    b.set(body, 8);
    v.setUint32(b.length - 4, b.length, le);
    return b;
  };
  const shb = new Uint8Array(16);
  const sv = new DataView(shb.buffer);
  sv.setUint32(0, 0x1a2b3c4d, le);
  sv.setUint16(4, 1, le);
  sv.setInt32(8, -1, le);
  sv.setInt32(12, -1, le);
  const resol = options.tsresol ?? 6;
  const idb = new Uint8Array(8 + 8 + 4);
  const iv = new DataView(idb.buffer);
  iv.setUint16(0, linkType, le);
  iv.setUint32(4, 262144, le);
  iv.setUint16(8, 9, le);
  iv.setUint16(10, 1, le);
  idb[12] = resol;
  const parts = [block(0x0a0d0d0a, shb), block(1, idb)];
  for (const f of frames) {
    const body = new Uint8Array(20 + f.data.length);
    const bv = new DataView(body.buffer);
    const units = BigInt(f.ts) * 10n ** BigInt(resol - 6);
    bv.setUint32(4, Number(units >> 32n), le);
    bv.setUint32(8, Number(units & 0xffffffffn), le);
    bv.setUint32(12, f.data.length, le);
    bv.setUint32(16, f.data.length, le);
    body.set(f.data, 20);
    parts.push(block(6, body));
  }
  return concat(...parts);
}

/** An async iterable of `bytes` cut into pieces of the given sizes (cycled). */
export async function* chunked(bytes: Uint8Array, sizes: readonly number[] = [bytes.length || 1]): AsyncGenerator<Uint8Array> {
  let o = 0;
  for (let i = 0; o < bytes.length; i++) {
    const n = Math.max(1, sizes[i % sizes.length]);
    yield bytes.subarray(o, o + n);
    o += n;
  }
}

/** An 802.11 QoS data frame to the AP (ToDS) with LLC/SNAP around an IP packet (link type 105). */
export function wifiData(ip: Uint8Array, src = '02:00:00:00:00:0a', dst = '02:00:00:00:00:0b', bssid = '02:00:00:00:00:ff', isProtected = false): Uint8Array {
  const type = (ip[0] >> 4) === 6 ? 0x86dd : 0x0800;
  // Frame control: type data (2), subtype QoS data (8); flags ToDS (+ Protected).
  const header = concat(Uint8Array.of(0x88, isProtected ? 0x41 : 0x01, 0, 0), macBytes(bssid), macBytes(src), macBytes(dst), Uint8Array.of(0, 0), Uint8Array.of(0, 0));
  return concat(header, Uint8Array.of(0xaa, 0xaa, 0x03, 0, 0, 0, type >> 8, type & 0xff), ip);
}

/** A radiotap header (TSFT + Flags with the FCS bit) in front of an 802.11 frame, and the 4-byte FCS after it (link type 127). */
export function radiotap(frame: Uint8Array): Uint8Array {
  // version 0, pad, length 18 (LE), present = TSFT | Flags; TSFT at 8 (aligned), Flags at 16, one pad byte.
  const h = Uint8Array.of(0, 0, 18, 0, 0x03, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 0x10, 0);
  return concat(h, frame, Uint8Array.of(0xde, 0xad, 0xbe, 0xef));
}
