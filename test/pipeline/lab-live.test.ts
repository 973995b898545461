import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ATTACK_GRACE_MICROS } from '../../pipeline/lab/dataset.ts';
import { evaluateLab } from '../../pipeline/lab/evaluate.ts';
import { PHASES } from '../../pipeline/lab/phases.ts';
import { missingTools, recordLab, type LabLabels } from '../../pipeline/lab/record.ts';
import { openStore } from '../../pipeline/store.ts';
import { startNats } from '../helpers/nats.ts';

// A fresh lab run (its own seed, so other port ranges, pacing and attacker address than the
// committed runs the models learnt from) is scored as packet windows, then goes through the real
// pipeline twice: as a `tcpdump -w -` stream into `heir ingest pcap -`, and through NATS JetStream
// with `heir run`.
const ROOT = join(import.meta.dirname, '../..');
const HEIR = join(ROOT, 'bin/heir.js');
const CHOSEN = ['benign-hl7', 'benign-web', 'recon-syn-scan', 'dos-syn-flood', 'dos-udp-flood', 'dos-icmp-flood', 'mqtt-connect-flood'];
// The committed run the window model is trained on for the packet-level check.
const TRAIN = join(ROOT, 'datasets/lab/small-seed1');
/**
 * Phases the flow model cannot see: hping3's ICMP echoes share one identifier, so the flood is one
 * or two long flows, and the training run never gave the model that class (docs/models.md). The
 * packet-window check below covers them.
 */
const FLOW_BLIND = new Set(['dos-icmp-flood']);
/** Largest share of the benign phases' flows that may be flagged (stated in docs/models.md). */
const MAX_BENIGN_FP = 0.05;
/** Smallest share of an attack phase's flows that must be flagged. */
const MIN_PHASE_RECALL = 0.8;

function exec(command: string, args: string[], stdin?: NodeJS.ReadableStream): Promise<{ code: number | null; stderr: string; stdout: string }> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { stdio: [stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d: Buffer) => (stdout += d));
    child.stderr!.on('data', (d: Buffer) => (stderr += d));
    if (stdin) stdin.pipe(child.stdin!);
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

interface Scored {
  readonly phase: string;
  readonly attack: boolean;
  readonly flows: number;
  readonly flagged: number;
}

/** Per lab phase: its flows in the store and how many of them classify flagged. */
async function scorePhases(db: string, labels: LabLabels): Promise<Scored[]> {
  const store = await openStore(db, { readOnly: true });
  try {
    const rows = await store.all<{ ts: number; src: string; dst: string; flagged: boolean | null }>(
      `SELECT epoch_us(f.ts_start) AS ts, f.src_addr AS src, f.dst_addr AS dst, NOT d.benign AS flagged
       FROM flows f LEFT JOIN detections d USING (flow_id)`,
    );
    return labels.phases.map((p) => {
      const start = Date.parse(p.start) * 1000;
      const end = Date.parse(p.end) * 1000 + (p.attacker ? ATTACK_GRACE_MICROS : 0);
      const mine = rows.filter((r) => r.ts >= start && r.ts <= end && (p.attacker ? r.src === p.attacker || r.dst === p.attacker : r.src !== labels.hosts.attacker.address && r.dst !== labels.hosts.attacker.address));
      return { phase: p.name, attack: p.attacker !== null, flows: mine.length, flagged: mine.filter((r) => r.flagged === true).length };
    });
  } finally {
    await store.close();
  }
}

function check(scores: Scored[], path: string): void {
  const report = scores.map((s) => `${s.phase} ${s.flagged}/${s.flows}`).join(', ');
  if (process.env.HEIR_TEST_VERBOSE) console.log(`${path}: ${report}`);
  let benign = 0;
  let benignFlagged = 0;
  for (const s of scores) {
    if (s.attack) {
      if (FLOW_BLIND.has(s.phase)) continue;
      assert.ok(s.flows > 0, `${path}: phase ${s.phase} has flows (${report})`);
      assert.ok(s.flagged / s.flows >= MIN_PHASE_RECALL, `${path}: phase ${s.phase} detected in ${s.flagged}/${s.flows} flows (${report})`);
    } else {
      benign += s.flows;
      benignFlagged += s.flagged;
    }
  }
  assert.ok(benign > 0, `${path}: benign flows stored`);
  assert.ok(benignFlagged / benign <= MAX_BENIGN_FP, `${path}: ${benignFlagged}/${benign} benign flows flagged (${report})`);
}

test('a fresh lab run is detected phase by phase: packet windows, and flows streamed through the pipeline (stdin and NATS)', async () => {
  const missing = missingTools(PHASES.filter((p) => CHOSEN.includes(p.name)));
  assert.equal(missing, [], `install the lab's tools first: ${missing.join(', ')}`);
  assert.is(process.getuid?.(), 0, 'the lab needs root');
  const dir = mkdtempSync(join(tmpdir(), 'heir-lab-live-'));
  const nats = await startNats();
  try {
    const run = join(dir, 'run');
    const labels = await recordLab({ out: run, seed: 977, scale: 'tiny', phases: CHOSEN });
    const capture = join(run, labels.capture);

    // 0. Packet windows: a cic-window model from the committed run scores the fresh run's windows.
    const windows = await evaluateLab([TRAIN], run, { featureSet: 'cic-window' });
    const windowReport = windows.phases.map((p) => `${p.phase} ${p.flagged}/${p.rows}`).join(', ');
    if (process.env.HEIR_TEST_VERBOSE) console.log(`windows: ${windowReport}`);
    for (const p of windows.phases) {
      if (p.label === 'Benign') continue;
      assert.ok(p.rows > 0 && p.flagged / p.rows >= MIN_PHASE_RECALL, `windows: phase ${p.phase} detected in ${p.flagged}/${p.rows} (${windowReport})`);
    }
    assert.ok(windows.benignFalsePositiveRate <= MAX_BENIGN_FP, `windows: benign false-positive rate ${windows.benignFalsePositiveRate} (${windowReport})`);

    // 1. tcpdump -w - | heir ingest pcap -
    const tcpdump = spawn('tcpdump', ['-r', capture, '-w', '-'], { stdio: ['ignore', 'pipe', 'ignore'] });
    const dbStdin = join(dir, 'stdin.duckdb');
    const ingest = await exec(process.execPath, [HEIR, 'ingest', 'pcap', '-', '--db', dbStdin, '--sensor', 'lab'], tcpdump.stdout);
    assert.is(ingest.code, 0, ingest.stderr);
    check(await scorePhases(dbStdin, labels), 'ingest pcap -');

    // 2. heir run over NATS JetStream
    const dbNats = join(dir, 'nats.duckdb');
    const config = join(dir, 'site.json');
    writeFileSync(config, JSON.stringify({ site: 'lab-site', sensor: 'lab', operators: ['featurize-flow', 'classify'], sources: [{ format: 'pcap', path: capture }] }));
    const runResult = await exec(process.execPath, [HEIR, 'run', '--config', config, '--nats', nats.url, '--db', dbNats, '--idle-exit', '2']);
    assert.is(runResult.code, 0, runResult.stderr);
    check(await scorePhases(dbNats, labels), 'run --nats');

    // Incidents: the attacker's detections fold into a handful of rows, not one per flow.
    const listed = await exec(process.execPath, [HEIR, 'detections', '--db', dbStdin, '--json']);
    assert.is(listed.code, 0, listed.stderr);
    const incidents = listed.stdout.trim().split('\n').map((l) => JSON.parse(l) as { device: string; count: number; label: string });
    const attacker = incidents.filter((i) => i.device === labels.hosts.attacker.address);
    const detections = attacker.reduce((s, i) => s + i.count, 0);
    assert.ok(detections >= 300, `attacker detections ${detections}`);
    assert.ok(attacker.length <= 10, `attacker incidents ${attacker.length}: ${JSON.stringify(attacker)}`);
  } finally {
    await nats.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
