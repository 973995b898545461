/**
 * A trained forest as flat typed arrays: all trees' nodes concatenated in pre-order. Node i splits
 * on `feature[i]` at `threshold[i]`: a value ≤ threshold goes to i + 1, any other value (NaN too) to
 * `right[i]`. Leaves have feature -1 (pure: `right` is the class) or -2 (mixed: `right` is an offset
 * into `proba`). Prediction walks blocks of rows tree by tree so both stay in cache.
 */
import type { TreeArrays } from './tree-train.ts';

/** Rows per block of the tree-major prediction loop. */
const BLOCK = 512;

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

/** An inference-ready forest: `predictProba` and `predict` over flat row-major matrices. */
export class FlatForest implements FlatForestArrays {
  readonly classes: number;
  readonly features: number;
  readonly roots: Int32Array;
  readonly feature: Int32Array;
  readonly threshold: Float64Array;
  readonly right: Int32Array;
  readonly proba: Float64Array;
  /**
   * Prediction form: each feature's distinct thresholds, sorted; a value is coded as the number of
   * thresholds below it, so `x <= t_j` is exactly `code(x) <= j` and the walk compares small
   * integers. Nodes pack into two int32: (threshold code << 16 | feature), and right; a leaf is a
   * node that always leads to itself, so rows walk in lockstep without branches.
   */
  private readonly cuts: Float64Array[];
  private readonly packed: Int32Array | null;
  /** Whether the coded walk uses lanes (deep trees) or one row at a time (shallow trees). */
  private readonly lanes: boolean;
  /** Per leaf node: its class (≥ 0) or -1 - offset of its distribution. */
  private readonly leafValue: Int32Array;

  /**
   * `walk` forces a prediction loop (tests and benchmarks compare them); by default it is chosen
   * from the forest's shape.
   */
  constructor(arrays: FlatForestArrays, options: { walk?: 'raw' | 'coded' | 'lanes' } = {}) {
    this.classes = arrays.classes;
    this.features = arrays.features;
    this.roots = arrays.roots;
    this.feature = arrays.feature;
    this.threshold = arrays.threshold;
    this.right = arrays.right;
    this.proba = arrays.proba;
    validate(this);
    const perFeature: Set<number>[] = Array.from({ length: this.features }, () => new Set<number>());
    for (let i = 0; i < this.feature.length; i++) if (this.feature[i] >= 0) perFeature[this.feature[i]].add(this.threshold[i]);
    this.cuts = perFeature.map((set) => Float64Array.from(set).sort());
    // Coding costs a binary search per feature per row; it pays off when the walks are longer.
    let codingSteps = 0;
    for (const c of this.cuts) codingSteps += Math.log2(c.length + 1);
    const depth = meanLeafDepth(this);
    const fits = this.features < 65536 && this.cuts.every((c) => c.length < 32767);
    const codable = fits && (options.walk === undefined ? depth * this.roots.length > 2 * codingSteps : options.walk !== 'raw');
    // Lanes pay off on deep trees; on shallow ones the lane refills cost more than they hide
    // (measured: 19-class CICIoMT forest +15 %, binary −10 %).
    this.lanes = options.walk === undefined ? depth > 12 : options.walk === 'lanes';
    this.packed = codable ? new Int32Array(this.feature.length * 2) : null;
    this.leafValue = new Int32Array(this.feature.length);
    if (this.packed) {
      for (let i = 0; i < this.feature.length; i++) {
        const f = this.feature[i];
        if (f >= 0) {
          this.packed[i * 2] = (lowerBound(this.cuts[f], this.threshold[i]) << 16) | f;
          this.packed[i * 2 + 1] = this.right[i];
        } else {
          // A leaf compares feature 0 against code -1, so it always "goes right" to itself.
          this.packed[i * 2] = -65536;
          this.packed[i * 2 + 1] = i;
          this.leafValue[i] = f === -1 ? this.right[i] : -1 - this.right[i];
        }
      }
    }
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
   * columns; returns `rows × classes` values (row-major).
   */
  predictProba(x: Float64Array, rows: number, out = new Float64Array(rows * this.classes)): Float64Array {
    this.accumulate(x, rows, out, 0, this.roots.length);
    const scale = 1 / this.roots.length;
    for (let i = 0; i < out.length; i++) out[i] *= scale;
    return out;
  }

  /** The class index of highest probability per row (the first one on ties). */
  predict(x: Float64Array, rows: number): Int32Array {
    const K = this.classes;
    const p = this.predictProba(x, rows);
    const out = new Int32Array(rows);
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

  /** Add the leaf distributions of trees [from, to) into `out` (rows × classes), unscaled. */
  accumulate(x: Float64Array, rows: number, out: Float64Array, from: number, to: number): void {
    const d = this.features;
    if (x.length < rows * d) throw new RangeError(`matrix has ${x.length} values, expected ${rows} × ${d}`);
    if (this.packed) this.accumulateCoded(x, rows, out, from, to);
    else this.accumulateRaw(x, rows, out, from, to);
  }

  /** The coded walk: values become threshold codes once per row block, then every tree compares integers. */
  private accumulateCoded(x: Float64Array, rows: number, out: Float64Array, from: number, to: number): void {
    const d = this.features;
    const K = this.classes;
    const nodes = this.packed!;
    const proba = this.proba;
    const roots = this.roots;
    const cuts = this.cuts;
    const leaf = this.leafValue;
    const codes = new Uint16Array(Math.min(rows, BLOCK) * d);
    for (let r0 = 0; r0 < rows; r0 += BLOCK) {
      const r1 = Math.min(rows, r0 + BLOCK);
      for (let r = r0; r < r1; r++) {
        const src = r * d;
        const dst = (r - r0) * d;
        for (let f = 0; f < d; f++) {
          const v = x[src + f];
          // NaN gets the largest code: it goes right at every split, as `NaN <= t` is false.
          codes[dst + f] = v !== v ? 32767 : countBelow(cuts[f], v);
        }
      }
      for (let t = from; t < to; t++) {
        const root = roots[t];
        // 4 lanes walk the tree with branch-free steps, each on its own row, so their load chains
        // overlap instead of waiting on mispredicted branches; a lane that reaches its leaf takes
        // the next row at once. Hand-unrolled for speed.
        let r = r0;
        if (this.lanes && r1 - r0 >= 4) {
          const aRoot = nodes[root * 2];
          let q0 = r0 + 0;
          let b0 = 0 * d;
          let n0 = root;
          let a0 = aRoot;
          let q1 = r0 + 1;
          let b1 = 1 * d;
          let n1 = root;
          let a1 = aRoot;
          let q2 = r0 + 2;
          let b2 = 2 * d;
          let n2 = root;
          let a2 = aRoot;
          let q3 = r0 + 3;
          let b3 = 3 * d;
          let n3 = root;
          let a3 = aRoot;
          let next = r0 + 4;
          lanes: for (;;) {
            if (a0 >= 0) {
              const m = ((a0 >> 16) - codes[b0 + (a0 & 0xffff)]) >> 31;
              n0 = (n0 + 1) ^ (((n0 + 1) ^ nodes[n0 * 2 + 1]) & m);
              a0 = nodes[n0 * 2];
            } else {
              addLeaf(out, q0 * K, K, leaf[n0], proba);
              if (next >= r1) {
                q0 = -1;
                break lanes;
              }
              q0 = next++;
              b0 = (q0 - r0) * d;
              n0 = root;
              a0 = aRoot;
            }
            if (a1 >= 0) {
              const m = ((a1 >> 16) - codes[b1 + (a1 & 0xffff)]) >> 31;
              n1 = (n1 + 1) ^ (((n1 + 1) ^ nodes[n1 * 2 + 1]) & m);
              a1 = nodes[n1 * 2];
            } else {
              addLeaf(out, q1 * K, K, leaf[n1], proba);
              if (next >= r1) {
                q1 = -1;
                break lanes;
              }
              q1 = next++;
              b1 = (q1 - r0) * d;
              n1 = root;
              a1 = aRoot;
            }
            if (a2 >= 0) {
              const m = ((a2 >> 16) - codes[b2 + (a2 & 0xffff)]) >> 31;
              n2 = (n2 + 1) ^ (((n2 + 1) ^ nodes[n2 * 2 + 1]) & m);
              a2 = nodes[n2 * 2];
            } else {
              addLeaf(out, q2 * K, K, leaf[n2], proba);
              if (next >= r1) {
                q2 = -1;
                break lanes;
              }
              q2 = next++;
              b2 = (q2 - r0) * d;
              n2 = root;
              a2 = aRoot;
            }
            if (a3 >= 0) {
              const m = ((a3 >> 16) - codes[b3 + (a3 & 0xffff)]) >> 31;
              n3 = (n3 + 1) ^ (((n3 + 1) ^ nodes[n3 * 2 + 1]) & m);
              a3 = nodes[n3 * 2];
            } else {
              addLeaf(out, q3 * K, K, leaf[n3], proba);
              if (next >= r1) {
                q3 = -1;
                break lanes;
              }
              q3 = next++;
              b3 = (q3 - r0) * d;
              n3 = root;
              a3 = aRoot;
            }
          }
          // The other lanes finish their rows one by one.
          if (q0 >= 0) addLeaf(out, q0 * K, K, leaf[finish(nodes, codes, b0, n0)], proba);
          if (q1 >= 0) addLeaf(out, q1 * K, K, leaf[finish(nodes, codes, b1, n1)], proba);
          if (q2 >= 0) addLeaf(out, q2 * K, K, leaf[finish(nodes, codes, b2, n2)], proba);
          if (q3 >= 0) addLeaf(out, q3 * K, K, leaf[finish(nodes, codes, b3, n3)], proba);
          r = r1;
        }
        for (; r < r1; r++) {
          const base = (r - r0) * d;
          let node = root;
          let a = nodes[node * 2];
          while (a >= 0) {
            node = codes[base + (a & 0xffff)] <= a >> 16 ? node + 1 : nodes[node * 2 + 1];
            a = nodes[node * 2];
          }
          addLeaf(out, r * K, K, leaf[node], proba);
        }
      }
    }
  }

  /** The float walk, for forests with too many distinct thresholds to code. */
  private accumulateRaw(x: Float64Array, rows: number, out: Float64Array, from: number, to: number): void {
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

/**
 * The number of sorted cuts strictly below v, without data-dependent branches: the loop runs
 * log2(length) times whatever v is, and each step is a select, so coding a row mispredicts nothing.
 */
function countBelow(cuts: Float64Array, v: number): number {
  let n = cuts.length;
  if (n === 0) return 0;
  let base = 0;
  while (n > 1) {
    const half = n >>> 1;
    base += half & -(cuts[base + half - 1] < v);
    n -= half;
  }
  return base + +(cuts[base] < v);
}

/** The number of sorted cuts strictly below v (binary search). */
function lowerBound(cuts: Float64Array, v: number): number {
  let lo = 0;
  let hi = cuts.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (cuts[mid] < v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Walk from `node` to its leaf for the row coded at `base`. */
function finish(nodes: Int32Array, codes: Uint16Array, base: number, node: number): number {
  let a = nodes[node * 2];
  while (a >= 0) {
    node = codes[base + (a & 0xffff)] <= a >> 16 ? node + 1 : nodes[node * 2 + 1];
    a = nodes[node * 2];
  }
  return node;
}

/** Add one leaf's distribution to a row's sums: a pure leaf (value ≥ 0) adds 1 to its class. */
function addLeaf(out: Float64Array, o: number, K: number, value: number, proba: Float64Array): void {
  if (value >= 0) out[o + value] += 1;
  else for (let k = 0, p = -1 - value; k < K; k++) out[o + k] += proba[p + k];
}

/** Mean depth of the leaves over all trees (pre-order layout: a split's left child is the next node). */
function meanLeafDepth(forest: FlatForestArrays): number {
  let leaves = 0;
  let depthSum = 0;
  const stack: number[] = [];
  for (let t = 0; t < forest.roots.length; t++) {
    stack.push(forest.roots[t], 0);
    while (stack.length > 0) {
      const depth = stack.pop()!;
      const node = stack.pop()!;
      if (forest.feature[node] < 0) {
        leaves++;
        depthSum += depth;
      } else {
        stack.push(node + 1, depth + 1, forest.right[node], depth + 1);
      }
    }
  }
  return leaves > 0 ? depthSum / leaves : 0;
}
