/**
 * SHA-1 of four messages at once: a WebAssembly module with 128-bit SIMD, assembled here byte by
 * byte (no toolchain, no binary file), whose lanes hold the same word of four independent
 * messages. A SHA-1 round is serial within a message, so one message cannot use wide vectors;
 * four messages of the same block count can, and cost about the time of one.
 *
 * Memory layout (little-endian lanes, the words already as numbers, i.e. byte-swapped by the
 * caller): input groups one after another, each `blocks` blocks of 16 words × 4 lanes (256 bytes
 * per block); output per group, 5 words × 4 lanes (H0..H4, 80 bytes).
 *
 *   run(input, groups, blocks, output)   (groups: a multiple of SETS)
 *
 * Two sets of four lanes run side by side, their rounds interleaved: one set's chain of
 * dependent operations runs while the other's waits (about 1.7× one set alone).
 */

import { I32, V128, moduleBytes, sleb, uleb } from './wasm-bytes.ts';

// Opcodes (WebAssembly core spec 2.0: control 5.4.1, variables 5.4.4, numeric 5.4.7, vector 5.4.8).
const BLOCK_VOID = 0x40;
const OP_LOOP = 0x03;
const OP_BR_IF = 0x0d;
const OP_END = 0x0b;
const OP_LOCAL_GET = 0x20;
const OP_LOCAL_SET = 0x21;
const OP_LOCAL_TEE = 0x22;
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

/** Sets of four lanes hashed side by side: their rounds interleave, so one set's dependency chain runs while the other's waits. */
export const SETS = 2;

/** The function body of `run` (groups must be a multiple of SETS). */
function body(): number[] {
  // Locals: params 0 input, 1 groups, 2 blocks, 3 output; i32 4 block counter, 5.. the input
  // pointer of each set; then per set v128 a..e, h0..h4, t. The message schedule stays in
  // memory: its ring of 16 words is the block itself, overwritten as it goes (few enough vector
  // locals to stay in registers).
  const INPUT = 0;
  const GROUPS = 1;
  const BLOCKS = 2;
  const OUTPUT = 3;
  const LEFT = 4;
  const P = 5; // P + s: input pointer of set s
  const V = P + SETS; // first v128 local
  const A = (set: number) => V + set * 11; // a..e at A .. A + 4
  const H = (set: number) => V + set * 11 + 5; // h0..h4
  const T = (set: number) => V + set * 11 + 10;
  const code: number[] = [];
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
    get(P + s);
    simd(V128_LOAD);
    code.push(4, ...uleb(j * 16)); // align 2^4, offset
  };
  const IV = [0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476, 0xc3d2e1f0];
  const K = [0x5a827999, 0x6ed9eba1, 0x8f1bbcdc, 0xca62c1d6];
  const sets = Array.from({ length: SETS }, (_, s) => s);

  code.push(OP_LOOP, BLOCK_VOID); // per SETS groups
  for (const s of sets) {
    IV.forEach((v, i) => {
      splat(v);
      set(H(s) + i);
    });
    // Set s reads group (input + s × blocks × 256).
    get(INPUT);
    get(BLOCKS);
    i32(256 * s);
    code.push(0x6c); // i32.mul
    code.push(OP_I32_ADD);
    set(P + s);
  }
  get(BLOCKS);
  set(LEFT);
  code.push(OP_LOOP, BLOCK_VOID); // per block
  for (const s of sets) {
    for (let i = 0; i < 5; i++) {
      get(H(s) + i);
      set(A(s) + i);
    }
  }
  const vars = sets.map((s) => [0, 1, 2, 3, 4].map((i) => A(s) + i)); // a b c d e of each set
  for (let i = 0; i < 80; i++) {
    for (const s of sets) {
      const t = T(s);
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
          get(P + s);
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
  for (const s of sets) {
    vars[s].forEach((v, i) => {
      get(H(s) + i);
      get(v);
      simd(I32X4_ADD);
      set(H(s) + i);
    });
    // Next block of this set.
    get(P + s);
    i32(256);
    code.push(OP_I32_ADD);
    set(P + s);
  }
  get(LEFT);
  i32(1);
  code.push(OP_I32_SUB, OP_LOCAL_TEE, ...uleb(LEFT));
  code.push(OP_BR_IF, 0, OP_END);
  // The groups' digests, 80 bytes each, in group order.
  for (const s of sets) {
    for (let i = 0; i < 5; i++) {
      get(OUTPUT);
      get(H(s) + i);
      simd(V128_STORE);
      code.push(4, ...uleb(s * 80 + i * 16));
    }
  }
  get(OUTPUT);
  i32(80 * SETS);
  code.push(OP_I32_ADD);
  set(OUTPUT);
  // The last set's pointer ends where the next groups begin.
  get(P + SETS - 1);
  set(INPUT);
  get(GROUPS);
  i32(SETS);
  code.push(OP_I32_SUB, OP_LOCAL_TEE, ...uleb(GROUPS));
  code.push(OP_BR_IF, 0, OP_END);
  code.push(OP_END);
  // Local declarations: 1 + SETS i32, 11 v128 per set.
  return [2, 1 + SETS, I32, 11 * SETS, V128, ...code];
}

/** The four-lane SHA-1: `run` over `memory`; null where WebAssembly SIMD is not available. */
export interface Sha1x4 {
  readonly run: (input: number, groups: number, blocks: number, output: number) => void;
  readonly memory: WebAssembly.Memory;
}

export function compileSha1x4(): Sha1x4 | null {
  const bytes = moduleBytes([{ params: 4, results: 0, body: body(), export: 'run' }]);
  if (typeof WebAssembly !== 'object' || !WebAssembly.validate(bytes)) return null;
  const instance = new WebAssembly.Instance(new WebAssembly.Module(bytes));
  const exports = instance.exports as { run: Sha1x4['run']; memory: WebAssembly.Memory };
  return { run: exports.run, memory: exports.memory };
}
