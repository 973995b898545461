/**
 * Reading a lab run back: its labels, the label of any packet window, flow or device window by
 * time and address, and `loadLabDataset(dir)`: the capture featurized by the same featurizers
 * the pipeline runs live, with one label per row, ready for `heir train --lab DIR`.
 */
import { createReadStream, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RecordBatch } from 'apache-arrow';
import { CIC_WINDOW_FEATURES_V1, DEVICE_FEATURES_V1, FLOW_FEATURES_V1, featureMatrix, featureSet, type FeatureSet } from '../../operators/feature-sets.ts';
import { createDeviceState, deviceFeaturesBatch, flushDevices, pushFlows } from '../../operators/featurize-device.ts';
import { featurizeFlows, numericColumn, stringColumn } from '../../operators/featurize-flow.ts';
import { windowFeaturesBatch, windowsFromCapture, type PacketWindow } from '../../operators/featurize-window.ts';
import { parsePcap } from '../../operators/ingest-pcap.ts';
import { ErrorCode, HeirError, InputError } from '../errors.ts';
import { flowBatch, flowRows } from '../flow-schema.ts';
import type { LabLabels, LabPhase } from './record.ts';

/** Label of traffic that no attack phase explains. */
export const BENIGN = 'Benign';

/** Read and check `DIR/labels.json`; errors name the file and the problem. */
export function readLabels(dir: string): LabLabels {
  const file = join(dir, 'labels.json');
  if (!existsSync(file)) throw new HeirError(ErrorCode.DATASET_NOT_FOUND, `${file} not found: is ${dir} a lab run (heir lab record --out DIR)?`);
  let data: LabLabels;
  try {
    data = JSON.parse(readFileSync(file, 'utf8')) as LabLabels;
  } catch (error) {
    throw new InputError(file, `not JSON: ${(error as Error).message}`);
  }
  if (data.format !== 'heir-lab' || data.version !== 1) throw new InputError(file, `not a heir-lab v1 labels file (format ${String(data.format)}, version ${String(data.version)})`);
  if (!Array.isArray(data.phases)) throw new InputError(file, 'phases is not a list');
  for (const [i, p] of data.phases.entries()) {
    for (const k of ['name', 'label', 'category', 'start', 'end', 'victim'] as const) {
      if (typeof p[k] !== 'string') throw new InputError(file, `phase ${i} has no ${k}`);
    }
    if (!(Date.parse(p.end) >= Date.parse(p.start))) throw new InputError(file, `phase ${p.name} ends before it starts (${p.start} .. ${p.end})`);
  }
  return data;
}

/** Phase bounds in epoch microseconds, for fast lookups. */
interface Bound {
  readonly phase: LabPhase;
  readonly start: number;
  readonly end: number;
  readonly mac: number;
}

/** A labeller over a run's attack phases. */
export interface Labeller {
  /**
   * The attack phase that explains traffic between `a` and `b` over [from, to] (µs), or null
   * (benign): the phase must overlap the interval (or have ended less than the grace before it)
   * and its attacker must be one of the two addresses, or (ARP) one of the source MACs.
   */
  phaseOf(from: number, to: number, a: string | null, b: string | null, macs?: readonly number[]): LabPhase | null;
}

function macNumber(mac: string | null): number {
  if (!mac) return -1;
  return parseInt(mac.replaceAll(':', ''), 16);
}

/** How long after an attack phase the attacker's traffic still belongs to it (µs). */
export const ATTACK_GRACE_MICROS = 5_000_000;

/** Build the labeller of a run. */
export function labeller(labels: LabLabels, graceMicros = ATTACK_GRACE_MICROS): Labeller {
  const bounds: Bound[] = labels.phases
    .filter((p) => p.attacker !== null)
    .map((p) => ({ phase: p, start: Date.parse(p.start) * 1000, end: Date.parse(p.end) * 1000, mac: macNumber(p.attacker_mac) }));
  return {
    phaseOf(from, to, a, b, macs) {
      const involves = (x: Bound) => (x.phase.attacker !== null && (a === x.phase.attacker || b === x.phase.attacker)) || (macs !== undefined && x.mac >= 0 && macs.includes(x.mac));
      for (const x of bounds) if (to >= x.start && from <= x.end && involves(x)) return x.phase;
      // The attacker's traffic trails its tool: ARP retries for swept addresses, retransmissions,
      // late replies. Within the grace after a phase it still belongs to the latest phase that ended.
      let latest: Bound | null = null;
      for (const x of bounds) if (from > x.end && from <= x.end + graceMicros && involves(x) && (!latest || x.end > latest.end)) latest = x;
      return latest?.phase ?? null;
    },
  };
}

/** A labelled feature matrix: what `heir train --lab DIR` trains on. */
export interface LabDataset {
  /** `name@version` of the feature set. */
  readonly featureSet: string;
  readonly featureNames: readonly string[];
  /** Row-major features: `X[row * featureNames.length + j]`. */
  readonly X: Float64Array;
  /** Class label per row (`Benign`, `TCP_IP-DoS-SYN`, …). */
  readonly y: string[];
  /** Category per row (`Benign`, `DoS`, `Recon`, `MQTT`, `BruteForce`, `Spoofing`). */
  readonly categories: string[];
  /** Group per row for leak-free splits: the lab phase that explains it, or `background`. */
  readonly groups: string[];
  /** Event time of each row (µs): first packet of the window or flow, end of the device window. */
  readonly ts: Float64Array;
  /** The featurizer's output batch, labels filled in. */
  readonly batch: RecordBatch;
}

/** Options of `loadLabDataset`. */
export interface LabDatasetOptions {
  /** Feature set: `cic-window` (default), `flow` or `device`. */
  readonly featureSet?: string;
}

async function* fileChunks(path: string): AsyncGenerator<Uint8Array> {
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) yield chunk as Uint8Array;
}

/**
 * Featurize a lab run with the pipeline's own featurizers and label every row from labels.json.
 * @example const { featureNames, X, y, groups } = await loadLabDataset('datasets/lab/small-seed1');
 */
export async function loadLabDataset(dir: string, options: LabDatasetOptions = {}): Promise<LabDataset> {
  const labels = readLabels(dir);
  const set = featureSet(options.featureSet ?? 'cic-window');
  const capture = join(dir, labels.capture);
  if (!existsSync(capture)) throw new HeirError(ErrorCode.DATASET_NOT_FOUND, `${capture} not found (named by ${join(dir, 'labels.json')})`);
  const lab = labeller(labels);
  const phaseOfLabel = new Map(labels.phases.map((p) => [p.name, p]));
  if (set.name === CIC_WINDOW_FEATURES_V1.name) {
    const windows = await windowsFromCapture(fileChunks(capture), capture);
    const groups = labelWindows(windows, lab);
    const batch = windowFeaturesBatch(windows);
    return finish(set, batch, groups, windows.map((w) => w.tsStart), phaseOfLabel);
  }
  const flows = await labelledFlows(capture, lab);
  if (set.name === FLOW_FEATURES_V1.name) {
    const batch = featurizeFlows(flows.batch);
    return finish(set, batch, flows.groups, [...numericColumn(flows.batch, 'ts_start')], phaseOfLabel);
  }
  if (set.name === DEVICE_FEATURES_V1.name) {
    const state = createDeviceState();
    const windows = [...pushFlows(state, flows.batch).windows, ...flushDevices(state)];
    const batch = deviceFeaturesBatch(windows);
    const groups = windows.map((w) => (w.label === null || w.label === BENIGN ? 'background' : (labels.phases.find((p) => p.label === w.label && Date.parse(p.start) * 1000 < w.windowEnd && Date.parse(p.end) * 1000 > w.windowStart)?.name ?? 'background')));
    return finish(set, batch, groups, windows.map((w) => w.windowEnd), phaseOfLabel);
  }
  throw new HeirError(ErrorCode.FEATURES_MISSING, `loadLabDataset cannot compute feature set ${set.name}`);
}

/** Label packet windows in place; returns the group (phase name or `background`) of each. */
export function labelWindows(windows: PacketWindow[], lab: Labeller): string[] {
  return windows.map((w) => {
    const phase = lab.phaseOf(w.tsStart, w.tsEnd, w.src, w.dst, w.macs);
    w.label = phase ? phase.label : BENIGN;
    return phase ? phase.name : 'background';
  });
}

/** The run's flows (pcap ingest) in one batch with `label`/`label_category` set, and their groups. */
export async function labelledFlows(capture: string, lab: Labeller): Promise<{ batch: RecordBatch; groups: string[] }> {
  const rows = [];
  for await (const out of parsePcap(fileChunks(capture), { site: 'lab', sensor: 'lab', input: capture, batchSize: 4096, idleTimeoutS: 5 })) {
    if (out.flows) rows.push(...flowRows(out.flows));
  }
  rows.sort((a, b) => a.ts_start - b.ts_start);
  const groups: string[] = [];
  for (const row of rows) {
    const phase = lab.phaseOf(row.ts_start, row.ts_end, row.src_addr, row.dst_addr);
    (row as { label: string | null }).label = phase ? phase.label : BENIGN;
    (row as { label_category: string | null }).label_category = phase ? phase.category : BENIGN;
    groups.push(phase ? phase.name : 'background');
  }
  return { batch: flowBatch(rows), groups };
}

function finish(set: FeatureSet, batch: RecordBatch, groups: string[], ts: number[], phases: Map<string, LabPhase>): LabDataset {
  const y = stringColumn(batch, 'label').map((l) => l ?? BENIGN);
  const categories = groups.map((g, i) => phases.get(g)?.category ?? (y[i] === BENIGN ? BENIGN : 'unknown'));
  return {
    featureSet: `${set.name}@${set.version}`,
    featureNames: set.features,
    X: featureMatrix(batch, set),
    y,
    categories,
    groups,
    ts: Float64Array.from(ts),
    batch,
  };
}

