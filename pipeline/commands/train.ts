import type { Command } from '../command.ts';
import { numberFlag, parseArgs, stringFlag, usageError } from '../command.ts';
import type { ForestOptions } from '../../operators/forest/train-forest.ts';

const USAGE = `usage: heir train --dataset NAME --out FILE [options]
       heir train --lab DIR [--lab DIR …] [--feature-set flow|cic-window|device] --out FILE [forest options]

Trains a random forest on a dataset (cleaned, identifier/artefact/constant columns dropped), scores
it on the held-out side of the split, and writes one model file with the trees and their
provenance (features, classes, threat mapping, dataset and cleaning, training data hash, split,
metrics, seed).
  --dataset NAME          wustl-ehms-2020 | ciciomt2024
  --lab DIR               a lab run (heir lab record; repeatable): train on all its rows, labelled by
                          class, featurized as the pipeline does live; score a held-out run with
                          heir lab eval
  --feature-set S         with --lab: flow (default; per flow, for featurize-flow + classify),
                          cic-window (packet windows) or device (per-device windows)
  --out FILE              model file to write (for example model.heir)
  --target T              binary (default) | category | class
  --split S               stratified (default) | temporal | grouped (by capture)
  --test-fraction F       share of rows held out (default 0.3)
  --trees N               number of trees (default 100)
  --seed N                seed of every random choice (default 1): same seed, same model
  --threads N             worker threads (default 1); does not change the model
  --max-depth N           deepest level, 0 = unlimited (default 0)
  --max-features V        sqrt (default) | log2 | all | a fraction | a count
  --min-samples-leaf N    (default 1)
  --min-samples-split N   (default 2)
  --criterion C           gini (default) | entropy
  --class-weight balanced weigh classes inversely to their frequency
  --keep COLUMN           keep an identifier/artefact column as a feature (repeatable)
  --data-dir DIR          where the datasets are (default ../shared/datasets)
  --sample                train on the committed sample
  --json                  print the test report as JSON
  --quiet                 no progress bar`;

/** `heir train`: train a forest on a dataset and write the model file. */
export const command: Command = {
  name: 'train',
  summary: 'train a random-forest threat classifier on a dataset and write the model file',
  usage: USAGE,
  async run(argv) {
    const args = parseArgs('train', argv, {
      dataset: 'string', out: 'string', target: 'string', split: 'string', 'test-fraction': 'string', trees: 'string', seed: 'string',
      threads: 'string', 'max-depth': 'string', 'max-features': 'string', 'min-samples-leaf': 'string', 'min-samples-split': 'string',
      criterion: 'string', 'class-weight': 'string', keep: 'multiple', lab: 'multiple', 'feature-set': 'string', 'data-dir': 'string', sample: 'boolean', json: 'boolean', quiet: 'boolean',
    });
    if (args.positionals.length) usageError('train', `unexpected argument ${args.positionals[0]}`);
    const dataset = stringFlag(args, 'dataset');
    const out = stringFlag(args, 'out');
    const labDirs = (args.flags.lab as string[] | undefined) ?? [];
    if (labDirs.length > 0 && dataset) usageError('train', 'give --dataset NAME or --lab DIR, not both');
    if (labDirs.length === 0 && args.flags['feature-set'] !== undefined) usageError('train', '--feature-set applies to --lab');
    if (!dataset && labDirs.length === 0) usageError('train', '--dataset NAME or --lab DIR is required');
    if (!out) usageError('train', '--out FILE is required');
    const target = stringFlag(args, 'target', 'binary')!;
    if (!['binary', 'category', 'class'].includes(target)) usageError('train', `invalid --target ${target} (binary, category, class)`);
    const split = stringFlag(args, 'split', 'stratified')!;
    if (!['stratified', 'temporal', 'grouped'].includes(split)) usageError('train', `invalid --split ${split} (stratified, temporal, grouped)`);
    const criterion = stringFlag(args, 'criterion', 'gini')!;
    if (criterion !== 'gini' && criterion !== 'entropy') usageError('train', `invalid --criterion ${criterion} (gini, entropy)`);
    const classWeight = stringFlag(args, 'class-weight');
    if (classWeight !== undefined && classWeight !== 'balanced') usageError('train', `invalid --class-weight ${classWeight} (balanced)`);
    const mf = stringFlag(args, 'max-features', 'sqrt')!;
    const maxFeatures = mf === 'sqrt' || mf === 'log2' || mf === 'all' ? mf : Number(mf);
    if (typeof maxFeatures === 'number' && !(maxFeatures > 0)) usageError('train', `invalid --max-features ${mf} (sqrt, log2, all, a fraction or a count)`);
    const integer = (name: string, fallback: number, min: number) => {
      const v = numberFlag('train', args, name, fallback, min);
      if (!Number.isInteger(v)) usageError('train', `--${name} must be an integer`);
      return v;
    };
    const forest = {
      trees: integer('trees', 100, 1),
      seed: integer('seed', 1, 0),
      maxDepth: integer('max-depth', 0, 0),
      minSamplesLeaf: integer('min-samples-leaf', 1, 1),
      minSamplesSplit: integer('min-samples-split', 2, 2),
      criterion: criterion as 'gini',
      maxFeatures: maxFeatures as 'sqrt' | number,
      classWeight: classWeight === 'balanced' ? ('balanced' as const) : null,
    };
    const threads = integer('threads', 1, 1);
    if (labDirs.length > 0) return trainLab(labDirs, stringFlag(args, 'feature-set', 'flow')!, out!, forest, threads, args.flags.quiet !== true, args.flags.json === true);
    const testFraction = numberFlag('train', args, 'test-fraction', 0.3, 0.01, 0.99);
    const { trainToFile } = await import('../../datasets/experiment.ts');
    const { progressBar } = await import('../progress.ts');
    const bar = progressBar('trees', { enabled: args.flags.quiet !== true });
    const result = await trainToFile(
      {
        dataset: dataset!, target: target as 'binary', split: split as 'stratified', testFraction, forest, threads,
        keep: (args.flags.keep as string[] | undefined) ?? [], dataDir: stringFlag(args, 'data-dir'), sample: args.flags.sample === true, onProgress: bar,
      },
      out,
    );
    bar.finish();
    const r = result.test;
    if (args.flags.json === true) {
      process.stdout.write(JSON.stringify({ model: out, trainSeconds: result.trainSeconds, oobScore: result.model.meta.metrics?.oobScore ?? null, test: r }, null, 2) + '\n');
      return 0;
    }
    const m = result.model.meta;
    const lines = [
      `trained ${forest.trees} trees on ${result.split.train.length} rows × ${m.features.length} features of ${result.data.name} (${target}, ${split} split) in ${result.trainSeconds.toFixed(2)} s`,
      `dropped columns: ${(m.dataset.dropped ?? []).map((c) => `${c.name} (${c.role})`).join(', ') || 'none'}`,
      `test rows ${r.rows}: accuracy ${r.accuracy.toFixed(4)}, macro-F1 ${r.macroF1.toFixed(4)}${r.rocAuc !== undefined ? `, ROC AUC ${r.rocAuc.toFixed(4)}` : ''}; out-of-bag accuracy ${m.metrics?.oobScore?.toFixed(4) ?? 'n/a'}`,
      `top features: ${Object.entries(m.importance ?? {}).sort((a, b) => b[1] - a[1]).slice(0, 5).map(([f, v]) => `${f} ${v.toFixed(3)}`).join(', ')}`,
      `wrote ${out}`,
    ];
    process.stdout.write(lines.join('\n') + '\n');
    return 0;
  },
};

async function trainLab(dirs: string[], featureSet: string, out: string, forest: Partial<ForestOptions>, threads: number, progress: boolean, json: boolean): Promise<number> {
  if (!['flow', 'cic-window', 'device'].includes(featureSet)) usageError('train', `invalid --feature-set ${featureSet} (flow, cic-window, device)`);
  const { trainLabModel } = await import('../lab/train.ts');
  const { saveModel } = await import('../../operators/forest/model-file.ts');
  const { progressBar } = await import('../progress.ts');
  const bar = progressBar('trees', { enabled: progress });
  const { HeirError, UserError } = await import('../errors.ts');
  let result;
  try {
    result = await trainLabModel(dirs, { featureSet, forest, threads, onProgress: bar });
  } catch (error) {
    // A missing or malformed lab run is the user's to fix: one line, no stack.
    if (error instanceof HeirError && !(error instanceof UserError)) throw new UserError(error.code, error.message, { cause: error });
    throw error;
  } finally {
    bar.finish();
  }
  saveModel(out, result.model);
  const m = result.model.meta;
  if (json) {
    process.stdout.write(JSON.stringify({ model: out, featureSet: `${m.featureSet.name}@${m.featureSet.version}`, rows: result.rows, classes: result.classCounts, trainSeconds: result.trainSeconds, oobScore: m.metrics?.oobScore ?? null }, null, 2) + '\n');
    return 0;
  }
  const lines = [
    `trained ${m.options?.trees} trees on ${result.rows} rows × ${m.features.length} features (${m.featureSet.name}@${m.featureSet.version}) of ${dirs.join(', ')} in ${result.trainSeconds.toFixed(2)} s; out-of-bag accuracy ${m.metrics?.oobScore?.toFixed(4) ?? 'n/a'}`,
    `classes: ${Object.entries(result.classCounts).map(([c, n]) => `${c} ${n}`).join(', ')}`,
    `top features: ${Object.entries(m.importance ?? {}).sort((a, b) => b[1] - a[1]).slice(0, 5).map(([f, v]) => `${f} ${v.toFixed(3)}`).join(', ')}`,
    `wrote ${out}`,
  ];
  process.stdout.write(lines.join('\n') + '\n');
  return 0;
}
