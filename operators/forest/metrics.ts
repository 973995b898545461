/**
 * Classification metrics, computed as scikit-learn does: accuracy, per-class precision / recall /
 * F1 / support, macro-F1 over the classes present in the truth or the predictions, the confusion
 * matrix (rows = truth, columns = prediction) and, for two classes, ROC AUC from probabilities.
 */

/** Precision, recall, F1 and support of one class. */
export interface ClassScore {
  readonly precision: number;
  readonly recall: number;
  readonly f1: number;
  readonly support: number;
}

/** The `heir eval --json` report. */
export interface EvalReport {
  readonly accuracy: number;
  readonly macroF1: number;
  readonly perClass: Readonly<Record<string, ClassScore>>;
  /** confusion[truth][predicted], in `classes` order. */
  readonly confusion: readonly (readonly number[])[];
  readonly classes: readonly string[];
  readonly rows: number;
  /** ROC AUC of the second class against the first (binary targets only). */
  readonly rocAuc?: number;
}

/** Score predictions `pred` against `truth` (class codes into `classes`). */
export function evaluate(truth: ArrayLike<number>, pred: ArrayLike<number>, classes: readonly string[], proba?: Float64Array): EvalReport {
  const K = classes.length;
  const n = truth.length;
  if (pred.length !== n) throw new RangeError(`${pred.length} predictions for ${n} rows`);
  const confusion = Array.from({ length: K }, () => new Array<number>(K).fill(0));
  let correct = 0;
  for (let i = 0; i < n; i++) {
    confusion[truth[i]][pred[i]]++;
    if (truth[i] === pred[i]) correct++;
  }
  const perClass: Record<string, ClassScore> = {};
  let f1Sum = 0;
  let present = 0;
  for (let k = 0; k < K; k++) {
    let tp = confusion[k][k];
    let predicted = 0;
    let support = 0;
    for (let j = 0; j < K; j++) {
      predicted += confusion[j][k];
      support += confusion[k][j];
    }
    const precision = predicted > 0 ? tp / predicted : 0;
    const recall = support > 0 ? tp / support : 0;
    const f1 = precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : 0;
    perClass[classes[k]] = { precision, recall, f1, support };
    if (support > 0 || predicted > 0) {
      f1Sum += f1;
      present++;
    }
    tp = 0;
  }
  const report: EvalReport = { accuracy: n > 0 ? correct / n : 0, macroF1: present > 0 ? f1Sum / present : 0, perClass, confusion, classes, rows: n };
  if (K === 2 && proba) return { ...report, rocAuc: rocAuc(truth, proba, 2) };
  return report;
}

/** ROC AUC of class 1 vs class 0, from `rows × classes` probabilities (ties count half). */
export function rocAuc(truth: ArrayLike<number>, proba: Float64Array, classes: number): number {
  const n = truth.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => proba[a * classes + 1] - proba[b * classes + 1]);
  let pos = 0;
  for (let i = 0; i < n; i++) if (truth[i] === 1) pos++;
  const neg = n - pos;
  if (pos === 0 || neg === 0) return NaN;
  // Mann–Whitney U with average ranks over ties.
  let rankSum = 0;
  for (let i = 0; i < n; ) {
    let j = i;
    const v = proba[order[i] * classes + 1];
    while (j < n && proba[order[j] * classes + 1] === v) j++;
    const avg = (i + 1 + j) / 2;
    for (let q = i; q < j; q++) if (truth[order[q]] === 1) rankSum += avg;
    i = j;
  }
  return (rankSum - (pos * (pos + 1)) / 2) / (pos * neg);
}
