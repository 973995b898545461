/**
 * How many leading payload bytes of one direction the dissectors can use, judged from the first
 * bytes seen. Length-prefixed openings (a TLS hello, a DICOM PDU, an MQTT CONNECT) say exactly how
 * long they are, and encrypted or unknown binary data needs nothing more; text protocols keep the
 * full allowance. This keeps the copy per flow near the size of the handshake instead of the limit.
 */
import { pushRecord, recordOf, streamByte, type TlsRecords } from './tls-records.ts';

/** Bytes worth keeping for a direction whose payload starts with `data[at, at + n)`; `limit` when unsure. */
export function bytesWanted(data: Uint8Array, at: number, n: number, limit: number): number {
  if (n < 9) return limit;
  // Read the opening bytes once (the caller's array may be a large capture buffer).
  const b = [data[at], data[at + 1], data[at + 2], data[at + 3], data[at + 4], data[at + 5], data[at + 6], data[at + 7], data[at + 8]];
  const first = b[0];
  // A ServerHello before TLS 1.3 is followed by the certificate in cleartext: keep the allowance.
  if (first === 0x16 && b[1] === 3 && b[5] === 2 && b[2] <= 3) return limit;
  // TLS handshake record: the hello message length, plus room for a continuation record header.
  if (first === 0x16 && b[1] === 3) return Math.min(limit, 9 + ((b[6] << 16) | (b[7] << 8) | b[8]) + 64);
  // TLS application data, alert or change-cipher-spec first: nothing to learn.
  if ((first === 0x17 || first === 0x15 || first === 0x14) && b[1] === 3 && b[2] <= 4) return Math.min(limit, n);
  // DICOM A-ASSOCIATE-RQ/AC/RJ: the PDU length follows the type.
  if (first >= 0x01 && first <= 0x03 && b[1] === 0 && b[6] === 0 && b[7] === 1) return Math.min(limit, 6 + (((b[2] << 24) | (b[3] << 16) | (b[4] << 8) | b[5]) >>> 0));
  // MQTT CONNECT / CONNACK: fixed header and the remaining length.
  if (first === 0x10 || first === 0x20) {
    let len = 0;
    for (let i = 1, mul = 1; i < 5; i++, mul *= 128) {
      len += (b[i] & 0x7f) * mul;
      if ((b[i] & 0x80) === 0) return Math.min(limit, i + 1 + len);
    }
  }
  // An HTTP response: the first few responses' heads are what is read (Server, 401s), not bodies.
  if (first === 0x48 && b[1] === 0x54 && b[2] === 0x54 && b[3] === 0x50 && b[4] === 0x2f) return Math.min(limit, 4096);
  return limit;
}

/** True when `buf` (`n` bytes kept) opens with a ServerHello of TLS 1.2 or older by its record header (the case bytesWanted keeps the allowance for). */
export function opensServerHello(buf: Uint8Array, n: number): boolean {
  return n >= 9 && buf[0] === 0x16 && buf[1] === 3 && buf[5] === 2 && buf[2] <= 3;
}

/**
 * A size for the buffer of a server direction whose kept bytes `data[at, at + n)` open with a
 * ServerHello before TLS 1.3: where the first certificate ends when the ServerHello and the
 * Certificate message's header are in view (in the ServerHello's record or the next one), plus a
 * record header's room in case the certificate runs into another record; -1 when they are not in
 * view. Only a sizing hint (the buffer then needs no regrowth as the certificate arrives): what is
 * kept is settled by `tlsServerBytesWanted` alone.
 */
export function tlsServerSizeHint(data: Uint8Array, at: number, n: number): number {
  if (n < 9 || data[at] !== 0x16 || data[at + 5] !== 2) return -1;
  const recordEnd = 5 + ((data[at + 3] << 8) | data[at + 4]);
  const helloEnd = 9 + ((data[at + 6] << 16) | (data[at + 7] << 8) | data[at + 8]);
  let m = helloEnd;
  // The Certificate message: right after the ServerHello in its record, or opening the next record.
  if (helloEnd === recordEnd) {
    if (m + 5 > n || data[at + m] !== 0x16 || data[at + m + 1] !== 3) return -1;
    m += 5;
  } else if (helloEnd > recordEnd) return -1;
  if (m + 10 > n || data[at + m] !== 11) return -1;
  const first = m + 7;
  return first + 3 + ((data[at + first] << 16) | (data[at + first + 1] << 8) | data[at + first + 2]) + 5;
}

/** Big-endian 24-bit value at joined byte `h`. */
function joinedU24(j: TlsRecords, h: number): number {
  return (streamByte(j, h) << 16) | (streamByte(j, h + 1) << 8) | streamByte(j, h + 2);
}

/** The buffer length that holds joined bytes [0, h). */
function joinedEnd(j: TlsRecords, h: number): number {
  const r = recordOf(j, h - 1);
  return j.starts[r] + h - j.offsets[r];
}

/** Reused by every call (one per server packet until the answer is known): no garbage per call. */
const scratch: TlsRecords = { buf: new Uint8Array(0), starts: new Int32Array(64), offsets: new Int32Array(64), count: 0 };

/**
 * Bytes of a server direction opening with a ServerHello that the TLS facts read, once the kept
 * bytes (`n` of `buf`) tell; -1 while they cannot tell yet. The facts read the ServerHello message
 * whole (its supported_versions extension settles the version) and, before TLS 1.3, the handshake
 * messages up to the end of the first certificate of the Certificate message; they stop at the
 * first record that is not a handshake record. Nothing after that changes them.
 */
export function tlsServerBytesWanted(buf: Uint8Array, n: number): number {
  // The leading handshake records: where each one's payload starts, in the buffer and in the
  // handshake stream the facts read (records joined).
  const hs = scratch;
  hs.buf = buf;
  hs.count = 0;
  let available = 0;
  let o = 0;
  let ended = false;
  while (o + 5 <= n) {
    if (buf[o] !== 0x16 || buf[o + 1] !== 3) {
      ended = true;
      break;
    }
    const len = (buf[o + 3] << 8) | buf[o + 4];
    pushRecord(hs, o + 5, available);
    available += Math.min(len, n - o - 5);
    if (o + 5 + len > n) break;
    o += 5 + len;
  }
  // Not known yet: wait for more bytes, unless the handshake run has already ended.
  const unknown = ended ? n : -1;
  if (available < 4 || streamByte(hs, 0) !== 2) return unknown;
  const helloEnd = 4 + joinedU24(hs, 1);
  // Anything odd (a hello too short for its fields) keeps the whole allowance, as before.
  if (available < helloEnd || helloEnd < 4 + 2 + 32 + 1) return unknown;
  // The negotiated version: supported_versions (0x002b) in the ServerHello extensions, else the legacy field.
  let version = (streamByte(hs, 4) << 8) | streamByte(hs, 5);
  let e = 4 + 2 + 32;
  e += 1 + streamByte(hs, e); // session id
  e += 3; // cipher suite and compression method
  if (e > helloEnd) return unknown;
  if (e + 2 <= helloEnd) {
    const extEnd = Math.min(helloEnd, e + 2 + ((streamByte(hs, e) << 8) | streamByte(hs, e + 1)));
    for (e += 2; e + 4 <= extEnd; ) {
      const type = (streamByte(hs, e) << 8) | streamByte(hs, e + 1);
      const len = (streamByte(hs, e + 2) << 8) | streamByte(hs, e + 3);
      if (type === 0x002b && len === 2 && e + 6 <= extEnd) version = (streamByte(hs, e + 4) << 8) | streamByte(hs, e + 5);
      e += 4 + len;
    }
  }
  if (version > 0x0303) return joinedEnd(hs, helloEnd);
  for (let m = 0; ; ) {
    if (m + 4 > available) return unknown;
    const type = streamByte(hs, m);
    const len = joinedU24(hs, m + 1);
    if (type === 11) {
      const first = m + 7;
      if (first + 3 > available) return unknown;
      const end = first + 3 + joinedU24(hs, first);
      return end > available ? unknown : joinedEnd(hs, end);
    }
    m += 4 + len;
  }
}
