/**
 * Import of `ml-random-forest` classifiers (`RandomForestClassifier#toJSON()`), so users of ml.js
 * bring their models. ml.js trees test `x[column] < value` on each tree's own feature subset
 * (`indexes[t]`) and the forest votes each tree's majority class; the import maps columns back to
 * the full feature list, turns `<` into `<=` the next double down, and gives each leaf its
 * majority class, so the imported forest predicts what ml.js predicts.
 */
import { ErrorCode, UserError } from '../../pipeline/errors.ts';
import { FlatForest } from './flat-forest.ts';
import type { TreeArrays } from './tree-train.ts';

interface MlNode {
  splitValue?: number;
  splitColumn?: number;
  left?: MlNode;
  right?: MlNode;
  distribution?: number[][] | { data?: number[][] } | number[];
}

interface MlForestBase {
  isClassifier?: boolean;
  indexes?: number[][];
  estimators?: { root?: MlNode; name?: string }[];
}

interface MlForestJson extends MlForestBase {
  name?: string;
  baseModel?: MlForestBase;
}

/** The largest double below v (so `x < v` is `x <= previousDouble(v)`). */
export function previousDouble(v: number): number {
  if (v !== v || v === -Infinity) return v;
  if (v === 0) return -Number.MIN_VALUE;
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, v);
  const bits = view.getBigUint64(0);
  view.setBigUint64(0, v > 0 ? bits - 1n : bits + 1n);
  return view.getFloat64(0);
}

function distributionOf(node: MlNode): number[] {
  const d = node.distribution;
  if (Array.isArray(d)) return Array.isArray(d[0]) ? (d[0] as number[]) : (d as number[]);
  if (d && Array.isArray(d.data)) return d.data[0];
  throw new Error('leaf without a distribution');
}

/**
 * Convert an ml-random-forest classifier JSON into a FlatForest over `features` columns with
 * `classes` classes (ml.js labels are class indices 0 … classes-1).
 */
export function importMlRandomForest(json: unknown, features: number, classes?: number, input = '<ml.js model>'): FlatForest {
  const outer = json as MlForestJson;
  // toJSON() nests the forest under baseModel; accept the flat form too.
  const model: MlForestBase | undefined = outer?.baseModel ?? outer;
  if (!outer || outer.name !== 'RFClassifier' || !model || !Array.isArray(model.estimators) || !Array.isArray(model.indexes) || model.isClassifier === false) {
    throw new UserError(ErrorCode.MODEL_INVALID, `${input}: not an ml-random-forest classifier (expected name 'RFClassifier' with estimators and indexes)`);
  }
  const estimators = model.estimators;
  const indexes = model.indexes;
  // Find the number of classes from the leaves when not given.
  let K = classes ?? 0;
  const walk = (n: MlNode, visit: (n: MlNode) => void) => {
    visit(n);
    if (n.left) walk(n.left, visit);
    if (n.right) walk(n.right, visit);
  };
  if (!classes) for (const e of estimators) if (e.root) walk(e.root, (n) => {
    if (!n.left && !n.right) K = Math.max(K, distributionOf(n).length);
  });
  if (K < 1) throw new UserError(ErrorCode.MODEL_INVALID, `${input}: no classes found in the leaves`);
  try {
    const trees: TreeArrays[] = estimators.map((e, t) => {
      if (!e.root) throw new Error(`tree ${t} has no root`);
      const cols = indexes[t];
      const feature: number[] = [];
      const threshold: number[] = [];
      const right: number[] = [];
      const emit = (n: MlNode): number => {
        const id = feature.length;
        feature.push(0);
        threshold.push(0);
        right.push(0);
        if (n.left && n.right) {
          const col = cols[n.splitColumn ?? -1];
          if (col === undefined || col < 0 || col >= features) throw new Error(`tree ${t} splits on column ${n.splitColumn}, outside the ${features} features`);
          feature[id] = col;
          threshold[id] = previousDouble(n.splitValue ?? NaN);
          emit(n.left);
          right[id] = emit(n.right);
        } else {
          const dist = distributionOf(n);
          let best = 0;
          for (let k = 1; k < dist.length; k++) if (dist[k] > dist[best]) best = k;
          if (best >= K) throw new Error(`tree ${t} has a leaf of class ${best}, beyond ${K} classes`);
          feature[id] = -1;
          right[id] = best;
        }
        return id;
      };
      emit(e.root);
      return { feature: Int32Array.from(feature), threshold: Float64Array.from(threshold), right: Int32Array.from(right), proba: new Float64Array(0), importance: new Float64Array(features) };
    });
    return FlatForest.fromTrees(trees, K, features);
  } catch (error) {
    if (error instanceof UserError) throw error;
    throw new UserError(ErrorCode.MODEL_INVALID, `${input}: cannot import: ${(error as Error).message}`, { cause: error });
  }
}
