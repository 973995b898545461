/**
 * Feature binning for histogram splits: each feature's values are mapped to at most 256 ordered
 * bins (one per distinct value when there are that few, quantile bins otherwise). Trees search
 * splits over bins, which costs O(rows) per node instead of a sort, and place each threshold
 * half-way between the largest value left and the smallest value right, as scikit-learn does.
 */

/** Most bins per feature (bins are stored as bytes). */
export const MAX_BINS = 256;

/** Binned training data, column-major, shareable with worker threads. */
export interface BinnedData {
  readonly rows: number;
  readonly features: number;
  /** `bins[f * rows + i]`: bin of row i for feature f. */
  readonly bins: Uint8Array;
  /** Number of bins per feature. */
  readonly binCount: Int32Array;
  /** `binMin[f * MAX_BINS + b]`: smallest training value in bin b of feature f. */
  readonly binMin: Float64Array;
  /** `binMax[f * MAX_BINS + b]`: largest training value in bin b of feature f. */
  readonly binMax: Float64Array;
}

function shared(bytes: number): SharedArrayBuffer {
  return new SharedArrayBuffer(Math.max(8, bytes));
}

/**
 * Bin a row-major matrix of `rows` × `features` values. NaN sorts after every number and lands in
 * the last bin, which is also where it goes at prediction time (`NaN <= t` is false).
 */
export function binMatrix(x: Float64Array, rows: number, features: number): BinnedData {
  if (x.length !== rows * features) throw new RangeError(`matrix has ${x.length} values, expected ${rows} × ${features}`);
  const bins = new Uint8Array(shared(rows * features));
  const binCount = new Int32Array(shared(features * 4));
  const binMin = new Float64Array(shared(features * MAX_BINS * 8));
  const binMax = new Float64Array(shared(features * MAX_BINS * 8));
  const column = new Float64Array(rows);
  const sorted = new Float64Array(rows);
  const upper = new Float64Array(MAX_BINS);
  for (let f = 0; f < features; f++) {
    for (let i = 0; i < rows; i++) column[i] = x[i * features + f];
    sorted.set(column);
    sorted.sort();
    // Greedy quantile cut: close a bin once it holds its share of rows and the value changes.
    let nb = 0;
    let distinct = 0;
    for (let i = 0; i < rows; i++) if (i === 0 || !sameValue(sorted[i], sorted[i - 1])) distinct++;
    if (distinct <= MAX_BINS) {
      for (let i = 0; i < rows; i++) if (i === rows - 1 || !sameValue(sorted[i], sorted[i + 1])) upper[nb++] = sorted[i];
    } else {
      let start = 0;
      for (let i = 0; i < rows; i++) {
        const last = i === rows - 1 || !sameValue(sorted[i], sorted[i + 1]);
        if (!last) continue;
        const remainingBins = MAX_BINS - nb;
        const share = (rows - start) / remainingBins;
        if (i + 1 - start >= share || i === rows - 1 || remainingBins === 1) {
          upper[nb++] = remainingBins === 1 ? sorted[rows - 1] : sorted[i];
          start = i + 1;
          if (remainingBins === 1) break;
        }
      }
    }
    if (nb === 0) nb = 1;
    binCount[f] = nb;
    const base = f * MAX_BINS;
    for (let b = 0; b < nb; b++) {
      binMin[base + b] = Infinity;
      binMax[base + b] = -Infinity;
    }
    const out = f * rows;
    for (let i = 0; i < rows; i++) {
      const v = column[i];
      const b = v !== v ? nb - 1 : findBin(upper, nb, v);
      bins[out + i] = b;
      if (v < binMin[base + b] || binMin[base + b] !== binMin[base + b]) binMin[base + b] = v;
      if (v > binMax[base + b] || binMax[base + b] !== binMax[base + b]) binMax[base + b] = v;
    }
  }
  return { rows, features, bins, binCount, binMin, binMax };
}

function sameValue(a: number, b: number): boolean {
  return a === b || (a !== a && b !== b);
}

/** First bin whose upper edge is ≥ v (binary search). */
function findBin(upper: Float64Array, nb: number, v: number): number {
  let lo = 0;
  let hi = nb - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (upper[mid] >= v) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}
