/**
 * CART training of one classification tree over binned data: bootstrap weights, a random subset
 * of features per node (drawn like scikit-learn: constant features do not count towards
 * max-features), Gini or entropy, max depth, min samples to split and per leaf, class weights.
 * Nodes are written in pre-order (the left child of node i is i + 1), so a tree is three flat
 * typed arrays and prediction never chases objects.
 */
import { MAX_BINS, type BinnedData } from './bins.ts';
import { Rng } from './rng.ts';

/** How each tree grows. */
export interface TreeParams {
  readonly criterion: 'gini' | 'entropy';
  /** Features tried per node (1 … features). */
  readonly maxFeatures: number;
  /** Deepest level (root = 0); 0 for no limit. */
  readonly maxDepth: number;
  readonly minSamplesSplit: number;
  readonly minSamplesLeaf: number;
  readonly bootstrap: boolean;
}

/** One trained tree as flat arrays (see FlatForest for the encoding). */
export interface TreeArrays {
  /** Split feature, or -1 for a pure leaf (right = class), -2 for a mixed leaf (right = offset in proba). */
  readonly feature: Int32Array;
  readonly threshold: Float64Array;
  readonly right: Int32Array;
  /** Class distributions of mixed leaves, `classes` values each. */
  readonly proba: Float64Array;
  /** Weighted impurity decrease per feature (not normalised). */
  readonly importance: Float64Array;
}

/** Labels and weights the trees learn from. */
export interface TrainingTargets {
  /** Class index per row (0 … classes-1). */
  readonly y: Uint8Array;
  readonly classes: number;
  /** Weight per class (1 everywhere for unweighted training). */
  readonly classWeight: Float64Array;
}

/** The bootstrap draw counts of one tree: the same function serves training and the out-of-bag score. */
export function bootstrapCounts(rows: number, seed: number, tree: number, bootstrap: boolean): Uint16Array {
  const counts = new Uint16Array(rows);
  if (!bootstrap) {
    counts.fill(1);
    return counts;
  }
  const rng = new Rng(seed, tree * 2);
  for (let i = 0; i < rows; i++) counts[rng.int(rows)]++;
  return counts;
}

function xlogx(v: number): number {
  return v > 0 ? v * Math.log(v) : 0;
}

class Growable {
  feature = new Int32Array(256);
  threshold = new Float64Array(256);
  right = new Int32Array(256);
  proba: Float64Array;
  size = 0;
  probaSize = 0;
  constructor(readonly classes: number) {
    this.proba = new Float64Array(64 * classes);
  }
  add(): number {
    if (this.size === this.feature.length) {
      const cap = this.size * 2;
      const f = new Int32Array(cap);
      f.set(this.feature);
      this.feature = f;
      const t = new Float64Array(cap);
      t.set(this.threshold);
      this.threshold = t;
      const r = new Int32Array(cap);
      r.set(this.right);
      this.right = r;
    }
    return this.size++;
  }
  addProba(): number {
    if (this.probaSize + this.classes > this.proba.length) {
      const p = new Float64Array(this.proba.length * 2);
      p.set(this.proba);
      this.proba = p;
    }
    const at = this.probaSize;
    this.probaSize += this.classes;
    return at;
  }
}

/** Grow one tree. `seed` and `tree` fix every random choice, so the result is reproducible. */
export function trainTree(data: BinnedData, targets: TrainingTargets, params: TreeParams, seed: number, tree: number): TreeArrays {
  const { rows, features, bins, binCount, binMin, binMax } = data;
  const { y, classes: K, classWeight } = targets;
  const counts = bootstrapCounts(rows, seed, tree, params.bootstrap);
  const rng = new Rng(seed, tree * 2 + 1);
  const gini = params.criterion === 'gini';
  const maxDepth = params.maxDepth > 0 ? params.maxDepth : Infinity;
  const msl = Math.max(1, params.minSamplesLeaf);
  const mss = Math.max(2, params.minSamplesSplit, 2 * msl);
  const mtry = Math.min(features, Math.max(1, params.maxFeatures));

  // Samples in the bag, with their weights (bootstrap count × class weight).
  let m = 0;
  for (let i = 0; i < rows; i++) if (counts[i] > 0) m++;
  const idx = new Int32Array(m);
  const w = new Float64Array(rows);
  for (let i = 0, j = 0; i < rows; i++) {
    if (counts[i] > 0) {
      idx[j++] = i;
      w[i] = counts[i] * classWeight[y[i]];
    }
  }

  const out = new Growable(K);
  const importance = new Float64Array(features);
  const perm = new Int32Array(features);
  const hist = new Float64Array(MAX_BINS * K);
  const hcnt = new Int32Array(MAX_BINS);
  const tot = new Float64Array(K);
  const local = new Int32Array(K);
  const globalOf = new Int32Array(K);
  const left = new Float64Array(K);
  const keys = new Int32Array(m);
  const scratch = new Int32Array(m);

  // Features found constant in a node are constant in all its descendants (as scikit-learn
  // tracks them): each pending node keeps its flags in a pool slot matching its stack position.
  let constPool = new Uint8Array(64 * features);
  const nodeConst = new Uint8Array(features);
  // Explicit stack of pending nodes: start, end, depth, parent (-1 root), isRight.
  const stack: number[] = [0, m, 0, -1, 0];
  while (stack.length > 0) {
    const slot = stack.length / 5 - 1;
    nodeConst.set(constPool.subarray(slot * features, (slot + 1) * features));
    const isRight = stack.pop()!;
    const parent = stack.pop()!;
    const depth = stack.pop()!;
    const end = stack.pop()!;
    const start = stack.pop()!;
    const node = out.add();
    if (isRight) out.right[parent] = node;
    const n = end - start;

    tot.fill(0);
    let W = 0;
    for (let i = start; i < end; i++) {
      const s = idx[i];
      tot[y[s]] += w[s];
      W += w[s];
    }
    // Classes present in the node, numbered locally so histograms have only their columns.
    let present = 0;
    let only = 0;
    for (let k = 0; k < K; k++) {
      if (tot[k] > 0) {
        local[k] = present;
        globalOf[present++] = k;
        only = k;
      }
    }
    const Kp = present;
    const nLogN = n * (32 - Math.clz32(n));

    let bestFeature = -1;
    let bestBin = -1;
    let bestThreshold = 0;
    let bestProxy = -Infinity;
    if (present > 1 && n >= mss && depth < maxDepth) {
      for (let f = 0; f < features; f++) perm[f] = f;
      let visited = 0;
      let counted = 0;
      while (visited < features && counted < mtry) {
        const j = visited + rng.int(features - visited);
        const f = perm[j];
        perm[j] = perm[visited];
        perm[visited] = f;
        visited++;
        const nb = binCount[f];
        if (nb < 2 || nodeConst[f]) continue;
        const fo = f * rows;
        const mb = f * MAX_BINS;
        left.fill(0);
        let wL = 0;
        let nL = 0;
        let sqL = 0;
        let sqR = 0;
        let eL = 0;
        let eR = 0;
        // The bin range in the node: found by a pre-scan where the path depends on it, else while
        // building the histogram. A constant feature is remembered for the node's descendants.
        let lo = MAX_BINS;
        let hi = -1;
        const surelyDense = nb * Kp <= nLogN;
        if (!surelyDense) {
          for (let i = start; i < end; i++) {
            const b = bins[fo + idx[i]];
            if (b < lo) lo = b;
            if (b > hi) hi = b;
          }
          if (lo === hi) {
            nodeConst[f] = 1;
            continue;
          }
        }
        counted++;
        if (gini) for (let k = 0; k < K; k++) sqR += tot[k] * tot[k];
        else for (let k = 0; k < K; k++) eR += xlogx(tot[k]);
        // Sparse path (sort the node's samples by bin) when that is cheaper than a histogram over the range.
        if (!surelyDense && (hi - lo + 1) * Kp > nLogN) {
          for (let i = start, j2 = 0; i < end; i++, j2++) keys[j2] = (bins[fo + idx[i]] << 23) | j2;
          const view = keys.subarray(0, n);
          view.sort();
          let prevBin = view[0] >>> 23;
          for (let q = 0; q < n; q++) {
            const key = view[q];
            const b = key >>> 23;
            if (b !== prevBin) {
              if (nL >= msl && n - nL >= msl) {
                const wR = W - wL;
                const proxy = gini ? sqL / wL + sqR / wR : eL - xlogx(wL) + eR - xlogx(wR);
                if (proxy > bestProxy) {
                  bestProxy = proxy;
                  bestFeature = f;
                  bestBin = prevBin;
                  bestThreshold = midpoint(binMax[mb + prevBin], binMin[mb + b]);
                }
              }
              prevBin = b;
            }
            const s = idx[start + (key & 0x7fffff)];
            const k = y[s];
            const h = w[s];
            const c = left[k];
            const r = tot[k] - c;
            if (gini) {
              sqL += h * (2 * c + h);
              sqR += h * (h - 2 * r);
            } else {
              eL += xlogx(c + h) - xlogx(c);
              eR += xlogx(r - h) - xlogx(r);
            }
            left[k] = c + h;
            wL += h;
            nL++;
          }
        } else {
          // Dense path: a histogram over (bin, class present in the node).
          for (let i = start; i < end; i++) {
            const s = idx[i];
            const b = bins[fo + s];
            hist[b * Kp + local[y[s]]] += w[s];
            hcnt[b]++;
            if (b < lo) lo = b;
            if (b > hi) hi = b;
          }
          if (lo === hi) {
            hist.fill(0, lo * Kp, (lo + 1) * Kp);
            hcnt[lo] = 0;
            nodeConst[f] = 1;
            counted--;
            continue;
          }
          let prevBin = -1;
          for (let b = lo; b <= hi; b++) {
            const cb = hcnt[b];
            if (cb === 0) continue;
            if (prevBin >= 0) {
              if (nL >= msl && n - nL >= msl) {
                const wR = W - wL;
                const proxy = gini ? sqL / wL + sqR / wR : eL - xlogx(wL) + eR - xlogx(wR);
                if (proxy > bestProxy) {
                  bestProxy = proxy;
                  bestFeature = f;
                  bestBin = prevBin;
                  bestThreshold = midpoint(binMax[mb + prevBin], binMin[mb + b]);
                }
              }
            }
            const hb = b * Kp;
            for (let q = 0; q < Kp; q++) {
              const h = hist[hb + q];
              if (h === 0) continue;
              hist[hb + q] = 0;
              const k = globalOf[q];
              const c = left[k];
              const r = tot[k] - c;
              if (gini) {
                sqL += h * (2 * c + h);
                sqR += h * (h - 2 * r);
              } else {
                eL += xlogx(c + h) - xlogx(c);
                eR += xlogx(r - h) - xlogx(r);
              }
              left[k] = c + h;
              wL += h;
            }
            nL += cb;
            hcnt[b] = 0;
            prevBin = b;
          }
        }
      }
    }

    if (bestFeature < 0) {
      // Leaf: pure leaves store their class, mixed ones their weighted class distribution.
      if (present <= 1) {
        out.feature[node] = -1;
        out.right[node] = only;
      } else {
        const at = out.addProba();
        for (let k = 0; k < K; k++) out.proba[at + k] = tot[k] / W;
        out.feature[node] = -2;
        out.right[node] = at;
      }
      continue;
    }

    // Impurity decrease for the importance (weighted, as scikit-learn's mean decrease in impurity).
    let parentProxy = 0;
    if (gini) {
      for (let k = 0; k < K; k++) parentProxy += tot[k] * tot[k];
      parentProxy /= W;
    } else {
      for (let k = 0; k < K; k++) parentProxy += xlogx(tot[k]);
      parentProxy -= xlogx(W);
    }
    importance[bestFeature] += bestProxy - parentProxy;

    out.feature[node] = bestFeature;
    out.threshold[node] = bestThreshold;
    // Partition: rows with bin ≤ bestBin go left (stable, through the scratch buffer).
    const fo = bestFeature * rows;
    let l = start;
    let r = 0;
    for (let i = start; i < end; i++) {
      const s = idx[i];
      if (bins[fo + s] <= bestBin) idx[l++] = s;
      else scratch[r++] = s;
    }
    idx.set(scratch.subarray(0, r), l);
    // Both children inherit this node's constant features, in the two slots they take on the stack.
    const childSlot = stack.length / 5;
    if ((childSlot + 2) * features > constPool.length) {
      const grown = new Uint8Array(constPool.length * 2);
      grown.set(constPool);
      constPool = grown;
    }
    constPool.set(nodeConst, childSlot * features);
    constPool.set(nodeConst, (childSlot + 1) * features);
    stack.push(l, end, depth + 1, node, 1);
    stack.push(start, l, depth + 1, node, 0);
  }

  return {
    feature: out.feature.slice(0, out.size),
    threshold: out.threshold.slice(0, out.size),
    right: out.right.slice(0, out.size),
    proba: out.proba.slice(0, out.probaSize),
    importance,
  };
}

/** The threshold between two adjacent values: half-way, or the lower one where rounding would reach the upper. */
function midpoint(a: number, b: number): number {
  const t = a / 2 + b / 2;
  return t >= b || !Number.isFinite(t) ? a : t;
}
