import type { Command } from '../command.ts';
import { parseArgs, stringFlag, usageError } from '../command.ts';

const USAGE = `usage: heir import-model --mljs FILE --out FILE (--dataset NAME [--target T] | --features A,B,… --classes X,Y,…)

Converts an ml-random-forest classifier (the JSON of RandomForestClassifier#toJSON()) into a HEIR
model file, so models trained with ml.js run in the classify operator and in heir eval. ml.js
labels are class indices: give the class names in index order with --classes, or name a dataset
and target whose class order the model was trained with. The feature columns are the dataset's
features (in the loader's order) or the --features list.
  --mljs FILE        the ml.js model JSON
  --out FILE         model file to write
  --dataset NAME     wustl-ehms-2020 | ciciomt2024 (features, classes, adapter and cleaning)
  --target T         binary (default) | category | class
  --features LIST    comma-separated feature names, in the column order the model was trained on
  --classes LIST     comma-separated class names, in label index order
  --data-dir DIR     where the datasets are
  --sample           read the dataset's committed sample for its features and classes`;

/** `heir import-model`: bring an ml-random-forest model into HEIR. */
export const command: Command = {
  name: 'import-model',
  summary: 'convert an ml-random-forest JSON model into a HEIR model file',
  usage: USAGE,
  async run(argv) {
    const args = parseArgs('import-model', argv, { mljs: 'string', out: 'string', dataset: 'string', target: 'string', features: 'string', classes: 'string', 'data-dir': 'string', sample: 'boolean' });
    if (args.positionals.length) usageError('import-model', `unexpected argument ${args.positionals[0]}`);
    const input = stringFlag(args, 'mljs');
    const out = stringFlag(args, 'out');
    if (!input) usageError('import-model', '--mljs FILE is required');
    if (!out) usageError('import-model', '--out FILE is required');
    const dataset = stringFlag(args, 'dataset');
    const target = stringFlag(args, 'target', 'binary')!;
    if (!['binary', 'category', 'class'].includes(target)) usageError('import-model', `invalid --target ${target} (binary, category, class)`);
    const { readFileSync } = await import('node:fs');
    const { ErrorCode, UserError } = await import('../errors.ts');
    let json: unknown;
    try {
      json = JSON.parse(readFileSync(input, 'utf8'));
    } catch (error) {
      throw new UserError(ErrorCode.MODEL_INVALID, `${input}: not readable JSON (${(error as Error).message})`, { cause: error });
    }
    let features: string[];
    let classes: string[];
    let datasetInfo: { name: string | null; layout: string | null; encodings: Record<string, readonly string[]>; benign: string | null } = { name: null, layout: null, encodings: {}, benign: null };
    if (dataset) {
      const { loadNamed } = await import('../../datasets/experiment.ts');
      const { setWarningSink } = await import('../warn.ts');
      const previous = setWarningSink(null);
      try {
        const data = loadNamed(dataset, { dataDir: stringFlag(args, 'data-dir'), sample: args.flags.sample === true });
        features = [...data.features];
        classes = [...data.targets[target as 'binary'].classes];
        datasetInfo = { name: data.name, layout: data.layout, encodings: data.encodings as Record<string, readonly string[]>, benign: data.benign };
      } finally {
        setWarningSink(previous);
      }
    } else {
      const f = stringFlag(args, 'features');
      const c = stringFlag(args, 'classes');
      if (!f || !c) usageError('import-model', 'give --dataset NAME, or both --features and --classes');
      features = f.split(',').map((s) => s.trim()).filter(Boolean);
      classes = c.split(',').map((s) => s.trim()).filter(Boolean);
      datasetInfo.benign = classes.find((k) => k.toLowerCase() === 'benign' || k.toLowerCase() === 'normal') ?? null;
    }
    const { importMlRandomForest } = await import('../../operators/forest/import-mljs.ts');
    const { saveModel } = await import('../../operators/forest/model-file.ts');
    const { threatMapFor } = await import('../../operators/threat-map.ts');
    const { DATASET_FEATURE_SET_VERSION } = await import('../../datasets/experiment.ts');
    const forest = importMlRandomForest(json, features.length, classes.length, input);
    saveModel(out, {
      forest,
      meta: {
        source: 'ml-random-forest',
        features,
        featureSet: { name: datasetInfo.name ? `${datasetInfo.name}/${datasetInfo.layout}` : 'custom', version: DATASET_FEATURE_SET_VERSION },
        classes,
        benign: datasetInfo.benign,
        threatMap: threatMapFor(classes),
        dataset: { name: datasetInfo.name, layout: datasetInfo.layout, target, keep: [], dropDuplicates: true, encodings: datasetInfo.encodings, file: input },
        trainingDataHash: null,
        split: null,
        metrics: null,
        seed: null,
        options: null,
        importance: null,
      },
    });
    process.stdout.write(`imported ${forest.trees} trees (${forest.nodes} nodes, ${classes.length} classes, ${features.length} features) from ${input}; wrote ${out}\n`);
    return 0;
  },
};
