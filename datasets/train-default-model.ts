/**
 * Builds the shipped default model `models/default.heir` and prints what docs/models.md reports:
 *
 *   npx tsx datasets/train-default-model.ts [--out models/default.heir] [--compare OLD.heir] [--trees 100] [--by-device]
 *
 * Training rows: every flow (flow@1) of the lab run `datasets/lab/small-seed1`, plus the benign
 * flows of the real medical-device WiFi captures in ../shared/datasets/pcaps/medical-devices,
 * except the capture sets held out (`datasets/device-benign.ts`: per device, the set of the
 * committed sample the demo replays). Evaluation: the held-out lab run `datasets/lab/small-seed2`
 * (per phase, per class) and the held-out device captures (false-positive rate per device), for
 * each minimum confidence in --sweep; `--compare` scores an older model file the same way.
 * Deterministic: the same inputs and options give the same model bytes.
 */
import { join } from 'node:path';
import { loadModel, saveModel, type Model } from '../operators/forest/model-file.ts';
import { evaluateLab } from '../pipeline/lab/evaluate.ts';
import { loadLabDataset, readLabels, type LabDataset } from '../pipeline/lab/dataset.ts';
import { parseArgs, numberFlag, stringFlag } from '../pipeline/command.ts';
import { deviceCaptures, deviceFlows, splitCaptures, type DeviceFlows } from './device-benign.ts';

const ROOT = join(import.meta.dirname, '..');
const args = parseArgs('train-default-model', process.argv.slice(2), { out: 'string', compare: 'string', trees: 'string', sweep: 'string', devices: 'string', train: 'string', test: 'string', 'by-device': 'boolean' });
const out = stringFlag(args, 'out');
const trees = numberFlag('train-default-model', args, 'trees', 100, 1, 2000);
const sweep = (stringFlag(args, 'sweep') ?? '0,0.5,0.6,0.7,0.8').split(',').map(Number);
const devicesRoot = stringFlag(args, 'devices') ?? join(ROOT, '../shared/datasets/pcaps/medical-devices');
const trainDir = stringFlag(args, 'train') ?? join(ROOT, 'datasets/lab/small-seed1');
const testDir = stringFlag(args, 'test') ?? join(ROOT, 'datasets/lab/small-seed2');

const captures = deviceCaptures(devicesRoot);
const split = splitCaptures(captures, join(ROOT, 'datasets/samples/medical-devices'));
const trainDevices = await deviceFlows(split.train);
const heldDevices = await deviceFlows(split.heldOut);
const sets = (c: typeof captures) => [...new Set(c.map((x) => x.group))].sort().join(' ');
console.log(`device captures: ${captures.length} distinct raw-IP files; training ${split.train.length} files, ${trainDevices.rows} flows (sets ${sets(split.train)}); held out ${split.heldOut.length} files, ${heldDevices.rows} flows (sets ${sets(split.heldOut)})`);

const evaluation = await evaluateLab([trainDir], testDir, {
  featureSet: 'flow',
  forest: { trees },
  extra: { name: 'medical-devices-benign', featureNames: trainDevices.featureNames, X: trainDevices.X, y: new Array<string>(trainDevices.rows).fill('Benign') },
});
const test = await loadLabDataset(testDir, { featureSet: 'flow' });

/** Predicted label per row at a minimum confidence (below it an attack call is reported benign). */
function predict(model: Model, X: Float64Array, rows: number, minConfidence: number): string[] {
  const { classes, benign } = model.meta;
  const K = classes.length;
  const proba = model.forest.predictProba(X, rows);
  const out = new Array<string>(rows);
  for (let r = 0; r < rows; r++) {
    let best = 0;
    for (let k = 1; k < K; k++) if (proba[r * K + k] > proba[r * K + best]) best = k;
    out[r] = benign !== null && classes[best] !== benign && proba[r * K + best] < minConfidence ? benign : classes[best];
  }
  return out;
}

function pct(a: number, b: number): string {
  return b > 0 ? `${((100 * a) / b).toFixed(1)} %` : '-';
}

function report(name: string, model: Model, devices: DeviceFlows, lab: LabDataset, minConfidence: number): void {
  const p = predict(model, devices.X, devices.rows, minConfidence);
  const byDevice = new Map<string, { rows: number; flagged: number; labels: Map<string, number> }>();
  for (let r = 0; r < devices.rows; r++) {
    const d = byDevice.get(devices.device[r]) ?? { rows: 0, flagged: 0, labels: new Map() };
    byDevice.set(devices.device[r], d);
    d.rows++;
    if (p[r] !== 'Benign') {
      d.flagged++;
      d.labels.set(p[r], (d.labels.get(p[r]) ?? 0) + 1);
    }
  }
  const total = [...byDevice.values()].reduce((s, d) => ({ rows: s.rows + d.rows, flagged: s.flagged + d.flagged }), { rows: 0, flagged: 0 });
  console.log(`\n## ${name}, minimum confidence ${minConfidence}`);
  console.log(`held-out device flows flagged: ${total.flagged}/${total.rows} (${pct(total.flagged, total.rows)})`);
  for (const [device, d] of [...byDevice].sort()) {
    console.log(`  ${device.padEnd(22)} ${String(d.flagged).padStart(5)}/${String(d.rows).padEnd(6)} ${pct(d.flagged, d.rows).padStart(8)}  ${[...d.labels].map(([l, n]) => `${l} ${n}`).join(', ')}`);
  }
  const q = predict(model, lab.X, lab.y.length, minConfidence);
  const labels = readLabels(testDir);
  console.log(`held-out lab run ${testDir}: phase, label, flows, flagged, exact`);
  for (const ph of labels.phases) {
    const s = Date.parse(ph.start) * 1000;
    const e = Date.parse(ph.end) * 1000;
    let rows = 0, flagged = 0, exact = 0;
    for (let r = 0; r < lab.y.length; r++) {
      const mine = ph.attacker !== null ? lab.groups[r] === ph.name : lab.y[r] === 'Benign' && lab.ts[r] >= s && lab.ts[r] <= e;
      if (!mine) continue;
      rows++;
      if (q[r] !== 'Benign') flagged++;
      if (q[r] === lab.y[r]) exact++;
    }
    console.log(`  | ${ph.name} | ${ph.attacker !== null ? ph.label : 'Benign'} | ${rows} | ${pct(flagged, rows)} | ${pct(exact, rows)} |`);
  }
  for (const label of [...new Set(lab.y)].sort()) {
    let tp = 0, fp = 0, fn = 0;
    for (let r = 0; r < lab.y.length; r++) {
      const t = lab.y[r] === label, pr = q[r] === label;
      if (t && pr) tp++;
      else if (pr) fp++;
      else if (t) fn++;
    }
    console.log(`  ${label.padEnd(24)} support ${String(tp + fn).padStart(5)} precision ${(tp + fp ? tp / (tp + fp) : 0).toFixed(3)} recall ${(tp + fn ? tp / (tp + fn) : 0).toFixed(3)}`);
  }
  let b = 0, bf = 0, a = 0, af = 0;
  for (let r = 0; r < lab.y.length; r++) {
    if (lab.y[r] === 'Benign') { b++; if (q[r] !== 'Benign') bf++; } else { a++; if (q[r] !== 'Benign') af++; }
  }
  console.log(`  lab benign flows flagged ${bf}/${b}; attack flows flagged ${af}/${a} (${pct(af, a)})`);
}

if (args.flags['by-device'] === true) {
  // Whole devices held out: train on the lab and every other device's training sets, score all
  // captures of the device left out.
  console.log('\n## leave one device out (minimum confidence 0)');
  for (const device of [...new Set(captures.map((c) => c.device))].sort()) {
    const others = await deviceFlows(split.train.filter((c) => c.device !== device));
    const mine = await deviceFlows(captures.filter((c) => c.device === device));
    const e = await evaluateLab([trainDir], testDir, {
      featureSet: 'flow',
      forest: { trees },
      extra: { name: 'medical-devices-benign', featureNames: others.featureNames, X: others.X, y: new Array<string>(others.rows).fill('Benign') },
    });
    const p = predict(e.model, mine.X, mine.rows, 0);
    const flagged = p.filter((l) => l !== 'Benign').length;
    console.log(`  ${device.padEnd(22)} ${flagged}/${mine.rows} (${pct(flagged, mine.rows)}); lab attack flows flagged ${(100 * e.attackRecall).toFixed(1)} %, lab benign ${(100 * e.benignFalsePositiveRate).toFixed(1)} %`);
  }
}

const compare = stringFlag(args, 'compare');
if (compare) for (const t of sweep) report(`${compare} (before)`, loadModel(compare), heldDevices, test, t);
for (const t of sweep) report('new model', evaluation.model, heldDevices, test, t);
console.log(`\ntrained on ${evaluation.trainRows} flows; top features: ${evaluation.importance.slice(0, 8).map((f) => `${f.feature} ${f.importance.toFixed(3)}`).join(', ')}`);
if (out) {
  saveModel(out, evaluation.model);
  console.log(`wrote ${out}`);
}
