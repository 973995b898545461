/**
 * How many leading payload bytes of one direction the dissectors can use, judged from the first
 * bytes seen. Length-prefixed openings (a TLS hello, a DICOM PDU, an MQTT CONNECT) say exactly how
 * long they are, and encrypted or unknown binary data needs nothing more; text protocols keep the
 * full allowance. This keeps the copy per flow near the size of the handshake instead of the limit.
 */

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
