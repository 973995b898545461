/**
 * Benign flows of real medical devices: the WiFi captures (pcap, link type 101) of
 * `../shared/datasets/pcaps/medical-devices/`, parsed by the pipeline's pcap ingest with its live
 * defaults and featurized with flow@1, every row labelled `Benign` and grouped by device and
 * capture set (`<device>/<function>`, the first number of `<function>_<trial>.pcap`).
 *
 * The split is by whole capture sets: per device, the set of the capture committed in
 * `datasets/samples/medical-devices/` (the one `heir demo` replays) is held out, with that file
 * itself; files with the same bytes as a held-out file (the source tree has copies) are held out
 * too. Nothing of a held-out set is ever trained on.
 */
import { createHash } from 'node:crypto';
import { closeSync, openSync, readdirSync, readFileSync, readSync, statSync } from 'node:fs';
import { basename, join, relative } from 'node:path';
import { FLOW_FEATURES_V1, featureMatrix } from '../operators/feature-sets.ts';
import { featurizeFlows } from '../operators/featurize-flow.ts';
import { parsePcap } from '../operators/ingest-pcap.ts';
import { flowBatch, flowRows, type FlowRow } from '../pipeline/flow-schema.ts';
import { ErrorCode, HeirError } from '../pipeline/errors.ts';

/** One capture file of a device. */
export interface DeviceCapture {
  readonly path: string;
  readonly device: string;
  /** `<device>/<function>`: the capture set. */
  readonly group: string;
  readonly sha1: string;
}

/** Flow features of a set of captures. */
export interface DeviceFlows {
  readonly featureNames: readonly string[];
  /** Row-major, `featureNames.length` wide. */
  readonly X: Float64Array;
  readonly device: string[];
  readonly group: string[];
  readonly rows: number;
}

/** Link type of a classic pcap file, or null (empty, truncated or another format). */
function linkType(path: string): number | null {
  const fd = openSync(path, 'r');
  try {
    const head = Buffer.alloc(24);
    if (readSync(fd, head, 0, 24, 0) < 24) return null;
    const magic = head.readUInt32LE(0);
    if (magic === 0xa1b2c3d4 || magic === 0xa1b23c4d) return head.readUInt32LE(20);
    const big = head.readUInt32BE(0);
    if (big === 0xa1b2c3d4 || big === 0xa1b23c4d) return head.readUInt32BE(20);
    return null;
  } finally {
    closeSync(fd);
  }
}

/** Every `.pcap` file under `dir`, at any depth, sorted by path. */
export function pcapFilesUnder(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...pcapFilesUnder(p));
    else if (entry.name.endsWith('.pcap')) out.push(p);
  }
  return out.sort();
}

const sha1 = (path: string) => createHash('sha1').update(readFileSync(path)).digest('hex');

/** Every raw-IP capture (link type 101) under `root`, one per distinct content. */
export function deviceCaptures(root: string): DeviceCapture[] {
  const seen = new Set<string>();
  const out: DeviceCapture[] = [];
  let files: string[];
  try {
    files = pcapFilesUnder(root);
  } catch (error) {
    throw new HeirError(ErrorCode.DATASET_NOT_FOUND, `cannot read the medical-device captures in ${root}: ${(error as Error).message}`, { cause: error });
  }
  for (const path of files) {
    if (statSync(path).size <= 24 || linkType(path) !== 101) continue;
    const hash = sha1(path);
    if (seen.has(hash)) continue;
    seen.add(hash);
    const device = relative(root, path).split('/')[0];
    const fn = /^(\d+)_\d+\.pcap$/.exec(basename(path))?.[1] ?? basename(path, '.pcap');
    out.push({ path, device, group: `${device}/${fn}`, sha1: hash });
  }
  return out;
}

/** The committed sample captures: their content hashes and `<device>/<function>` sets. */
export function sampleSets(samplesDir: string): { hashes: Set<string>; groups: Set<string> } {
  const hashes = new Set<string>();
  const groups = new Set<string>();
  for (const name of readdirSync(samplesDir).filter((f) => f.endsWith('.pcap'))) {
    hashes.add(sha1(join(samplesDir, name)));
    const m = /^(.+)-(\d+)_\d+\.pcap$/.exec(name);
    if (!m) throw new HeirError(ErrorCode.DATASET_NOT_FOUND, `${join(samplesDir, name)}: expected a name <device>-<function>_<trial>.pcap`);
    groups.add(`${m[1]}/${m[2]}`);
  }
  return { hashes, groups };
}

/** Split captures: held out are the samples' capture sets and any copy of a sample file. */
export function splitCaptures(captures: readonly DeviceCapture[], samplesDir: string): { train: DeviceCapture[]; heldOut: DeviceCapture[] } {
  const { hashes, groups } = sampleSets(samplesDir);
  const train: DeviceCapture[] = [];
  const heldOut: DeviceCapture[] = [];
  for (const c of captures) (hashes.has(c.sha1) || groups.has(c.group) ? heldOut : train).push(c);
  return { train, heldOut };
}

async function* chunks(path: string): AsyncGenerator<Uint8Array> {
  yield readFileSync(path);
}

/** Parse and featurize captures (pcap ingest defaults, as `heir ingest pcap` runs them). */
export async function deviceFlows(captures: readonly DeviceCapture[]): Promise<DeviceFlows> {
  const width = FLOW_FEATURES_V1.features.length;
  const parts: Float64Array[] = [];
  const device: string[] = [];
  const group: string[] = [];
  for (const c of captures) {
    const rows: FlowRow[] = [];
    for await (const out of parsePcap(chunks(c.path), { site: 'devices', sensor: c.device, input: c.path, batchSize: 4096 })) {
      if (out.flows) rows.push(...flowRows(out.flows));
    }
    if (rows.length === 0) continue;
    parts.push(featureMatrix(featurizeFlows(flowBatch(rows)), FLOW_FEATURES_V1));
    for (let i = 0; i < rows.length; i++) {
      device.push(c.device);
      group.push(c.group);
    }
  }
  const X = new Float64Array(device.length * width);
  let o = 0;
  for (const p of parts) {
    X.set(p, o);
    o += p.length;
  }
  return { featureNames: FLOW_FEATURES_V1.features, X, device, group, rows: device.length };
}
