/**
 * SHA-1 (FIPS 180-4) of many short messages at once, without allocation: the messages lie in one
 * byte buffer, their digests go into one Int32Array (five big-endian words per message).
 *
 * Flow identity hashes two short messages per flow (Community ID v1 is SHA-1 by its spec; the flow
 * id of flow schema v1 is the first 8 bytes of a SHA-1). Through node:crypto each digest is a call
 * into C++ and a fresh string or Buffer; here a batch of records is one call, the digests are
 * read as numbers, and short messages are hashed eight at a time by a WebAssembly SIMD module
 * (pipeline/sha1-simd.ts; about 58 ns per message block against about 100 ns for the unrolled
 * JavaScript rounds below, which hash the rest).
 *
 * Not for secrets (SHA-1 is broken for collision resistance); only for the identifiers the
 * Community ID spec and HEIR's flow schema define with it.
 */

import { SETS, compileSha1x4, type Sha1x4 } from './sha1-simd.ts';

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

/** Messages of more blocks than this go through the scalar path (the SIMD path groups by count). */
const SIMD_MAX_BLOCKS = 4;
let simd: Sha1x4 | null | undefined;
/** Four-lane SHA-1 memory, as words (remade when the memory grows). */
let lanes = new Int32Array(0);
/** Block count of each message of a call (0: more than SIMD_MAX_BLOCKS), and messages per count. */
let blockCounts = new Uint8Array(64);
const PER_COUNT = new Int32Array(SIMD_MAX_BLOCKS + 1);

/**
 * Write block `b` of the padded message `data[start .. end)` as 16 big-endian words into
 * `dst[at]`, `dst[at + stride]`, … (stride 4: one lane of the four-lane layout).
 */
function blockWords(data: Uint8Array, start: number, end: number, b: number, blocks: number, dst: Int32Array, at: number, stride: number): void {
  const base = start + b * 64;
  if (base + 64 <= end) {
    for (let i = 0, p = base; i < 16; i++, p += 4, at += stride) dst[at] = (data[p] << 24) | (data[p + 1] << 16) | (data[p + 2] << 8) | data[p + 3];
    return;
  }
  // A tail block: whole words of the message, the word holding its end and 0x80, zeros, and in
  // the last block the bit length (messages here are far below 2^29 bytes: its high word is 0).
  const length = end - start;
  const whole = end > base ? (end - base) >> 2 : 0;
  let i = 0;
  for (let p = base; i < whole; i++, p += 4, at += stride) dst[at] = (data[p] << 24) | (data[p + 1] << 16) | (data[p + 2] << 8) | data[p + 3];
  if (end >= base && i < 16) {
    let word = 0;
    for (let j = 0, q = base + 4 * i; j < 4; j++, q++) word = (word << 8) | (q < end ? data[q] : q === end ? 0x80 : 0);
    dst[at] = word;
    at += stride;
    i++;
  }
  const last = b === blocks - 1;
  for (; i < 16; i++, at += stride) dst[at] = !last || i < 14 ? 0 : i === 14 ? (length / 0x20000000) | 0 : length << 3;
}

/** Check a message's bounds; returns its block count. */
function blocksOf(data: Uint8Array, starts: Int32Array, ends: Int32Array, k: number): number {
  const start = starts[k];
  const end = ends[k];
  if (start < 0 || end < start || end > data.length) throw new RangeError(`sha1Many: message ${k} [${start}, ${end}) is outside the ${data.length}-byte buffer`);
  // The message, 0x80, zero padding, and the 64-bit bit length.
  return ((end - start + 8) >>> 6) + 1;
}

/**
 * Hash `count` messages: message i is `data[starts[i] .. ends[i])`. Its digest goes to
 * `out[5i .. 5i + 5)` as the five 32-bit words H0..H4 (signed int32 view of the big-endian words).
 * Messages of up to 4 blocks (247 bytes) go four at a time through the WebAssembly SIMD module
 * (pipeline/sha1-simd.ts) where the runtime has it; the others one at a time through `block`.
 */
export function sha1Many(data: Uint8Array, starts: Int32Array, ends: Int32Array, count: number, out: Int32Array, useSimd = true): void {
  if (out.length < count * 5) throw new RangeError(`sha1Many: ${out.length} digest words for ${count} messages`);
  if (simd === undefined) simd = compileSha1x4();
  if (!useSimd || simd === null || count < 2) {
    for (let k = 0; k < count; k++) scalar(data, starts, ends, k, blocksOf(data, starts, ends, k), out);
    return;
  }
  // Messages by block count, each count hashed in groups of four lanes (a short last group's
  // spare lanes hash zeros that nobody reads).
  if (blockCounts.length < count) blockCounts = new Uint8Array(Math.max(count, 2 * blockCounts.length));
  const perCount = PER_COUNT.fill(0);
  for (let k = 0; k < count; k++) {
    const blocks = blocksOf(data, starts, ends, k);
    blockCounts[k] = blocks > SIMD_MAX_BLOCKS ? 0 : blocks;
    if (blocks > SIMD_MAX_BLOCKS) scalar(data, starts, ends, k, blocks, out);
    else perCount[blocks]++;
  }
  for (let blocks = 1; blocks <= SIMD_MAX_BLOCKS; blocks++) {
    const n = perCount[blocks];
    if (n === 0) continue;
    // Groups of four, in whole multiples of the SIMD module's sets.
    const groups = Math.ceil(n / (4 * SETS)) * SETS;
    const inputBytes = groups * blocks * 256;
    const need = inputBytes + groups * 80;
    const memory = simd.memory;
    if (need > memory.buffer.byteLength) memory.grow(Math.ceil((need - memory.buffer.byteLength) / 65536));
    if (lanes.buffer !== memory.buffer) lanes = new Int32Array(memory.buffer);
    const words = lanes;
    let slot = 0;
    for (let k = 0; k < count; k++) {
      if (blockCounts[k] !== blocks) continue;
      const group = slot >> 2;
      const lane = slot & 3;
      for (let b = 0; b < blocks; b++) blockWords(data, starts[k], ends[k], b, blocks, words, (group * blocks + b) * 64 + lane, 4);
      slot++;
    }
    simd.run(0, groups, blocks, inputBytes);
    slot = 0;
    const outAt = inputBytes >> 2;
    for (let k = 0; k < count; k++) {
      if (blockCounts[k] !== blocks) continue;
      const at = outAt + (slot >> 2) * 20 + (slot & 3);
      const o = k * 5;
      out[o] = words[at];
      out[o + 1] = words[at + 4];
      out[o + 2] = words[at + 8];
      out[o + 3] = words[at + 12];
      out[o + 4] = words[at + 16];
      slot++;
    }
  }
}

/** SHA-1 of message k alone. */
function scalar(data: Uint8Array, starts: Int32Array, ends: Int32Array, k: number, blocks: number, out: Int32Array): void {
  const h = H;
  h[0] = 0x67452301;
  h[1] = 0xefcdab89 | 0;
  h[2] = 0x98badcfe | 0;
  h[3] = 0x10325476;
  h[4] = 0xc3d2e1f0 | 0;
  for (let b = 0; b < blocks; b++) {
    blockWords(data, starts[k], ends[k], b, blocks, M, 0, 1);
    block(h, M);
  }
  const o = k * 5;
  out[o] = h[0];
  out[o + 1] = h[1];
  out[o + 2] = h[2];
  out[o + 3] = h[3];
  out[o + 4] = h[4];
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
