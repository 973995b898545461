import type { Command } from '../command.ts';
import { numberFlag, parseArgs, stringFlag, usageError } from '../command.ts';

const USAGE = `usage: heir lab record --out DIR [--seed N] [--scale tiny|small|full] [--phases a,b,…] [--loopback]
       heir lab phases
       heir lab eval --train DIR[,DIR…] --test DIR [--features cic-window|flow|device] [--trees N] [--out MODEL] [--with-cic FILE] [--json]

record   Records a labelled capture with real tools: benign clinical traffic (HL7 over MLLP with
         python3-hl7, DICOM C-ECHO/C-STORE with dcmtk, MQTT telemetry with mosquitto, HTTP/TLS with
         curl and openssl) and attacks (nmap scans, bounded hping3 SYN/UDP/ICMP floods, MQTT
         connect/publish floods, hydra FTP brute force, arpspoof). Traffic runs only inside network
         namespaces the lab creates (or on loopback with 127.0.77.x addresses where namespaces are
         not permitted; the output says so) and every count is bounded.
         Writes DIR/capture.pcap and DIR/labels.json (phases with name, label, category, start,
         end, attacker, victim). Needs root (namespaces, raw sockets).
  --out DIR     output folder (created)
  --seed N      seed of the run plan: phase order, port ranges, pacing, attacker address (default 1)
  --scale S     tiny (seconds), small (about a minute, default) or full (several minutes)
  --phases L    comma-separated phase names (default: all; see heir lab phases)
  --loopback    record on loopback even where namespaces work
phases   Lists the phases with their labels and tools.
eval     Trains a forest on the train runs' rows and scores a held-out run (another seed): per phase
         the share of rows flagged as an attack (benign phases: the false positives), per class
         precision and recall. --out writes the trained model (for classify) with these metrics.
         --with-cic FILE adds the rows of a CICIoMT2024 CSV (cleaned: inf and duplicate rows
         dropped) to the training side of a cic-window model.`;

/** `heir lab`: the attack lab. */
export const command: Command = {
  name: 'lab',
  summary: 'record labelled benign and attack traffic with real tools in network namespaces',
  usage: USAGE,
  async run(argv) {
    const [sub, ...rest] = argv;
    if (sub === 'phases') {
      const { PHASES } = await import('../lab/phases.ts');
      for (const p of PHASES) process.stdout.write(`${p.name.padEnd(20)} ${p.label.padEnd(24)} ${p.category.padEnd(11)} ${p.tools.map(([t]) => t).join(', ')}\n`);
      return 0;
    }
    if (sub === 'eval') return evaluate(rest);
    if (sub !== 'record') usageError('lab', sub === undefined ? 'missing sub-command (record or phases)' : `unknown sub-command ${sub}`);
    const args = parseArgs('lab', rest, { out: 'string', seed: 'string', scale: 'string', phases: 'string', loopback: 'boolean' });
    if (args.positionals.length) usageError('lab', `unexpected argument ${args.positionals[0]}`);
    const out = stringFlag(args, 'out');
    if (!out) usageError('lab', '--out DIR is required');
    const seed = numberFlag('lab', args, 'seed', 1, 0, 2 ** 31 - 1);
    if (!Number.isInteger(seed)) usageError('lab', `invalid --seed: ${seed} (an integer)`);
    const scale = stringFlag(args, 'scale', 'small')!;
    if (scale !== 'tiny' && scale !== 'small' && scale !== 'full') usageError('lab', `invalid --scale: ${scale} (tiny, small or full)`);
    const phases = stringFlag(args, 'phases')?.split(',').map((s) => s.trim()).filter(Boolean);
    const { recordLab } = await import('../lab/record.ts');
    const started = Date.now();
    const labels = await recordLab({ out, seed, scale, phases, forceLoopback: args.flags.loopback === true, log: (line) => process.stdout.write(`${line}\n`) });
    const { statSync } = await import('node:fs');
    const { join } = await import('node:path');
    const size = statSync(join(out, labels.capture)).size;
    process.stdout.write(`recorded ${labels.phases.length} phases in ${((Date.now() - started) / 1000).toFixed(1)} s (${labels.mode}${labels.mode === 'loopback' ? `: ${labels.fallback_reason}` : ''}): ${join(out, labels.capture)} (${(size / 1024).toFixed(0)} KiB), ${join(out, 'labels.json')}\n`);
    for (const s of labels.skipped) process.stdout.write(`skipped ${s.name}: ${s.reason}\n`);
    return 0;
  },
};

async function evaluate(argv: readonly string[]): Promise<number> {
  const args = parseArgs('lab', argv, { train: 'string', test: 'string', features: 'string', json: 'boolean', trees: 'string', out: 'string', 'with-cic': 'string' });
  const train = stringFlag(args, 'train')?.split(',').filter(Boolean);
  const test = stringFlag(args, 'test');
  if (!train?.length || !test) usageError('lab', 'eval needs --train DIR[,DIR…] and --test DIR');
  const { evaluateLab } = await import('../lab/evaluate.ts');
  const trees = numberFlag('lab', args, 'trees', 60, 1, 2000);
  const cic = stringFlag(args, 'with-cic');
  const features = stringFlag(args, 'features');
  let extra;
  if (cic) {
    if (features !== undefined && features !== 'cic-window') usageError('lab', '--with-cic needs the cic-window feature set');
    const { loadDataset } = await import('../../datasets/load.ts');
    const { ciciomt } = await import('../../datasets/ciciomt.ts');
    const { CIC_WINDOW_FEATURES_V1 } = await import('../../operators/feature-sets.ts');
    // `Number` is a capture artefact in CIC's rows, but it is part of the 39-feature layout the window featurizer reproduces.
    const d = loadDataset(ciciomt, cic, { features: CIC_WINDOW_FEATURES_V1.features, keep: ['Number'], skipLeakage: true, dropDuplicates: true });
    const labels = d.targets.class;
    extra = { name: 'ciciomt2024', featureNames: d.features, X: d.x, y: Array.from(labels.y, (k) => labels.classes[k]) };
  }
  const r = await evaluateLab(train, test, { featureSet: features, forest: { trees }, extra });
  const out = stringFlag(args, 'out');
  if (out) {
    const { saveModel } = await import('../../operators/forest/model-file.ts');
    saveModel(out, r.model);
  }
  if (args.flags.json === true) {
    const { model: _model, ...rest } = r;
    process.stdout.write(JSON.stringify(rest) + '\n');
    return 0;
  }
  const pct = (a: number, b: number) => (b > 0 ? `${((100 * a) / b).toFixed(1)}%` : '-');
  process.stdout.write(`feature set ${r.featureSet}: trained on ${r.trainRows} rows of ${train.join(', ')}; held-out ${test}: ${r.testRows} rows\n\n`);
  process.stdout.write(`${'phase'.padEnd(22)}${'label'.padEnd(24)}${'rows'.padStart(6)}${'flagged'.padStart(9)}${'exact'.padStart(8)}\n`);
  for (const p of r.phases) process.stdout.write(`${p.phase.padEnd(22)}${p.label.padEnd(24)}${String(p.rows).padStart(6)}${pct(p.flagged, p.rows).padStart(9)}${pct(p.exact, p.rows).padStart(8)}\n`);
  process.stdout.write(`\n${'class'.padEnd(24)}${'support'.padStart(8)}${'precision'.padStart(11)}${'recall'.padStart(8)}\n`);
  for (const c of r.perClass) process.stdout.write(`${c.label.padEnd(24)}${String(c.support).padStart(8)}${c.precision.toFixed(3).padStart(11)}${c.recall.toFixed(3).padStart(8)}\n`);
  process.stdout.write(`\nbenign rows flagged (false-positive rate): ${(100 * r.benignFalsePositiveRate).toFixed(2)}%; attack rows flagged: ${(100 * r.attackRecall).toFixed(1)}%\n`);
  process.stdout.write(`top features: ${r.importance.slice(0, 8).map((f) => `${f.feature} ${f.importance.toFixed(3)}`).join(', ')}\n`);
  if (out) process.stdout.write(`model written to ${out} (feature set ${r.featureSet}, ${r.model.meta.classes.length} classes)\n`);
  return 0;
}
