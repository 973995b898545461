/**
 * The Community ID and flow id of a batch's flows, hashed together when the batch is cut: each
 * flow writes its two hash inputs into the identity module's memory as it is written
 * (pipeline/identity-batch.ts: its Community ID input, then `site \0 sensor \0 [hole] \0 start`
 * with the start time's digits written directly; an IPv4 flow hands over its numbers and the
 * module writes both, `pushV4Pcap`), and `finish` runs the module once: it hashes
 * all Community IDs, writes their text into the holes and into one run, hashes all flow ids and
 * writes their hex into a second run; each run goes into its column's bytes with one copy. The
 * same ids, byte for byte, as `communityIdBytes` and `flowId` of pipeline/flow-id.ts, without a
 * string or a call into node:crypto per flow.
 */
import { COMMUNITY_ID_INPUT_MAX, COMMUNITY_ID_TEXT_LENGTH, FLOW_ID_TEXT_LENGTH, communityIdInput } from '../../pipeline/flow-id.ts';
import { IdentityBatch } from '../../pipeline/identity-batch.ts';

const UTF8 = new TextEncoder();
/** Decimal digits of a timestamp at most, as `String(number)` writes it (exponent forms included). */
const TS_TEXT_MAX = 32;

export class FlowIdentities {
  /** Both ids' messages of the held flows, in the identity module's memory. */
  private readonly batch = new IdentityBatch();
  /** Where the first held flow's ids go in the community_id and flow_id columns' bytes. */
  private cidAt = 0;
  private fidAt = 0;
  private n = 0;
  private site = '';
  private sensor = '';
  /** UTF-8 of `site \0 sensor \0`. */
  private prefix = new Uint8Array([0, 0]);

  /** Flows waiting for `finish`. */
  get count(): number {
    return this.n;
  }

  /**
   * Take one flow: the Community ID of addresses `src` and `dst` (`length` bytes each), protocol
   * and ports (ICMP: type and code) goes to `cidAt` of the community_id column's bytes, its flow id
   * (of `site`, `sensor` and `tsStart` in µs) to `fidAt` of the flow_id column's. The flows of a
   * batch take consecutive places in both columns (each id right after the previous flow's).
   */
  add(src: ArrayLike<number>, dst: ArrayLike<number>, length: number, proto: number, srcPort: number, dstPort: number, tsStart: number, site: string, sensor: string, cidAt: number, fidAt: number): void {
    const k = this.n++;
    if (k === 0) {
      this.cidAt = cidAt;
      this.fidAt = fidAt;
    } else if (cidAt !== this.cidAt + k * COMMUNITY_ID_TEXT_LENGTH || fidAt !== this.fidAt + k * FLOW_ID_TEXT_LENGTH) {
      throw new Error(`flow ids of row ${k} not right after the previous row's`);
    }
    const w = this.batch;
    if (site !== this.site || sensor !== this.sensor) this.setPrefix(site, sensor);
    if (length === 4 && Number.isSafeInteger(tsStart) && tsStart >= 0 && srcPort >= 0 && srcPort <= 0xffff && dstPort >= 0 && dstPort <= 0xffff) {
      // The module writes both messages of an IPv4 flow from its numbers.
      const high = Math.floor(tsStart / 1e8);
      w.pushV4Pcap(this.prefix, (src[0] << 24) | (src[1] << 16) | (src[2] << 8) | src[3], (dst[0] << 24) | (dst[1] << 16) | (dst[2] << 8) | dst[3], proto, srcPort, dstPort, high, tsStart - high * 1e8);
      return;
    }
    const cid = w.reserve(COMMUNITY_ID_INPUT_MAX);
    const j = w.pushCommunityId(cid, communityIdInput(w.bytes, cid, src, 0, dst, 0, length, proto, srcPort, dstPort));
    const prefix = this.prefix;
    const start = w.reserve(prefix.length + COMMUNITY_ID_TEXT_LENGTH + 1 + TS_TEXT_MAX);
    const bytes = w.bytes;
    let at = start;
    for (let i = 0; i < prefix.length; i++) bytes[at++] = prefix[i];
    w.holeAt(j, at);
    at += COMMUNITY_ID_TEXT_LENGTH;
    bytes[at++] = 0;
    w.pushFlowId(start, writeDecimal(bytes, at, tsStart));
  }

  /** Hash the flows taken since the last call and write their ids' text into the two columns' bytes. */
  finish(communityIdBytes: Uint8Array, flowIdBytes: Uint8Array): void {
    const n = this.n;
    if (n === 0) return;
    const w = this.batch;
    w.run();
    const bytes = w.bytes;
    communityIdBytes.set(bytes.subarray(w.communityIdText, w.communityIdText + n * COMMUNITY_ID_TEXT_LENGTH), this.cidAt);
    flowIdBytes.set(bytes.subarray(w.flowIdText, w.flowIdText + n * FLOW_ID_TEXT_LENGTH), this.fidAt);
    w.clear();
    this.n = 0;
  }

  private setPrefix(site: string, sensor: string): void {
    this.site = site;
    this.sensor = sensor;
    // A plain Uint8Array like the first prefix (a Buffer would make the copy loop polymorphic).
    this.prefix = UTF8.encode(`${site}\u0000${sensor}\u0000`);
  }
}

/** Write `String(v)` of a number at `out[at]` (digits directly for safe non-negative integers); returns the end. */
function writeDecimal(out: Uint8Array, at: number, v: number): number {
  if (!Number.isSafeInteger(v) || v < 0) {
    const s = String(v);
    for (let i = 0; i < s.length; i++) out[at++] = s.charCodeAt(i);
    return at;
  }
  if (v < 1e8) return writeDigits(out, at, v, digitsOf(v));
  // Microsecond timestamps have 16 digits: two halves of at most 8, each in 32-bit arithmetic.
  const high = Math.floor(v / 1e8);
  at = writeDigits(out, at, high, digitsOf(high));
  return writeDigits(out, at, v - high * 1e8, 8);
}

/** Decimal digits of an integer in [0, 1e8). */
function digitsOf(v: number): number {
  let n = 1;
  for (let p = 10; p <= v; p *= 10) n++;
  return n;
}

/** The `n` last decimal digits of an integer in [0, 1e8) (leading zeros to fill `n`); returns the end. */
function writeDigits(out: Uint8Array, at: number, v: number, n: number): number {
  let x = v | 0;
  for (let i = at + n - 1; i >= at; i--) {
    const q = (x / 10) | 0;
    out[i] = 48 + x - q * 10;
    x = q;
  }
  return at + n;
}
