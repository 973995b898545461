/**
 * Leakage check: how well one column alone separates the classes. For every column (identifiers
 * included) the rows are put in at most 32 bins (distinct values, or quantiles of a numeric
 * column); each bin predicts its majority class; the score is the balanced accuracy of that rule.
 * A score near 1 means the column gives the label away, as `SrcMac` does in WUSTL-EHMS-2020.
 */

/** Bins per column in the check: few enough that an id-like column cannot memorise rows. */
const MAX_GROUPS = 32;

/** Balanced accuracy at or above which a column is reported as separating the classes. */
export const LEAK_THRESHOLD = 0.98;

/** One column's result. */
export interface LeakScore {
  readonly column: string;
  /** Balanced accuracy of the one-column rule (1 / classes is chance). */
  readonly score: number;
  readonly leaks: boolean;
}

/**
 * Score one column: `values` are numbers (numeric column) or strings (categorical); `y` are class
 * codes. Returns null for a categorical column with more than 32 values (an id; no rule to learn).
 */
export function separability(values: ArrayLike<number> | readonly string[], y: Uint8Array, classes: number): number | null {
  const n = y.length;
  if (n === 0) return null;
  const groups = new Int32Array(n);
  let groupCount: number;
  if (typeof values[0] === 'string') {
    const ids = new Map<string, number>();
    for (let i = 0; i < n; i++) {
      const v = values[i] as string;
      let id = ids.get(v);
      if (id === undefined) {
        id = ids.size;
        ids.set(v, id);
        if (ids.size > MAX_GROUPS) return null;
      }
      groups[i] = id;
    }
    groupCount = ids.size;
  } else {
    const nums = values as ArrayLike<number>;
    const sorted = Float64Array.from({ length: n }, (_, i) => nums[i]).sort();
    const distinct: number[] = [];
    for (let i = 0; i < n && distinct.length <= MAX_GROUPS; i++) if (i === 0 || sorted[i] !== sorted[i - 1]) distinct.push(sorted[i]);
    const edges: number[] = [];
    if (distinct.length <= MAX_GROUPS) edges.push(...distinct);
    else for (let g = 1; g <= MAX_GROUPS; g++) edges.push(sorted[Math.min(n - 1, Math.ceil((g * n) / MAX_GROUPS) - 1)]);
    for (let i = 0; i < n; i++) {
      const v = nums[i];
      let lo = 0;
      let hi = edges.length - 1;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (edges[mid] >= v) hi = mid;
        else lo = mid + 1;
      }
      groups[i] = lo;
    }
    groupCount = edges.length;
  }
  const table = new Float64Array(groupCount * classes);
  const perClass = new Float64Array(classes);
  for (let i = 0; i < n; i++) {
    table[groups[i] * classes + y[i]]++;
    perClass[y[i]]++;
  }
  const correct = new Float64Array(classes);
  for (let g = 0; g < groupCount; g++) {
    let best = 0;
    for (let k = 1; k < classes; k++) if (table[g * classes + k] > table[g * classes + best]) best = k;
    correct[best] += table[g * classes + best];
  }
  let sum = 0;
  let present = 0;
  for (let k = 0; k < classes; k++) {
    if (perClass[k] === 0) continue;
    sum += correct[k] / perClass[k];
    present++;
  }
  return present > 0 ? sum / present : null;
}
