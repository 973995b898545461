/**
 * The Community ID and flow id of a batch's flows, hashed together when the batch is cut: each
 * flow leaves its two hash inputs (and where its ids' text goes in the columns' bytes) as it is
 * written, and `finish` hashes all Community IDs in one `sha1Many` call, writes their text, then
 * hashes all flow ids (whose input holds that text) in a second call. The same ids, byte for
 * byte, as `communityIdBytes` and `flowId` of pipeline/flow-id.ts, without a string or a call
 * into node:crypto per flow.
 */
import { COMMUNITY_ID_INPUT_MAX, COMMUNITY_ID_TEXT_LENGTH, communityIdInput, writeCommunityIdText, writeFlowIdHex } from '../../pipeline/flow-id.ts';
import { Sha1Batch } from '../../pipeline/sha1.ts';

const FIRST_ROWS = 256;
/** Decimal digits of a timestamp at most, as `String(number)` writes it (exponent forms included). */
const TS_TEXT_MAX = 32;

export class FlowIdentities {
  /** Community ID inputs, one message per flow in row order. */
  private readonly cids = new Sha1Batch(FIRST_ROWS, COMMUNITY_ID_INPUT_MAX);
  /** Flow id inputs (`site \0 sensor \0 community-id \0 ts_start`), one per flow; the Community ID's place is filled by `finish`. */
  private readonly fids = new Sha1Batch(FIRST_ROWS, 96);
  /** Where each flow's Community ID text goes in its flow id input. */
  private gapAt = new Int32Array(FIRST_ROWS);
  /** Where each flow's ids go in the community_id and flow_id columns' bytes. */
  private cidAt = new Int32Array(FIRST_ROWS);
  private fidAt = new Int32Array(FIRST_ROWS);
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
   * (of `site`, `sensor` and `tsStart` in µs) to `fidAt` of the flow_id column's.
   */
  add(src: ArrayLike<number>, dst: ArrayLike<number>, length: number, proto: number, srcPort: number, dstPort: number, tsStart: number, site: string, sensor: string, cidAt: number, fidAt: number): void {
    const k = this.n++;
    if (k === this.cidAt.length) this.grow();
    this.cidAt[k] = cidAt;
    this.fidAt[k] = fidAt;
    const cids = this.cids;
    const cidInputAt = cids.reserve(COMMUNITY_ID_INPUT_MAX);
    cids.push(communityIdInput(cids.bytes, cidInputAt, src, 0, dst, 0, length, proto, srcPort, dstPort));
    if (site !== this.site || sensor !== this.sensor) this.setPrefix(site, sensor);
    const prefix = this.prefix;
    const fids = this.fids;
    let at = fids.reserve(prefix.length + COMMUNITY_ID_TEXT_LENGTH + 1 + TS_TEXT_MAX);
    const bytes = fids.bytes;
    for (let i = 0; i < prefix.length; i++) bytes[at++] = prefix[i];
    this.gapAt[k] = at;
    at += COMMUNITY_ID_TEXT_LENGTH;
    bytes[at++] = 0;
    fids.push(writeDecimal(bytes, at, tsStart));
  }

  /** Hash the flows taken since the last call and write their ids' text into the two columns' bytes. */
  finish(communityIdBytes: Uint8Array, flowIdBytes: Uint8Array): void {
    const n = this.n;
    if (n === 0) return;
    const cids = this.cids;
    const fids = this.fids;
    cids.hash();
    const key = fids.bytes;
    for (let k = 0; k < n; k++) {
      const at = this.cidAt[k];
      writeCommunityIdText(cids.digests, k, communityIdBytes, at);
      const gap = this.gapAt[k];
      for (let i = 0; i < COMMUNITY_ID_TEXT_LENGTH; i++) key[gap + i] = communityIdBytes[at + i];
    }
    fids.hash();
    for (let k = 0; k < n; k++) writeFlowIdHex(fids.digests, k, flowIdBytes, this.fidAt[k]);
    cids.clear();
    fids.clear();
    this.n = 0;
  }

  private grow(): void {
    const size = this.cidAt.length * 2;
    for (const name of ['gapAt', 'cidAt', 'fidAt'] as const) {
      const next = new Int32Array(size);
      next.set(this[name]);
      this[name] = next;
    }
  }

  private setPrefix(site: string, sensor: string): void {
    this.site = site;
    this.sensor = sensor;
    this.prefix = Buffer.from(`${site}\u0000${sensor}\u0000`, 'utf8');
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
