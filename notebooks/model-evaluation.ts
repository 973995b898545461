/**
 * Train a small random forest on one split of a dataset and evaluate it honestly: confusion
 * matrix, per-class precision / recall / F1, impurity against permutation importance, and the
 * leakage check of the columns the model could have learned the testbed from.
 */
import * as Plot from '@observablehq/plot';
import { permutationImportance, SPLITS, takeRows, trainOnDataset, type SplitKind, type Target, type TrainResult } from '../pipeline/internal.ts';
import { citationOf } from './citations.ts';
import { md, note, notebook, table, type NotebookContext } from './notebook.ts';

function request(ctx: NotebookContext): { dataset: string; target: Target; split: SplitKind } {
  const target = ctx.params.target;
  if (target !== 'binary' && target !== 'category' && target !== 'class') throw new TypeError(`parameter target=${target}: expected binary, category or class`);
  const split = ctx.params.split as SplitKind;
  if (!SPLITS.includes(split)) throw new TypeError(`parameter split=${split}: expected ${SPLITS.join(', ')}`);
  return { dataset: ctx.params.dataset, target, split };
}

/** The trained model, shared by the cells (trained once per render). */
function trained(ctx: NotebookContext): Promise<TrainResult> {
  return ctx.once('train', async () => {
    const r = request(ctx);
    const data = ctx.data.load(r.dataset, { sample: ctx.booleanParam('sample'), target: r.target });
    return trainOnDataset(
      { ...r, testFraction: ctx.numberParam('test'), forest: { trees: ctx.numberParam('trees'), seed: ctx.numberParam('seed') }, threads: 1 },
      data,
    );
  });
}

export default notebook(
  'Model evaluation',
  [
    md`
      # Train and evaluate a forest

      A random forest (HEIR's own trainer, scikit-learn's defaults) is trained on the training side
      of a split and scored on rows it never saw. A stratified split mixes rows of the same capture
      into both sides and flatters the model; a temporal or grouped split is the honest estimate
      where the dataset has captures.
    `,
    async (ctx) => {
      const { model, test, split, trainSeconds, data } = await trained(ctx);
      const r = request(ctx);
      return [
        md`**${data.name}**, target **${r.target}**, ${split.kind} split (test fraction ${split.testFraction}), ${ctx.numberParam('trees')} trees, seed ${model.meta.seed}.`,
        table(
          [
            { measure: 'training rows', value: split.train.length },
            { measure: 'test rows', value: split.test.length },
            { measure: 'features', value: data.features.length },
            { measure: 'classes', value: test.classes.length },
            { measure: 'accuracy (test)', value: test.accuracy },
            { measure: 'macro-F1 (test)', value: test.macroF1 },
            ...(test.rocAuc !== undefined ? [{ measure: 'ROC AUC (test)', value: test.rocAuc }] : []),
            ...(typeof model.meta.metrics?.oobScore === 'number' ? [{ measure: 'out-of-bag accuracy', value: model.meta.metrics.oobScore }] : []),
            { measure: 'training time (s)', value: trainSeconds },
          ],
          { caption: 'Held-out scores' },
        ),
      ];
    },
    async (ctx) => {
      const { test } = await trained(ctx);
      const cells: { truth: string; predicted: string; count: number; share: number }[] = [];
      test.confusion.forEach((row, i) => {
        const total = row.reduce((a, b) => a + b, 0);
        row.forEach((count, j) => cells.push({ truth: test.classes[i], predicted: test.classes[j], count, share: total > 0 ? count / total : 0 }));
      });
      return [
        md`## Confusion matrix
        Rows are the true class, columns the predicted one; the shade is the share of the true class's
        test rows (the diagonal is recall), the number the count of rows.`,
        ctx.plot({
          title: 'Confusion matrix (test rows)',
          marginLeft: 130,
          marginBottom: 80,
          width: 160 + 80 * test.classes.length,
          height: 110 + 40 * test.classes.length,
          x: { domain: test.classes, label: 'predicted', tickRotate: -30 },
          y: { domain: test.classes, label: 'true' },
          color: { type: 'linear', domain: [0, 1], scheme: 'blues' },
          marks: [
            Plot.cell(cells, { x: 'predicted', y: 'truth', fill: 'share', inset: 0.5 }),
            Plot.text(cells, { x: 'predicted', y: 'truth', text: (d: { count: number }) => String(d.count), fill: (d: { share: number }) => (d.share > 0.6 ? 'white' : 'black') }),
          ],
        }),
      ];
    },
    async (ctx) => {
      const { test } = await trained(ctx);
      const rows = test.classes.flatMap((cls) => {
        const s = test.perClass[cls];
        return [
          { class: cls, metric: 'precision', value: s.precision },
          { class: cls, metric: 'recall', value: s.recall },
          { class: cls, metric: 'F1', value: s.f1 },
        ];
      });
      return [
        md`## Per-class precision, recall and F1`,
        ctx.plot({
          title: 'Per-class scores on the test rows',
          marginLeft: 130,
          height: 60 + 54 * test.classes.length,
          x: { domain: [0, 1], grid: true, label: 'score' },
          y: { label: null, domain: ['precision', 'recall', 'F1'], axis: null },
          fy: { label: null, domain: test.classes },
          color: { domain: ['precision', 'recall', 'F1'], legend: true },
          marks: [Plot.barX(rows, { x: 'value', y: 'metric', fy: 'class', fill: 'metric' }), Plot.ruleX([0])],
        }),
        table(
          test.classes.map((cls) => ({ class: cls, precision: test.perClass[cls].precision, recall: test.perClass[cls].recall, F1: test.perClass[cls].f1, support: test.perClass[cls].support })),
          { caption: 'Per-class scores' },
        ),
      ];
    },
    async (ctx) => {
      const { model, data, split } = await trained(ctx);
      const r = request(ctx);
      const held = takeRows(data, r.target, split.test);
      const perm = permutationImportance(model.forest, held.x, held.rows, held.y, { repeats: ctx.numberParam('repeats'), seed: ctx.numberParam('seed') });
      const rows = data.features.map((feature, j) => ({ feature, impurity: model.meta.importance?.[feature] ?? 0, permutation: perm.mean[j], std: perm.std[j] }));
      const top = (key: 'impurity' | 'permutation') => [...rows].sort((a, b) => b[key] - a[key]).slice(0, 15);
      const rank = (key: 'impurity' | 'permutation') => new Map([...rows].sort((a, b) => b[key] - a[key]).map((row, i) => [row.feature, i + 1]));
      const impurityRank = rank('impurity');
      const permutationRank = rank('permutation');
      return [
        md`## Feature importance: impurity against permutation
        Impurity importance is the training-time decrease of Gini impurity credited to each feature; it
        favours features with many distinct values. Permutation importance is the drop in test accuracy
        when one feature's column is shuffled (${perm.metric} baseline ${perm.baseline.toFixed(3)}, ${ctx.params.repeats} repeats):
        measured on held-out rows, it shows what the model relies on.`,
        ctx.plot({
          title: 'Impurity importance (highest 15)',
          marginLeft: 130,
          x: { label: 'share of the impurity decrease', grid: true },
          y: { label: null },
          marks: [Plot.barX(top('impurity'), { x: 'impurity', y: 'feature', fill: '#4269d0', sort: { y: '-x' } }), Plot.ruleX([0])],
        }),
        ctx.plot({
          title: 'Permutation importance on the test rows (highest 15)',
          marginLeft: 130,
          x: { label: 'drop in accuracy when shuffled', grid: true },
          y: { label: null },
          marks: [
            Plot.barX(top('permutation'), { x: 'permutation', y: 'feature', fill: '#efb118', sort: { y: '-x' } }),
            Plot.ruleY(top('permutation'), { y: 'feature', x1: (d: { permutation: number; std: number }) => d.permutation - d.std, x2: (d: { permutation: number; std: number }) => d.permutation + d.std }),
            Plot.ruleX([0]),
          ],
        }),
        table(
          [...rows].sort((a, b) => b.permutation - a.permutation).map((row) => ({ feature: row.feature, impurity: row.impurity, 'impurity rank': impurityRank.get(row.feature)!, permutation: row.permutation, '± std': row.std, 'permutation rank': permutationRank.get(row.feature)! })),
          { caption: 'Both importances, by permutation importance', limit: 20 },
        ),
      ];
    },
    async (ctx) => {
      const { model, data } = await trained(ctx);
      const used = new Set(model.meta.features);
      const leaking = data.leakage.filter((l) => l.leaks);
      const inModel = leaking.filter((l) => used.has(l.column));
      return [
        md`## Leakage check
        Columns that alone separate the ${data.leakTarget} classes (balanced accuracy ≥ 0.98), and whether the model was given them.`,
        inModel.length > 0
          ? note('warning', `**Leakage:** the model uses ${inModel.map((l) => `\`${l.column}\``).join(', ')}, which alone separate${inModel.length === 1 ? 's' : ''} the classes: its scores measure the testbed, not the attacks.`)
          : leaking.length > 0
            ? note('info', `${leaking.map((l) => `\`${l.column}\` (${l.score.toFixed(3)})`).join(', ')} alone separate${leaking.length === 1 ? 's' : ''} the ${data.leakTarget} classes and ${leaking.length === 1 ? 'was' : 'were'} kept out of the features.`)
            : note('info', 'No column alone separates the classes; the scores above are not explained by one leaking column.'),
        table((model.meta.dataset.dropped ?? []).map((d) => ({ column: d.name, role: d.role, reason: d.reason ?? '' })), { caption: 'Columns kept out of the features' }),
      ];
    },
    (ctx) => md`## Citation
      ${citationOf(ctx.params.dataset)}`,
  ],
  {
    description: 'train a small forest on a split; confusion matrix, per-class precision/recall/F1, impurity vs permutation importance, leakage check',
    params: {
      dataset: { default: 'ciciomt2024', doc: 'dataset: wustl-ehms-2020 or ciciomt2024' },
      sample: { default: '0', doc: '1: use the committed sample even when the full file is in the data directory' },
      target: { default: 'category', doc: 'binary, category or class' },
      split: { default: 'stratified', doc: 'stratified, temporal or grouped' },
      test: { default: '0.3', doc: 'test fraction' },
      trees: { default: '30', doc: 'trees in the forest' },
      repeats: { default: '2', doc: 'shuffles per feature for permutation importance' },
      seed: { default: '1', doc: 'seed of the split, the forest and the shuffles' },
    },
  },
);
