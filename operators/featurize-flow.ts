/**
 * Featurize (a): per-flow features from flow schema v1. A pure operator: `flows` in, the
 * `flow_features` table (feature set flow@1) out, one row per flow in the same order. The same
 * function featurizes training flows (lab runs, datasets adapted to the flow schema) and live
 * flows, so a model never sees numbers computed by other code.
 *
 * Identities (addresses, raw port numbers, MACs) are deliberately not features: a model that
 * learns the attacker's address scores 100% in the lab and nothing at a hospital.
 */
import { Type, type RecordBatch } from 'apache-arrow';
import { InputError } from '../pipeline/errors.ts';
import { isFlowBatch } from '../pipeline/flow-schema.ts';
import type { Operator, Tables } from '../pipeline/types.ts';
import { FLOW_FEATURES_V1, featureBatch } from './feature-sets.ts';

/**
 * A numeric column as a Float64Array, nulls as 0 (a missing statistic is 0, see
 * docs/features.md). Timestamps come back in epoch microseconds. Reads each chunk's value buffer
 * and validity bitmap directly: `Vector.get()` per row costs microseconds (timestamps most).
 */
export function numericColumn(batch: RecordBatch, name: string): Float64Array {
  const n = batch.numRows;
  const out = new Float64Array(n);
  const column = batch.getChild(name);
  if (!column) return out;
  const isTs = column.type.typeId === Type.Timestamp;
  // A timestamp column's unit: microseconds are stored as is; other units are scaled to them.
  const scale = isTs ? TS_SCALE[(column.type as unknown as { unit: number }).unit] : 1;
  let o = 0;
  for (const data of column.data) {
    const values = data.values as Float64Array | Int32Array | BigInt64Array;
    const bitmap = data.nullCount > 0 ? data.nullBitmap : null;
    const base = data.offset;
    const len = data.length;
    // One loop per array type keeps each loop monomorphic (a shared loop over the union is ~10× slower).
    if (values instanceof BigInt64Array) {
      for (let i = 0; i < len; i++) out[o + i] = Number(values[base + i]) * (isTs ? scale : 1);
    } else if (values instanceof Float64Array) {
      out.set(values.subarray(base, base + len), o);
    } else {
      for (let i = 0; i < len; i++) out[o + i] = values[base + i];
    }
    if (bitmap) {
      for (let i = 0; i < len; i++) {
        const bit = base + i;
        if ((bitmap[bit >> 3] & (1 << (bit & 7))) === 0) out[o + i] = 0;
      }
    }
    o += len;
  }
  return out;
}

// Arrow TimeUnit: SECOND 0, MILLISECOND 1, MICROSECOND 2, NANOSECOND 3 → factor to µs.
const TS_SCALE = [1e6, 1e3, 1, 1e-3];

const utf8 = new TextDecoder();

/**
 * A string column as an array (nulls as null), decoded straight from each chunk's offsets and
 * bytes; repeated values (protocols, addresses) are decoded once per chunk.
 */
export function stringColumn(batch: RecordBatch, name: string): (string | null)[] {
  const n = batch.numRows;
  const out: (string | null)[] = new Array(n).fill(null);
  const column = batch.getChild(name);
  if (!column) return out;
  if (column.type.typeId !== Type.Utf8) {
    for (let i = 0; i < n; i++) out[i] = column.get(i) as string | null;
    return out;
  }
  let o = 0;
  for (const data of column.data) {
    const offsets = data.valueOffsets as Int32Array;
    const bytes = data.values as Uint8Array;
    const bitmap = data.nullCount > 0 ? data.nullBitmap : null;
    const base = data.offset;
    let lastStart = -1;
    let lastEnd = -1;
    let last: string | null = null;
    for (let i = 0; i < data.length; i++) {
      const k = base + i;
      if (bitmap && (bitmap[k >> 3] & (1 << (k & 7))) === 0) continue;
      const start = offsets[k];
      const end = offsets[k + 1];
      // Runs of the same value (sorted or repeated addresses) skip the decoder.
      if (last === null || end - start !== lastEnd - lastStart || !sameBytes(bytes, start, lastStart, end - start)) {
        last = utf8.decode(bytes.subarray(start, end));
        lastStart = start;
        lastEnd = end;
      }
      out[o + i] = last;
    }
    o += data.length;
  }
  return out;
}

function sameBytes(b: Uint8Array, x: number, y: number, len: number): boolean {
  for (let i = 0; i < len; i++) if (b[x + i] !== b[y + i]) return false;
  return true;
}

// Application protocols with their own one-hot feature; anything else detected is l7_other.
const L7_FEATURES = [
  ['hl7-mllp', 'l7_hl7'],
  ['dicom', 'l7_dicom'],
  ['mqtt', 'l7_mqtt'],
  ['http', 'l7_http'],
  ['tls', 'l7_tls'],
  ['telnet', 'l7_telnet'],
  ['ftp', 'l7_ftp'],
  ['dns', 'l7_dns'],
] as const;

const TCP_SYN = 2;
const TCP_ACK = 16;

/** Compute the flow@1 feature table of a flow batch. Throws InputError when the batch is not flows. */
export function featurizeFlows(flows: RecordBatch): RecordBatch {
  if (!isFlowBatch(flows)) throw new InputError('flows', 'featurize-flow needs a flow schema batch (heir.table=flows)');
  const n = flows.numRows;
  const out: Record<string, Float64Array> = {};
  const f = (name: string): Float64Array => {
    const a = new Float64Array(n);
    out[name] = a;
    return a;
  };

  const duration = numericColumn(flows, 'duration_s');
  const fwdP = numericColumn(flows, 'fwd_packets');
  const bwdP = numericColumn(flows, 'bwd_packets');
  const fwdB = numericColumn(flows, 'fwd_bytes');
  const bwdB = numericColumn(flows, 'bwd_bytes');
  const proto = numericColumn(flows, 'ip_proto');
  const dport = numericColumn(flows, 'dst_port');
  const flagsFwd = numericColumn(flows, 'tcp_flags_fwd');
  const flagsBwd = numericColumn(flows, 'tcp_flags_bwd');
  const syn = numericColumn(flows, 'syn_count');
  const rst = numericColumn(flows, 'rst_count');
  const l7 = stringColumn(flows, 'l7_proto');

  // Straight copies of flow columns (nulls as 0).
  const copies = ['duration_s', 'fwd_packets', 'bwd_packets', 'fwd_bytes', 'bwd_bytes', 'fwd_payload_bytes', 'bwd_payload_bytes',
    'iat_min', 'iat_max', 'iat_mean', 'iat_std', 'pkt_len_min', 'pkt_len_max', 'pkt_len_mean', 'pkt_len_std',
    'ttl_min', 'ttl_max', 'syn_count', 'fin_count', 'rst_count', 'psh_count', 'ack_count', 'urg_count', 'login_failures'];
  for (const name of copies) out[name] = numericColumn(flows, name);

  const pps = f('packets_per_s');
  const bps = f('bytes_per_s');
  const ratio = f('bwd_fwd_packet_ratio');
  const fwdMean = f('fwd_mean_packet_bytes');
  const bwdMean = f('bwd_mean_packet_bytes');
  const synRatio = f('syn_ratio');
  const rstRatio = f('rst_ratio');
  const handshake = f('handshake_complete');
  const silent = f('responder_silent');
  const tcp = f('proto_tcp');
  const udp = f('proto_udp');
  const icmp = f('proto_icmp');
  const wellKnown = f('dst_port_well_known');
  const registered = f('dst_port_registered');
  const dynamic = f('dst_port_dynamic');
  const l7Cols = L7_FEATURES.map(([, name]) => f(name));
  const l7Other = f('l7_other');
  const l7None = f('l7_none');

  for (let i = 0; i < n; i++) {
    const packets = fwdP[i] + bwdP[i];
    // Rates over a zero-length flow are taken over 1 ms, the resolution below which capture
    // timestamps of a sensor are not trusted (a single-packet flow is not "infinitely fast").
    const span = Math.max(duration[i], 0.001);
    pps[i] = packets / span;
    bps[i] = (fwdB[i] + bwdB[i]) / span;
    ratio[i] = fwdP[i] > 0 ? bwdP[i] / fwdP[i] : 0;
    fwdMean[i] = fwdP[i] > 0 ? fwdB[i] / fwdP[i] : 0;
    bwdMean[i] = bwdP[i] > 0 ? bwdB[i] / bwdP[i] : 0;
    synRatio[i] = packets > 0 ? syn[i] / packets : 0;
    rstRatio[i] = packets > 0 ? rst[i] / packets : 0;
    const p = proto[i];
    tcp[i] = p === 6 ? 1 : 0;
    udp[i] = p === 17 ? 1 : 0;
    icmp[i] = p === 1 || p === 58 ? 1 : 0;
    // A three-way handshake completed: the responder answered SYN with SYN+ACK and the initiator acknowledged.
    handshake[i] = p === 6 && (flagsBwd[i] & (TCP_SYN | TCP_ACK)) === (TCP_SYN | TCP_ACK) && (flagsFwd[i] & TCP_ACK) !== 0 ? 1 : 0;
    silent[i] = bwdP[i] === 0 ? 1 : 0;
    if (p === 6 || p === 17) {
      const port = dport[i];
      if (port < 1024) wellKnown[i] = 1;
      else if (port < 49152) registered[i] = 1;
      else dynamic[i] = 1;
    }
    const proto7 = l7[i];
    if (proto7 === null || proto7 === '') {
      l7None[i] = 1;
    } else {
      let hit = false;
      for (let k = 0; k < L7_FEATURES.length; k++) {
        if (proto7 === L7_FEATURES[k][0]) {
          l7Cols[k][i] = 1;
          hit = true;
          break;
        }
      }
      if (!hit) l7Other[i] = 1;
    }
  }

  const keys = {
    flow_id: stringColumn(flows, 'flow_id'),
    ts_start: numericColumn(flows, 'ts_start'),
    ts_end: numericColumn(flows, 'ts_end'),
    src_addr: stringColumn(flows, 'src_addr'),
    dst_addr: stringColumn(flows, 'dst_addr'),
    label: stringColumn(flows, 'label'),
  };
  return featureBatch(FLOW_FEATURES_V1, keys, FLOW_FEATURES_V1.features.map((name) => out[name]), n);
}

/** The featurize-flow operator: reads `flows`, adds `flow_features`. */
export const featurizeFlowOperator: Operator = {
  descriptor: {
    name: 'featurize-flow',
    version: '1',
    summary: 'per-flow features (feature set flow@1) from flow schema v1',
    reads: ['flows'],
    writes: ['flow_features'],
  },
  apply(input: Tables): Tables {
    const flows = input.flows;
    if (!flows) throw new InputError('tables', 'featurize-flow needs a flows table');
    return { ...input, flow_features: featurizeFlows(flows) };
  },
};
