/**
 * The flow identity module: SHA-1 of four messages at once in WebAssembly with 128-bit SIMD,
 * assembled here byte by byte (no toolchain, no binary file), whose lanes hold the same word of
 * four independent messages. A SHA-1 round is serial within a message, so one message cannot use
 * wide vectors; four messages can, and cost about the time of one. Two sets of four lanes run side
 * by side, their rounds interleaved: one set's chain of dependent operations runs while the
 * other's waits (about 1.7x one set alone).
 *
 * Around the hash, the module builds flows' Community ID inputs and flow id messages and writes the
 * digests as Community ID (base64) and flow id (hex) text: `hash`, `communityIds`, `flowIds`,
 * `flowsV4` below; pipeline/identity-batch.ts drives it.
 */

import { FunctionCode, I32, V128, moduleBytes, sleb, uleb } from './wasm-bytes.ts';

// Opcodes (WebAssembly core spec 2.0: control 5.4.1, variables 5.4.4, numeric 5.4.7, vector 5.4.8).
const BLOCK_VOID = 0x40;
const OP_LOOP = 0x03;
const OP_BR_IF = 0x0d;
const OP_END = 0x0b;
const OP_LOCAL_GET = 0x20;
const OP_LOCAL_SET = 0x21;
const OP_I32_CONST = 0x41;
const OP_I32_ADD = 0x6a;
const OP_I32_SUB = 0x6b;
const SIMD = 0xfd;
const V128_LOAD = 0x00;
const V128_STORE = 0x0b;
const V128_CONST = 0x0c;
const V128_AND = 0x4e;
const V128_OR = 0x50;
const V128_XOR = 0x51;
const V128_BITSELECT = 0x52;
const I32X4_SHL = 0xab;
const I32X4_SHR_U = 0xad;
const I32X4_ADD = 0xae;

/** SHA-1 initial state and round constants (FIPS 180-4, 5.3.1 and 4.2.1). */
const IV = [0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476, 0xc3d2e1f0];
const K = [0x5a827999, 0x6ed9eba1, 0x8f1bbcdc, 0xca62c1d6];

/** Sets of four lanes hashed side by side: their rounds interleave, so one set's dependency chain runs while the other's waits. */
export const SETS = 2;

/**
 * The 80 rounds of one block for each set of four lanes, interleaved set by set, appended to
 * `code`. `pointer(s)` pushes the address of set s's 16 schedule words (16 bytes each, the lanes
 * side by side), which the schedule overwrites as a ring; `vars[s]` are the locals a..e of set s
 * (renamed in place as the rounds go), `temp(s)` a spare v128 local of set s.
 */
function emitRounds(code: number[], sets: readonly number[], pointer: (s: number) => void, vars: number[][], temp: (s: number) => number): void {
  const get = (l: number) => code.push(OP_LOCAL_GET, ...uleb(l));
  const set = (l: number) => code.push(OP_LOCAL_SET, ...uleb(l));
  const simd = (op: number) => code.push(SIMD, ...uleb(op));
  const i32 = (v: number) => code.push(OP_I32_CONST, ...sleb(v | 0));
  const splat = (v: number) => {
    simd(V128_CONST);
    for (let lane = 0; lane < 4; lane++) code.push(v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff);
  };
  /** Push rotl(local, n). */
  const rotl = (l: number, n: number) => {
    get(l);
    i32(n);
    simd(I32X4_SHL);
    get(l);
    i32(32 - n);
    simd(I32X4_SHR_U);
    simd(V128_OR);
  };
  /** Push schedule word j of set s's block. */
  const loadW = (s: number, j: number) => {
    pointer(s);
    simd(V128_LOAD);
    code.push(4, ...uleb(j * 16)); // align 2^4, offset
  };
  for (let i = 0; i < 80; i++) {
    for (const s of sets) {
      const t = temp(s);
      if (i >= 16) {
        // w[i & 15] = rotl1(w[i-3] ^ w[i-8] ^ w[i-14] ^ w[i-16]), kept in t for this round
        loadW(s, (i - 3) & 15);
        loadW(s, (i - 8) & 15);
        simd(V128_XOR);
        loadW(s, (i - 14) & 15);
        simd(V128_XOR);
        loadW(s, i & 15);
        simd(V128_XOR);
        set(t);
        rotl(t, 1);
        set(t);
        if (i < 77) {
          pointer(s);
          get(t);
          simd(V128_STORE);
          code.push(4, ...uleb((i & 15) * 16));
        }
      } else {
        loadW(s, i);
        set(t);
      }
      const [a, b, c, d, e] = vars[s];
      // e = rotl5(a) + f(b, c, d) + e + K + w
      rotl(a, 5);
      if (i < 20) {
        // Ch: (b & c) | (~b & d) = bitselect(c, d, b)
        get(c);
        get(d);
        get(b);
        simd(V128_BITSELECT);
      } else if (i >= 40 && i < 60) {
        // Maj: (b & c) | (d & (b | c))
        get(b);
        get(c);
        simd(V128_AND);
        get(d);
        get(b);
        get(c);
        simd(V128_OR);
        simd(V128_AND);
        simd(V128_OR);
      } else {
        get(b);
        get(c);
        simd(V128_XOR);
        get(d);
        simd(V128_XOR);
      }
      simd(I32X4_ADD);
      get(e);
      simd(I32X4_ADD);
      splat(K[Math.floor(i / 20)]);
      simd(I32X4_ADD);
      get(t);
      simd(I32X4_ADD);
      set(e);
      // b = rotl30(b); then the names rotate: (a, b, c, d, e) <- (e, a, b, c, d)
      rotl(b, 30);
      set(b);
      vars[s] = [e, a, b, c, d];
    }
  }
}

// More opcodes (core spec 2.0: control 5.4.1, memory 5.4.6, bulk memory 5.4.6 0xFC, vector 5.4.8).
const OP_BLOCK = 0x02;
const OP_IF = 0x04;
const OP_ELSE = 0x05;
const OP_BR = 0x0c;
const OP_SELECT = 0x1b;
const OP_I32_EQZ = 0x45;
const OP_I32_EQ = 0x46;
const OP_I32_LT_U = 0x49;
const OP_I32_LE_U = 0x4d;
const OP_I32_GE_S = 0x4e;
const OP_I32_GE_U = 0x4f;
const OP_I32_DIV_U = 0x6e;
const OP_I32_LOAD = 0x28;
const OP_I32_LOAD8_U = 0x2d;
const OP_I32_STORE = 0x36;
const OP_I32_STORE8 = 0x3a;
const OP_I32_GT_U = 0x4b;
const OP_I32_MUL = 0x6c;
const OP_I32_AND = 0x71;
const OP_I32_OR = 0x72;
const OP_I32_SHL = 0x74;
const OP_I32_SHR_U = 0x76;
const BULK = 0xfc;
const MEMORY_COPY = 10;
const MEMORY_FILL = 11;
const I8X16_SHUFFLE = 0x0d;
const I32X4_SPLAT = 0x11;
const I32X4_REPLACE_LANE = 0x1c;
const I32X4_GT_S = 0x3b;

/**
 * Fixed places in the identity module's memory: the base64 and hex alphabets (written by the
 * caller), a zero message the spare lanes of a last group hash, the schedule rings of the sets;
 * the caller's messages, tables and outputs start at IDS_FREE.
 */
export const IDS_BASE64 = 0;
export const IDS_HEX = 64;
export const IDS_EMPTY = 128;
const IDS_RING = 256;
/** Per byte value its decimal text (up to 3 bytes) and, in the fourth byte, the text's length. */
export const IDS_OCTETS = IDS_RING + 256 * SETS;
/** ICMP (IPv4, then IPv6) type → the reply type Community ID pairs it with, 255 = none. */
export const IDS_ICMP4 = IDS_OCTETS + 1024;
export const IDS_ICMP6 = IDS_ICMP4 + 256;
/** "00" … "99": two decimal digits at a time. */
const IDS_PAIRS = IDS_ICMP6 + 256;
export const IDS_FREE = IDS_PAIRS + 256;
/** Words per record of `flowsV4`'s table. */
export const V4_WORDS = 12;
/** Messages per group of the identity module's hashing (its count must be a multiple). */
export const IDS_GROUP = 4 * SETS;

/** Instruction writer for the identity module's functions (one function at a time). */
class Code extends FunctionCode {
  simd(op: number): this {
    return this.op(SIMD, ...uleb(op));
  }
  /** i32.load / i32.load8_u / i32.store / i32.store8 / v128.load / v128.store with a constant offset. */
  load(offset = 0): this {
    return this.op(OP_I32_LOAD, 2, ...uleb(offset));
  }
  load8(offset = 0): this {
    return this.op(OP_I32_LOAD8_U, 0, ...uleb(offset));
  }
  store(offset = 0): this {
    return this.op(OP_I32_STORE, 2, ...uleb(offset));
  }
  store8(offset = 0): this {
    return this.op(OP_I32_STORE8, 0, ...uleb(offset));
  }
  vload(offset = 0): this {
    return this.simd(V128_LOAD).op(0, ...uleb(offset));
  }
  vstore(offset = 0): this {
    return this.simd(V128_STORE).op(4, ...uleb(offset));
  }
  /** `for (local = 0; local < limit-local; local++) body` (limit > 0 is the caller's promise). */
  countUp(local: number, limit: number, body: () => void): this {
    this.i32(0).set(local);
    this.op(OP_LOOP, BLOCK_VOID);
    body();
    this.get(local).i32(1).op(OP_I32_ADD).tee(local).get(limit).op(0x49 /* i32.lt_u */, OP_BR_IF, 0, OP_END);
    return this;
  }
}

/**
 * `hash(table, count, out)`: SHA-1 of `count` messages (a multiple of IDS_GROUP), message k at
 * address table[2k] with length table[2k + 1] bytes, each in a slot of whole 64-byte blocks with
 * room for its padding (written here). Digests go to `out`, 80 bytes per four messages: word w of
 * lane l at 16w + 4l. Lanes of one set may differ in block count: each lane keeps the state of
 * its own last block.
 */
function hashBody(): number[] {
  const TABLE = 0;
  const COUNT = 1;
  const OUT = 2;
  // i32 locals
  const K_ = 3; // message index
  const START = 4;
  const LENGTH = 5;
  const END = 6;
  const SLOT_END = 7;
  const B = 8; // block index
  const MAXB = 9;
  const NBLOCKS = 10;
  const S = 11; // S + 4s + l: address of lane l of set s
  const I32_LOCALS = S + 4 * SETS - 3;
  // v128 locals
  const V = S + 4 * SETS;
  const A = (s: number) => V + s * 12; // a..e
  const H = (s: number) => V + s * 12 + 5; // h0..h4
  const T = (s: number) => V + s * 12 + 10;
  const NB = (s: number) => V + s * 12 + 11; // block count of each lane
  const X = V + 12 * SETS; // 8 gather temporaries
  const V128_LOCALS = 12 * SETS + 8;
  const c = new Code();
  const sets = Array.from({ length: SETS }, (_, s) => s);

  // Padding: 0x80 after the message, zeros, the bit length (big-endian) in the last 8 bytes.
  c.countUp(K_, COUNT, () => {
    c.get(TABLE).get(K_).i32(3).op(OP_I32_SHL).op(OP_I32_ADD).tee(END).load(0).set(START);
    c.get(END).load(4).set(LENGTH);
    c.get(START).get(LENGTH).op(OP_I32_ADD).tee(END).i32(0x80).store8();
    // blocks = ((length + 8) >> 6) + 1; the slot ends at start + 64 × blocks
    c.get(LENGTH).i32(8).op(OP_I32_ADD).i32(6).op(OP_I32_SHR_U).i32(1).op(OP_I32_ADD).i32(6).op(OP_I32_SHL).get(START).op(OP_I32_ADD).set(SLOT_END);
    // zeros from end + 1 up to the last 4 bytes (the length's high word is 0: messages are short)
    c.get(END).i32(1).op(OP_I32_ADD).i32(0).get(SLOT_END).get(END).op(OP_I32_SUB).i32(5).op(OP_I32_SUB).op(BULK, MEMORY_FILL, 0);
    // the bit length's low word, big-endian, in the slot's last 4 bytes
    for (let j = 0; j < 4; j++) c.get(SLOT_END).i32(4 - j).op(OP_I32_SUB).get(LENGTH).i32(3).op(OP_I32_SHL).i32(24 - 8 * j).op(OP_I32_SHR_U).store8();
  });

  // Groups of 4 × SETS messages.
  c.i32(0).set(K_);
  c.op(OP_LOOP, BLOCK_VOID);
  c.i32(0).set(MAXB);
  for (const s of sets) {
    IV.forEach((v, i) => {
      c.simd(V128_CONST);
      for (let lane = 0; lane < 4; lane++) c.op(v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff);
      c.set(H(s) + i);
    });
    c.i32(0).simd(I32X4_SPLAT).set(NB(s));
    for (let l = 0; l < 4; l++) {
      // entry = table + 8 × (k + 4s + l)
      c.get(TABLE).get(K_).i32(4 * s + l).op(OP_I32_ADD).i32(3).op(OP_I32_SHL).op(OP_I32_ADD).tee(END).load(0).set(S + 4 * s + l);
      c.get(END).load(4).i32(8).op(OP_I32_ADD).i32(6).op(OP_I32_SHR_U).i32(1).op(OP_I32_ADD).set(NBLOCKS);
      c.get(NB(s)).get(NBLOCKS).simd(I32X4_REPLACE_LANE).op(l).set(NB(s));
      // maxb = max(maxb, nblocks)
      c.get(NBLOCKS).get(MAXB).get(NBLOCKS).get(MAXB).op(OP_I32_GT_U, 0x1b /* select */).set(MAXB);
    }
  }
  c.countUp(B, MAXB, () => {
    // Gather block B of every lane: 16 big-endian words × 4 lanes into the set's ring, transposed
    // (four words of four lanes at a time: two rounds of shuffles, the first also byte-swapping).
    for (const s of sets) {
      for (let q = 0; q < 4; q++) {
        for (let l = 0; l < 4; l++) c.get(S + 4 * s + l).get(B).i32(6).op(OP_I32_SHL).op(OP_I32_ADD).vload(16 * q).set(X + l);
        const swapPair = (w: number) => [3, 2, 1, 0, 19, 18, 17, 16, 7, 6, 5, 4, 23, 22, 21, 20].map((i) => i + 8 * w);
        // X4 = [a.w0 b.w0 a.w1 b.w1], X5 = [a.w2 b.w2 a.w3 b.w3]; X6, X7 the same of c, d
        c.get(X + 0).get(X + 1).simd(I8X16_SHUFFLE).op(...swapPair(0)).set(X + 4);
        c.get(X + 0).get(X + 1).simd(I8X16_SHUFFLE).op(...swapPair(1)).set(X + 5);
        c.get(X + 2).get(X + 3).simd(I8X16_SHUFFLE).op(...swapPair(0)).set(X + 6);
        c.get(X + 2).get(X + 3).simd(I8X16_SHUFFLE).op(...swapPair(1)).set(X + 7);
        const low = [0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23];
        const high = low.map((i) => i + 8);
        const ring = IDS_RING + 256 * s + 64 * q;
        c.i32(ring).get(X + 4).get(X + 6).simd(I8X16_SHUFFLE).op(...low).vstore(0);
        c.i32(ring).get(X + 4).get(X + 6).simd(I8X16_SHUFFLE).op(...high).vstore(16);
        c.i32(ring).get(X + 5).get(X + 7).simd(I8X16_SHUFFLE).op(...low).vstore(32);
        c.i32(ring).get(X + 5).get(X + 7).simd(I8X16_SHUFFLE).op(...high).vstore(48);
      }
      for (let i = 0; i < 5; i++) c.get(H(s) + i).set(A(s) + i);
    }
    const vars = sets.map((s) => [0, 1, 2, 3, 4].map((i) => A(s) + i));
    emitRounds(c.bytes, sets, (s) => c.i32(IDS_RING + 256 * s), vars, T);
    // Lanes still inside their message take the new state; finished lanes keep theirs.
    for (const s of sets) {
      c.get(NB(s)).get(B).simd(I32X4_SPLAT).simd(I32X4_GT_S).set(T(s));
      vars[s].forEach((v, i) => c.get(H(s) + i).get(v).simd(I32X4_ADD).get(H(s) + i).get(T(s)).simd(V128_BITSELECT).set(H(s) + i));
    }
  });
  for (const s of sets) for (let i = 0; i < 5; i++) c.get(OUT).get(H(s) + i).vstore(80 * s + 16 * i);
  c.get(OUT).i32(80 * SETS).op(OP_I32_ADD).set(OUT);
  c.get(K_).i32(IDS_GROUP).op(OP_I32_ADD).tee(K_).get(COUNT).op(0x49 /* i32.lt_u */, OP_BR_IF, 0, OP_END);
  c.op(OP_END);
  return [2, I32_LOCALS, I32, V128_LOCALS, V128, ...c.bytes];
}

/** Digest word `w` of message `index-local` in the layout `hash` writes at `digests-local`. */
function digestWord(c: Code, digests: number, index: number, w: number): void {
  // digests + 80 × (index >> 2) + 4 × (index & 3), then 16 w
  c.get(digests).get(index).i32(2).op(OP_I32_SHR_U).i32(80).op(OP_I32_MUL).op(OP_I32_ADD).get(index).i32(3).op(OP_I32_AND).i32(2).op(OP_I32_SHL).op(OP_I32_ADD).load(16 * w);
}

/**
 * `communityIds(digests, count, out, keys)`: the Community ID text (`1:` and the base64 of the
 * 20 digest bytes, 30 bytes) of each of `count` digests at out + 30k, and a copy of it at the
 * address keys[k] (where the flow id message holds it).
 */
function communityIdsBody(): number[] {
  const DIGESTS = 0;
  const COUNT = 1;
  const OUT = 2;
  const KEYS = 3;
  const I = 4;
  const W = 5; // W .. W + 4: the digest words
  const c = new Code();
  /** The four base64 characters of the 24-bit value on the stack at OUT + at. */
  const quad = (value: () => void, at: number) => {
    for (let j = 0; j < 4; j++) {
      c.get(OUT);
      value();
      c.i32(18 - 6 * j).op(OP_I32_SHR_U).i32(63).op(OP_I32_AND).load8(IDS_BASE64).store8(at + j);
    }
  };
  const w = (i: number) => c.get(W + i);
  c.countUp(I, COUNT, () => {
    for (let i = 0; i < 5; i++) {
      digestWord(c, DIGESTS, I, i);
      c.set(W + i);
    }
    c.get(OUT).i32(49).store8(0); // 1
    c.get(OUT).i32(58).store8(1); // :
    const shr = (i: number, n: number) => () => w(i).i32(n).op(OP_I32_SHR_U);
    const mix = (hi: number, hiMask: number, hiShift: number, lo: number, loShift: number) => () => {
      w(hi).i32(hiMask).op(OP_I32_AND).i32(hiShift).op(OP_I32_SHL);
      w(lo).i32(loShift).op(OP_I32_SHR_U).op(OP_I32_OR);
    };
    quad(shr(0, 8), 2);
    quad(mix(0, 0xff, 16, 1, 16), 6);
    quad(mix(1, 0xffff, 8, 2, 24), 10);
    quad(() => w(2).i32(0xffffff).op(OP_I32_AND), 14);
    quad(shr(3, 8), 18);
    quad(mix(3, 0xff, 16, 4, 16), 22);
    quad(() => w(4).i32(0xffff).op(OP_I32_AND).i32(8).op(OP_I32_SHL), 26);
    c.get(OUT).i32(61).store8(29); // =
    // the copy inside the flow id message
    c.get(KEYS).get(I).i32(2).op(OP_I32_SHL).op(OP_I32_ADD).load(0).get(OUT).i32(30).op(BULK, MEMORY_COPY, 0, 0);
    c.get(OUT).i32(30).op(OP_I32_ADD).set(OUT);
  });
  c.op(OP_END);
  return [1, 6, I32, ...c.bytes];
}

/** `flowIds(digests, count, out)`: the flow id text (the first 8 digest bytes as 16 hex digits) of each digest at out + 16k. */
function flowIdsBody(): number[] {
  const DIGESTS = 0;
  const COUNT = 1;
  const OUT = 2;
  const I = 3;
  const WORD = 4;
  const c = new Code();
  c.countUp(I, COUNT, () => {
    for (let w = 0; w < 2; w++) {
      digestWord(c, DIGESTS, I, w);
      c.set(WORD);
      for (let j = 0; j < 8; j++) c.get(OUT).get(WORD).i32(28 - 4 * j).op(OP_I32_SHR_U).i32(15).op(OP_I32_AND).load8(IDS_HEX).store8(8 * w + j);
    }
    c.get(OUT).i32(16).op(OP_I32_ADD).set(OUT);
  });
  c.op(OP_END);
  return [1, 2, I32, ...c.bytes];
}

/**
 * `flowsV4(table, count, fids)`: the Community ID inputs and flow id messages of `count` IPv4
 * flows, 12 words each in `table`: Community ID input address, flow id message address, flow id
 * index (its length goes to fids[2 × index + 1]), exporter prefix address and length, source and
 * destination address (big-endian as numbers), protocol (0..255), source and destination port
 * (0..65535, -1 absent), start time as high and low decimal halves (µs = high × 10^8 + low).
 * The bytes are `communityIdInput`'s and the decoder's flow id key's, byte for byte.
 */
function flowsV4Body(set = false, pcap = false): number[] {
  // flowsV4Set's parameters (see there); flowsV4's are the first three.
  const TABLE = 0;
  const COUNT = 1;
  const FIDS = set ? 10 : 2;
  const FIRST = 2;
  const STRIDE = 3;
  const K0 = 4;
  const J0 = 5;
  const PREFIX_AT = 6;
  const PREFIX_LENGTH = 7;
  const CIDS = 8;
  const KEYS = 9;
  const L = set ? 11 : 3; // the first local
  const I = L;
  const D = L + 1; // the record's words
  const P = L + 2; // write pointer
  const SRC = L + 3;
  const DST = L + 4;
  const PROTO = L + 5;
  const SP = L + 6; // Community ID ports
  const DP = L + 7;
  const SWAP = L + 8;
  const ONEWAY = L + 9;
  const V = L + 10; // digits: value, count, scratch
  const N = L + 11;
  const Q = L + 12;
  const PAIR = L + 13;
  const C = L + 14; // flowsV4Set: the record's Community ID input address
  const c = new Code();
  /** Word w of the record (flowsV4's table layout; flowsV4Set makes words 0..4 from its parameters). */
  const word = (w: number): Code => {
    if (!set) return c.get(D).load(4 * w);
    if (w === 0) return c.get(C);
    if (w === 1) return c.get(C).i32(64).op(OP_I32_ADD);
    if (w === 2) return c.get(J0).get(I).op(OP_I32_ADD);
    if (w === 3) return c.get(PREFIX_AT);
    if (w === 4) return c.get(PREFIX_LENGTH);
    return c.get(D).load(4 * (w - 5));
  };
  const LOAD16_U = 0x2f;
  const STORE16 = 0x3b;
  /** Two digits of V mod 100 (from the pairs table) stored at Q + offset; V becomes V / 100 (N: scratch). */
  const pairAt = (offset: number) => {
    c.get(V).i32(100).op(OP_I32_DIV_U).set(N);
    c.get(Q);
    c.get(V).get(N).i32(100).op(OP_I32_MUL).op(OP_I32_SUB).i32(1).op(OP_I32_SHL).op(LOAD16_U, 0, ...uleb(IDS_PAIRS));
    c.op(STORE16, 0, ...uleb(offset));
    c.get(N).set(V);
  };
  /**
   * The decimal digits of the value in V (below 2^31) at P (P advances), two at a time; exactly
   * 8 digits (zero-padded) when `pad`.
   */
  const digits = (pad: boolean) => {
    if (pad) {
      c.get(P).set(Q);
      for (let j = 3; j >= 0; j--) pairAt(2 * j);
      c.get(P).i32(8).op(OP_I32_ADD).set(P);
      return;
    }
    // N = the digit count (comparisons, no division); Q = the end, then back to P pair by pair
    c.i32(1);
    for (let power = 10; power <= 1e9; power *= 10) c.get(V).i32(power).op(OP_I32_GE_U, OP_I32_ADD);
    c.get(P).op(OP_I32_ADD).tee(Q).set(P);
    c.op(OP_BLOCK, BLOCK_VOID, OP_LOOP, BLOCK_VOID);
    c.get(V).i32(100).op(OP_I32_LT_U, OP_BR_IF, 1);
    c.get(Q).i32(2).op(OP_I32_SUB).set(Q);
    pairAt(0);
    c.op(OP_BR, 0, OP_END, OP_END);
    // one or two digits left
    c.get(V).i32(10).op(OP_I32_GE_U, OP_IF, BLOCK_VOID);
    c.get(Q).i32(2).op(OP_I32_SUB).set(Q);
    c.get(Q).get(V).i32(1).op(OP_I32_SHL).op(LOAD16_U, 0, ...uleb(IDS_PAIRS)).op(STORE16, 0, 0);
    c.op(OP_ELSE);
    c.get(Q).i32(1).op(OP_I32_SUB).get(V).i32(48).op(OP_I32_ADD).store8();
    c.op(OP_END);
  };
  /** Store the byte on the stack top (value) at P + offset: value pushed by `value`. */
  const byteAt = (offset: number, value: () => void) => {
    c.get(P);
    value();
    c.store8(offset);
  };
  /** `|source|port` of the IPFIX message (the exporter's address and port) at P (P advances). */
  const exporter = () => {
    byteAt(0, () => c.i32(124));
    c.get(P).i32(1).op(OP_I32_ADD).set(P);
    for (let j = 0; j < 4; j++) {
      if (j > 0) {
        byteAt(0, () => c.i32(46));
        c.get(P).i32(1).op(OP_I32_ADD).set(P);
      }
      // the octet's text (4 bytes written, the length byte overwritten next)
      c.get(SRC).i32(24 - 8 * j).op(OP_I32_SHR_U).i32(255).op(OP_I32_AND).i32(2).op(OP_I32_SHL).load(IDS_OCTETS).set(Q);
      c.get(P).get(Q).store();
      c.get(P).get(Q).i32(24).op(OP_I32_SHR_U).op(OP_I32_ADD).set(P);
    }
    byteAt(0, () => c.i32(124));
    c.get(P).i32(1).op(OP_I32_ADD).set(P);
    word(8).i32(0).op(OP_I32_GE_S, OP_IF, BLOCK_VOID);
    word(8).set(V);
    digits(false);
    c.op(OP_END);
  };
  c.countUp(I, COUNT, () => {
    c.get(TABLE).get(I).i32(set ? 28 : 4 * V4_WORDS).op(OP_I32_MUL).op(OP_I32_ADD).set(D);
    if (set) c.get(FIRST).get(I).get(STRIDE).op(OP_I32_MUL).op(OP_I32_ADD).set(C);
    word(5).set(SRC);
    word(6).set(DST);
    word(7).set(PROTO);
    if (set) {
      // The hash tables' entries: Community ID input (address, 16 bytes with ports, else 12), its
      // text's hole in the flow id message, the flow id message's address (its length below).
      c.get(CIDS).get(K0).get(I).op(OP_I32_ADD).i32(3).op(OP_I32_SHL).op(OP_I32_ADD).tee(Q).get(C).store(0);
      c.get(Q).i32(16).i32(12);
      for (const [k, p] of [6, 17, 132, 1, 58].entries()) {
        c.get(PROTO).i32(p).op(OP_I32_EQ);
        if (k > 0) c.op(OP_I32_OR);
      }
      c.op(OP_SELECT).store(4);
      c.get(KEYS).get(K0).get(I).op(OP_I32_ADD).i32(2).op(OP_I32_SHL).op(OP_I32_ADD);
      word(1).get(PREFIX_LENGTH).op(OP_I32_ADD).store(0);
      c.get(FIDS);
      word(2).i32(3).op(OP_I32_SHL).op(OP_I32_ADD);
      word(1).store(0);
    }
    // Community ID ports: absent ones are 0.
    word(8).i32(0);
    word(8).i32(0).op(OP_I32_GE_S, OP_SELECT).set(SP);
    word(9).i32(0);
    word(9).i32(0).op(OP_I32_GE_S, OP_SELECT).set(DP);
    // ICMP: the type's reply type stands in for the code, or the exchange is one-way.
    c.i32(0).set(ONEWAY);
    c.get(PROTO).i32(1).op(OP_I32_EQ).get(PROTO).i32(58).op(OP_I32_EQ).op(OP_I32_OR);
    c.op(OP_IF, BLOCK_VOID);
    // pair = sp <= 255 ? table[sp] : 255
    c.get(PROTO).i32(1).op(OP_I32_EQ).op(OP_IF, I32).i32(IDS_ICMP4).op(OP_ELSE).i32(IDS_ICMP6).op(OP_END).get(SP).i32(255).op(OP_I32_AND).op(OP_I32_ADD).load8();
    c.i32(255).get(SP).i32(255).op(OP_I32_LE_U, OP_SELECT).tee(PAIR);
    c.i32(255).op(OP_I32_EQ).op(OP_IF, BLOCK_VOID).i32(1).set(ONEWAY).op(OP_ELSE).get(PAIR).set(DP).op(OP_END);
    c.op(OP_END);
    // swap = !oneway && !(src < dst || (src == dst && sp < dp))
    c.get(SRC).get(DST).op(OP_I32_LT_U).get(SRC).get(DST).op(OP_I32_EQ).get(SP).get(DP).op(OP_I32_LT_U).op(OP_I32_AND).op(OP_I32_OR).get(ONEWAY).op(OP_I32_OR).op(OP_I32_EQZ).set(SWAP);
    // The Community ID input: seed 0, the ordered addresses, protocol, 0, the ordered ports.
    word(0).set(P);
    byteAt(0, () => c.i32(0));
    byteAt(1, () => c.i32(0));
    const first = () => c.get(DST).get(SRC).get(SWAP).op(OP_SELECT);
    const second = () => c.get(SRC).get(DST).get(SWAP).op(OP_SELECT);
    for (let j = 0; j < 4; j++) {
      byteAt(2 + j, () => first().i32(24 - 8 * j).op(OP_I32_SHR_U));
      byteAt(6 + j, () => second().i32(24 - 8 * j).op(OP_I32_SHR_U));
    }
    byteAt(10, () => c.get(PROTO));
    byteAt(11, () => c.i32(0));
    const p = () => c.get(DP).get(SP).get(SWAP).op(OP_SELECT);
    const q = () => c.get(SP).get(DP).get(SWAP).op(OP_SELECT);
    byteAt(12, () => p().i32(8).op(OP_I32_SHR_U));
    byteAt(13, p);
    byteAt(14, () => q().i32(8).op(OP_I32_SHR_U));
    byteAt(15, q);
    // The flow id message: prefix, the 30-byte hole, |source|port\0start (pcap: \0start).
    word(1).tee(P);
    word(3);
    word(4).op(BULK, MEMORY_COPY, 0, 0);
    c.get(P);
    word(4).op(OP_I32_ADD).i32(30).op(OP_I32_ADD).set(P);
    if (!pcap) exporter();
    byteAt(0, () => c.i32(0));
    c.get(P).i32(1).op(OP_I32_ADD).set(P);
    word(10).op(OP_IF, BLOCK_VOID);
    word(10).set(V);
    digits(false);
    word(11).set(V);
    digits(true);
    c.op(OP_ELSE);
    word(11).set(V);
    digits(false);
    c.op(OP_END);
    // its length into the flow id table
    c.get(FIDS);
    word(2).i32(3).op(OP_I32_SHL).op(OP_I32_ADD).get(P);
    word(1).op(OP_I32_SUB).store(4);
  });
  c.op(OP_END);
  return [1, set ? 15 : 14, I32, ...c.bytes];
}

/**
 * `run(v4Table, nv4, fidTable, cidTable, gc, cidDigests, nc, cidText, keyTable, gf, fidDigests,
 * nf, fidText)`: a batch's whole identity work in one call from JavaScript: `flowsV4` when nv4 > 0,
 * `hash` and `communityIds` when nc > 0, `hash` and `flowIds` when nf > 0 (functions 3, 0, 1, 0, 2
 * of the module).
 */
function runBody(): number[] {
  const OP_CALL = 0x10;
  const c = new Code();
  const [V4_TABLE, NV4, FID_TABLE, CID_TABLE, GC, CID_DIGESTS, NC, CID_TEXT, KEY_TABLE, GF, FID_DIGESTS, NF, FID_TEXT] = Array.from({ length: 13 }, (_, i) => i);
  c.get(NV4).op(OP_IF, BLOCK_VOID).get(V4_TABLE).get(NV4).get(FID_TABLE).op(OP_CALL, 3).op(OP_END);
  c.get(NC).op(OP_IF, BLOCK_VOID);
  c.get(CID_TABLE).get(GC).get(CID_DIGESTS).op(OP_CALL, 0);
  c.get(CID_DIGESTS).get(NC).get(CID_TEXT).get(KEY_TABLE).op(OP_CALL, 1);
  c.op(OP_END);
  c.get(NF).op(OP_IF, BLOCK_VOID);
  c.get(FID_TABLE).get(GF).get(FID_DIGESTS).op(OP_CALL, 0);
  c.get(FID_DIGESTS).get(NF).get(FID_TEXT).op(OP_CALL, 2);
  c.op(OP_END);
  c.op(OP_END);
  return [0, ...c.bytes];
}

/** The identity module: `hash`, `communityIds` and `flowIds` over one memory; null without WebAssembly SIMD. */
export interface Sha1Ids {
  readonly hash: (table: number, count: number, out: number) => void;
  readonly communityIds: (digests: number, count: number, out: number, keys: number) => void;
  readonly flowIds: (digests: number, count: number, out: number) => void;
  readonly flowsV4: (table: number, count: number, fids: number) => void;
  /**
   * `flowsV4Set(numbers, count, first, stride, k0, j0, prefixAt, prefixLength, cids, keys, fids)`:
   * `flowsV4` for `count` IPv4 flows whose numbers lie at `numbers`, seven words each (source,
   * destination, protocol, ports, start halves: flowsV4's words 5..11), their message slots
   * `stride` bytes apart from `first` (the Community ID input, then 64 bytes on the flow id
   * message), Community IDs k0…, flow ids j0…; it also writes their entries of the hash tables
   * (`cids`, `keys`, `fids`: the layout `run` takes).
   */
  readonly flowsV4Set: (numbers: number, count: number, first: number, stride: number, k0: number, j0: number, prefixAt: number, prefixLength: number, cids: number, keys: number, fids: number) => void;
  /**
   * `flowsV4Pcap(table, count, fids)`: `flowsV4` for flows of a capture, whose flow id message is
   * `prefix <hole> \0 start` (no exporter address and port; words 3..4 are the `site \0 sensor \0`
   * prefix).
   */
  readonly flowsV4Pcap: (table: number, count: number, fids: number) => void;
  readonly run: (v4Table: number, nv4: number, fidTable: number, cidTable: number, gc: number, cidDigests: number, nc: number, cidText: number, keyTable: number, gf: number, fidDigests: number, nf: number, fidText: number) => void;
  readonly memory: WebAssembly.Memory;
}

let idsModule: WebAssembly.Module | null | undefined;

/**
 * A fresh instance of the identity module (compiled once per process), with its own memory and
 * tables: each user keeps its messages apart from every other's. Null without WebAssembly SIMD.
 */
export function compileSha1Ids(): Sha1Ids | null {
  if (idsModule === undefined) {
    const bytes = moduleBytes([
      { params: 3, results: 0, body: hashBody(), export: 'hash' },
      { params: 4, results: 0, body: communityIdsBody(), export: 'communityIds' },
      { params: 3, results: 0, body: flowIdsBody(), export: 'flowIds' },
      { params: 3, results: 0, body: flowsV4Body(), export: 'flowsV4' },
      { params: 13, results: 0, body: runBody(), export: 'run' },
      { params: 11, results: 0, body: flowsV4Body(true), export: 'flowsV4Set' },
      { params: 3, results: 0, body: flowsV4Body(false, true), export: 'flowsV4Pcap' },
    ]);
    idsModule = typeof WebAssembly === 'object' && WebAssembly.validate(bytes) ? new WebAssembly.Module(bytes) : null;
  }
  if (idsModule === null) return null;
  const exports = new WebAssembly.Instance(idsModule).exports as unknown as Sha1Ids;
  const alphabet = new Uint8Array(exports.memory.buffer, 0, IDS_FREE);
  alphabet.set(new TextEncoder().encode('ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'), IDS_BASE64);
  alphabet.set(new TextEncoder().encode('0123456789abcdef'), IDS_HEX);
  for (let v = 0; v < 256; v++) {
    const digits = String(v);
    for (let i = 0; i < digits.length; i++) alphabet[IDS_OCTETS + 4 * v + i] = digits.charCodeAt(i);
    alphabet[IDS_OCTETS + 4 * v + 3] = digits.length;
  }
  // (the ICMP pair tables are the caller's: pipeline/identity-batch.ts fills them)
  alphabet.fill(255, IDS_ICMP4, IDS_PAIRS);
  for (let v = 0; v < 100; v++) {
    alphabet[IDS_PAIRS + 2 * v] = 48 + Math.floor(v / 10);
    alphabet[IDS_PAIRS + 2 * v + 1] = 48 + (v % 10);
  }
  return exports;
}
