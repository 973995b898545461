import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { loadNamed } from '../../datasets/experiment.ts';
import { takeRows } from '../../datasets/load.ts';
import { stratifiedSplit } from '../../datasets/split.ts';
import { evaluate } from '../../operators/forest/metrics.ts';
import { trainForest } from '../../operators/forest/train-forest.ts';
import { setWarningSink } from '../../pipeline/warn.ts';

setWarningSink(null);
const PYTHON = '/usr/bin/python3';
const SCRIPT = fileURLToPath(new URL('../../benchmarks/forest-sklearn.py', import.meta.url));

function sklearnAvailable(): void {
  if (!existsSync(PYTHON)) assert.unreachable(`${PYTHON} is missing: apt-get install python3-sklearn`);
  try {
    execFileSync(PYTHON, ['-c', 'import sklearn'], { stdio: 'pipe' });
  } catch {
    assert.unreachable('scikit-learn does not import in /usr/bin/python3: apt-get install python3-sklearn');
  }
}

test('same split, same hyper-parameters: our macro-F1 is close to scikit-learn on the committed samples', async () => {
  sklearnAvailable();
  const work = mkdtempSync(join(tmpdir(), 'heir-sk-'));
  try {
    for (const [name, target, tolerance] of [['ciciomt2024', 'category', 0.03], ['wustl-ehms-2020', 'binary', 0.04]] as const) {
      const data = loadNamed(name, { sample: true });
      const labels = data.targets[target];
      const d = data.features.length;
      let ours = 0;
      let theirs = 0;
      const seeds = [1, 2, 3];
      for (const seed of seeds) {
        const split = stratifiedSplit(labels.y, labels.classes.length, 0.3, seed);
        const tr = takeRows(data, target, split.train);
        const te = takeRows(data, target, split.test);
        writeFileSync(join(work, 'xtr.f64'), tr.x);
        writeFileSync(join(work, 'ytr.u8'), tr.y);
        writeFileSync(join(work, 'xte.f64'), te.x);
        writeFileSync(join(work, 'yte.u8'), te.y);
        const m = await trainForest(tr.x, tr.rows, d, tr.y, labels.classes.length, { trees: 50, seed, oob: false });
        ours += evaluate(te.y, m.forest.predict(te.x, te.rows), labels.classes).macroF1;
        const sk = JSON.parse(execFileSync(PYTHON, [SCRIPT, work, String(d), '50', String(seed), '1', '1'], { encoding: 'utf8' })) as { jobs1: { macroF1: number } };
        theirs += sk.jobs1.macroF1;
      }
      ours /= seeds.length;
      theirs /= seeds.length;
      assert.ok(Math.abs(ours - theirs) <= tolerance, `${name} ${target}: ours ${ours.toFixed(4)} vs scikit-learn ${theirs.toFixed(4)}`);
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
});

test.run();
