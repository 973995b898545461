/**
 * A trained forest as flat typed arrays: all trees' nodes concatenated in pre-order. Node i splits
 * on `feature[i]` at `threshold[i]`: a value ≤ threshold goes to i + 1, any other value (NaN too) to
 * `right[i]`. Leaves have feature -1 (pure: `right` is the class) or -2 (mixed: `right` is an offset
 * into `proba`). Prediction runs in WebAssembly (walk-wasm.ts: the same nodes laid out for the
 * module, rows in lockstep groups, tree by tree over blocks of rows; forests of small trees of
 * voting leaves, as ml.js's import, predict their sums and classes through walk-masks.ts, each
 * tree compiled to code); a plain JavaScript walk serves single rows and is the reference the
 * tests hold the WebAssembly walks to, bit for bit.
 */
import type { TreeArrays } from './tree-train.ts';
import { MaskWalk, maskWalkAfter, maskWalkFits } from './walk-masks.ts';
import { LANES, WasmWalk } from './walk-wasm.ts';

/** The forest's arrays, as kept in memory and in the model file. */
export interface FlatForestArrays {
  readonly classes: number;
  readonly features: number;
  /** First node of each tree. */
  readonly roots: Int32Array;
  readonly feature: Int32Array;
  readonly threshold: Float64Array;
  readonly right: Int32Array;
  readonly proba: Float64Array;
}

/**
 * The paths of the leaves of a forest's first trees, indexed by node: leaf n votes for `vote[n]`
 * (-1 for split nodes), has `depth[n]` splits above it, and split on `features[i]` `counts[i]`
 * times for i in [start[n], start[n + 1]).
 */
export interface LeafPaths {
  readonly start: Int32Array;
  readonly depth: Int32Array;
  readonly vote: Int32Array;
  readonly features: Int32Array;
  readonly counts: Int32Array;
}

/** An inference-ready forest: `predictProba` and `predict` over flat row-major matrices. */
export class FlatForest implements FlatForestArrays {
  readonly classes: number;
  readonly features: number;
  readonly roots: Int32Array;
  readonly feature: Int32Array;
  readonly threshold: Float64Array;
  readonly right: Int32Array;
  readonly proba: Float64Array;
  /** Which walk predicts: the WebAssembly one unless told otherwise (tests compare them). */
  private readonly walk: 'js' | 'wasm';
  /** The WebAssembly layout, made at the first prediction (training and saving never need it). */
  private wasm: WasmWalk | null | undefined;
  private parentOf: Int32Array | null = null;

  /** Whether the WebAssembly walk orders each block's rows first (default: by tree size). */
  private readonly sortRows: boolean | undefined;
  /** Whether the WebAssembly walk lays leaves apart from split nodes (default: by tree size). */
  private readonly apart: boolean | undefined;
  /**
   * Whether sums and classes from zero go through the mask walk (walk-masks.ts) when the forest
   * fits it (small trees of voting leaves): true from the first call, false never (the lockstep
   * walk alone); by default once the forest has been asked for as many rows as compiling it is
   * worth (maskWalkAfter).
   */
  private readonly masks: boolean | undefined;
  private maskWalk: MaskWalk | null | undefined;
  private rowsAsked = 0;
  /** Rows after which the mask walk is compiled (Infinity when the forest does not fit it), found once. */
  private masksAfter: number | undefined;

  constructor(arrays: FlatForestArrays, options: { walk?: 'js' | 'wasm'; sortRows?: boolean; apart?: boolean; masks?: boolean } = {}) {
    this.classes = arrays.classes;
    this.features = arrays.features;
    this.roots = arrays.roots;
    this.feature = arrays.feature;
    this.threshold = arrays.threshold;
    this.right = arrays.right;
    this.proba = arrays.proba;
    validate(this);
    this.walk = options.walk ?? 'wasm';
    this.sortRows = options.sortRows;
    this.apart = options.apart;
    this.masks = options.masks;
  }

  /** Join trees (in order) into one forest. */
  static fromTrees(trees: readonly TreeArrays[], classes: number, features: number): FlatForest {
    let nodes = 0;
    let probas = 0;
    for (const t of trees) {
      nodes += t.feature.length;
      probas += t.proba.length;
    }
    const roots = new Int32Array(trees.length);
    const feature = new Int32Array(nodes);
    const threshold = new Float64Array(nodes);
    const right = new Int32Array(nodes);
    const proba = new Float64Array(probas);
    let at = 0;
    let pat = 0;
    for (let t = 0; t < trees.length; t++) {
      const tree = trees[t];
      roots[t] = at;
      feature.set(tree.feature, at);
      threshold.set(tree.threshold, at);
      proba.set(tree.proba, pat);
      for (let i = 0; i < tree.feature.length; i++) {
        const f = tree.feature[i];
        right[at + i] = f >= 0 ? tree.right[i] + at : f === -2 ? tree.right[i] + pat : tree.right[i];
      }
      at += tree.feature.length;
      pat += tree.proba.length;
    }
    return new FlatForest({ classes, features, roots, feature, threshold, right, proba });
  }

  /** Number of trees. */
  get trees(): number {
    return this.roots.length;
  }

  /** Total number of nodes. */
  get nodes(): number {
    return this.feature.length;
  }

  /**
   * Mean class probabilities of the trees for `rows` rows of a row-major matrix with `features`
   * columns; returns `rows × classes` values (row-major), written over `out` when given.
   */
  predictProba(x: Float64Array, rows: number, out: Float64Array = new Float64Array(rows * this.classes)): Float64Array {
    this.check(x, rows, out);
    const masks = this.masksFor(rows);
    const wasm = masks ? null : this.wasmFor(rows);
    if (masks) masks.sums(x, rows, out, 0, this.roots.length);
    else if (wasm) wasm.accumulate(x, rows, out, 0, this.roots.length, true);
    else {
      out.fill(0, 0, rows * this.classes);
      this.accumulateJs(x, rows, out, 0, this.roots.length);
    }
    const scale = 1 / this.roots.length;
    const n = rows * this.classes;
    for (let i = 0; i < n; i++) out[i] *= scale;
    return out;
  }

  /**
   * predictProba and the leaves of the first `trees` trees (as `leaves(x, rows, 0, trees)` gives
   * them) in one pass: those trees are walked once, for their leaves, and their leaf values are
   * added from the leaves, tree by tree from zero, before the other trees are walked on top; each
   * row's sums are the same doubles added in the same order as predictProba's. With `scaled`
   * false the sums are left unscaled (predictProba's values are each sum × (1 / trees), the
   * product a caller can take itself where it reads them, without a pass over rows × classes).
   */
  predictProbaWithLeaves(x: Float64Array, rows: number, out: Float64Array, trees: number, leavesOut?: Int32Array, scaled = true): { proba: Float64Array; leaves: Int32Array } {
    this.check(x, rows, out);
    const T = this.roots.length;
    const E = Math.min(trees, T);
    const K = this.classes;
    const scale = 1 / T;
    const n = rows * K;
    if (E === 0) {
      if (scaled) return { proba: this.predictProba(x, rows, out), leaves: new Int32Array(0) };
      out.fill(0, 0, n);
      this.accumulate(x, rows, out, 0, T);
      return { proba: out, leaves: new Int32Array(0) };
    }
    const wasm = this.wasmFor(rows);
    if (wasm) {
      // In the module: each block of rows copied in once, leaves and sums of the first trees together.
      const leaves = leavesOut && leavesOut.length >= E * rows ? leavesOut.subarray(0, E * rows) : new Int32Array(E * rows);
      wasm.accumulateWithLeaves(x, rows, out, E, leaves);
      if (scaled) for (let i = 0; i < n; i++) out[i] *= scale;
      return { proba: out, leaves };
    }
    const leaves = this.leaves(x, rows, 0, E, leavesOut);
    out.fill(0, 0, rows * K);
    const feature = this.feature;
    const right = this.right;
    const proba = this.proba;
    for (let t = 0; t < E; t++) {
      const at = t * rows;
      for (let r = 0; r < rows; r++) {
        const leaf = leaves[at + r];
        const o = r * K;
        if (feature[leaf] === -1) out[o + right[leaf]] += 1;
        else {
          const p = right[leaf];
          for (let k = 0; k < K; k++) out[o + k] += proba[p + k];
        }
      }
    }
    if (E < T) this.accumulate(x, rows, out, E, T);
    if (scaled) for (let i = 0; i < n; i++) out[i] *= scale;
    return { proba: out, leaves };
  }

  /** The class index of highest probability per row (the first one on ties). */
  predict(x: Float64Array, rows: number): Int32Array {
    const K = this.classes;
    const out = new Int32Array(rows);
    const masks = this.masksFor(rows);
    if (masks) {
      // Straight from the vote counts: the classes the scaled sums give.
      masks.predict(x, rows, out);
      return out;
    }
    const wasm = this.wasmFor(rows);
    if (wasm) {
      // Straight from the sums in the module's memory: the same products and comparisons.
      wasm.predict(x, rows, 1 / this.roots.length, out);
      return out;
    }
    const p = this.predictProba(x, rows);
    for (let r = 0; r < rows; r++) {
      let best = 0;
      let bestP = p[r * K];
      for (let k = 1; k < K; k++) {
        if (p[r * K + k] > bestP) {
          bestP = p[r * K + k];
          best = k;
        }
      }
      out[r] = best;
    }
    return out;
  }

  private check(x: Float64Array, rows: number, out: Float64Array): void {
    if (x.length < rows * this.features) throw new RangeError(`matrix has ${x.length} values, expected ${rows} × ${this.features}`);
    if (out.length < rows * this.classes) throw new RangeError(`sums have ${out.length} values, expected ${rows} × ${this.classes}`);
  }

  /**
   * The WebAssembly walk for a call over `rows` rows, or null for the JavaScript one. A few rows
   * (the out-of-bag score walks one row through one tree) cost less in JavaScript than the copies
   * in and out of the module's memory.
   */
  private wasmFor(rows: number): WasmWalk | null {
    if (this.walk !== 'wasm' || rows < LANES) return null;
    if (this.wasm === undefined) this.wasm = WasmWalk.create(this, this.sortRows, this.apart);
    return this.wasm;
  }

  /** The mask walk for sums from zero over `rows` rows, when the forest fits it; else null. */
  private masksFor(rows: number): MaskWalk | null {
    if (this.walk !== 'wasm' || this.masks === false || rows < LANES) return null;
    if (this.maskWalk === undefined) {
      this.masksAfter ??= this.masks === true ? 0 : maskWalkFits(this) ? maskWalkAfter(this) : Infinity;
      this.rowsAsked += rows;
      if (this.rowsAsked < this.masksAfter) return null;
      this.maskWalk = MaskWalk.create(this);
    }
    return this.maskWalk;
  }

  /** Add the leaf distributions of trees [from, to) into `out` (rows × classes), unscaled. */
  accumulate(x: Float64Array, rows: number, out: Float64Array, from: number, to: number): void {
    this.check(x, rows, out);
    const wasm = this.wasmFor(rows);
    if (wasm) wasm.accumulate(x, rows, out, from, to);
    else this.accumulateJs(x, rows, out, from, to);
  }

  /** The plain walk, node by node, one row at a time. */
  private accumulateJs(x: Float64Array, rows: number, out: Float64Array, from: number, to: number): void {
    const d = this.features;
    const K = this.classes;
    const feature = this.feature;
    const threshold = this.threshold;
    const right = this.right;
    const proba = this.proba;
    for (let t = from; t < to; t++) {
      const root = this.roots[t];
      for (let r = 0; r < rows; r++) {
        const base = r * d;
        let node = root;
        let f = feature[node];
        while (f >= 0) {
          node = x[base + f] <= threshold[node] ? node + 1 : right[node];
          f = feature[node];
        }
        const o = r * K;
        if (f === -1) out[o + right[node]] += 1;
        else for (let k = 0; k < K; k++) out[o + k] += proba[right[node] + k];
      }
    }
  }

  /**
   * The leaf node each row reaches in each of trees [from, to), tree-major: `[(t - from) × rows + r]`
   * (the explanations of the classify operator start from these).
   */
  leaves(x: Float64Array, rows: number, from: number, to: number, into?: Int32Array): Int32Array {
    if (x.length < rows * this.features) throw new RangeError(`matrix has ${x.length} values, expected ${rows} × ${this.features}`);
    if (from < 0 || to > this.roots.length || from > to) throw new RangeError(`trees ${from}..${to} outside 0..${this.roots.length}`);
    // Into the given array when it is large enough (the first (to - from) × rows values).
    const out = into && into.length >= (to - from) * rows ? into.subarray(0, (to - from) * rows) : new Int32Array((to - from) * rows);
    const wasm = this.wasmFor(rows);
    if (wasm) {
      wasm.leaves(x, rows, from, to, out);
      return out;
    }
    for (let t = from; t < to; t++) for (let r = 0; r < rows; r++) out[(t - from) * rows + r] = this.path(x, r, t, () => {});
    return out;
  }

  /**
   * The parent of every node (-1 for roots): a path is read upwards from its leaf. Computed once,
   * on first use.
   */
  get parents(): Int32Array {
    if (!this.parentOf) {
      const p = new Int32Array(this.feature.length).fill(-1);
      for (let i = 0; i < this.feature.length; i++) {
        if (this.feature[i] < 0) continue;
        p[i + 1] = i;
        p[this.right[i]] = i;
      }
      this.parentOf = p;
    }
    return this.parentOf;
  }

  /**
   * Every leaf of trees [0, to) with what an explanation reads from its path, computed once: the
   * class it votes for, the number of splits on its path and each feature split on with how many
   * times (the path summed up, so an explanation adds a few pairs instead of walking upwards).
   */
  leafPaths(to: number): LeafPaths {
    if (to < 0 || to > this.roots.length) throw new RangeError(`trees 0..${to} outside 0..${this.roots.length}`);
    const end = to < this.roots.length ? this.roots[to] : this.feature.length;
    const parent = this.parents;
    const start = new Int32Array(end + 1);
    const depth = new Int32Array(end);
    const vote = new Int32Array(end).fill(-1);
    let features = new Int32Array(Math.max(16, end));
    let counts = new Int32Array(features.length);
    const seen = new Int32Array(this.features);
    const order = new Int32Array(this.features);
    let at = 0;
    for (let leaf = 0; leaf < end; leaf++) {
      start[leaf] = at;
      if (this.feature[leaf] >= 0) continue;
      vote[leaf] = this.leafClass(leaf);
      let distinct = 0;
      let splits = 0;
      for (let n = parent[leaf]; n >= 0; n = parent[n]) {
        const f = this.feature[n];
        if (seen[f]++ === 0) order[distinct++] = f;
        splits++;
      }
      depth[leaf] = splits;
      if (at + distinct > features.length) {
        const size = Math.max(features.length * 2, at + distinct);
        const f2 = new Int32Array(size);
        const c2 = new Int32Array(size);
        f2.set(features.subarray(0, at));
        c2.set(counts.subarray(0, at));
        features = f2;
        counts = c2;
      }
      for (let i = 0; i < distinct; i++) {
        const f = order[i];
        features[at] = f;
        counts[at++] = seen[f];
        seen[f] = 0;
      }
    }
    start[end] = at;
    return { start, depth, vote, features: features.slice(0, at), counts: counts.slice(0, at) };
  }

  /** The class a leaf node votes for (its pure class, or the most probable one). */
  leafClass(node: number): number {
    const f = this.feature[node];
    if (f === -1) return this.right[node];
    if (f !== -2) throw new RangeError(`node ${node} is not a leaf`);
    const p = this.right[node];
    let best = 0;
    for (let k = 1; k < this.classes; k++) if (this.proba[p + k] > this.proba[p + best]) best = k;
    return best;
  }

  /** The leaf of tree `t` that row `r` falls into, and the path's features (for explanations). */
  path(x: Float64Array, r: number, t: number, visit: (feature: number, node: number) => void): number {
    const base = r * this.features;
    let node = this.roots[t];
    let f = this.feature[node];
    while (f >= 0) {
      visit(f, node);
      node = x[base + f] <= this.threshold[node] ? node + 1 : this.right[node];
      f = this.feature[node];
    }
    return node;
  }
}

function validate(forest: FlatForest): void {
  const n = forest.feature.length;
  if (forest.threshold.length !== n || forest.right.length !== n) throw new RangeError('forest arrays differ in length');
  if (forest.classes < 1 || forest.features < 1) throw new RangeError('forest needs at least one class and one feature');
  for (let t = 0; t < forest.roots.length; t++) {
    const root = forest.roots[t];
    if (root < 0 || root >= n) throw new RangeError(`tree ${t} starts outside the node arrays`);
  }
  for (let i = 0; i < n; i++) {
    const f = forest.feature[i];
    const r = forest.right[i];
    if (f >= 0) {
      if (f >= forest.features || i + 1 >= n || r <= i || r >= n) throw new RangeError(`node ${i} is malformed`);
    } else if (f === -1) {
      if (r < 0 || r >= forest.classes) throw new RangeError(`leaf ${i} names class ${r} of ${forest.classes}`);
    } else if (f === -2) {
      if (r < 0 || r + forest.classes > forest.proba.length) throw new RangeError(`leaf ${i} points outside the leaf distributions`);
    } else throw new RangeError(`node ${i} has an unknown kind ${f}`);
  }
}
