/**
 * Explore an IoMT dataset through its adapter: what cleaning removed, class balance, which columns
 * give the label away (the leakage check), and how the most telling features are distributed per
 * class.
 */
import * as Plot from '@observablehq/plot';
import { LEAK_THRESHOLD, type Dataset, type Target } from '../pipeline/internal.ts';
import { citationOf } from './citations.ts';
import { md, note, notebook, table, type NotebookContext } from './notebook.ts';

function target(ctx: NotebookContext, name: 'balance' | 'leak'): Target {
  const t = ctx.params[name];
  if (t !== 'binary' && t !== 'category' && t !== 'class') throw new TypeError(`parameter ${name}=${t}: expected binary, category or class`);
  return t;
}

function load(ctx: NotebookContext): Dataset {
  return ctx.data.load(ctx.params.dataset, { sample: ctx.booleanParam('sample'), target: target(ctx, 'leak') });
}

export default notebook(
  'Dataset exploration',
  [
    md`
      # What is in the dataset

      The file is read through its HEIR dataset adapter, as \`heir train\` reads it: rows with a
      non-finite feature value and exact duplicate rows are dropped and counted; identifier,
      artefact and constant columns are set aside; every column (the set-aside ones included) is
      scored for how well it alone separates the classes.
    `,
    (ctx) => {
      const data = load(ctx);
      return md`**${data.name}** (${data.layout} layout), ${data.rows.toLocaleString('en-US')} rows kept, ${data.features.length} features. Source: ${citationOf(data.name)}`;
    },
    (ctx) => {
      const c = load(ctx).cleaning;
      return [
        md`## Cleaning`,
        table(
          [
            { step: 'rows read', rows: c.rowsRead },
            { step: 'malformed (dropped)', rows: c.malformed },
            { step: 'non-finite feature value (dropped)', rows: c.nonFinite },
            { step: 'exact duplicates (dropped)', rows: c.duplicates },
            { step: 'rows kept', rows: c.rowsKept },
          ],
          { caption: 'Rows removed by cleaning' },
        ),
        Object.keys(c.nonFiniteByColumn).length > 0
          ? table(Object.entries(c.nonFiniteByColumn).map(([column, rows]) => ({ column, rows })), { caption: 'Non-finite values by column' })
          : md`No feature column has a non-finite value.`,
      ];
    },
    (ctx) => {
      const data = load(ctx);
      const t = target(ctx, 'balance');
      const labels = data.targets[t];
      const counts = new Array<number>(labels.classes.length).fill(0);
      for (let i = 0; i < labels.y.length; i++) counts[labels.y[i]]++;
      const rows = labels.classes.map((cls, k) => ({ class: cls, rows: counts[k], share: counts[k] / data.rows }));
      return [
        md`## Class balance (${t})`,
        ctx.plot({
          title: `Rows per ${t} class`,
          marginLeft: 140,
          x: { label: 'rows', grid: true },
          y: { label: null },
          marks: [
            Plot.barX(rows, { x: 'rows', y: 'class', fill: 'class', sort: { y: '-x' } }),
            Plot.text(rows, { x: 'rows', y: 'class', text: (d: { share: number }) => `${(d.share * 100).toFixed(1)}%`, dx: 4, textAnchor: 'start' }),
            Plot.ruleX([0]),
          ],
        }),
      ];
    },
    (ctx) => {
      const data = load(ctx);
      const leaks = data.leakage.filter((l) => l.leaks);
      const roleOf = new Map(data.columns.map((c) => [c.name, c]));
      const top = data.leakage.slice(0, 20).map((l) => ({ ...l, role: roleOf.get(l.column)?.role ?? 'feature', kept: roleOf.get(l.column)?.kept ?? false }));
      const chance = 1 / data.targets[data.leakTarget].classes.length;
      return [
        md`## Leakage check (${data.leakTarget} target)
        Each column alone, binned into at most 32 groups that each predict their majority class; the
        score is the balanced accuracy of that one-column rule (${chance.toFixed(2)} is chance). At or
        above ${LEAK_THRESHOLD} the column gives the label away: a model would learn the testbed, not the attack.`,
        leaks.length > 0
          ? note(
              'warning',
              `**Leakage:** ${leaks.map((l) => `\`${l.column}\` (${l.score.toFixed(3)})`).join(', ')} alone separate${leaks.length === 1 ? 's' : ''} the ${data.leakTarget} classes. ` +
                leaks.map((l) => (roleOf.get(l.column)?.kept ? `${l.column} is still a feature: drop it before training.` : `${l.column} is not used as a feature (${roleOf.get(l.column)?.reason ?? roleOf.get(l.column)?.role}).`)).join(' '),
            )
          : note('info', `No column reaches the leakage threshold of ${LEAK_THRESHOLD} for the ${data.leakTarget} target.`),
        ctx.plot({
          title: 'One-column separability, highest 20 columns',
          marginLeft: 120,
          x: { domain: [0, 1], label: 'balanced accuracy of the one-column rule', grid: true },
          y: { label: null },
          color: { domain: [false, true], range: ['#9aa5b1', '#d1495b'] },
          marks: [
            Plot.barX(top, { x: 'score', y: 'column', fill: 'leaks', sort: { y: '-x' } }),
            Plot.ruleX([LEAK_THRESHOLD], { stroke: '#d1495b', strokeDasharray: '4,3' }),
            Plot.ruleX([chance], { stroke: '#555', strokeDasharray: '2,2' }),
          ],
        }),
        table(
          top.map((l) => ({ column: l.column, score: l.score, leaks: l.leaks ? 'yes' : 'no', role: l.role, 'used as feature': l.kept ? 'yes' : 'no' })),
          { caption: 'Leakage report (highest 20)' },
        ),
        table(
          data.columns.filter((c) => !c.kept && c.role !== 'label').map((c) => ({ column: c.name, role: c.role, reason: c.reason ?? '' })),
          { caption: 'Columns set aside by the adapter' },
        ),
      ];
    },
    (ctx) => {
      const data = load(ctx);
      const t = target(ctx, 'balance');
      const labels = data.targets[t];
      const n = Math.max(1, Math.min(data.features.length, ctx.numberParam('features')));
      const features = new Set(data.features);
      const chosen = data.leakage.filter((l) => features.has(l.column)).slice(0, n).map((l) => l.column);
      const d = data.features.length;
      return [
        md`## Feature distributions by class
        The ${n} features that best separate the ${data.leakTarget} classes on their own, per ${t} class
        (box: quartiles, whiskers: 1.5 IQR; symmetric log scale for heavy-tailed counts).`,
        ...chosen.map((feature) => {
          const j = data.features.indexOf(feature);
          const rows = Array.from({ length: data.rows }, (_, i) => ({ value: data.x[i * d + j], class: labels.classes[labels.y[i]] }));
          return ctx.plot({
            title: feature,
            height: 40 + 30 * labels.classes.length,
            marginLeft: 140,
            x: { type: 'symlog', label: feature, grid: true, ticks: 6 },
            y: { label: null },
            marks: [Plot.boxX(rows, { x: 'value', y: 'class', fill: 'class' })],
          });
        }),
      ];
    },
    (ctx) => md`## Citation
      ${citationOf(ctx.params.dataset)}`,
  ],
  {
    description: 'class balance, cleaning counts, the leakage report and feature distributions of WUSTL-EHMS-2020 or CICIoMT2024',
    params: {
      dataset: { default: 'wustl-ehms-2020', doc: 'dataset: wustl-ehms-2020 or ciciomt2024' },
      sample: { default: '0', doc: '1: use the committed sample even when the full file is in the data directory' },
      balance: { default: 'category', doc: 'target of the class-balance and distribution charts: binary, category or class' },
      leak: { default: 'binary', doc: 'target of the leakage check' },
      features: { default: '4', doc: 'feature distributions to draw' },
    },
  },
);
