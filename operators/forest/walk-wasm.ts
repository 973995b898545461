/**
 * The forest walk as a small WebAssembly module, assembled here byte by byte (no toolchain, no
 * binary file), for one forest shape (features and classes are constants in its code). Two node
 * layouts in the module's memory, chosen by tree size:
 *
 * Pre-order (large trees), 16 bytes per node at byte address p, node i at 16 × i:
 *   split:  p + 0 f64 threshold | p + 8 i32 feature × 8 (the value's byte offset in its row)
 *           | p + 12 i32 byte address of the right child (the left child is p + 16)
 *   leaf:   p + 0 i32 its value, p + 4 i32 0x7ff80000 (so p + 0 read as f64 is a NaN)
 *           | p + 8 i32 0 | p + 12 i32 p itself
 *
 * Leaves apart (small trees), 32 bytes per node, each tree's split nodes (pre-order) and then its
 * leaves, so a node is a leaf exactly when its address is at or past its tree's first leaf:
 *   split:  p + 0 f64 threshold | p + 8 i32 left child | p + 12 i32 right child
 *           | p + 16 i32 feature × 8 | p + 20 i32 the node's index in the forest
 *   leaf:   p + 0 i32 its value, p + 4 i32 0x7ff80000 | p + 8, p + 12 i32 p itself
 *           | p + 16 i32 0 | p + 20 i32 its index
 *
 * A leaf's value is its class × 8 (≥ 0, a pure leaf: one vote) or -1 - the byte address of its
 * class distribution. As `x <= NaN` is false, a step from a leaf goes "right" to the leaf itself,
 * so a leaf is a fixed point of the step. In both layouts the two 32-bit fields at p + 8 are read
 * as one 64-bit load (feature and right child, or both children): one load fewer per step.
 *
 * Why WebAssembly: the same walk in JavaScript pays a bounds check per typed-array read and
 * compiles `x <= t ? a : b` to a branch that mispredicts on about every other step; here a step
 * is loads and one `select`, and 8 rows step side by side so their load chains overlap.
 * Timed back to back on CICIoMT forests: 2.1–2.6× the fastest JavaScript walk (benchmarks/README-forest.md).
 */

import { warn } from '../../pipeline/warn.ts';
import { F64, I32, moduleBytes, sleb, uleb, vec } from '../../pipeline/wasm-bytes.ts';
import type { FlatForestArrays } from './flat-forest.ts';

/** Independent rows walked at once. */
export const LANES = 8;

// Opcodes used below (WebAssembly core spec 1.0, section 5.4).
const OP = {
  block: 0x02, loop: 0x03, drop: 0x1a, if: 0x04, else: 0x05, end: 0x0b, br: 0x0c, brIf: 0x0d, call: 0x10, select: 0x1b,
  get: 0x20, set: 0x21, tee: 0x22,
  i32load: 0x28, f64load: 0x2b, i32store: 0x36, f64store: 0x39, i32const: 0x41, f64const: 0x44,
  i32eqz: 0x45, i32eq: 0x46, i32ltS: 0x48, i32geS: 0x4e, i32and: 0x71, i32or: 0x72, i32xor: 0x73,
  f64le: 0x65, i32add: 0x6a, i32sub: 0x6b, i32mul: 0x6c, i32shrU: 0x76, f64add: 0xa0,
  i64load: 0x29, i64const: 0x42, i64shrU: 0x88, i32wrapI64: 0xa7,
} as const;
const I64 = 0x7e;
const VOID = 0x40;

/** A node layout (see the top of this file): its size and its fields' byte offsets. */
interface Layout {
  readonly apart: boolean;
  readonly node: number;
  readonly feature: number;
  readonly index: number;
}
const PRE_ORDER: Layout = { apart: false, node: 16, feature: 8, index: -1 };
const APART: Layout = { apart: true, node: 32, feature: 16, index: 20 };
/** The right child's offset in both layouts (the left child's, apart: 8). */
const RIGHT = 12;
const LEFT = 8;

/** Instruction helpers: each returns the bytes of one instruction. */
const get = (l: number) => [OP.get, ...uleb(l)];
const set = (l: number) => [OP.set, ...uleb(l)];
const tee = (l: number) => [OP.tee, ...uleb(l)];
const i32 = (v: number) => [OP.i32const, ...sleb(v)];
const loadI32 = (offset: number) => [OP.i32load, 2, ...uleb(offset)];
const loadF64 = (offset: number) => [OP.f64load, 3, ...uleb(offset)];
const loadI64 = (offset: number) => [OP.i64load, 3, ...uleb(offset)];
const storeF64 = (offset: number) => [OP.f64store, 3, ...uleb(offset)];

/**
 * leaf(p, o, k8): add leaf p's value into the sum row at byte address o (k8 = classes × 8). A
 * distribution is added class by class, unrolled when the module's classes are known and few
 * (up to INLINE_CLASSES): the same additions in the same order.
 */
function leafBody(k8?: number): number[] {
  const P = 0, O = 1, K8 = 2, V = 3, K = 4;
  const spread: number[] = [];
  if (k8 !== undefined && k8 <= INLINE_CLASSES * 8) {
    for (let k = 0; k < k8; k += 8) spread.push(...get(O), ...get(O), ...loadF64(k), ...get(V), ...loadF64(k), OP.f64add, ...storeF64(k));
  } else {
    spread.push(
      ...i32(0), ...set(K),
      OP.block, VOID, OP.loop, VOID,
      ...get(K), ...get(K8), OP.i32geS, OP.brIf, 1,
      ...get(O), ...get(K), OP.i32add,
      ...get(O), ...get(K), OP.i32add, ...loadF64(0),
      ...get(V), ...get(K), OP.i32add, ...loadF64(0),
      OP.f64add, ...storeF64(0),
      ...get(K), ...i32(8), OP.i32add, ...set(K),
      OP.br, 0,
      OP.end, OP.end,
    );
  }
  return [
    ...vec([[2, I32]]),
    ...get(P), ...loadI32(0), ...tee(V), ...i32(0), OP.i32geS,
    OP.if, VOID,
    // A pure leaf: one vote for its class.
    ...get(O), ...get(V), OP.i32add,
    ...get(O), ...get(V), OP.i32add, ...loadF64(0), OP.f64const, ...f64Bytes(1), OP.f64add,
    ...storeF64(0),
    OP.else,
    // A mixed leaf: add its distribution (value -1 - its address), class by class.
    ...i32(-1), ...get(V), OP.i32sub, ...set(V),
    ...spread,
    OP.end,
    OP.end,
  ];
}

function f64Bytes(v: number): number[] {
  return [...new Uint8Array(new Float64Array([v]).buffer)];
}

/**
 * The next node from node p for the row at byte address xb: select(left, right, x[feature] <= threshold),
 * with the 64-bit field at p + 8 in local V.
 */
function next(lay: Layout, p: number[], xb: number[], V: number, offset = 0): number[] {
  const pair = [...p, OP.i64load, 3, ...uleb(LEFT), ...tee(V)];
  const high = [...get(V), OP.i64const, 32, OP.i64shrU, OP.i32wrapI64];
  if (lay.apart) {
    return [
      ...pair, OP.i32wrapI64, ...high,
      ...xb, ...p, ...loadI32(lay.feature), OP.i32add, ...loadF64(offset),
      ...p, ...loadF64(0), OP.f64le, OP.select,
    ];
  }
  return [
    ...p, ...i32(16), OP.i32add, ...pair, OP.i64const, 32, OP.i64shrU, OP.i32wrapI64,
    ...xb, ...get(V), OP.i32wrapI64, OP.i32add, ...loadF64(offset),
    ...p, ...loadF64(0), OP.f64le, OP.select,
  ];
}

/** finish(p, xb) -> leaf: walk one row from node p to its leaf (a leaf's right child is itself). */
function finishBody(lay: Layout): number[] {
  const P = 0, XB = 1, V = 2;
  return [
    ...vec([[1, I64]]),
    OP.block, VOID, OP.loop, VOID,
    ...get(P), ...loadI32(RIGHT), ...get(P), OP.i32eq, OP.brIf, 1,
    ...next(lay, get(P), get(XB), V), ...set(P),
    OP.br, 0,
    OP.end, OP.end,
    ...get(P),
    OP.end,
  ];
}

const FN_LEAF = 0;
/** Classes up to which leaf() adds a distribution unrolled. */
const INLINE_CLASSES = 32;
const FN_FINISH = 1;

/**
 * walk(roots, t0, t1, x, d8, r0, r1, out, k8, ord): trees [t0, t1) over positions [r0, r1);
 * addresses in bytes; position q is row ord[q] (i32s at byte address ord) of x and of out, so an
 * order of rows costs one load per row and tree, not a copy. Rows go in groups of `lanes` that
 * step in lockstep until every lane stands on its leaf (a leaf steps to itself, so lanes that
 * arrive early just wait there); then each lane's leaf is added. One loop exit per group instead
 * of one mispredicted branch per row and tree; the price is the steps of lanes already waiting,
 * which costs less on these forests (measured). With leaves apart the group stops as soon as the
 * last lane reaches its leaf; in pre-order, one round later, when no lane moved.
 *
 * leaves(roots, t0, t1, x, d8, r0, r1, dst, n, ord): the same walk in the rows' own order, storing
 * each row's leaf node index as an i32 at dst + ((t - t0) × n + row) × 4 instead of adding its value.
 *
 * The row stride d8 and the sum stride k8 are constants in the code (the parameters of the same
 * name are not read). In the rows' own order the lanes' rows and sums lie at fixed distances from
 * the group's first row, so each lane's value and vote is a load or store with a constant offset
 * from one address per group: a lane holds only its node in a register.
 */
function walkBody(lay: Layout, lanes: number, mode: 'sum' | 'leaves' | 'both', ordered: boolean, d8: number, k8: number, pure: boolean): number[] {
  if (mode !== 'sum' && ordered) throw new RangeError('walk: leaves only in the rows\' own order');
  const ROOTS = 0, T0 = 1, T1 = 2, X = 3, R0 = 5, R1 = 6, OUT = 7, K8 = 8, ORD = 9;
  const T = 10, ROOT = 11, Q = 12, R = 13, MORE = 14, XB0 = 15, O0 = 16, LB = 17, LEAF_BIT = 18, N = 19;
  const FIRST_LANE = 20;
  // Ordered: a lane's node and its row's address; in order: its node alone.
  const perLane = ordered ? 2 : 1;
  const lane = (l: number) => ({ p: FIRST_LANE + perLane * l, xb: FIRST_LANE + perLane * l + 1 });
  const V = FIRST_LANE + perLane * lanes;
  const rowAt = (q: number[]) => (ordered ? [...get(ORD), ...q, ...i32(4), OP.i32mul, OP.i32add, ...loadI32(0)] : q);
  const rowAddr = (q: number[], base: number, stride: number) => [...rowAt(q), ...i32(stride), OP.i32mul, ...get(base), OP.i32add];
  const indexOf = (node: number[]) => (lay.apart ? [...node, ...loadI32(lay.index)] : [...node, ...i32(4), OP.i32shrU]);
  // The tree's root: its children, feature offset and threshold, read once per tree.
  const RL = V + 1, RR = V + 2, RF = V + 3, RT = V + 4;
  const code: number[] = [...vec([[V - 10, I32], [1, I64], [3, I32], [1, F64]])];
  code.push(...get(T0), ...set(T));
  code.push(OP.block, VOID, OP.loop, VOID); // trees
  code.push(...get(T), ...get(T1), OP.i32geS, OP.brIf, 1);
  // The tree's root and (leaves apart) the address bit that marks a leaf: two i32s per tree at roots.
  code.push(...get(ROOTS), ...get(T), ...i32(8), OP.i32mul, OP.i32add, ...tee(ROOT), ...loadI32(4), ...set(LEAF_BIT));
  code.push(...get(ROOT), ...loadI32(0), ...tee(ROOT), ...loadI64(LEFT), ...set(V));
  if (lay.apart) code.push(...get(V), OP.i32wrapI64, ...set(RL), ...get(ROOT), ...loadI32(lay.feature), ...set(RF));
  else code.push(...get(ROOT), ...i32(16), OP.i32add, ...set(RL), ...get(V), OP.i32wrapI64, ...set(RF));
  code.push(...get(V), OP.i64const, 32, OP.i64shrU, OP.i32wrapI64, ...set(RR), ...get(ROOT), ...loadF64(0), ...set(RT));
  // 'leaves': at OUT, K8 rows per tree; 'both': at ORD (unused without an order), R1 rows per tree.
  const [LEAF_AT, LEAF_ROWS] = mode === 'both' ? [ORD, R1] : [OUT, K8];
  if (mode !== 'sum') code.push(...get(T), ...get(T0), OP.i32sub, ...get(LEAF_ROWS), OP.i32mul, ...i32(4), OP.i32mul, ...get(LEAF_AT), OP.i32add, ...set(LB));
  code.push(...get(R0), ...set(Q));
  code.push(OP.block, VOID, OP.loop, VOID); // groups
  code.push(...get(R1), ...get(Q), OP.i32sub, ...i32(lanes), OP.i32ltS, OP.brIf, 1);
  if (!ordered) code.push(...rowAddr(get(Q), X, d8), ...set(XB0));
  // Every lane's first step, from the root held in locals; apart, the group is done at once when
  // every lane reached a leaf (trees of one split).
  code.push(OP.block, VOID);
  for (let l = 0; l < lanes; l++) {
    const { p, xb } = lane(l);
    if (ordered) code.push(...rowAddr([...get(Q), ...i32(l), OP.i32add], X, d8), ...set(xb));
    code.push(...get(RL), ...get(RR), ...get(ordered ? xb : XB0), ...get(RF), OP.i32add, ...loadF64(ordered ? 0 : l * d8), ...get(RT), OP.f64le, OP.select, ...tee(p));
    if (lay.apart) code.push(...(l === 0 ? [] : [...get(MORE), OP.i32and]), ...set(MORE));
    else code.push(OP.drop);
  }
  if (lay.apart) code.push(...get(MORE), ...get(LEAF_BIT), OP.i32and, OP.brIf, 0);
  code.push(OP.loop, VOID); // lockstep
  if (!lay.apart) code.push(...i32(0), ...set(MORE));
  for (let l = 0; l < lanes; l++) {
    const { p, xb } = lane(l);
    const step = ordered ? next(lay, get(p), get(xb), V) : next(lay, get(p), get(XB0), V, l * d8);
    // Apart: all = the lanes' nodes and-ed (the leaf bit stays only if every lane is on a leaf).
    // Pre-order: more |= next ^ p (no lane moved: all on their leaves).
    if (lay.apart) code.push(...step, ...tee(p), ...(l === 0 ? [] : [...get(MORE), OP.i32and]), ...set(MORE));
    else code.push(...step, ...tee(N), ...get(p), OP.i32xor, ...get(MORE), OP.i32or, ...set(MORE), ...get(N), ...set(p));
  }
  if (lay.apart) code.push(...get(MORE), ...get(LEAF_BIT), OP.i32and, OP.i32eqz);
  else code.push(...get(MORE));
  code.push(OP.brIf, 0, OP.end, OP.end); // lockstep, first steps
  const storeLeaf = (node: number[], q: number[], offset: number) => [
    ...get(LB), ...q, ...i32(4), OP.i32mul, OP.i32add,
    ...indexOf(node),
    OP.i32store, 2, ...uleb(offset),
  ];
  if (mode !== 'sum') for (let l = 0; l < lanes; l++) code.push(...storeLeaf(get(lane(l).p), get(Q), 4 * l));
  // Each lane's leaf: a pure leaf's vote inline, a distribution through leaf().
  if (mode !== 'leaves') {
    if (!ordered) code.push(...rowAddr(get(Q), OUT, k8), ...set(O0));
    for (let l = 0; l < lanes; l++) {
      const { p } = lane(l);
      const at = ordered ? 0 : l * k8;
      if (ordered) code.push(...rowAddr([...get(Q), ...i32(l), OP.i32add], OUT, k8), ...set(O0));
      const vote = [...get(O0), ...get(R), OP.i32add, ...get(O0), ...get(R), OP.i32add, ...loadF64(at), OP.f64const, ...f64Bytes(1), OP.f64add, ...storeF64(at)];
      // A forest of pure leaves only votes, with no branch.
      if (pure) code.push(...get(p), ...loadI32(0), ...set(R), ...vote);
      else code.push(...get(p), ...loadI32(0), ...tee(R), ...i32(0), OP.i32geS, OP.if, VOID, ...vote, OP.else, ...get(p), ...get(O0), ...i32(at), OP.i32add, ...i32(k8), OP.call, FN_LEAF, OP.end);
    }
  }
  code.push(...get(Q), ...i32(lanes), OP.i32add, ...set(Q));
  code.push(OP.br, 0, OP.end, OP.end); // groups
  // The last rows (fewer than a group), one by one.
  code.push(OP.block, VOID, OP.loop, VOID);
  code.push(...get(Q), ...get(R1), OP.i32geS, OP.brIf, 1);
  code.push(...get(ROOT), ...rowAddr(get(Q), X, d8), OP.call, FN_FINISH, ...set(R));
  if (mode !== 'sum') code.push(...storeLeaf(get(R), get(Q), 0));
  if (mode !== 'leaves') code.push(...get(R), ...rowAddr(get(Q), OUT, k8), ...i32(k8), OP.call, FN_LEAF);
  code.push(...get(Q), ...i32(1), OP.i32add, ...set(Q));
  code.push(OP.br, 0, OP.end, OP.end);
  code.push(...get(T), ...i32(1), OP.i32add, ...set(T));
  code.push(OP.br, 0, OP.end, OP.end); // trees
  code.push(OP.end);
  return code;
}

/**
 * The module's bytes for rows of `features` values and sums of `classes` values, in a layout:
 * functions leaf, finish, walk, leaves, walkPlain and walkLeaves (the last four exported), and an
 * exported memory. walkLeaves(roots, t0, t1, x, d8, 0, n, out, k8, dst) is walkPlain that also
 * stores each row's leaf node index at dst + ((t - t0) × n + row) × 4.
 */
export function walkModuleBytes(features: number, classes: number, apart: boolean, pure: boolean, lanes = LANES): Uint8Array<ArrayBuffer> {
  const d8 = features * 8;
  const k8 = classes * 8;
  const lay = apart ? APART : PRE_ORDER;
  return moduleBytes([
    { params: 3, results: 0, body: leafBody(k8) },
    { params: 2, results: 1, body: finishBody(lay) },
    { params: 10, results: 0, body: walkBody(lay, lanes, 'sum', true, d8, k8, pure), export: 'walk' },
    { params: 10, results: 0, body: walkBody(lay, lanes, 'leaves', false, d8, k8, pure), export: 'leaves' },
    { params: 10, results: 0, body: walkBody(lay, lanes, 'sum', false, d8, k8, pure), export: 'walkPlain' },
    { params: 10, results: 0, body: walkBody(lay, lanes, 'both', false, d8, k8, pure), export: 'walkLeaves' },
  ]);
}

/**
 * The order of the nodes in the module's memory, leaves apart: every tree's split nodes in
 * pre-order, tree after tree, then every tree's leaves in pre-order; `leafAt` is the position of
 * the first leaf.
 */
function treeOrder(forest: FlatForestArrays): { order: Int32Array; leafAt: number } {
  const T = forest.roots.length;
  const splits: number[] = [];
  const leaves: number[] = [];
  const stack: number[] = [];
  for (let t = 0; t < T; t++) {
    stack.push(forest.roots[t]);
    while (stack.length > 0) {
      const i = stack.pop()!;
      if (splits.length + leaves.length >= forest.feature.length) throw new RangeError('forest trees share nodes');
      if (forest.feature[i] < 0) leaves.push(i);
      else {
        splits.push(i);
        stack.push(forest.right[i], i + 1);
      }
    }
  }
  return { order: Int32Array.from([...splits, ...leaves]), leafAt: splits.length };
}

/** Modules compiled so far, by forest shape and layout (features:classes:apart). */
const compiled = new Map<string, WebAssembly.Module>();

/**
 * Rows per call: the x and sum areas hold this many (measured: 128–2,048 do alike on large trees;
 * on trees of ~100 nodes 64 was 3–6 % faster, within the noise of the loaded machine).
 */
const BLOCK = 512;

/**
 * Ordering a block's rows pays off over this many trees and rows, on trees of this many nodes on
 * average (measured: +4–15 % on forests of 1,000–9,000 nodes per tree, −10 % on trees of 30–160).
 */
const SORT_MIN_TREES = 16;
const SORT_MIN_ROWS = 64;
const SORT_MIN_TREE_NODES = 256;

/** Trees of fewer nodes than this on average are laid out with their leaves apart. */
const SMALL_TREE_NODES = 256;
const KEY_MAX = 2 ** 21 - 1;

/** Trees per `leaves` call (its output area holds this many trees × BLOCK rows). */
const LEAF_TREES = 16;

/** The largest memory a forest may take here (WebAssembly's 32-bit addresses, with room to spare). */
const MAX_BYTES = 2 ** 31;

/**
 * A forest laid out in its own module instance. `accumulate` has the contract of
 * FlatForest.accumulate: it adds the trees' leaf values into `out` and leaves the rest alone.
 */
export class WasmWalk {
  private readonly walk: (roots: number, t0: number, t1: number, x: number, d8: number, r0: number, r1: number, out: number, k8: number, ord: number) => void;
  private readonly walkPlain: WasmWalk['walk'];
  private readonly walkLeaves: WasmWalk['walk'];
  private readonly leavesOf: (roots: number, t0: number, t1: number, x: number, d8: number, r0: number, r1: number, dst: number, n: number, ord: number) => void;
  private readonly memory: WebAssembly.Memory;
  private readonly features: number;
  private readonly classes: number;
  private readonly rootsAt: number;
  private readonly xAt: number;
  private readonly outAt: number;
  private readonly leavesAt: number;
  /** Orders of a block's rows: 0, 1, … (rows as they come) and the one a sort made. */
  private readonly identityAt: number;
  private readonly orderAt: number;
  private readonly sortRows: boolean;
  private readonly trees: number;
  /** Which layout the nodes are in: leaves apart (small trees) or pre-order. */
  readonly apart: boolean;
  /** Sort keys of one block (scratch). */
  private readonly keys = new Float64Array(BLOCK);

  /**
   * Lays the forest's nodes out as described at the top of this file; null when it is too large
   * or the memory cannot be had (the caller then walks in JavaScript, with the same results).
   * `sortRows` forces the ordering of rows on or off (tests); by default it follows tree size.
   */
  static create(forest: FlatForestArrays, sortRows?: boolean, apart?: boolean): WasmWalk | null {
    // Leaves apart for small trees (measured: +10–35 % on trees of 7–120 nodes; −20–40 % on trees
    // of 1,000–9,000 nodes, where a leaf far from its parent costs a cache miss).
    apart ??= forest.feature.length < SMALL_TREE_NODES * forest.roots.length;
    // Apart, the split nodes and the leaves each take up to a power of two: at most 4 × 32 bytes a node.
    const bytes = forest.feature.length * (apart ? 4 * APART.node : PRE_ORDER.node) + forest.roots.length * 8 + forest.proba.length * 8 + BLOCK * (forest.features + forest.classes) * 8 + BLOCK * LEAF_TREES * 4 + BLOCK * 8 + 96;
    if (bytes > MAX_BYTES) {
      warn(`forest of ${forest.feature.length} nodes needs ${bytes} bytes of WebAssembly memory (more than ${MAX_BYTES}); predicting with the slower JavaScript walk`);
      return null;
    }
    try {
      return new WasmWalk(forest, sortRows, apart);
    } catch (error) {
      if (!(error instanceof RangeError)) throw error;
      warn(`forest prediction: the WebAssembly walk is unavailable (${error.message}); predicting with the slower JavaScript walk`);
      return null;
    }
  }

  private constructor(forest: FlatForestArrays, sortRows: boolean | undefined, apart: boolean) {
    const n = forest.feature.length;
    const T = forest.roots.length;
    const lay = apart ? APART : PRE_ORDER;
    // A forest of pure leaves (ml-random-forest's, for one) gets a module that only votes.
    let pure = true;
    for (let i = 0; i < n && pure; i++) if (forest.feature[i] === -2) pure = false;
    const shape = `${forest.features}:${forest.classes}:${lay.apart}:${pure}`;
    let module = compiled.get(shape);
    if (!module) compiled.set(shape, (module = new WebAssembly.Module(walkModuleBytes(forest.features, forest.classes, lay.apart, pure))));
    const instance = new WebAssembly.Instance(module, {});
    this.walk = instance.exports.walk as WasmWalk['walk'];
    this.walkPlain = instance.exports.walkPlain as WasmWalk['walk'];
    this.walkLeaves = instance.exports.walkLeaves as WasmWalk['walk'];
    this.leavesOf = instance.exports.leaves as WasmWalk['leavesOf'];
    this.memory = instance.exports.memory as WebAssembly.Memory;
    this.features = forest.features;
    this.classes = forest.classes;
    this.trees = T;
    this.apart = lay.apart;
    this.sortRows = sortRows ?? n >= SORT_MIN_TREE_NODES * T;
    // The nodes in memory order: node i at 16 × i in pre-order; apart, the split nodes from 0 and
    // the leaves from a power of two above them all (leafBit), so a node is a leaf exactly when
    // its address has that bit.
    const { order, leafAt } = lay.apart ? treeOrder(forest) : { order: null, leafAt: 0 };
    const count = order ? order.length : n;
    let leafBit = 0;
    if (order) for (leafBit = lay.node; leafBit < Math.max(leafAt, count - leafAt) * lay.node; ) leafBit *= 2;
    const align = (v: number) => (v + 15) & ~15;
    this.rootsAt = align(order ? 2 * leafBit : n * lay.node);
    const probaAt = align(this.rootsAt + T * 8);
    this.xAt = align(probaAt + forest.proba.length * 8);
    this.outAt = align(this.xAt + BLOCK * this.features * 8);
    this.leavesAt = align(this.outAt + BLOCK * this.classes * 8);
    this.identityAt = align(this.leavesAt + BLOCK * LEAF_TREES * 4);
    this.orderAt = this.identityAt + BLOCK * 4;
    const end = this.orderAt + BLOCK * 4;
    const have = this.memory.buffer.byteLength / 65536;
    const need = Math.ceil(end / 65536);
    if (need > have) this.memory.grow(need - have);
    const f64 = new Float64Array(this.memory.buffer);
    const i32 = new Int32Array(this.memory.buffer);
    // Node i's address.
    const at = new Int32Array(n);
    if (order) for (let j = 0; j < count; j++) at[order[j]] = j < leafAt ? j * lay.node : leafBit + (j - leafAt) * lay.node;
    else for (let i = 0; i < n; i++) at[i] = i * lay.node;
    for (let j = 0; j < count; j++) {
      const i = order ? order[j] : j;
      const a = at[i];
      const w = a >> 2;
      const f = forest.feature[i];
      if (f >= 0) {
        f64[w >> 1] = forest.threshold[i];
        i32[w + (lay.feature >> 2)] = f * 8;
        i32[w + (RIGHT >> 2)] = at[forest.right[i]];
        if (lay.apart) i32[w + (LEFT >> 2)] = at[i + 1];
      } else {
        // Pure leaf (-1): `right` is its class; mixed (-2): an offset into the distributions.
        i32[w] = f === -1 ? forest.right[i] * 8 : -1 - (probaAt + forest.right[i] * 8);
        i32[w + 1] = 0x7ff80000;
        i32[w + (lay.feature >> 2)] = 0;
        i32[w + (RIGHT >> 2)] = a;
        if (lay.apart) i32[w + (LEFT >> 2)] = a;
      }
      if (lay.apart) i32[w + (lay.index >> 2)] = i;
    }
    for (let t = 0; t < T; t++) {
      i32[(this.rootsAt >> 2) + 2 * t] = at[forest.roots[t]];
      i32[(this.rootsAt >> 2) + 2 * t + 1] = leafBit;
    }
    for (let q = 0; q < BLOCK; q++) i32[(this.identityAt >> 2) + q] = q;
    f64.set(forest.proba, probaAt >> 3);
  }

  /**
   * Add the leaf values of trees [from, to) for `rows` rows of x into out (rows × classes), or,
   * with `overwrite`, write them over out as if it held zeros (the sums start from zero inside
   * the module, so out is neither read nor cleared first). Over many large trees, each block's rows
   * are first ordered by the leaves they reach in its first two trees: rows that end alike tend to
   * walk alike, so a lockstep group waits less for its deepest lane (on the benchmark forests:
   * 14–17 % fewer steps). Each row still gets its own sums in tree order, so the order of rows
   * changes nothing in the results.
   */
  accumulate(x: Float64Array, rows: number, out: Float64Array, from: number, to: number, overwrite = false): void {
    const K = this.classes;
    const f64 = new Float64Array(this.memory.buffer);
    const ow = this.outAt >> 3;
    for (let r0 = 0; r0 < rows; r0 += BLOCK) {
      const n = Math.min(BLOCK, rows - r0);
      this.block(x, r0, n, from, to, overwrite ? null : out);
      out.set(f64.subarray(ow, ow + n * K), r0 * K);
    }
  }

  /**
   * The class of highest mean (sum × scale) per row, the first on ties, into dst: what argmax over
   * predictProba gives, without the rows × classes array (the sums are read where the walk left
   * them). `scale` is 1 / trees for the whole forest.
   */
  predict(x: Float64Array, rows: number, scale: number, dst: Int32Array): void {
    const K = this.classes;
    const T = this.trees;
    const f64 = new Float64Array(this.memory.buffer);
    const ow = this.outAt >> 3;
    for (let r0 = 0; r0 < rows; r0 += BLOCK) {
      const n = Math.min(BLOCK, rows - r0);
      this.block(x, r0, n, 0, T, null);
      for (let j = 0; j < n; j++) {
        const o = ow + j * K;
        let best = 0;
        let bestP = f64[o] * scale;
        for (let k = 1; k < K; k++) {
          const p = f64[o + k] * scale;
          if (p > bestP) {
            bestP = p;
            best = k;
          }
        }
        dst[r0 + j] = best;
      }
    }
  }

  /**
   * One block of n rows from row r0: its rows and out's sums (or zeros when `out` is null) copied
   * in, and trees [from, to) walked, in an order of the rows when that pays; the sums stay in the
   * module's memory, row by row as they came.
   */
  private block(x: Float64Array, r0: number, n: number, from: number, to: number, out: Float64Array | null): void {
    const K = this.classes;
    const f64 = new Float64Array(this.memory.buffer);
    const ow = this.outAt >> 3;
    f64.set(x.subarray(r0 * this.features, (r0 + n) * this.features), this.xAt >> 3);
    if (out) f64.set(out.subarray(r0 * K, (r0 + n) * K), ow);
    else f64.fill(0, ow, ow + n * K);
    this.walkBlock(n, from, to);
  }

  /**
   * The sums of all trees (from zero) and the leaves of the first `trees` trees, as
   * FlatForest.predictProbaWithLeaves gives them, unscaled: each block of rows is copied in once,
   * its first trees walked for their leaves and sums together (in the rows' own order), the other
   * trees added on top, tree by tree as `accumulate` does, so every sum is the same doubles in
   * the same order. Leaves go to dst[t × rows + r].
   */
  accumulateWithLeaves(x: Float64Array, rows: number, out: Float64Array, trees: number, dst: Int32Array): void {
    const d = this.features;
    const K = this.classes;
    const f64 = new Float64Array(this.memory.buffer);
    const i32 = new Int32Array(this.memory.buffer);
    const ow = this.outAt >> 3;
    const lw = this.leavesAt >> 2;
    for (let r0 = 0; r0 < rows; r0 += BLOCK) {
      const n = Math.min(BLOCK, rows - r0);
      f64.set(x.subarray(r0 * d, (r0 + n) * d), this.xAt >> 3);
      f64.fill(0, ow, ow + n * K);
      for (let t0 = 0; t0 < trees; t0 += LEAF_TREES) {
        const t1 = Math.min(trees, t0 + LEAF_TREES);
        this.walkLeaves(this.rootsAt, t0, t1, this.xAt, d * 8, 0, n, this.outAt, K * 8, this.leavesAt);
        for (let t = t0; t < t1; t++) dst.set(i32.subarray(lw + (t - t0) * n, lw + (t - t0 + 1) * n), t * rows + r0);
      }
      if (trees < this.trees) this.walkBlock(n, trees, this.trees);
      out.set(f64.subarray(ow, ow + n * K), r0 * K);
    }
  }

  /** Trees [from, to) over the n rows in the module's memory, ordered first when that pays. */
  private walkBlock(n: number, from: number, to: number): void {
    const d = this.features;
    const K = this.classes;
    const i32 = new Int32Array(this.memory.buffer);
    const lw = this.leavesAt >> 2;
    if (!this.sortRows || to - from < SORT_MIN_TREES || n < SORT_MIN_ROWS) {
      this.walkPlain(this.rootsAt, from, to, this.xAt, d * 8, 0, n, this.outAt, K * 8, this.identityAt);
      return;
    }
    const keys = this.keys;
    this.leavesOf(this.rootsAt, from, from + 2, this.xAt, d * 8, 0, n, this.leavesAt, n, this.identityAt);
    // key = leaf in the first tree, leaf in the second, row: 21 + 21 + 10 bits, exact in a double.
    for (let i = 0; i < n; i++) keys[i] = (Math.min(i32[lw + i], KEY_MAX) * 2 ** 21 + Math.min(i32[lw + n + i], KEY_MAX)) * 1024 + i;
    const sorted = keys.subarray(0, n).sort();
    const ord = this.orderAt >> 2;
    for (let j = 0; j < n; j++) i32[ord + j] = sorted[j] % 1024;
    this.walk(this.rootsAt, from, to, this.xAt, d * 8, 0, n, this.outAt, K * 8, this.orderAt);
  }

  /** Leaf node index of each row in trees [from, to): dst[(t - from) × rows + r]. */
  leaves(x: Float64Array, rows: number, from: number, to: number, dst: Int32Array): void {
    const d = this.features;
    const f64 = new Float64Array(this.memory.buffer);
    const i32 = new Int32Array(this.memory.buffer);
    const lw = this.leavesAt >> 2;
    for (let r0 = 0; r0 < rows; r0 += BLOCK) {
      const n = Math.min(BLOCK, rows - r0);
      f64.set(x.subarray(r0 * d, (r0 + n) * d), this.xAt >> 3);
      for (let t0 = from; t0 < to; t0 += LEAF_TREES) {
        const t1 = Math.min(to, t0 + LEAF_TREES);
        this.leavesOf(this.rootsAt, t0, t1, this.xAt, d * 8, 0, n, this.leavesAt, n, this.identityAt);
        for (let t = t0; t < t1; t++) dst.set(i32.subarray(lw + (t - t0) * n, lw + (t - t0 + 1) * n), (t - from) * rows + r0);
      }
    }
  }
}
