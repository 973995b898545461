/**
 * Streaming pcap and pcapng record reader. Bytes arrive in chunks of any size (a file read, or
 * `tcpdump -w -` on a pipe); complete packet records are handed to a sink as views into the
 * current buffer, so nothing is copied per packet. Both byte orders, microsecond and nanosecond
 * pcap, the modified (Kuznetzov) pcap record header, and pcapng sections with several interfaces
 * and any `if_tsresol` are read. Damaged records become `bad()` reports and reading resynchronises.
 */
import { InputError } from '../../pipeline/errors.ts';

/** Largest record (captured bytes) accepted; anything above is rejected without allocating. */
export const MAX_RECORD_BYTES = 256 * 1024;

/** Where records go. `data[start, start + caplen)` is valid only during the call. */
export interface RecordSink {
  packet(data: Uint8Array, start: number, caplen: number, wireLen: number, tsMicros: number, linkType: number): void;
  /** A record that could not be read: reason, a copy of (a prefix of) its bytes, its byte offset. */
  bad(reason: string, payload: Uint8Array, offset: number): void;
  /** An interface (pcapng) or the file (pcap) declared this link type. */
  linkType?(linkType: number): void;
}

const PCAP_US = 0xa1b2c3d4;
const PCAP_NS = 0xa1b23c4d;
const PCAP_MODIFIED = 0xa1b2cd34;
const PCAPNG_SHB = 0x0a0d0d0a;
const PCAPNG_BOM = 0x1a2b3c4d;

// pcapng block types this reader understands.
const BT_IDB = 1;
const BT_OPB = 2;
const BT_SPB = 3;
const BT_EPB = 6;
const KNOWN_BLOCKS = new Set([BT_IDB, BT_OPB, BT_SPB, 4, 5, BT_EPB, 7, 8, 9, 10, 0x0bad, 0x0bad + 1, PCAPNG_SHB]);
/** Largest non-packet pcapng block accepted (options, name resolution tables). */
const MAX_BLOCK_BYTES = MAX_RECORD_BYTES + 64 * 1024;
const DEAD_PAYLOAD_BYTES = 256;
const EMPTY = new Uint8Array(0);

type Format = 'unknown' | 'pcap' | 'pcapng';

/**
 * A 64-bit pcapng timestamp (high and low words, `unitsPerSecond` units) in whole microseconds.
 * Nanosecond stamps exceed 2^53, so decimal resolutions finer than 1 µs divide word by word to
 * stay exact; binary resolutions (rare) go through floating point.
 */
function toMicros(high: number, low: number, unitsPerSecond: number): number {
  if (unitsPerSecond === 1e6) return high * 4294967296 + low;
  const divisor = unitsPerSecond / 1e6;
  if (Number.isInteger(divisor) && divisor < 2 ** 20) {
    const hq = Math.floor(high / divisor);
    const hr = high - hq * divisor;
    return hq * 4294967296 + Math.floor((hr * 4294967296 + low) / divisor);
  }
  return Math.floor(((high * 4294967296 + low) / unitsPerSecond) * 1e6);
}

interface Interface {
  linkType: number;
  /** Divide the raw timestamp by this to get seconds (10^6 for µs). */
  unitsPerSecond: number;
}

/** Reads a capture incrementally: call `push()` per chunk, then `end()`. */
export class CaptureReader {
  /** Bytes handed to the sink as whole records (or skipped): offsets of batch ids derive from it. */
  consumed = 0;
  format: Format = 'unknown';
  /** Link type of a classic pcap file (first interface for pcapng). */
  fileLinkType = -1;
  private buffer = new Uint8Array(0);
  private readonly input: string;
  private readonly sink: RecordSink;
  // pcap state
  private little = true;
  private nanos = false;
  private recordHeader = 16;
  private lastSeconds = -1;
  private lastTs = 0;
  // pcapng state
  private interfaces: Interface[] = [];
  // resynchronisation after a damaged record
  private skipping = false;
  private skipStart = 0;
  private skipReason = '';
  private skipPayload: Uint8Array | null = null;

  constructor(input: string, sink: RecordSink) {
    this.input = input;
    this.sink = sink;
  }

  /** Feed one chunk; records completed by it are delivered before this returns. */
  push(chunk: Uint8Array): void {
    if (chunk.length === 0) return;
    let from = 0;
    // A record straddling the chunk boundary is completed in a small stitched buffer, so the
    // chunk itself is read in place (copying whole chunks cost more than parsing them).
    while (this.buffer.length > 0 && from < chunk.length && this.format !== 'unknown' && !this.skipping) {
      const have = this.buffer.length;
      const take = Math.min(chunk.length - from, Math.max(1, this.recordSpan(this.buffer) - have));
      const stitched = new Uint8Array(have + take);
      stitched.set(this.buffer, 0);
      stitched.set(chunk.subarray(from, from + take), have);
      from += take;
      const end = this.format === 'pcap' ? this.readPcap(stitched, 0) : this.readPcapng(stitched, 0);
      this.buffer = end < stitched.length ? stitched.slice(end) : EMPTY;
    }
    if (from >= chunk.length) return;
    let buf: Uint8Array;
    const rest = from === 0 ? chunk : chunk.subarray(from);
    if (this.buffer.length === 0) buf = rest;
    else {
      // Only before the header is known or while resynchronising: plain concatenation.
      buf = new Uint8Array(this.buffer.length + rest.length);
      buf.set(this.buffer, 0);
      buf.set(rest, this.buffer.length);
    }
    const used = this.format === 'unknown' ? this.readHeader(buf) : 0;
    if (this.format === 'unknown') {
      this.buffer = buf.slice();
      return;
    }
    const end = this.format === 'pcap' ? this.readPcap(buf, used) : this.readPcapng(buf, used);
    // Keep the unread tail (at most one partial record) for the next chunk.
    this.buffer = end < buf.length ? buf.slice(end) : EMPTY;
  }

  /** Bytes from the start of `buf` to the end of the record that starts there (a header's worth when unknown yet). */
  private recordSpan(buf: Uint8Array): number {
    const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    if (this.format === 'pcap') {
      const hdr = this.recordHeader;
      if (buf.length < hdr) return hdr;
      const caplen = view.getUint32(8, this.little);
      return caplen > MAX_RECORD_BYTES ? hdr : hdr + caplen;
    }
    if (buf.length < 12) return 12;
    const little = view.getUint32(0, false) === PCAPNG_SHB ? view.getUint32(8, true) === PCAPNG_BOM : this.little;
    const len = view.getUint32(4, little);
    return len < 12 || len % 4 !== 0 || len > MAX_BLOCK_BYTES ? 12 : len;
  }

  /** Input finished: report a truncated tail, or throw when the input was empty or not a capture. */
  end(): void {
    if (this.format === 'unknown') {
      if (this.consumed === 0 && this.buffer.length === 0) throw new InputError(this.input, 'empty capture file (0 bytes)');
      throw new InputError(this.input, `truncated capture header (${this.buffer.length} bytes)`);
    }
    if (this.skipping) this.finishSkip(this.consumed + this.buffer.length);
    if (this.buffer.length > 0) {
      const n = this.buffer.length;
      this.sink.bad(`truncated final record: ${n} bytes left at end of input`, this.buffer.slice(0, DEAD_PAYLOAD_BYTES), this.consumed);
      this.consumed += n;
      this.buffer = EMPTY;
    }
  }

  private readHeader(buf: Uint8Array): number {
    if (buf.length < 4) return 0;
    const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    const be = view.getUint32(0, false);
    const le = view.getUint32(0, true);
    if (be === PCAPNG_SHB) {
      this.format = 'pcapng';
      return 0;
    }
    for (const [magic, little] of [[le, true], [be, false]] as const) {
      if (magic !== PCAP_US && magic !== PCAP_NS && magic !== PCAP_MODIFIED) continue;
      if (buf.length < 24) return 0;
      this.little = little;
      this.nanos = magic === PCAP_NS;
      this.recordHeader = magic === PCAP_MODIFIED ? 24 : 16;
      const linkType = view.getUint32(20, little) & 0xffff;
      this.format = 'pcap';
      this.fileLinkType = linkType;
      this.consumed = 24;
      this.sink.linkType?.(linkType);
      return 24;
    }
    const hex = Array.from(buf.subarray(0, 4), (b) => b.toString(16).padStart(2, '0')).join('');
    throw new InputError(this.input, `not a pcap or pcapng file (magic 0x${hex})`);
  }

  // ---- classic pcap ----------------------------------------------------------------------------

  private readPcap(buf: Uint8Array, from: number): number {
    const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    const little = this.little;
    const hdr = this.recordHeader;
    const fracDiv = this.nanos ? 1000 : 1;
    const fracMax = this.nanos ? 1e9 : 1e6;
    let pos = from;
    const base = this.consumed - from;
    for (;;) {
      if (this.skipping) {
        const found = this.resyncPcap(view, pos, fracMax);
        if (found < 0) {
          // Keep the last partial header's worth of bytes; everything before is skipped.
          const keep = Math.max(pos, buf.length - (hdr - 1));
          this.consumed = base + keep;
          return keep;
        }
        this.finishSkip(base + found);
        pos = found;
      }
      if (buf.length - pos < hdr) break;
      const sec = view.getUint32(pos, little);
      const frac = view.getUint32(pos + 4, little);
      const caplen = view.getUint32(pos + 8, little);
      const wire = view.getUint32(pos + 12, little);
      if (caplen > MAX_RECORD_BYTES || frac >= fracMax) {
        const why = caplen > MAX_RECORD_BYTES ? `record length ${caplen} exceeds ${MAX_RECORD_BYTES} bytes` : `record timestamp fraction ${frac} out of range`;
        this.startSkip(why, buf.subarray(pos, Math.min(buf.length, pos + DEAD_PAYLOAD_BYTES)), base + pos);
        pos += 1;
        continue;
      }
      if (buf.length - pos - hdr < caplen) break;
      this.lastSeconds = sec;
      const ts = sec * 1e6 + Math.floor(frac / fracDiv);
      this.sink.packet(buf, pos + hdr, caplen, wire < caplen ? caplen : wire, ts, this.fileLinkType);
      pos += hdr + caplen;
      this.consumed = base + pos;
    }
    this.consumed = base + pos;
    return pos;
  }

  /** First offset ≥ pos that looks like a sane record header, or -1 when the buffer has none. */
  private resyncPcap(view: DataView, pos: number, fracMax: number): number {
    const little = this.little;
    const last = this.lastSeconds;
    const limit = view.byteLength - this.recordHeader;
    for (let p = pos; p <= limit; p++) {
      const sec = view.getUint32(p, little);
      if (last >= 0 && (sec < last - 86400 || sec > last + 86400)) continue;
      if (view.getUint32(p + 4, little) >= fracMax) continue;
      const caplen = view.getUint32(p + 8, little);
      const wire = view.getUint32(p + 12, little);
      if (caplen === 0 || caplen > MAX_RECORD_BYTES || wire < caplen || wire > 0x100000) continue;
      return p;
    }
    return -1;
  }

  private startSkip(reason: string, payload: Uint8Array, offset: number): void {
    if (this.skipping) return;
    this.skipping = true;
    this.skipStart = offset;
    this.skipReason = reason;
    this.skipPayload = payload.slice();
  }

  private finishSkip(offset: number): void {
    this.skipping = false;
    const skipped = offset - this.skipStart;
    this.sink.bad(`${this.skipReason}; skipped ${skipped} bytes to the next plausible record`, this.skipPayload ?? new Uint8Array(0), this.skipStart);
    this.skipPayload = null;
  }

  // ---- pcapng ----------------------------------------------------------------------------------

  private readPcapng(buf: Uint8Array, from: number): number {
    const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    let pos = from;
    const base = this.consumed - from;
    for (;;) {
      if (this.skipping) {
        const found = this.resyncPcapng(view, buf, pos);
        if (found < 0) {
          const keep = Math.max(pos, buf.length - 11);
          this.consumed = base + keep;
          return keep;
        }
        this.finishSkip(base + found);
        pos = found;
      }
      if (buf.length - pos < 12) break;
      const typeBe = view.getUint32(pos, false);
      if (typeBe === PCAPNG_SHB) {
        // A section header fixes the byte order of everything up to the next one.
        const bom = view.getUint32(pos + 8, true);
        if (bom === PCAPNG_BOM) this.little = true;
        else if (bom === 0x4d3c2b1a) this.little = false;
        else {
          this.startSkip(`bad pcapng byte-order magic 0x${bom.toString(16)}`, buf.subarray(pos, Math.min(buf.length, pos + DEAD_PAYLOAD_BYTES)), base + pos);
          pos += 4;
          continue;
        }
        this.interfaces = [];
      }
      const little = this.little;
      const type = view.getUint32(pos, little);
      const len = view.getUint32(pos + 4, little);
      if (len < 12 || len % 4 !== 0 || len > MAX_BLOCK_BYTES) {
        this.startSkip(`pcapng block length ${len} invalid`, buf.subarray(pos, Math.min(buf.length, pos + DEAD_PAYLOAD_BYTES)), base + pos);
        pos += 4;
        continue;
      }
      if (buf.length - pos < len) break;
      if (view.getUint32(pos + len - 4, little) !== len) {
        this.startSkip(`pcapng block trailer length differs from ${len}`, buf.subarray(pos, Math.min(buf.length, pos + DEAD_PAYLOAD_BYTES)), base + pos);
        pos += 4;
        continue;
      }
      this.block(buf, view, pos, type, len, base + pos);
      pos += len;
      this.consumed = base + pos;
    }
    this.consumed = base + pos;
    return pos;
  }

  private resyncPcapng(view: DataView, buf: Uint8Array, pos: number): number {
    for (let p = pos; p + 12 <= buf.length; p += 4) {
      const typeBe = view.getUint32(p, false);
      const little = typeBe === PCAPNG_SHB ? view.getUint32(p + 8, true) === PCAPNG_BOM : this.little;
      const type = view.getUint32(p, little);
      if (!KNOWN_BLOCKS.has(type)) continue;
      const len = view.getUint32(p + 4, little);
      if (len < 12 || len % 4 !== 0 || len > MAX_BLOCK_BYTES) continue;
      if (p + len > buf.length) return -1; // could be a block: wait for its bytes
      if (view.getUint32(p + len - 4, little) === len) return p;
    }
    return -1;
  }

  private block(buf: Uint8Array, view: DataView, pos: number, type: number, len: number, offset: number): void {
    const little = this.little;
    if (type === BT_IDB) {
      if (len < 20) return this.sink.bad('pcapng interface block too short', buf.slice(pos, pos + len), offset);
      const linkType = view.getUint16(pos + 8, little);
      let unitsPerSecond = 1e6;
      // Options: code(2) length(2) value padded to 4; if_tsresol is code 9.
      let o = pos + 16;
      const end = pos + len - 4;
      while (o + 4 <= end) {
        const code = view.getUint16(o, little);
        const olen = view.getUint16(o + 2, little);
        if (code === 0) break;
        if (code === 9 && olen >= 1 && o + 4 < end) {
          const r = buf[o + 4];
          unitsPerSecond = r & 0x80 ? 2 ** (r & 0x7f) : 10 ** r;
        }
        o += 4 + ((olen + 3) & ~3);
      }
      this.interfaces.push({ linkType, unitsPerSecond });
      if (this.fileLinkType < 0) this.fileLinkType = linkType;
      this.sink.linkType?.(linkType);
      return;
    }
    if (type === BT_EPB || type === BT_OPB) {
      if (len < 32) return this.sink.bad('pcapng packet block too short', buf.slice(pos, pos + len), offset);
      const ifIndex = type === BT_EPB ? view.getUint32(pos + 8, little) : view.getUint16(pos + 8, little);
      const iface = this.interfaces[ifIndex];
      if (!iface) return this.sink.bad(`pcapng packet on undeclared interface ${ifIndex}`, buf.slice(pos, pos + Math.min(len, DEAD_PAYLOAD_BYTES)), offset);
      const high = view.getUint32(pos + 12, little);
      const low = view.getUint32(pos + 16, little);
      const caplen = view.getUint32(pos + 20, little);
      const wire = view.getUint32(pos + 24, little);
      if (caplen > len - 32) return this.sink.bad(`pcapng captured length ${caplen} exceeds its block (${len} bytes)`, buf.slice(pos, pos + Math.min(len, DEAD_PAYLOAD_BYTES)), offset);
      const ts = toMicros(high, low, iface.unitsPerSecond);
      this.lastTs = ts;
      this.sink.packet(buf, pos + 28, caplen, wire < caplen ? caplen : wire, ts, iface.linkType);
      return;
    }
    if (type === BT_SPB) {
      const iface = this.interfaces[0];
      if (!iface) return this.sink.bad('pcapng simple packet block before any interface', buf.slice(pos, pos + Math.min(len, DEAD_PAYLOAD_BYTES)), offset);
      const wire = view.getUint32(pos + 8, little);
      const caplen = Math.min(wire, len - 16);
      // Simple packet blocks carry no timestamp: the last known time is the best estimate.
      this.sink.packet(buf, pos + 12, caplen, wire, this.lastTs, iface.linkType);
    }
    // Section headers are handled by the caller; name resolution, statistics and custom blocks carry no packets.
  }
}
