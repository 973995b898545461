/**
 * Featurize (c): per-device behaviour over event-time sliding windows (feature set device@1):
 * connection rate, distinct peers and ports, unanswered/SYN/RST ratios and bytes/s, each against
 * the device's own baseline. It is what finds scans, floods and a device acting unlike itself.
 *
 * Time is event time (a flow's `ts_start`). Flows are counted in panes of `paneMicros`; a window
 * is `windowPanes` consecutive panes and slides by one pane. The watermark is the largest event
 * time seen minus `latenessMicros`: a pane closes (and the windows ending with it are emitted)
 * once the watermark passes its end, so flows that arrive out of order by less than the lateness
 * are still counted; a flow for a pane already closed is late: it is counted in
 * `state.counters.late` (and per device), reported through `warn`, and not added.
 *
 * This is the one stateful featurizer. All its state lives in the `DeviceWindowState` object the
 * runner creates with `createDeviceState` and passes to every call; the state is partitioned by
 * device (`state.devices`), so a runner that shards devices across workers gives each worker its
 * own state for its devices, and a restart that replays the stream rebuilds it.
 */
import type { RecordBatch } from 'apache-arrow';
import { batchFromColumns } from '../pipeline/columns.ts';
import { ConfigError, InputError } from '../pipeline/errors.ts';
import type { Operator, OperatorContext, Tables } from '../pipeline/types.ts';
import { DEVICE_FEATURES_V1, featureSchema } from './feature-sets.ts';
import { numericColumn, stringColumn } from './featurize-flow.ts';

/** Options of the device windows; validated once in `createDeviceState`. */
export interface DeviceWindowOptions {
  /** Pane (slide) length, µs. Default 2 s. */
  readonly paneMicros?: number;
  /** Panes per window. Default 5 (a 10 s window sliding by 2 s). */
  readonly windowPanes?: number;
  /** Bounded lateness, µs: how far behind the newest event a flow may arrive and still count. Default 2 s. */
  readonly latenessMicros?: number;
  /** Weight of the newest window in the device's baseline (exponentially weighted). Default 0.05. */
  readonly baselineAlpha?: number;
}

interface Pane {
  outFlows: number;
  outPackets: number;
  outBytes: number;
  outUnanswered: number;
  outSynOnly: number;
  outTcp: number;
  outRst: number;
  outUdp: number;
  outIcmp: number;
  readonly outPeers: Set<string>;
  readonly outPorts: Set<number>;
  inFlows: number;
  inPackets: number;
  inBytes: number;
  inRst: number;
  readonly inPeers: Set<string>;
  readonly inPorts: Set<number>;
  readonly outLabels: Map<string, number>;
  readonly inLabels: Map<string, number>;
}

interface Ewma {
  mean: number;
  variance: number;
}

/** State of one device (one partition). */
export interface DevicePartition {
  /** Open panes by pane index (event time / pane length). */
  readonly panes: Map<number, Pane>;
  readonly baseline: { bytes: Ewma; flows: Ewma; peers: Ewma; windows: number };
  /** Flows for this device that arrived after their pane had closed. */
  late: number;
}

/** Everything the device featurizer remembers between batches. */
export interface DeviceWindowState {
  readonly paneMicros: number;
  readonly windowPanes: number;
  readonly latenessMicros: number;
  readonly baselineAlpha: number;
  readonly devices: Map<string, DevicePartition>;
  /** Largest event time seen, µs. */
  maxTs: number;
  /** Panes with an index below this are closed. */
  closedBefore: number;
  readonly counters: { flows: number; outOfOrder: number; late: number; windows: number };
}

/** Create the state (the runner owns it; one per stream or per device shard). */
export function createDeviceState(options: DeviceWindowOptions = {}): DeviceWindowState {
  const paneMicros = options.paneMicros ?? 2_000_000;
  const windowPanes = options.windowPanes ?? 5;
  const latenessMicros = options.latenessMicros ?? 2_000_000;
  const baselineAlpha = options.baselineAlpha ?? 0.05;
  if (!Number.isInteger(paneMicros) || paneMicros <= 0) throw new ConfigError(`invalid device pane length: ${paneMicros} µs`);
  if (!Number.isInteger(windowPanes) || windowPanes < 1 || windowPanes > 1000) throw new ConfigError(`invalid device window panes: ${windowPanes} (1..1000)`);
  if (!(latenessMicros >= 0)) throw new ConfigError(`invalid device lateness: ${latenessMicros} µs`);
  if (!(baselineAlpha > 0 && baselineAlpha <= 1)) throw new ConfigError(`invalid device baseline alpha: ${baselineAlpha} (0 < alpha ≤ 1)`);
  return {
    paneMicros,
    windowPanes,
    latenessMicros,
    baselineAlpha,
    devices: new Map(),
    maxTs: -Infinity,
    closedBefore: -Infinity,
    counters: { flows: 0, outOfOrder: 0, late: 0, windows: 0 },
  };
}

/** One emitted device window (before it becomes a table row). */
export interface DeviceWindow {
  readonly device: string;
  readonly windowStart: number;
  readonly windowEnd: number;
  readonly label: string | null;
  readonly features: Float64Array;
}

/** What one call returns: the windows that closed, and the late flows it refused. */
export interface DeviceStep {
  readonly windows: DeviceWindow[];
  readonly late: number;
  readonly lateDevices: readonly string[];
}

function newPane(): Pane {
  return {
    outFlows: 0, outPackets: 0, outBytes: 0, outUnanswered: 0, outSynOnly: 0, outTcp: 0, outRst: 0, outUdp: 0, outIcmp: 0,
    outPeers: new Set(), outPorts: new Set(),
    inFlows: 0, inPackets: 0, inBytes: 0, inRst: 0, inPeers: new Set(), inPorts: new Set(),
    outLabels: new Map(), inLabels: new Map(),
  };
}

function partition(state: DeviceWindowState, device: string): DevicePartition {
  let p = state.devices.get(device);
  if (!p) {
    p = { panes: new Map(), baseline: { bytes: { mean: 0, variance: 0 }, flows: { mean: 0, variance: 0 }, peers: { mean: 0, variance: 0 }, windows: 0 }, late: 0 };
    state.devices.set(device, p);
  }
  return p;
}

function paneOf(p: DevicePartition, index: number): Pane {
  let pane = p.panes.get(index);
  if (!pane) {
    pane = newPane();
    p.panes.set(index, pane);
  }
  return pane;
}

const TCP_SYN = 2;
const TCP_ACK = 16;

/**
 * Add a batch of flows (flow schema) and emit the windows the advanced watermark closes. Flows
 * without addresses are skipped (they describe no device).
 */
export function pushFlows(state: DeviceWindowState, flows: RecordBatch): DeviceStep {
  const n = flows.numRows;
  const ts = numericColumn(flows, 'ts_start');
  const src = stringColumn(flows, 'src_addr');
  const dst = stringColumn(flows, 'dst_addr');
  const dport = numericColumn(flows, 'dst_port');
  const proto = numericColumn(flows, 'ip_proto');
  const fwdP = numericColumn(flows, 'fwd_packets');
  const bwdP = numericColumn(flows, 'bwd_packets');
  const fwdB = numericColumn(flows, 'fwd_bytes');
  const flagsFwd = numericColumn(flows, 'tcp_flags_fwd');
  const flagsBwd = numericColumn(flows, 'tcp_flags_bwd');
  const rst = numericColumn(flows, 'rst_count');
  const label = stringColumn(flows, 'label');
  let late = 0;
  const lateDevices = new Set<string>();
  for (let i = 0; i < n; i++) {
    const s = src[i];
    const d = dst[i];
    if (s === null || d === null) continue;
    state.counters.flows++;
    const index = Math.floor(ts[i] / state.paneMicros);
    if (index < state.closedBefore) {
      late++;
      state.counters.late++;
      partition(state, s).late++;
      lateDevices.add(s);
      continue;
    }
    if (ts[i] < state.maxTs) state.counters.outOfOrder++;
    else state.maxTs = ts[i];
    const out = paneOf(partition(state, s), index);
    out.outFlows++;
    out.outPackets += fwdP[i];
    out.outBytes += fwdB[i];
    if (bwdP[i] === 0) out.outUnanswered++;
    const p = proto[i];
    if (p === 6) {
      out.outTcp++;
      const answered = (flagsBwd[i] & (TCP_SYN | TCP_ACK)) === (TCP_SYN | TCP_ACK);
      if ((flagsFwd[i] & TCP_SYN) !== 0 && !answered) out.outSynOnly++;
    } else if (p === 17) out.outUdp++;
    else if (p === 1 || p === 58) out.outIcmp++;
    if (rst[i] > 0) out.outRst++;
    out.outPeers.add(d);
    if (p === 6 || p === 17) out.outPorts.add(dport[i]);
    const inn = paneOf(partition(state, d), index);
    inn.inFlows++;
    inn.inPackets += fwdP[i];
    inn.inBytes += fwdB[i];
    if (rst[i] > 0) inn.inRst++;
    inn.inPeers.add(s);
    if (p === 6 || p === 17) inn.inPorts.add(dport[i]);
    const l = label[i];
    if (l !== null) {
      out.outLabels.set(l, (out.outLabels.get(l) ?? 0) + 1);
      inn.inLabels.set(l, (inn.inLabels.get(l) ?? 0) + 1);
    }
  }
  const windows = closeUpTo(state, Math.floor((state.maxTs - state.latenessMicros) / state.paneMicros));
  return { windows, late, lateDevices: [...lateDevices].sort() };
}

/**
 * Advance the watermark to event time `now` without new flows (a heartbeat from the runner's
 * clock mapped to event time, or a virtual clock in tests).
 */
export function advanceWatermark(state: DeviceWindowState, now: number): DeviceWindow[] {
  if (now > state.maxTs) state.maxTs = now;
  return closeUpTo(state, Math.floor((state.maxTs - state.latenessMicros) / state.paneMicros));
}

/** Close every pane and emit every remaining window (end of input). */
export function flushDevices(state: DeviceWindowState): DeviceWindow[] {
  let last = -Infinity;
  for (const p of state.devices.values()) for (const index of p.panes.keys()) if (index > last) last = index;
  if (last === -Infinity) return [];
  return closeUpTo(state, last + state.windowPanes);
}

/** Close panes with index < `before`, emitting each device window that ends with a closed pane. */
function closeUpTo(state: DeviceWindowState, before: number): DeviceWindow[] {
  if (!(before > state.closedBefore)) return [];
  const from = state.closedBefore;
  state.closedBefore = before;
  const out: DeviceWindow[] = [];
  const k = state.windowPanes;
  for (const [device, p] of [...state.devices.entries()].sort((a, b) => (a[0] < b[0] ? -1 : 1))) {
    if (p.panes.size === 0) continue;
    // Windows end at panes q..q+k-1 for each open pane q: only those can hold activity.
    const ends = new Set<number>();
    for (const q of p.panes.keys()) for (let e = q; e < q + k; e++) if (e >= from && e < before) ends.add(e);
    for (const e of [...ends].sort((a, b) => a - b)) out.push(emit(state, device, p, e));
    for (const q of [...p.panes.keys()]) if (q + k <= before) p.panes.delete(q);
  }
  out.sort((a, b) => a.windowEnd - b.windowEnd || (a.device < b.device ? -1 : a.device > b.device ? 1 : 0));
  state.counters.windows += out.length;
  return out;
}

const FEATURES = DEVICE_FEATURES_V1.features;
const IDX: Readonly<Record<string, number>> = Object.fromEntries(FEATURES.map((name, i) => [name, i]));

function emit(state: DeviceWindowState, device: string, p: DevicePartition, end: number): DeviceWindow {
  const k = state.windowPanes;
  const seconds = (k * state.paneMicros) / 1e6;
  const agg = newPane();
  for (let q = end - k + 1; q <= end; q++) {
    const pane = p.panes.get(q);
    if (!pane) continue;
    agg.outFlows += pane.outFlows;
    agg.outPackets += pane.outPackets;
    agg.outBytes += pane.outBytes;
    agg.outUnanswered += pane.outUnanswered;
    agg.outSynOnly += pane.outSynOnly;
    agg.outTcp += pane.outTcp;
    agg.outRst += pane.outRst;
    agg.outUdp += pane.outUdp;
    agg.outIcmp += pane.outIcmp;
    for (const v of pane.outPeers) agg.outPeers.add(v);
    for (const v of pane.outPorts) agg.outPorts.add(v);
    agg.inFlows += pane.inFlows;
    agg.inPackets += pane.inPackets;
    agg.inBytes += pane.inBytes;
    agg.inRst += pane.inRst;
    for (const v of pane.inPeers) agg.inPeers.add(v);
    for (const v of pane.inPorts) agg.inPorts.add(v);
    for (const [l, c] of pane.outLabels) agg.outLabels.set(l, (agg.outLabels.get(l) ?? 0) + c);
    for (const [l, c] of pane.inLabels) agg.inLabels.set(l, (agg.inLabels.get(l) ?? 0) + c);
  }
  const f = new Float64Array(FEATURES.length);
  const set = (name: string, v: number) => {
    f[IDX[name]] = v;
  };
  set('out_flows', agg.outFlows);
  set('out_flows_per_s', agg.outFlows / seconds);
  set('out_distinct_peers', agg.outPeers.size);
  set('out_distinct_ports', agg.outPorts.size);
  set('out_packets_per_s', agg.outPackets / seconds);
  set('out_bytes_per_s', agg.outBytes / seconds);
  set('out_unanswered_ratio', agg.outFlows > 0 ? agg.outUnanswered / agg.outFlows : 0);
  set('out_syn_ratio', agg.outTcp > 0 ? agg.outSynOnly / agg.outTcp : 0);
  set('out_rst_ratio', agg.outFlows > 0 ? agg.outRst / agg.outFlows : 0);
  set('out_udp_ratio', agg.outFlows > 0 ? agg.outUdp / agg.outFlows : 0);
  set('out_icmp_ratio', agg.outFlows > 0 ? agg.outIcmp / agg.outFlows : 0);
  set('out_mean_packets_per_flow', agg.outFlows > 0 ? agg.outPackets / agg.outFlows : 0);
  set('in_flows', agg.inFlows);
  set('in_flows_per_s', agg.inFlows / seconds);
  set('in_distinct_peers', agg.inPeers.size);
  set('in_distinct_ports', agg.inPorts.size);
  set('in_packets_per_s', agg.inPackets / seconds);
  set('in_bytes_per_s', agg.inBytes / seconds);
  set('in_rst_ratio', agg.inFlows > 0 ? agg.inRst / agg.inFlows : 0);
  const b = p.baseline;
  const bytesPerS = (agg.outBytes + agg.inBytes) / seconds;
  const flowsPerS = (agg.outFlows + agg.inFlows) / seconds;
  const peers = agg.outPeers.size + agg.inPeers.size;
  // Scores against the baseline of the windows before this one, then this window joins the baseline.
  set('bytes_per_s_z', zScore(b.bytes, bytesPerS, 100, b.windows));
  set('flows_per_s_z', zScore(b.flows, flowsPerS, 0.1, b.windows));
  set('peers_z', zScore(b.peers, peers, 1, b.windows));
  set('baseline_windows', b.windows);
  const a = state.baselineAlpha;
  update(b.bytes, bytesPerS, a, b.windows);
  update(b.flows, flowsPerS, a, b.windows);
  update(b.peers, peers, a, b.windows);
  b.windows++;
  const windowEnd = (end + 1) * state.paneMicros;
  return { device, windowStart: windowEnd - k * state.paneMicros, windowEnd, label: majority(agg.outLabels) ?? majority(agg.inLabels), features: f };
}

/** z-score against an exponentially weighted mean and variance, the deviation floored (no baseline: 0). */
function zScore(e: Ewma, x: number, unitFloor: number, windows: number): number {
  if (windows === 0) return 0;
  const sd = Math.max(Math.sqrt(e.variance), 0.1 * Math.abs(e.mean), unitFloor);
  const z = (x - e.mean) / sd;
  return Math.max(-100, Math.min(100, z));
}

function update(e: Ewma, x: number, alpha: number, windows: number): void {
  if (windows === 0) {
    e.mean = x;
    e.variance = 0;
    return;
  }
  const diff = x - e.mean;
  e.mean += alpha * diff;
  e.variance = (1 - alpha) * (e.variance + alpha * diff * diff);
}

function majority(labels: Map<string, number>): string | null {
  let best: string | null = null;
  let count = 0;
  for (const [l, c] of [...labels.entries()].sort((x, y) => (x[0] < y[0] ? -1 : 1))) {
    if (c > count) {
      best = l;
      count = c;
    }
  }
  return best;
}

/** The device_features table (feature set device@1) of emitted windows. */
export function deviceFeaturesBatch(windows: readonly DeviceWindow[]): RecordBatch {
  const { schema, columns } = featureSchema(DEVICE_FEATURES_V1);
  const n = windows.length;
  const cols: Record<string, ArrayLike<unknown>> = {
    device: windows.map((w) => w.device),
    window_start: windows.map((w) => w.windowStart),
    window_end: windows.map((w) => w.windowEnd),
    label: windows.map((w) => w.label),
  };
  for (let j = 0; j < FEATURES.length; j++) {
    const a = new Float64Array(n);
    for (let i = 0; i < n; i++) a[i] = windows[i].features[j];
    cols[FEATURES[j]] = a;
  }
  return batchFromColumns(schema, columns, cols, n);
}

/**
 * The featurize-device operator over a state the runner owns:
 * `const op = featurizeDeviceOperator(createDeviceState())`. Reads `flows`, adds
 * `device_features` (the windows this batch closed, possibly none); late flows are reported
 * through the context's warn().
 */
export function featurizeDeviceOperator(state: DeviceWindowState): Operator {
  return {
    descriptor: {
      name: 'featurize-device',
      version: '1',
      summary: 'per-device behaviour over event-time sliding windows (feature set device@1); stateful, partitioned by device',
      reads: ['flows'],
      writes: ['device_features'],
    },
    apply(input: Tables, context: OperatorContext): Tables {
      const flows = input.flows;
      if (!flows) throw new InputError('tables', 'featurize-device needs a flows table');
      const step = pushFlows(state, flows);
      if (step.late > 0) {
        const lateness = state.latenessMicros / 1e6;
        context.warn(`featurize-device: ${step.late} flow(s) arrived later than the ${lateness} s lateness and were not counted (devices ${step.lateDevices.slice(0, 5).join(', ')}${step.lateDevices.length > 5 ? ', …' : ''})`);
      }
      return { ...input, device_features: deviceFeaturesBatch(step.windows) };
    },
  };
}
