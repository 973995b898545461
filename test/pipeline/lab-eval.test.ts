import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { evaluateLab } from '../../pipeline/lab/evaluate.ts';
import { PHASES } from '../../pipeline/lab/phases.ts';
import { missingTools, recordLab } from '../../pipeline/lab/record.ts';

// The committed run (seed 1, small) trains; a fresh run with another seed, scale, pacing, port
// ranges and attacker address is the held-out test.
const TRAIN = join(import.meta.dirname, '../../datasets/lab/small-seed1');
const CHOSEN = ['benign-hl7', 'benign-dicom', 'benign-web', 'recon-syn-scan', 'dos-syn-flood', 'dos-icmp-flood', 'mqtt-connect-flood', 'dos-udp-flood'];
/** Largest share of benign packet windows that may be flagged as an attack. */
const MAX_BENIGN_FP = 0.05;
/** Smallest share of an attack phase's windows that must be flagged. */
const MIN_PHASE_RECALL = 0.8;

test('a model trained on the committed lab run detects every attack phase of a fresh run', async () => {
  const missing = missingTools(PHASES.filter((p) => CHOSEN.includes(p.name)));
  assert.equal(missing, [], `install the lab's tools first: ${missing.join(', ')}`);
  assert.is(process.getuid?.(), 0, 'the lab needs root');
  const out = mkdtempSync(join(tmpdir(), 'heir-lab-eval-'));
  try {
    await recordLab({ out, seed: 4242, scale: 'tiny', phases: CHOSEN });
    const r = await evaluateLab([TRAIN], out, { featureSet: 'cic-window' });
    const report = r.phases.map((p) => `${p.phase}: ${p.flagged}/${p.rows}`).join(', ');
    for (const p of r.phases) {
      if (p.label === 'Benign') continue;
      assert.ok(p.rows > 0, `phase ${p.phase} produced windows`);
      assert.ok(p.flagged / p.rows >= MIN_PHASE_RECALL, `phase ${p.phase} detected in ${p.flagged}/${p.rows} windows (${report})`);
    }
    assert.ok(r.benignFalsePositiveRate <= MAX_BENIGN_FP, `benign false-positive rate ${r.benignFalsePositiveRate} (${report})`);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});

test.run();
