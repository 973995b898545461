/**
 * The leading TLS handshake records of a direction, indexed without joining them: where each
 * record's payload starts in the buffer and where it starts in the handshake stream (the payloads
 * one after the other). The TLS facts (tls.ts) and the server's kept-bytes answer (wanted.ts) read
 * a hello or a certificate in place through this index.
 */
export interface TlsRecords {
  buf: Uint8Array;
  starts: Int32Array;
  offsets: Int32Array;
  /** Records held in starts/offsets. */
  count: number;
}

/** Append a record whose payload lies at `start` in the buffer and at `offset` in the stream. */
export function pushRecord(r: TlsRecords, start: number, offset: number): void {
  if (r.count === r.starts.length) {
    const starts = new Int32Array(r.count * 2);
    const offsets = new Int32Array(r.count * 2);
    starts.set(r.starts);
    offsets.set(r.offsets);
    r.starts = starts;
    r.offsets = offsets;
  }
  r.starts[r.count] = start;
  r.offsets[r.count] = offset;
  r.count++;
}

/** The record holding byte `h` of the stream. */
export function recordOf(r: TlsRecords, h: number): number {
  let k = r.count - 1;
  while (k > 0 && r.offsets[k] > h) k--;
  return k;
}

/** Byte `h` of the stream. */
export function streamByte(r: TlsRecords, h: number): number {
  const k = recordOf(r, h);
  return r.buf[r.starts[k] + h - r.offsets[k]];
}
