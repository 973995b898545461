/**
 * The forest walk for forests of small voting trees (every leaf one class, as ml-random-forest's
 * trees import): each tree compiled to its own WebAssembly function that takes 8 rows at once
 * down the tree as masks, with thresholds and feature offsets as constants of its code.
 *
 * A split compares the 8 rows' values of its feature with its threshold in four `f64x2.le`
 * (NaN compares false and goes right, as in the walk) and narrows the four results to one mask
 * of 8 lanes of 16 bits (all ones: the row goes left). The rows that reach a node are its
 * parent's mask and-ed with the comparison (left) or with its complement (right); the root's are
 * all 8. A leaf's mask is or-ed into its class's, and each class's mask is subtracted from that
 * class's 8 counters (all ones is -1: one vote per row that reached one of its leaves). A
 * subtree of many splits (SKIP_SPLITS) is skipped when no row of the 8 reaches it, so a group
 * takes about the splits its rows reach plus the small subtrees beside their paths. Rows are
 * stored column by column in the module's memory, so a split reads its 8 values in four 16-byte
 * loads from one cache line.
 *
 * Against the lockstep walk (walk-wasm.ts), whose 8 lanes wait for their deepest lane and take
 * four dependent loads per step, this costs fewer cycles on trees of tens of nodes (measured on
 * the ml.js forests of the forest benchmark: 1.3–1.5× on trees of 7–71 nodes, 1.1× on trees of
 * 117; benchmarks/README-forest.md). The sums are vote counts, exact in doubles, so they are the
 * very doubles the walk's additions of 1 give.
 */

import { warn } from '../../pipeline/warn.ts';
import { FunctionCode, I32, V128, moduleBytes, uleb, vec, type WasmFunction } from '../../pipeline/wasm-bytes.ts';
import type { FlatForestArrays } from './flat-forest.ts';

/** Rows per block (columns of this many values; 32 groups of 8). */
const BLOCK = 256;
const GROUP = 8;

/** The most trees a forest may have here: a counter is a 16-bit lane that counts up to 32,767 votes. */
const MAX_TREES = 32767;

/** Forests with more splits per tree than this on average are left to the walk (measured up to 58). */
const MAX_TREE_SPLITS = 64;

/** Nor forests of more splits than this in all: their code would be large. */
const MAX_SPLITS = 200_000;

/**
 * A subtree of at least this many splits is skipped when no row reaches it; a smaller one is
 * taken anyway, which costs less than a branch that mispredicts (measured on the 6-category ml.js
 * forest: 2 → 0.82, 4 → 0.72, 6–10 → 0.68–0.70, 16 → 0.73, 24 → 0.85 of the walk's time; 0.98
 * with a test before every split).
 */
const SKIP_SPLITS = 8;

/**
 * Up to this many classes, a class's mask is a local or-ed with its leaves' masks and subtracted
 * once per group; with more, each leaf subtracts its mask from its class's counters in memory (19
 * classes' masks do not fit in the 16 vector registers: −8 to −10 % time on the 19-class ml.js
 * forest; +1–5 % time on the forests of 2 and 6 classes).
 */
const CLASS_LOCALS = 8;

/** Opcodes (WebAssembly core spec 2.0, 5.4; SIMD instructions after the prefix 0xfd). */
const OP = { block: 0x02, loop: 0x03, if: 0x04, end: 0x0b, br: 0x0c, brIf: 0x0d, call: 0x10, i32leS: 0x4c, i32gtS: 0x4a, i32geS: 0x4e, i32and: 0x71, i32add: 0x6a, i32mul: 0x6c } as const;
const SIMD = { load: 0x00, store: 0x0b, const: 0x0c, i16x8gtS: 0x31, f64x2le: 0x4b, not: 0x4d, and: 0x4e, andnot: 0x4f, or: 0x50, bitselect: 0x52, anyTrue: 0x53, narrow16: 0x65, narrow32: 0x85, i16x8sub: 0x91, i16x8maxS: 0x98 } as const;
const VOID = 0x40;

/** Instruction writer of the module's functions: FunctionCode and the SIMD instructions used here. */
class Code extends FunctionCode {
  simd(op: number): this {
    return this.op(0xfd, ...uleb(op));
  }
  /** v128.load / v128.store at a constant offset (16-byte alignment). */
  vload(offset: number): this {
    return this.simd(SIMD.load).op(4, ...uleb(offset));
  }
  vstore(offset: number): this {
    return this.simd(SIMD.store).op(4, ...uleb(offset));
  }
  /** A v128 of 16 equal bytes. */
  splat8(byte: number): this {
    this.simd(SIMD.const);
    for (let i = 0; i < 16; i++) this.op(byte);
    return this;
  }
  /** A v128 of 8 equal 16-bit lanes. */
  splat16(v: number): this {
    this.simd(SIMD.const);
    for (let i = 0; i < 8; i++) this.op(v & 0xff, (v >> 8) & 0xff);
    return this;
  }
}

/** Where the module keeps a block: its columns, the thresholds, the counters, each row's class, a scratch slot (byte addresses). */
interface Areas {
  readonly columns: number;
  readonly thresholds: number;
  readonly counters: number;
  readonly classes: number;
  readonly scratch: number;
  readonly end: number;
}

function areasOf(features: number, classes: number, splits: number): Areas {
  const columns = 0;
  const thresholds = columns + features * BLOCK * 8;
  const counters = thresholds + splits * 16;
  const classAt = counters + (BLOCK / GROUP) * classes * 16;
  const scratch = classAt + BLOCK * 2;
  return { columns, thresholds, counters, classes: classAt, scratch, end: scratch + 16 };
}

/** Splits in the subtree of node i. */
function splitsUnder(forest: FlatForestArrays, i: number): number {
  return forest.feature[i] < 0 ? 0 : 1 + splitsUnder(forest, i + 1) + splitsUnder(forest, forest.right[i]);
}

/**
 * The code of tree t: tree(groups) runs the tree over groups [0, groups) of the block, adding
 * each row's vote to its class's counter. Each split's threshold (twice, as a v128) goes to the
 * next place of the table, node by node in `thresholdOf`.
 */
function treeBody(forest: FlatForestArrays, t: number, areas: Areas, thresholdOf: number[]): number[] {
  const K = forest.classes;
  const GROUPS = 0; // the parameter
  const G = 1, CB = 2, GI = 3; // i32 locals: the group's column offset, its counters' address, the group
  // v128 locals: the threshold, the comparison, each depth's two child masks, the classes' masks
  // (few locals: the compilers' time grows with them).
  const TV = 4, C = 5;
  let v128s = 2;
  const fresh = () => 4 + v128s++;
  const depthMasks: [number, number][] = [];
  const classMask: (number | undefined)[] = new Array(K).fill(undefined);
  const stack = [forest.roots[t]];
  while (K <= CLASS_LOCALS && stack.length > 0) {
    const i = stack.pop()!;
    if (forest.feature[i] >= 0) stack.push(forest.right[i], i + 1);
    else classMask[forest.right[i]] ??= fresh();
  }
  const body = new Code();
  const ALL = -1;
  const leaf = (i: number, mask: number): void => {
    if (K > CLASS_LOCALS) {
      const at = areas.counters + 16 * forest.right[i];
      body.get(CB).get(CB).vload(at);
      if (mask === ALL) body.splat8(0xff);
      else body.get(mask);
      body.simd(SIMD.i16x8sub).vstore(at);
      return;
    }
    const m = classMask[forest.right[i]]!;
    if (mask === ALL) body.splat8(0xff).set(m);
    else body.get(m).get(mask).simd(SIMD.or).set(m);
  };
  const emit = (i: number, mask: number, depth: number): void => {
    if (forest.feature[i] < 0) {
      leaf(i, mask);
      return;
    }
    body.i32(0).vload(areas.thresholds + 16 * thresholdOf.length).set(TV);
    thresholdOf.push(i);
    const column = areas.columns + forest.feature[i] * BLOCK * 8;
    const compare = (j: number) => body.get(G).vload(column + 16 * j).get(TV).simd(SIMD.f64x2le);
    compare(0);
    compare(1);
    body.simd(SIMD.narrow32);
    compare(2);
    compare(3);
    body.simd(SIMD.narrow32).simd(SIMD.narrow16).set(C);
    // The comparison stored: V8 would otherwise load the values of every split first (loads keep
    // their order, the arithmetic sinks to where it is used) and hold them all on the stack.
    body.i32(0).get(C).vstore(areas.scratch);
    const [L, R] = (depthMasks[depth] ??= [fresh(), fresh()]);
    if (mask === ALL) body.get(C).set(L).get(C).simd(SIMD.not).set(R);
    else body.get(mask).get(C).simd(SIMD.and).set(L).get(mask).get(C).simd(SIMD.andnot).set(R);
    for (const [child, m] of [[i + 1, L], [forest.right[i], R]]) {
      if (splitsUnder(forest, child) < SKIP_SPLITS) emit(child, m, depth + 1);
      else {
        body.get(m).simd(SIMD.anyTrue).op(OP.if, VOID);
        emit(child, m, depth + 1);
        body.op(OP.end);
      }
    }
  };
  emit(forest.roots[t], ALL, 0);
  const code = new Code();
  code.op(...vec([[3, I32], [...uleb(v128s), V128]]));
  code.i32(0).set(GI).op(OP.block, VOID, OP.loop, VOID);
  code.get(GI).get(GROUPS).op(OP.i32geS, OP.brIf, 1);
  code.get(GI).i32(GROUP * 8).op(OP.i32mul).set(G);
  code.get(GI).i32(K * 16).op(OP.i32mul).set(CB);
  for (const m of classMask) if (m !== undefined) code.splat8(0).set(m);
  for (const b of body.bytes) code.bytes.push(b);
  for (let k = 0; k < K; k++) {
    const m = classMask[k];
    if (m !== undefined) code.get(CB).get(CB).vload(areas.counters + 16 * k).get(m).simd(SIMD.i16x8sub).vstore(areas.counters + 16 * k);
  }
  code.get(GI).i32(1).op(OP.i32add).set(GI).op(OP.br, 0, OP.end, OP.end, OP.end);
  return code.bytes;
}

/** run(t0, t1, groups): trees [t0, t1) over groups [0, groups), tree by tree. */
function runBody(trees: number): number[] {
  const T0 = 0, T1 = 1, GROUPS = 2;
  const code = new Code().op(...vec([]));
  for (let t = 0; t < trees; t++) code.get(T0).i32(t).op(OP.i32leS).get(T1).i32(t).op(OP.i32gtS, OP.i32and, OP.if, VOID).get(GROUPS).op(OP.call, ...uleb(t + 1), OP.end);
  return code.op(OP.end).bytes;
}

/**
 * classes(groups): each row's class of most votes, the first on ties, as 16-bit lanes at the
 * classes area (8 rows of a group side by side): the counters compared class by class, 8 rows at once.
 */
function classesBody(K: number, areas: Areas): number[] {
  const GROUPS = 0;
  const GI = 1, CB = 2; // i32 locals
  const BEST = 3, ARG = 4, V = 5; // v128 locals
  const code = new Code().op(...vec([[2, I32], [3, V128]]));
  code.i32(0).set(GI).op(OP.block, VOID, OP.loop, VOID);
  code.get(GI).get(GROUPS).op(OP.i32geS, OP.brIf, 1);
  code.get(GI).i32(K * 16).op(OP.i32mul).set(CB);
  code.get(CB).vload(areas.counters).set(BEST).splat16(0).set(ARG);
  for (let k = 1; k < K; k++) {
    code.get(CB).vload(areas.counters + 16 * k).set(V);
    code.splat16(k).get(ARG).get(V).get(BEST).simd(SIMD.i16x8gtS).simd(SIMD.bitselect).set(ARG);
    code.get(BEST).get(V).simd(SIMD.i16x8maxS).set(BEST);
  }
  code.get(GI).i32(16).op(OP.i32mul).get(ARG).vstore(areas.classes);
  code.get(GI).i32(1).op(OP.i32add).set(GI).op(OP.br, 0, OP.end, OP.end, OP.end);
  return code.bytes;
}

/**
 * Rows after which compiling a forest is worth it: 2,000 per split of a tree on average (100
 * trees of 35 splits compile in 40–100 ms, what the lockstep walk takes for 60,000–150,000 rows).
 */
export function maskWalkAfter(forest: FlatForestArrays): number {
  let splits = 0;
  for (let i = 0; i < forest.feature.length; i++) if (forest.feature[i] >= 0) splits++;
  return Math.ceil((2000 * splits) / Math.max(1, forest.roots.length));
}

/** Whether a forest goes through the mask walk: every leaf votes, and its trees are small and few enough. */
export function maskWalkFits(forest: FlatForestArrays): boolean {
  const T = forest.roots.length;
  if (T < 1 || T > MAX_TREES) return false;
  let splits = 0;
  for (let i = 0; i < forest.feature.length; i++) {
    if (forest.feature[i] === -2) return false;
    if (forest.feature[i] >= 0) splits++;
  }
  return splits <= MAX_TREE_SPLITS * T && splits <= MAX_SPLITS;
}

/** A forest of voting leaves compiled to its own module. */
export class MaskWalk {
  private readonly run: (t0: number, t1: number, groups: number) => void;
  private readonly classesOf: (groups: number) => void;
  private readonly memory: WebAssembly.Memory;
  private readonly areas: Areas;
  private readonly features: number;
  private readonly classes: number;
  private readonly trees: number;

  /** The compiled forest, or null when it does not fit (maskWalkFits) or WebAssembly SIMD is unavailable. */
  static create(forest: FlatForestArrays): MaskWalk | null {
    if (!maskWalkFits(forest)) return null;
    try {
      return new MaskWalk(forest);
    } catch (error) {
      if (!(error instanceof WebAssembly.CompileError) && !(error instanceof RangeError)) throw error;
      warn(`forest prediction: the WebAssembly mask walk is unavailable (${error.message}); predicting with the lockstep walk`);
      return null;
    }
  }

  private constructor(forest: FlatForestArrays) {
    const T = forest.roots.length;
    // Splits as the trees reach them (trees that share nodes each get their own copy).
    let splits = 0;
    for (let t = 0; t < T && splits <= MAX_SPLITS; t++) splits += splitsUnder(forest, forest.roots[t]);
    if (splits > MAX_SPLITS) throw new RangeError(`its trees reach ${splits} splits`);
    this.areas = areasOf(forest.features, forest.classes, splits);
    const thresholdOf: number[] = [];
    const functions: WasmFunction[] = [{ params: 3, results: 0, body: runBody(T), export: 'run' }];
    for (let t = 0; t < T; t++) functions.push({ params: 1, results: 0, body: treeBody(forest, t, this.areas, thresholdOf) });
    functions.push({ params: 1, results: 0, body: classesBody(forest.classes, this.areas), export: 'classes' });
    const instance = new WebAssembly.Instance(new WebAssembly.Module(moduleBytes(functions)), {});
    this.run = instance.exports.run as MaskWalk['run'];
    this.classesOf = instance.exports.classes as MaskWalk['classesOf'];
    this.memory = instance.exports.memory as WebAssembly.Memory;
    const need = Math.ceil(this.areas.end / 65536) - this.memory.buffer.byteLength / 65536;
    if (need > 0) this.memory.grow(need);
    const f64 = new Float64Array(this.memory.buffer);
    for (let s = 0; s < thresholdOf.length; s++) {
      const at = (this.areas.thresholds >> 3) + 2 * s;
      f64[at] = f64[at + 1] = forest.threshold[thresholdOf[s]];
    }
    this.features = forest.features;
    this.classes = forest.classes;
    this.trees = T;
  }

  /**
   * The votes of trees [from, to) per row and class written over out (rows × classes): the sums
   * of their leaf values from zero, the doubles the walk gives.
   */
  sums(x: Float64Array, rows: number, out: Float64Array, from: number, to: number): void {
    const K = this.classes;
    const counts = new Int16Array(this.memory.buffer);
    const cw = this.areas.counters >> 1;
    for (let r0 = 0; r0 < rows; r0 += BLOCK) {
      const n = Math.min(BLOCK, rows - r0);
      this.block(x, r0, n, from, to);
      for (let r = 0; r < n; r++) {
        const c = cw + (r >> 3) * K * 8 + (r & 7);
        const o = (r0 + r) * K;
        for (let k = 0; k < K; k++) out[o + k] = counts[c + k * 8];
      }
    }
  }

  /**
   * The class of most votes per row, the first on ties, into dst: what argmax over predictProba
   * gives (votes × (1 / trees) keep the votes' order: distinct counts up to 32,767 stay distinct).
   */
  predict(x: Float64Array, rows: number, dst: Int32Array): void {
    const classes = new Int16Array(this.memory.buffer);
    const cw = this.areas.classes >> 1;
    for (let r0 = 0; r0 < rows; r0 += BLOCK) {
      const n = Math.min(BLOCK, rows - r0);
      this.block(x, r0, n, 0, this.trees);
      this.classesOf(Math.ceil(n / GROUP));
      for (let r = 0; r < n; r++) dst[r0 + r] = classes[cw + r];
    }
  }

  /**
   * One block of n rows from row r0: its values copied in column by column, the counters cleared
   * and trees [from, to) run (a last group of fewer than 8 rows runs whole; its other lanes are
   * not read).
   */
  private block(x: Float64Array, r0: number, n: number, from: number, to: number): void {
    const d = this.features;
    const f64 = new Float64Array(this.memory.buffer);
    const cols = this.areas.columns >> 3;
    for (let r = 0; r < n; r++) {
      const src = (r0 + r) * d;
      for (let f = 0, at = cols + r; f < d; f++, at += BLOCK) f64[at] = x[src + f];
    }
    new Int32Array(this.memory.buffer, this.areas.counters, ((BLOCK / GROUP) * this.classes * 16) >> 2).fill(0);
    this.run(from, to, Math.ceil(n / GROUP));
  }
}
