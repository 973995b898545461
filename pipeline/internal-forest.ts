/**
 * The notebook-facing API of threat classification (re-exported by the internal entry): load and
 * describe datasets, split, train, evaluate, importance, model files, the classify operator.
 *
 * @example
 * const data = loadNamed('ciciomt2024');
 * const { model, test } = await trainOnDataset({ dataset: 'ciciomt2024', target: 'category' }, data);
 * console.log(test.macroF1, model.meta.importance);
 */
export type { Dataset, Labels, LoadOptions, CleaningReport, ColumnReport } from '../datasets/load.ts';
export { loadDataset, loadCsv, takeRows } from '../datasets/load.ts';
export type { DatasetAdapter, Target } from '../datasets/adapter.ts';
export { TARGETS } from '../datasets/adapter.ts';
export { ADAPTERS, adapterFor, locateDataset, defaultDataDir } from '../datasets/registry.ts';
export { stratifiedSplit, temporalSplit, groupedSplit, SPLITS, type Split, type SplitKind } from '../datasets/split.ts';
export { separability, LEAK_THRESHOLD, type LeakScore } from '../datasets/leakage.ts';
export { ciciomtClassOf, CICIOMT_CLASSES } from '../datasets/ciciomt.ts';
export { readCsvFile } from '../datasets/csv.ts';
export {
  trainOnDataset, trainToFile, evaluateOnCsv, evaluateOnDataset, loadNamed, splitDataset, scoreRows, argmax,
  type TrainRequest, type TrainResult,
} from '../datasets/experiment.ts';
export { trainForest, DEFAULT_FOREST_OPTIONS, resolveMaxFeatures, type ForestOptions, type TrainedForest } from '../operators/forest/train-forest.ts';
export { FlatForest } from '../operators/forest/flat-forest.ts';
export { evaluate, rocAuc, type EvalReport, type ClassScore } from '../operators/forest/metrics.ts';
export { permutationImportance, type PermutationImportance } from '../operators/forest/importance.ts';
export { saveModel, loadModel, serializeModel, deserializeModel, modelId, trainingHash, type Model, type ModelMeta } from '../operators/forest/model-file.ts';
export { importMlRandomForest } from '../operators/forest/import-mljs.ts';
export { THREAT_MAP, threatOf, threatMapFor, type ThreatTags } from '../operators/threat-map.ts';
export { classifyOperator, classifyFromFile, featureMatrix } from '../operators/classify.ts';
export { DETECTION_COLUMNS, DETECTIONS_SCHEMA, type DetectionRow } from '../operators/detections-schema.ts';
