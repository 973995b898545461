import type { Command } from '../command.ts';
import { parseArgs, stringFlag, usageError } from '../command.ts';

const USAGE = `usage: heir eval --model FILE (--dataset NAME | --csv FILE) [--json] [--importance]

Scores a model. With --dataset, on the held-out side of the split recorded in the model (the
dataset is reloaded and re-split with the model's seed). With --csv, on every row of any file
of the model's dataset (.csv or .csv.gz), read the way the training file was read (the model
remembers its dataset adapter, cleaning, category codes and target).
  --json          {accuracy, macroF1, perClass: {CLASS: {precision, recall, f1, support}},
                  confusion, rocAuc?} (rocAuc for binary models)
  --importance    also permutation importance on the evaluated rows (slower)
  --data-dir DIR  where the datasets are (default ../shared/datasets)
  --sample        use the dataset's committed sample`;

/** `heir eval`: score a model on a dataset's held-out rows or on a CSV file. */
export const command: Command = {
  name: 'eval',
  summary: 'evaluate a model on a dataset split or a CSV file (accuracy, macro-F1, per class, confusion)',
  usage: USAGE,
  async run(argv) {
    const args = parseArgs('eval', argv, { model: 'string', dataset: 'string', csv: 'string', json: 'boolean', importance: 'boolean', 'data-dir': 'string', sample: 'boolean' });
    if (args.positionals.length) usageError('eval', `unexpected argument ${args.positionals[0]}`);
    const modelPath = stringFlag(args, 'model');
    const dataset = stringFlag(args, 'dataset');
    const csv = stringFlag(args, 'csv');
    if (!modelPath) usageError('eval', '--model FILE is required');
    if ((dataset === undefined) === (csv === undefined)) usageError('eval', 'give exactly one of --dataset NAME or --csv FILE');
    const { loadModel } = await import('../../operators/forest/model-file.ts');
    const { evaluateOnCsv, evaluateOnDataset } = await import('../../datasets/experiment.ts');
    const model = loadModel(modelPath);
    const result = csv ? { ...evaluateOnCsv(model, csv), sameData: null } : evaluateOnDataset(model, dataset!, { dataDir: stringFlag(args, 'data-dir'), sample: args.flags.sample === true });
    const r = result.report;
    let importance: Record<string, number> | undefined;
    if (args.flags.importance === true) {
      const { permutationImportance } = await import('../../operators/forest/importance.ts');
      const { takeRows } = await import('../../datasets/load.ts');
      const { progressBar } = await import('../progress.ts');
      const target = model.meta.dataset.target as 'binary';
      const all = takeRows(result.data, target, Int32Array.from({ length: result.data.rows }, (_, i) => i));
      const bar = progressBar('features');
      const p = permutationImportance(model.forest, all.x, all.rows, all.y, { repeats: 1, seed: model.meta.seed ?? 1, onProgress: bar });
      bar.finish();
      importance = {};
      model.meta.features.forEach((f, i) => (importance![f] = p.mean[i]));
    }
    if (args.flags.json === true) {
      const out: Record<string, unknown> = { accuracy: r.accuracy, macroF1: r.macroF1, perClass: r.perClass, confusion: r.confusion };
      if (r.rocAuc !== undefined) out.rocAuc = r.rocAuc;
      out.classes = r.classes;
      out.rows = r.rows;
      if (importance) out.permutationImportance = importance;
      process.stdout.write(JSON.stringify(out, null, 2) + '\n');
      return 0;
    }
    const lines = [
      `${r.rows} rows of ${result.data.path}${result.sameData === false ? ' (warning: these are not the rows the model was split from; the test side may overlap its training rows)' : ''}`,
      `accuracy ${r.accuracy.toFixed(4)}  macro-F1 ${r.macroF1.toFixed(4)}${r.rocAuc !== undefined ? `  ROC AUC ${r.rocAuc.toFixed(4)}` : ''}`,
      '',
      `${'class'.padEnd(26)} precision  recall      f1  support`,
      ...Object.entries(r.perClass).map(([c, s]) => `${c.padEnd(26)} ${s.precision.toFixed(4).padStart(9)} ${s.recall.toFixed(4).padStart(7)} ${s.f1.toFixed(4).padStart(7)} ${String(s.support).padStart(8)}`),
      '',
      'confusion (rows = truth, columns = predicted, in the class order above):',
      ...r.confusion.map((row) => '  ' + row.map((v) => String(v).padStart(6)).join('')),
    ];
    if (importance) lines.push('', 'permutation importance (accuracy drop):', ...Object.entries(importance).sort((a, b) => b[1] - a[1]).slice(0, 10).map(([f, v]) => `  ${f.padEnd(20)} ${v.toFixed(4)}`));
    process.stdout.write(lines.join('\n') + '\n');
    return 0;
  },
};
