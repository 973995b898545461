/**
 * Largest-remainder apportionment: split an integer total into integer parts proportional to
 * integer weights, so that the parts add up to the total exactly. RAMA uses it to split a score's
 * lost hundredths of a point among the factors that caused them.
 */

/**
 * Parts of `total` (a non-negative integer) proportional to `weights` (non-negative integers).
 * Each part is the floor of its exact share; the leftover units go to the largest remainders,
 * ties to the lower index, so the result depends only on the inputs.
 * @example apportion(10, [1, 1, 1]) // [4, 3, 3]
 */
export function apportion(total: number, weights: readonly number[]): number[] {
  if (!Number.isSafeInteger(total) || total < 0) throw new RangeError(`apportion: invalid total: ${total}`);
  const n = weights.length;
  const parts = new Array<number>(n).fill(0);
  let sum = 0;
  for (const w of weights) {
    if (!Number.isSafeInteger(w) || w < 0) throw new RangeError(`apportion: invalid weight: ${w}`);
    sum += w;
  }
  if (total === 0) return parts;
  if (sum === 0) throw new RangeError(`apportion: ${total} to share but every weight is 0`);
  // total ≤ 10^4 and sum ≤ ~10^9 in RAMA, so total·w stays an exact integer; larger inputs use BigInt.
  const exact = Number.isSafeInteger(total * sum);
  const remainders = new Array<number>(n);
  let given = 0;
  for (let i = 0; i < n; i++) {
    let q: number;
    let r: number;
    if (exact) {
      const p = total * weights[i];
      q = Math.floor(p / sum);
      r = p - q * sum;
    } else {
      const p = BigInt(total) * BigInt(weights[i]);
      q = Number(p / BigInt(sum));
      r = Number(p % BigInt(sum));
    }
    parts[i] = q;
    remainders[i] = r;
    given += q;
  }
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => remainders[b] - remainders[a] || a - b);
  for (let k = 0; given < total; k++, given++) parts[order[k]]++;
  return parts;
}
