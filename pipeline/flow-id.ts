/**
 * Flow identity: Community ID v1 (https://github.com/corelight/community-id-spec) so HEIR's flows
 * join with Zeek, Suricata and Arkime records, and HEIR's own deterministic flow id.
 *
 * One flow at a time: `communityId`, `communityIdBytes`, `flowId` (strings). Many flows at once,
 * with no string per flow (decoders writing Arrow columns): pipeline/identity-batch.ts, which
 * hashes `communityIdInput`'s bytes and writes the ids' text inside WebAssembly. Both ways give
 * the same ids byte for byte.
 */
// crypto.hash (one-shot) is ~6x cheaper than createHash for these short inputs; ids are hashed per flow.
import { hash } from 'node:crypto';
import { isIPv4, isIPv6 } from 'node:net';

const SCRATCH = Buffer.alloc(40);
const HEX_DIGITS = Uint8Array.from('0123456789abcdef', (c) => c.charCodeAt(0));

// ICMP types whose reply type lets Community ID treat the exchange as two-way (exported for the
// WebAssembly flow identity, pipeline/identity-batch.ts).
export const ICMP4_PAIR: Readonly<Record<number, number>> = { 8: 0, 0: 8, 13: 14, 14: 13, 15: 16, 16: 15, 10: 9, 9: 10, 17: 18, 18: 17 };
export const ICMP6_PAIR: Readonly<Record<number, number>> = { 128: 129, 129: 128, 133: 134, 134: 133, 135: 136, 136: 135, 130: 131, 131: 130, 144: 145, 145: 144 };

/** Address bytes of a textual IPv4 or IPv6 address; null for anything else. */
export function addressBytes(address: string): Uint8Array | null {
  if (isIPv4(address)) return Uint8Array.from(address.split('.').map(Number));
  if (!isIPv6(address)) return null;
  let text = address;
  // An embedded IPv4 tail (::ffff:1.2.3.4) becomes two hextets.
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4) {
    const b = v4[1].split('.').map(Number);
    text = text.slice(0, -v4[1].length) + ((b[0] << 8) | b[1]).toString(16) + ':' + ((b[2] << 8) | b[3]).toString(16);
  }
  const [head, tail] = text.includes('::') ? text.split('::') : [text, null];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = tail === null ? h : [...h, ...new Array(8 - h.length - t.length).fill('0'), ...t];
  const out = new Uint8Array(16);
  for (let i = 0; i < 8; i++) {
    const v = parseInt(groups[i], 16);
    out[2 * i] = v >> 8;
    out[2 * i + 1] = v & 0xff;
  }
  return out;
}

function compareBytes(a: ArrayLike<number>, b: ArrayLike<number>): number {
  for (let i = 0; i < a.length && i < b.length; i++) if (a[i] !== b[i]) return a[i] - b[i];
  return a.length - b.length;
}

/**
 * Community ID v1 of a flow from address bytes. For ICMP/ICMPv6 pass type as `srcPort` and code
 * as `dstPort`. Returns e.g. `1:LQU9qZlK+B5F3KDmev6m5PMibrg=`.
 */
export function communityIdBytes(src: ArrayLike<number>, dst: ArrayLike<number>, proto: number, srcPort: number, dstPort: number, seed = 0): string {
  let sport = srcPort;
  let dport = dstPort;
  let oneWay = false;
  const hasPorts = proto === 6 || proto === 17 || proto === 132 || proto === 1 || proto === 58;
  if (proto === 1 || proto === 58) {
    const pair = (proto === 1 ? ICMP4_PAIR : ICMP6_PAIR)[srcPort];
    if (pair === undefined) oneWay = true;
    else dport = pair;
  }
  let a = src;
  let b = dst;
  const ordered = compareBytes(a, b) < 0 || (compareBytes(a, b) === 0 && sport < dport);
  if (!oneWay && !ordered) {
    [a, b] = [b, a];
    [sport, dport] = [dport, sport];
  }
  // One scratch buffer for all calls (at most 40 bytes): no allocation per flow.
  const buf = SCRATCH.subarray(0, 2 + a.length + b.length + 2 + (hasPorts ? 4 : 0));
  let o = buf.writeUInt16BE(seed, 0);
  buf.set(a, o);
  o += a.length;
  buf.set(b, o);
  o += b.length;
  buf[o++] = proto;
  buf[o++] = 0;
  if (hasPorts) {
    o = buf.writeUInt16BE(sport & 0xffff, o);
    buf.writeUInt16BE(dport & 0xffff, o);
  }
  return '1:' + hash('sha1', buf, 'base64');
}

/** Community ID v1 from textual addresses; null when an address is not IPv4/IPv6 or ports are missing. */
export function communityId(src: string | null, dst: string | null, proto: number | null, srcPort: number | null, dstPort: number | null, seed = 0): string | null {
  if (src === null || dst === null || proto === null) return null;
  const a = addressBytes(src);
  const b = addressBytes(dst);
  if (!a || !b || a.length !== b.length) return null;
  return communityIdBytes(a, b, proto, srcPort ?? 0, dstPort ?? 0, seed);
}

/**
 * HEIR's deterministic flow id: the same flow observed by the same sensor gets the same id when
 * read again (a replayed file, a redelivered batch), which makes store writes idempotent per row.
 */
export function flowId(site: string, sensor: string, key: string, tsStartMicros: number): string {
  return hash('sha1', `${site}\u0000${sensor}\u0000${key}\u0000${tsStartMicros}`, 'hex').slice(0, 16);
}

/** Bytes of a Community ID hash input at most (seed, two IPv6 addresses, protocol, pad, ports). */
export const COMMUNITY_ID_INPUT_MAX = 40;
/** Bytes of a Community ID's text (`1:` and 28 base64 characters). */
export const COMMUNITY_ID_TEXT_LENGTH = 30;
/** Hex digits of a flow id. */
export const FLOW_ID_TEXT_LENGTH = 16;

/**
 * Write the Community ID v1 hash input of a flow at `out[at]` (the bytes `communityIdBytes`
 * hashes); returns the end. The addresses are `length` bytes (4 or 16) at `src[srcAt]` and
 * `dst[dstAt]`. For ICMP/ICMPv6 pass type as `srcPort` and code as `dstPort`.
 */
export function communityIdInput(out: Uint8Array, at: number, src: ArrayLike<number>, srcAt: number, dst: ArrayLike<number>, dstAt: number, length: number, proto: number, srcPort: number, dstPort: number, seed = 0): number {
  let sport = srcPort;
  let dport = dstPort;
  let oneWay = false;
  if (proto === 1 || proto === 58) {
    const pair = (proto === 1 ? ICMP4_PAIR : ICMP6_PAIR)[srcPort];
    if (pair === undefined) oneWay = true;
    else dport = pair;
  }
  // Order the endpoints: the smaller address (then port) first, unless the exchange is one-way.
  let cmp = 0;
  for (let i = 0; i < length && cmp === 0; i++) cmp = src[srcAt + i] - dst[dstAt + i];
  const swap = !oneWay && !(cmp < 0 || (cmp === 0 && sport < dport));
  out[at++] = (seed >>> 8) & 0xff;
  out[at++] = seed & 0xff;
  const first = swap ? dst : src;
  const firstAt = swap ? dstAt : srcAt;
  const second = swap ? src : dst;
  const secondAt = swap ? srcAt : dstAt;
  for (let i = 0; i < length; i++) out[at++] = first[firstAt + i];
  for (let i = 0; i < length; i++) out[at++] = second[secondAt + i];
  out[at++] = proto;
  out[at++] = 0;
  if (proto === 6 || proto === 17 || proto === 132 || proto === 1 || proto === 58) {
    const p = swap ? dport : sport;
    const q = swap ? sport : dport;
    out[at++] = (p >>> 8) & 0xff;
    out[at++] = p & 0xff;
    out[at++] = (q >>> 8) & 0xff;
    out[at++] = q & 0xff;
  }
  return at;
}

/** Dotted IPv4 or RFC 5952 IPv6 text of address bytes. */
export function addressText(a: ArrayLike<number>): string {
  if (a.length === 4) return `${a[0]}.${a[1]}.${a[2]}.${a[3]}`;
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((a[i] << 8) | a[i + 1]);
  // Longest run (length ≥ 2) of zero groups becomes "::".
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (g: number[]) => g.map((v) => v.toString(16)).join(':');
  if (best < 0) return hex(groups);
  // IPv4-mapped addresses keep their dotted tail.
  if (best === 0 && bestLen === 5 && groups[5] === 0xffff) return `::ffff:${a[12]}.${a[13]}.${a[14]}.${a[15]}`;
  return `${hex(groups.slice(0, best))}::${hex(groups.slice(best + bestLen))}`;
}

/**
 * Write the text `addressText` gives for the `length` (4 or 16) address bytes at `bytes[o]` at
 * `out[at]` (at most 45 bytes); returns the end. No string on the way.
 */
export function writeAddressText(out: Uint8Array, at: number, bytes: ArrayLike<number>, o: number, length: number): number {
  if (length === 4) {
    for (let i = 0; i < 4; i++) {
      if (i) out[at++] = 46; // .
      at = writeOctet(out, at, bytes[o + i]);
    }
    return at;
  }
  // Longest run (length ≥ 2, the first of equal runs) of zero groups becomes "::".
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (bytes[o + 2 * i] !== 0 || bytes[o + 2 * i + 1] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && bytes[o + 2 * j] === 0 && bytes[o + 2 * j + 1] === 0) j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  if (best === 0 && bestLen === 5 && bytes[o + 10] === 0xff && bytes[o + 11] === 0xff) {
    // IPv4-mapped addresses keep their dotted tail.
    out[at++] = 58;
    out[at++] = 58;
    for (const c of FFFF) out[at++] = c;
    out[at++] = 58;
    return writeAddressText(out, at, bytes, o + 12, 4);
  }
  for (let i = 0; i < 8; i++) {
    if (i === best) {
      out[at++] = 58;
      out[at++] = 58;
      i += bestLen - 1;
      continue;
    }
    if (i > 0 && i !== best + bestLen) out[at++] = 58;
    const g = (bytes[o + 2 * i] << 8) | bytes[o + 2 * i + 1];
    let started = false;
    for (let shift = 12; shift >= 0; shift -= 4) {
      const d = (g >>> shift) & 15;
      if (d !== 0 || started || shift === 0) {
        out[at++] = HEX_DIGITS[d];
        started = true;
      }
    }
  }
  return at;
}

const FFFF = Uint8Array.from('ffff', (c) => c.charCodeAt(0));

/** Decimal digits of a byte value; returns the end. */
function writeOctet(out: Uint8Array, at: number, v: number): number {
  if (v >= 100) {
    const h = (v / 100) | 0;
    out[at++] = 48 + h;
    v -= h * 100;
    const t = (v / 10) | 0;
    out[at++] = 48 + t;
    out[at++] = 48 + v - t * 10;
  } else if (v >= 10) {
    const t = (v / 10) | 0;
    out[at++] = 48 + t;
    out[at++] = 48 + v - t * 10;
  } else out[at++] = 48 + v;
  return at;
}
