/**
 * TLS: ClientHello and ServerHello from the first handshake records. Negotiated version (the
 * supported_versions extension honoured, so TLS 1.3 is not mistaken for 1.2), cipher suite, SNI,
 * JA3 (MD5) and a JA4-style fingerprint of the ClientHello.
 */
import { latin1Interned, md5Hex, sha256Prefix12, u16 } from './bytes.ts';
import { X509Certificate } from 'node:crypto';
import { pushRecord, recordOf, streamByte, type TlsRecords } from './tls-records.ts';
import type { L7Dissector, L7Facts, L7Streams } from './types.ts';

const HANDSHAKE = 22;
const CLIENT_HELLO = 1;
const SERVER_HELLO = 2;
const EXT_SNI = 0x0000;
const EXT_GROUPS = 0x000a;
const EXT_POINT_FORMATS = 0x000b;
const EXT_SIG_ALGS = 0x000d;
const EXT_ALPN = 0x0010;
const EXT_SUPPORTED_VERSIONS = 0x002b;

const JA4_VERSION: Readonly<Record<number, string>> = { 0x0304: '13', 0x0303: '12', 0x0302: '11', 0x0301: '10', 0x0300: 's3', 0x0002: 's2' };

/** GREASE values (RFC 8701) are ignored by JA3 and JA4. */
function isGrease(v: number): boolean {
  return (v & 0x0f0f) === 0x0a0a && v >> 8 === (v & 0xff);
}

/** True when `buf` starts with a TLS handshake record carrying handshake `type`. */
function startsHandshake(buf: Uint8Array, type: number): boolean {
  return buf.length >= 6 && buf[0] === HANDSHAKE && buf[1] === 3 && buf[2] <= 4 && buf[5] === type;
}

/** Where a message that spans records is joined: reused, as a new buffer per flow (off the heap) cost more than the join. */
let joined = new Uint8Array(16 * 1024);

/**
 * The leading run of handshake records of a direction (a hello may span records), not joined:
 * where each record's payload starts in the buffer and in the handshake stream (the payloads one
 * after the other; a record cut short by the kept bytes counts as far as it is kept), so a hello
 * and the server's certificate are read in place when each lies within one record (joining all
 * records copied every certificate a second time).
 */
interface HandshakeRecords extends TlsRecords {
  /** Bytes of the handshake stream (with one record: its payload, `buf[5, 5 + total)`, the whole stream). */
  total: number;
}

const recordsScratch: HandshakeRecords = { buf: new Uint8Array(0), count: 0, total: 0, starts: new Int32Array(16), offsets: new Int32Array(16) };

/** The handshake records at the start of `buf`, as a reused map (valid until the next call). */
function handshakeRecords(buf: Uint8Array): HandshakeRecords {
  const r = recordsScratch;
  r.buf = buf;
  r.count = 0;
  let total = 0;
  let o = 0;
  while (o + 5 <= buf.length && buf[o] === HANDSHAKE && buf[o + 1] === 3) {
    const len = u16(buf, o + 3);
    pushRecord(r, o + 5, total);
    total += Math.min(buf.length, o + 5 + len) - o - 5;
    o += 5 + len;
  }
  r.total = total;
  return r;
}

/** Bytes [from, to) of the handshake stream: a view when one record holds them, else joined into the scratch buffer. */
function streamBytes(r: HandshakeRecords, from: number, to: number): Uint8Array {
  const k = recordOf(r, from);
  const end = k + 1 < r.count ? r.offsets[k + 1] : r.total;
  if (to <= end) return r.buf.subarray(r.starts[k] + from - r.offsets[k], r.starts[k] + to - r.offsets[k]);
  if (joined.length < to - from) joined = new Uint8Array(Math.max(to - from, joined.length * 2));
  for (let h = from, at = 0; h < to; ) {
    const j = recordOf(r, h);
    const jEnd = Math.min(to, j + 1 < r.count ? r.offsets[j + 1] : r.total);
    const s = r.starts[j] + h - r.offsets[j];
    joined.set(r.buf.subarray(s, s + jEnd - h), at);
    at += jEnd - h;
    h = jEnd;
  }
  return joined.subarray(0, to - from);
}

/**
 * What the hello parsers read of the handshake stream: with one record, all of it; else the
 * stream up to the end of the first message (neither parse reads past its message, and one cut
 * short gives the same result from either).
 */
function helloBytes(r: HandshakeRecords): Uint8Array {
  if (r.count === 1) return r.buf.subarray(5, 5 + r.total);
  if (r.total < 4) return streamBytes(r, 0, r.total);
  const helloEnd = 4 + ((streamByte(r, 1) << 16) | (streamByte(r, 2) << 8) | streamByte(r, 3));
  return streamBytes(r, 0, Math.min(r.total, helloEnd));
}

/** What a ClientHello offers. */
export interface ClientHello {
  version: number;
  ciphers: number[];
  extensions: number[];
  groups: number[];
  pointFormats: number[];
  sigAlgs: number[];
  supportedVersions: number[];
  sni: string | null;
  alpn: string[];
  /** The 32-bit hash of what JA3 and JA4 read (`shapeOf`), taken while parsing. */
  shape: number;
}

function emptyHello(): ClientHello {
  return { version: 0, ciphers: [], extensions: [], groups: [], pointFormats: [], sigAlgs: [], supportedVersions: [], sni: null, alpn: [], shape: 0 };
}

/** Parse a ClientHello handshake message (type byte first); null when it is not one. */
export function parseClientHello(hs: Uint8Array): ClientHello | null {
  return parseClientHelloInto(hs, emptyHello());
}

/** The dissector's ClientHello, refilled for every flow (its arrays are emptied, not replaced). */
const scratchHello = emptyHello();

/** The lists of `hello` cut to the lengths written (lists are overwritten in place, not emptied: emptying a JS array drops its storage). */
function cutLists(hello: ClientHello, nc: number, ne: number, ng: number, np: number, ns: number, nv: number, na: number): ClientHello {
  // Setting a length is a call into the runtime even when it does not change: devices repeat the
  // same hello, so most lists already have the length.
  if (hello.ciphers.length !== nc) hello.ciphers.length = nc;
  if (hello.extensions.length !== ne) hello.extensions.length = ne;
  if (hello.groups.length !== ng) hello.groups.length = ng;
  if (hello.pointFormats.length !== np) hello.pointFormats.length = np;
  if (hello.sigAlgs.length !== ns) hello.sigAlgs.length = ns;
  if (hello.supportedVersions.length !== nv) hello.supportedVersions.length = nv;
  if (hello.alpn.length !== na) hello.alpn.length = na;
  return hello;
}

/** parseClientHello into `hello` (its lists overwritten). */
function parseClientHelloInto(hs: Uint8Array, hello: ClientHello, start = 0, limit = hs.length): ClientHello | null {
  // The message is hs[start, limit) (a record's payload read in place: no view of it is made).
  if (limit - start < 4 + 2 + 32 + 1 || hs[start] !== CLIENT_HELLO) return null;
  const end = Math.min(limit, start + 4 + ((hs[start + 1] << 16) | (hs[start + 2] << 8) | hs[start + 3]));
  let o = start + 4;
  hello.version = u16(hs, o);
  const { ciphers, extensions, groups, pointFormats, sigAlgs, supportedVersions, alpn } = hello;
  let nc = 0;
  let ne = 0;
  let ng = 0;
  let np = 0;
  let ns = 0;
  let nv = 0;
  let na = 0;
  // The shape's list hashes (`listHash`), taken as the values are read: no second pass over them.
  let hc = LIST_SEED;
  let he = LIST_SEED;
  let hg = LIST_SEED;
  let hp = LIST_SEED;
  let hsa = LIST_SEED;
  let hv = LIST_SEED;
  let kc = 0;
  let ke = 0;
  let kg = 0;
  let kp = 0;
  let ksa = 0;
  let kv = 0;
  hello.sni = null;
  o += 2 + 32;
  o += 1 + hs[o]; // session id
  if (o + 2 > end) return null;
  const cipherLen = u16(hs, o);
  o += 2;
  if (o + cipherLen > end) return null;
  for (let i = 0; i + 1 < cipherLen; i += 2) {
    const v = u16(hs, o + i);
    ciphers[nc++] = v;
    if (!isGrease(v)) {
      hc = mix(hc, v);
      kc++;
    }
  }
  o += cipherLen;
  if (o + 1 > end) return null;
  o += 1 + hs[o]; // compression methods
  if (o + 2 <= end) {
    const extEnd = Math.min(end, o + 2 + u16(hs, o));
    o += 2;
    while (o + 4 <= extEnd) {
      const type = u16(hs, o);
      const len = u16(hs, o + 2);
      const d = o + 4;
      const dEnd = Math.min(extEnd, d + len);
      extensions[ne++] = type;
      if (!isGrease(type)) {
        he = mix(he, type);
        ke++;
      }
      if (type === EXT_SNI && d + 5 <= dEnd && hs[d + 2] === 0) {
        const n = u16(hs, d + 3);
        if (d + 5 + n <= dEnd) hello.sni = latin1Interned(hs, d + 5, d + 5 + n);
      } else if (type === EXT_GROUPS && d + 2 <= dEnd) {
        for (let i = d + 2; i + 1 < Math.min(dEnd, d + 2 + u16(hs, d)); i += 2) {
          const v = u16(hs, i);
          groups[ng++] = v;
          if (!isGrease(v)) {
            hg = mix(hg, v);
            kg++;
          }
        }
      } else if (type === EXT_POINT_FORMATS && d + 1 <= dEnd) {
        // (one byte each: never GREASE)
        for (let i = d + 1; i < Math.min(dEnd, d + 1 + hs[d]); i++) {
          pointFormats[np++] = hs[i];
          hp = mix(hp, hs[i]);
          kp++;
        }
      } else if (type === EXT_SIG_ALGS && d + 2 <= dEnd) {
        for (let i = d + 2; i + 1 < Math.min(dEnd, d + 2 + u16(hs, d)); i += 2) {
          const v = u16(hs, i);
          sigAlgs[ns++] = v;
          if (!isGrease(v)) {
            hsa = mix(hsa, v);
            ksa++;
          }
        }
      } else if (type === EXT_SUPPORTED_VERSIONS && d + 1 <= dEnd) {
        for (let i = d + 1; i + 1 < Math.min(dEnd, d + 1 + hs[d]); i += 2) {
          const v = u16(hs, i);
          supportedVersions[nv++] = v;
          if (!isGrease(v)) {
            hv = mix(hv, v);
            kv++;
          }
        }
      } else if (type === EXT_ALPN && d + 2 <= dEnd) {
        const listEnd = Math.min(dEnd, d + 2 + u16(hs, d));
        for (let i = d + 2; i < listEnd; ) {
          const n = hs[i];
          if (i + 1 + n > listEnd) break;
          alpn[na++] = latin1Interned(hs, i + 1, i + 1 + n);
          i += 1 + n;
        }
      }
      o = d + len;
    }
  }
  let h = shapeHead(hello.version, hello.sni !== null, na > 0 ? alpn[0] : '');
  h = mix(h, mix(hc, 0x10000 + kc));
  h = mix(h, mix(he, 0x10000 + ke));
  h = mix(h, mix(hg, 0x10000 + kg));
  h = mix(h, mix(hp, 0x10000 + kp));
  h = mix(h, mix(hsa, 0x10000 + ksa));
  hello.shape = mix(h, mix(hv, 0x10000 + kv));
  return cutLists(hello, nc, ne, ng, np, ns, nv, na);
}

/** What a ServerHello chose. */
export interface ServerHello {
  version: number;
  cipher: number;
}

/** Parse a ServerHello handshake message; the version is the supported_versions choice when present. */
export function parseServerHello(hs: Uint8Array): ServerHello | null {
  const hello = parseServerHelloInto(hs, { version: 0, cipher: 0 });
  return hello === null ? null : { version: hello.version, cipher: hello.cipher };
}

/** The dissector's ServerHello, refilled for every flow. */
const scratchServer: ServerHello = { version: 0, cipher: 0 };

/** `parseServerHello` into `out` (returned, or null). */
function parseServerHelloInto(hs: Uint8Array, out: ServerHello, start = 0, limit = hs.length): ServerHello | null {
  // The message is hs[start, limit), as for parseClientHelloInto.
  if (limit - start < 4 + 2 + 32 + 1 || hs[start] !== SERVER_HELLO) return null;
  const end = Math.min(limit, start + 4 + ((hs[start + 1] << 16) | (hs[start + 2] << 8) | hs[start + 3]));
  let o = start + 4;
  let version = u16(hs, o);
  o += 2 + 32;
  o += 1 + hs[o];
  if (o + 3 > end) return null;
  const cipher = u16(hs, o);
  o += 3;
  if (o + 2 <= end) {
    const extEnd = Math.min(end, o + 2 + u16(hs, o));
    o += 2;
    while (o + 4 <= extEnd) {
      const type = u16(hs, o);
      const len = u16(hs, o + 2);
      if (type === EXT_SUPPORTED_VERSIONS && len === 2 && o + 6 <= extEnd) version = u16(hs, o + 4);
      o += 4 + len;
    }
  }
  out.version = version;
  out.cipher = cipher;
  return out;
}

/** JA3 string and MD5 of a ClientHello. */
export function ja3(hello: ClientHello): { text: string; hash: string } {
  const keep = (xs: number[]) => xs.filter((v) => !isGrease(v)).join('-');
  const text = `${hello.version},${keep(hello.ciphers)},${keep(hello.extensions)},${keep(hello.groups)},${hello.pointFormats.join('-')}`;
  return { text, hash: md5Hex(text) };
}

const HEX2 = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));
const hex4 = (v: number) => HEX2[(v >> 8) & 0xff] + HEX2[v & 0xff];
const isAlnum = (c: number) => (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122);

/** Comma-joined 4-digit hex of `values` without GREASE (and without `skip`), numerically sorted when asked. */
function hexList(values: readonly number[], sorted: boolean, skipA = -1, skipB = -1): string {
  const kept: number[] = [];
  for (const v of values) if (!isGrease(v) && v !== skipA && v !== skipB) kept.push(v);
  // Equal-width hex sorts like the numbers themselves.
  if (sorted) kept.sort((a, b) => a - b);
  let out = '';
  for (let i = 0; i < kept.length; i++) out += (i > 0 ? ',' : '') + hex4(kept[i]);
  return out;
}

function countKept(values: readonly number[]): number {
  let n = 0;
  for (const v of values) if (!isGrease(v)) n++;
  return n;
}

/**
 * JA4-style fingerprint over TCP: `t<ver><d|i><#ciphers><#exts><alpn>_<ciphers hash>_<exts+sigalgs hash>`,
 * GREASE removed, cipher and extension lists sorted, SNI and ALPN left out of the extension hash.
 */
export function ja4(hello: ClientHello): string {
  let top = -1;
  for (const v of hello.supportedVersions) if (!isGrease(v) && v > top) top = v;
  if (top < 0) top = hello.version;
  const cipherCount = countKept(hello.ciphers);
  const extCount = countKept(hello.extensions);
  let alpn = '00';
  const first = hello.alpn[0];
  if (first !== undefined && first.length > 0) {
    const a = first.charCodeAt(0);
    const z = first.charCodeAt(first.length - 1);
    alpn = isAlnum(a) && isAlnum(z) ? first[0] + first[first.length - 1] : HEX2[a & 0xff][0] + HEX2[z & 0xff][1];
  }
  const count = (n: number) => (n > 99 ? '99' : n < 10 ? '0' + n : String(n));
  const a = `t${JA4_VERSION[top] ?? '00'}${hello.sni !== null ? 'd' : 'i'}${count(cipherCount)}${count(extCount)}${alpn}`;
  const b = cipherCount === 0 ? '000000000000' : sha256Prefix12(hexList(hello.ciphers, true));
  const extList = hexList(hello.extensions, true, EXT_SNI, EXT_ALPN);
  const sig = hexList(hello.sigAlgs, false);
  const c = extCount === 0 ? '000000000000' : sha256Prefix12(sig.length > 0 ? `${extList}_${sig}` : extList);
  return `${a}_${b}_${c}`;
}

const HEX2_UPPER = HEX2.map((h) => h.toUpperCase());

/** Texts of the cipher suite codes seen so far (a server picks few). */
const CIPHER_TEXT: (string | undefined)[] = new Array<string | undefined>(0x10000).fill(undefined);

/** `0x1301`-style text of a cipher suite code (4 upper-case hex digits). */
export function cipherText(v: number): string {
  const code = v & 0xffff;
  return (CIPHER_TEXT[code] ??= `0x${HEX2_UPPER[code >> 8]}${HEX2_UPPER[code & 0xff]}`);
}

/** Name of a TLS protocol version code. */
export function tlsVersionName(v: number): string {
  // A switch, not an object keyed by the codes: 0x0300-0x0304 as keys made its elements a
  // dictionary, a hash lookup per flow.
  switch (v) {
    case 0x0300:
      return 'SSLv3';
    case 0x0301:
      return 'TLS1.0';
    case 0x0302:
      return 'TLS1.1';
    case 0x0303:
      return 'TLS1.2';
    case 0x0304:
      return 'TLS1.3';
    default:
      return `0x${hex4(v)}`;
  }
}

// Devices repeat the same ClientHello shape on every connection: fingerprints are cached by what
// JA3 and JA4 read (GREASE left out, as both leave it out). An entry is found by a 32-bit hash of
// the shape and confirmed by comparing every value, so no key text is built per ClientHello.
// Bounded; cleared when full.
const FINGERPRINT_CACHE_SIZE = 4096;

interface Shape extends Omit<ClientHello, 'sni' | 'alpn' | 'shape'> {
  hasSni: boolean;
  alpn: string;
  ja3: string;
  ja4: string;
}
const fingerprintCache = new Map<number, Shape[]>();
let fingerprintCount = 0;

function mix(h: number, v: number): number {
  return Math.imul(h ^ v, 0x01000193);
}

/** The seed of a list's hash. */
const LIST_SEED = 0x811c9dc5;

/** A list's part of the shape: its non-GREASE values and their count. */
function listHash(values: readonly number[]): number {
  let h = LIST_SEED;
  let n = 0;
  for (const v of values) {
    if (isGrease(v)) continue;
    h = mix(h, v);
    n++;
  }
  return mix(h, 0x10000 + n);
}

/** The shape's hash up to its lists: version, SNI or not, the first ALPN protocol. */
function shapeHead(version: number, hasSni: boolean, alpn: string): number {
  let h = mix(LIST_SEED, version);
  h = mix(h, hasSni ? 1 : 0);
  for (let i = 0; i < alpn.length; i++) h = mix(h, alpn.charCodeAt(i));
  return h;
}

/** The hash of what JA3 and JA4 read of `hello` (what the parser leaves in `hello.shape`). */
export function shapeOf(hello: ClientHello): number {
  let h = shapeHead(hello.version, hello.sni !== null, hello.alpn[0] ?? '');
  h = mix(h, listHash(hello.ciphers));
  h = mix(h, listHash(hello.extensions));
  h = mix(h, listHash(hello.groups));
  h = mix(h, listHash(hello.pointFormats));
  h = mix(h, listHash(hello.sigAlgs));
  return mix(h, listHash(hello.supportedVersions));
}

/** `kept` holds exactly the non-GREASE values of `values`, in order. */
function sameKept(values: readonly number[], kept: readonly number[]): boolean {
  let k = 0;
  for (const v of values) {
    if (isGrease(v)) continue;
    if (k >= kept.length || kept[k] !== v) return false;
    k++;
  }
  return k === kept.length;
}

/** The values without GREASE joined by '-' (JA3 lists). */
function joinKept(values: readonly number[]): string {
  let out = '';
  for (const v of values) {
    if (isGrease(v)) continue;
    out += out.length > 0 ? `-${v}` : `${v}`;
  }
  return out;
}

function keptOf(values: readonly number[]): number[] {
  const out: number[] = [];
  for (const v of values) if (!isGrease(v)) out.push(v);
  return out;
}

function sameShape(e: Shape, h: ClientHello, alpn: string): boolean {
  return (
    e.version === h.version &&
    e.hasSni === (h.sni !== null) &&
    e.alpn === alpn &&
    sameKept(h.ciphers, e.ciphers) &&
    sameKept(h.extensions, e.extensions) &&
    sameKept(h.groups, e.groups) &&
    sameKept(h.pointFormats, e.pointFormats) &&
    sameKept(h.sigAlgs, e.sigAlgs) &&
    sameKept(h.supportedVersions, e.supportedVersions)
  );
}

/**
 * JA3 hash and JA4 of a ClientHello, from the cache when the same shape was seen before (found by
 * `hello.shape`, which the parser sets: a hello made otherwise needs `shapeOf`).
 */
export function fingerprints(hello: ClientHello): [ja3Hash: string, ja4: string] {
  const e = fingerprintEntry(hello);
  return [e.ja3, e.ja4];
}

/** The fingerprint cache's entry of `hello`'s shape (made when new): `ja3` and `ja4` are its fingerprints. */
function fingerprintEntry(hello: ClientHello): Shape {
  const alpn = hello.alpn[0] ?? '';
  const h = hello.shape;
  const bucket = fingerprintCache.get(h);
  if (bucket !== undefined) for (const e of bucket) if (sameShape(e, hello, alpn)) return e;
  const text = `${hello.version},${joinKept(hello.ciphers)},${joinKept(hello.extensions)},${joinKept(hello.groups)},${hello.pointFormats.join('-')}`;
  const entry: Shape = {
    version: hello.version,
    ciphers: keptOf(hello.ciphers),
    extensions: keptOf(hello.extensions),
    groups: keptOf(hello.groups),
    pointFormats: keptOf(hello.pointFormats),
    sigAlgs: keptOf(hello.sigAlgs),
    supportedVersions: keptOf(hello.supportedVersions),
    hasSni: hello.sni !== null,
    alpn,
    ja3: md5Hex(text),
    ja4: ja4(hello),
  };
  if (fingerprintCount >= FINGERPRINT_CACHE_SIZE) {
    fingerprintCache.clear();
    fingerprintCount = 0;
  }
  if (bucket !== undefined && fingerprintCache.has(h)) bucket.push(entry);
  else fingerprintCache.set(h, [entry]);
  fingerprintCount++;
  return entry;
}

/** The TLS dissector. */
export const tls: L7Dissector = {
  name: 'tls',
  transports: [6],
  match: (s: L7Streams) => startsHandshake(s.fwd, CLIENT_HELLO) || startsHandshake(s.bwd, SERVER_HELLO),
  facts(s: L7Streams, out: L7Facts) {
    // The hellos are read where they lie (joined only when one spans records); the client's is
    // read whole before the server side reuses the record map.
    // A hello in one record is parsed where it lies (no view); one spanning records from helloBytes.
    let client: ClientHello | null = null;
    if (startsHandshake(s.fwd, CLIENT_HELLO)) {
      const r = handshakeRecords(s.fwd);
      client = r.count === 1 ? parseClientHelloInto(s.fwd, scratchHello, 5, 5 + r.total) : parseClientHelloInto(helloBytes(r), scratchHello);
    }
    const records = startsHandshake(s.bwd, SERVER_HELLO) ? handshakeRecords(s.bwd) : null;
    const server = records === null ? null : records.count === 1 ? parseServerHelloInto(s.bwd, scratchServer, 5, 5 + records.total) : parseServerHelloInto(helloBytes(records), scratchServer);
    if (client) {
      out.tls_sni = client.sni;
      const shape = fingerprintEntry(client);
      out.tls_ja3 = shape.ja3;
      out.tls_ja4 = shape.ja4;
      let top = -1;
      for (const v of client.supportedVersions) if (!isGrease(v) && v > top) top = v;
      out.tls_version = tlsVersionName(top >= 0 ? top : client.version);
    }
    if (server) {
      out.tls_version = tlsVersionName(server.version);
      out.tls_cipher = cipherText(server.cipher);
      // TLS 1.3 encrypts the certificate; before it, it follows the ServerHello in cleartext.
      if (server.version <= 0x0303) {
        const r = records as HandshakeRecords;
        if (r.count === 1) certificateFacts(r.buf.subarray(5, 5 + r.total), out);
        else recordCertificateFacts(r, out);
      }
    }
  },
};

const CERTIFICATE = 11;

/**
 * Facts of the server's leaf certificate from the handshake messages after the ServerHello:
 * key algorithm and size, self-signed, end of validity. Node's X.509 parser reads the DER; a
 * truncated or malformed certificate gives no facts.
 */
export function certificateFacts(hs: Uint8Array, out: L7Facts): void {
  for (let o = 0; o + 4 <= hs.length; ) {
    const type = hs[o];
    const length = (hs[o + 1] << 16) | (hs[o + 2] << 8) | hs[o + 3];
    if (type === CERTIFICATE) {
      // certificate_list length (3 bytes), then the first certificate's length (3 bytes) and DER.
      const first = o + 7;
      if (first + 3 > hs.length) return;
      const derLength = (hs[first] << 16) | (hs[first + 1] << 8) | hs[first + 2];
      if (derLength === 0 || first + 3 + derLength > hs.length) return;
      setCertificateFacts(leafFacts(hs.subarray(first + 3, first + 3 + derLength)), out);
      return;
    }
    o += 4 + length;
  }
}

/** `certificateFacts` over the records of `r` (the same walk, on the stream's bytes in place). */
function recordCertificateFacts(r: HandshakeRecords, out: L7Facts): void {
  const n = r.total;
  for (let o = 0; o + 4 <= n; ) {
    const type = streamByte(r, o);
    const length = (streamByte(r, o + 1) << 16) | (streamByte(r, o + 2) << 8) | streamByte(r, o + 3);
    if (type === CERTIFICATE) {
      const first = o + 7;
      if (first + 3 > n) return;
      const derLength = (streamByte(r, first) << 16) | (streamByte(r, first + 1) << 8) | streamByte(r, first + 2);
      if (derLength === 0 || first + 3 + derLength > n) return;
      setCertificateFacts(leafFacts(streamBytes(r, first + 3, first + 3 + derLength)), out);
      return;
    }
    o += 4 + length;
  }
}

function setCertificateFacts(facts: CertificateFacts | null, out: L7Facts): void {
  if (facts === null) return;
  out.tls_cert_key = facts.key;
  out.tls_cert_key_bits = facts.bits;
  out.tls_cert_self_signed = facts.selfSigned;
  out.tls_cert_not_after = facts.notAfter;
}

/** What the flow columns take from a leaf certificate. */
interface CertificateFacts {
  readonly key: string;
  readonly bits: number | null;
  readonly selfSigned: boolean;
  readonly notAfter: number | null;
}

// A server presents the same certificate on every connection, and parsing one (OpenSSL, plus a
// signature check for self-signed ones) costs far more than the rest of a flow: facts are cached by
// the DER bytes. An entry is found by the length and the last bytes (the end of the signature,
// which differs between certificates) and confirmed by comparing all the bytes, so no hash of the
// whole certificate is computed per flow. Bounded; cleared when full.
const CERT_CACHE_SIZE = 1024;
const CERT_KEY_TAIL = 24;
const certCache = new Map<number, { der: Uint8Array; facts: CertificateFacts | null }[]>();
let certCount = 0;

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.compare(a, b) === 0;
}

/** Facts of one DER certificate (null when it does not parse), from the cache when seen before. */
function leafFacts(der: Uint8Array): CertificateFacts | null {
  // FNV-1a over the length and the last bytes.
  let key = Math.imul(0x811c9dc5 ^ der.length, 0x01000193);
  for (let i = Math.max(0, der.length - CERT_KEY_TAIL); i < der.length; i++) key = Math.imul(key ^ der[i], 0x01000193);
  const bucket = certCache.get(key);
  if (bucket !== undefined) for (const e of bucket) if (sameBytes(e.der, der)) return e.facts;
  const facts = parseLeaf(der);
  if (certCount >= CERT_CACHE_SIZE) {
    certCache.clear();
    certCount = 0;
  }
  const entry = { der: der.slice(), facts };
  const list = certCache.get(key);
  if (list !== undefined) list.push(entry);
  else certCache.set(key, [entry]);
  certCount++;
  return facts;
}

function parseLeaf(der: Uint8Array): CertificateFacts | null {
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(der);
  } catch {
    return null;
  }
  const details = cert.publicKey.asymmetricKeyDetails;
  const kind = cert.publicKey.asymmetricKeyType ?? 'unknown';
  const bits = details?.modulusLength ?? curveBits(details?.namedCurve);
  const notAfter = Date.parse(cert.validTo);
  return {
    key: bits === null ? kind : `${kind}-${bits}`,
    bits,
    selfSigned: cert.subject === cert.issuer && cert.checkIssued(cert) && verifies(cert),
    notAfter: Number.isFinite(notAfter) ? notAfter * 1000 : null,
  };
}

function verifies(cert: X509Certificate): boolean {
  try {
    return cert.verify(cert.publicKey);
  } catch {
    return false;
  }
}

const CURVE_BITS: Readonly<Record<string, number>> = { prime256v1: 256, secp384r1: 384, secp521r1: 521, secp224r1: 224, secp192r1: 192, prime192v1: 192, secp256k1: 256 };

function curveBits(curve: string | undefined): number | null {
  return curve === undefined ? null : (CURVE_BITS[curve] ?? null);
}
