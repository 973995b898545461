/**
 * Internal versus external addresses. Internal: RFC 1918, loopback, link-local, CGNAT (RFC 6598),
 * IPv6 ULA/link-local/loopback, multicast and broadcast, plus any CIDR ranges the site declares.
 */

/** A parsed CIDR range. */
export interface Cidr {
  readonly v6: boolean;
  readonly bits: Uint8Array;
  readonly prefix: number;
}

function v4Bytes(addr: string): Uint8Array | null {
  const parts = addr.split('.');
  if (parts.length !== 4) return null;
  const out = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    if (!/^\d{1,3}$/.test(parts[i])) return null;
    const n = Number(parts[i]);
    if (n > 255) return null;
    out[i] = n;
  }
  return out;
}

function v6Bytes(addr: string): Uint8Array | null {
  let a = addr.toLowerCase().split('%')[0];
  const out = new Uint8Array(16);
  const tailV4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(a);
  if (tailV4) {
    const b = v4Bytes(tailV4[1]);
    if (!b) return null;
    a = a.slice(0, -tailV4[1].length) + `${((b[0] << 8) | b[1]).toString(16)}:${((b[2] << 8) | b[3]).toString(16)}`;
  }
  const halves = a.split('::');
  if (halves.length > 2) return null;
  const head = halves[0] ? halves[0].split(':') : [];
  const tail = halves.length === 2 && halves[1] ? halves[1].split(':') : [];
  if (halves.length === 1 && head.length !== 8) return null;
  const groups = [...head, ...new Array(8 - head.length - tail.length).fill('0'), ...tail];
  if (groups.length !== 8) return null;
  for (let i = 0; i < 8; i++) {
    if (!/^[0-9a-f]{1,4}$/.test(groups[i])) return null;
    const n = parseInt(groups[i], 16);
    out[2 * i] = n >> 8;
    out[2 * i + 1] = n & 0xff;
  }
  return out;
}

/** Parse `10.0.0.0/8` or `fd00::/8`; throws an Error naming the text when it is not a CIDR. */
export function parseCidr(text: string): Cidr {
  const [addr, p] = text.trim().split('/');
  const v6 = addr.includes(':');
  const bits = v6 ? v6Bytes(addr) : v4Bytes(addr);
  const max = v6 ? 128 : 32;
  const prefix = p === undefined ? max : Number(p);
  if (!bits || !Number.isInteger(prefix) || prefix < 0 || prefix > max) throw new Error(`not a CIDR range: ${text}`);
  return { v6, bits, prefix };
}

function inCidr(bytes: Uint8Array, v6: boolean, c: Cidr): boolean {
  if (c.v6 !== v6) return false;
  let left = c.prefix;
  for (let i = 0; left > 0; i++, left -= 8) {
    const mask = left >= 8 ? 0xff : (0xff << (8 - left)) & 0xff;
    if ((bytes[i] & mask) !== (c.bits[i] & mask)) return false;
  }
  return true;
}

const BUILT_IN = ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '127.0.0.0/8', '169.254.0.0/16', '100.64.0.0/10', '224.0.0.0/4', '255.255.255.255/32', '0.0.0.0/32', '::1/128', 'fc00::/7', 'fe80::/10', 'ff00::/8', '::/128'].map(parseCidr);

/** A classifier of addresses into internal (the hospital) and external (the internet). */
export class AddressClassifier {
  private readonly ranges: readonly Cidr[];
  private readonly cache = new Map<string, boolean>();
  constructor(extra: readonly string[] = []) {
    this.ranges = [...BUILT_IN, ...extra.map(parseCidr)];
  }
  /** True when the address is internal; unparseable addresses count as internal (never reported as internet). */
  isInternal(addr: string): boolean {
    const hit = this.cache.get(addr);
    if (hit !== undefined) return hit;
    const v6 = addr.includes(':');
    const bytes = v6 ? v6Bytes(addr) : v4Bytes(addr);
    const result = bytes === null ? true : this.ranges.some((c) => inCidr(bytes, v6, c));
    if (this.cache.size > 100_000) this.cache.clear();
    this.cache.set(addr, result);
    return result;
  }
}
