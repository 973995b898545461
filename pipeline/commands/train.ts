import type { Command } from '../command.ts';
import { numberFlag, parseArgs, stringFlag, usageError } from '../command.ts';

const USAGE = `usage: heir train --dataset NAME --out FILE [options]

Trains a random forest on a dataset (cleaned, identifier/artefact/constant columns dropped), scores
it on the held-out side of the split, and writes one model file with the trees and their
provenance (features, classes, threat mapping, dataset and cleaning, training data hash, split,
metrics, seed).
  --dataset NAME          wustl-ehms-2020 | ciciomt2024
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
      criterion: 'string', 'class-weight': 'string', keep: 'multiple', 'data-dir': 'string', sample: 'boolean', json: 'boolean', quiet: 'boolean',
    });
    if (args.positionals.length) usageError('train', `unexpected argument ${args.positionals[0]}`);
    const dataset = stringFlag(args, 'dataset');
    const out = stringFlag(args, 'out');
    if (!dataset) usageError('train', '--dataset NAME is required');
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
    const testFraction = numberFlag('train', args, 'test-fraction', 0.3, 0.01, 0.99);
    const { trainToFile } = await import('../../datasets/experiment.ts');
    const { progressBar } = await import('../progress.ts');
    const bar = progressBar('trees', { enabled: args.flags.quiet !== true });
    const result = await trainToFile(
      {
        dataset, target: target as 'binary', split: split as 'stratified', testFraction, forest, threads,
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
