/**
 * The feature-set registry: every model is trained on, and scored with, one named and versioned
 * feature set, so the numbers a forest sees at a hospital are computed by the same code, in the
 * same order, as the numbers it was trained on. A change to a feature's definition or to the
 * order bumps the version; a model records `name@version` and refuses any other.
 *
 * Definitions of every feature, and every deviation from the CIC definitions, are in
 * docs/features.md.
 */
import { Float64, RecordBatch, Schema, Struct, makeData } from 'apache-arrow';
import { arrowSchema, batchFromColumns, type ColumnSpec } from '../pipeline/columns.ts';
import { ErrorCode, HeirError } from '../pipeline/errors.ts';

/** Which featurizer computes a set. */
export type FeatureSetKind = 'flow' | 'window' | 'device';

/** A named, versioned, ordered list of numeric features. */
export interface FeatureSet {
  readonly name: string;
  readonly version: number;
  readonly kind: FeatureSetKind;
  /** The table the featurizer writes (`flow_features`, `window_features`, `device_features`). */
  readonly table: string;
  /** Columns that identify a row (ids, times, addresses, label); not model input. */
  readonly keys: readonly ColumnSpec[];
  /** Model input, in order: each a non-null f64 column. */
  readonly features: readonly string[];
  readonly summary: string;
}

const key = (name: string, kind: ColumnSpec['kind'], nullable: boolean, doc: string): ColumnSpec => ({ name, kind, nullable, doc });

/** Per-flow features from flow schema v1 (operators/featurize-flow.ts). */
export const FLOW_FEATURES_V1: FeatureSet = {
  name: 'flow',
  version: 1,
  kind: 'flow',
  table: 'flow_features',
  summary: 'per-flow volume, timing, size, TCP-flag and protocol features from flow schema v1',
  keys: [
    key('flow_id', 'utf8', false, 'Flow id of the flow the row describes.'),
    key('ts_start', 'ts', false, 'First packet of the flow.'),
    key('ts_end', 'ts', false, 'Last packet of the flow.'),
    key('src_addr', 'utf8', true, 'Initiator address.'),
    key('dst_addr', 'utf8', true, 'Responder address.'),
    key('label', 'utf8', true, 'Ground-truth class carried from the flow, where known.'),
  ],
  features: [
    'duration_s', 'fwd_packets', 'bwd_packets', 'fwd_bytes', 'bwd_bytes', 'fwd_payload_bytes', 'bwd_payload_bytes',
    'packets_per_s', 'bytes_per_s', 'bwd_fwd_packet_ratio', 'fwd_mean_packet_bytes', 'bwd_mean_packet_bytes',
    'iat_min', 'iat_max', 'iat_mean', 'iat_std', 'pkt_len_min', 'pkt_len_max', 'pkt_len_mean', 'pkt_len_std',
    'ttl_min', 'ttl_max', 'syn_count', 'fin_count', 'rst_count', 'psh_count', 'ack_count', 'urg_count',
    'syn_ratio', 'rst_ratio', 'handshake_complete', 'responder_silent',
    'proto_tcp', 'proto_udp', 'proto_icmp', 'dst_port_well_known', 'dst_port_registered', 'dst_port_dynamic',
    'l7_hl7', 'l7_dicom', 'l7_mqtt', 'l7_http', 'l7_tls', 'l7_telnet', 'l7_ftp', 'l7_dns', 'l7_other', 'l7_none',
    'login_failures',
  ],
};

/**
 * CICIoMT2024 / CICIoT2023-style packet-window features (operators/featurize-window.ts). The
 * names are CIC's 39-feature layout, so rows of the CICIoMT2024 CSV and live windows feed one model.
 */
export const CIC_WINDOW_FEATURES_V1: FeatureSet = {
  name: 'cic-window',
  version: 1,
  kind: 'window',
  table: 'window_features',
  summary: 'CIC-style averages over windows of consecutive packets of one address pair',
  keys: [
    key('window_id', 'utf8', false, 'Deterministic id: address pair, first packet time and sequence.'),
    key('ts_start', 'ts', false, 'First packet of the window.'),
    key('ts_end', 'ts', false, 'Last packet of the window.'),
    key('src_addr', 'utf8', true, 'Sender of the first packet of the window (IP, or the ARP sender address).'),
    key('dst_addr', 'utf8', true, 'Receiver of the first packet of the window.'),
    key('label', 'utf8', true, 'Ground-truth class, where a lab run or dataset provides it.'),
  ],
  features: [
    'Header_Length', 'Protocol Type', 'Time_To_Live', 'Rate',
    'fin_flag_number', 'syn_flag_number', 'rst_flag_number', 'psh_flag_number', 'ack_flag_number', 'ece_flag_number', 'cwr_flag_number',
    'ack_count', 'syn_count', 'fin_count', 'rst_count',
    'HTTP', 'HTTPS', 'DNS', 'Telnet', 'SMTP', 'SSH', 'IRC', 'TCP', 'UDP', 'DHCP', 'ARP', 'ICMP', 'IGMP', 'IPv', 'LLC',
    'Tot sum', 'Min', 'Max', 'AVG', 'Std', 'Tot size', 'IAT', 'Number', 'Variance',
  ],
};

/** Per-device behaviour over event-time sliding windows (operators/featurize-device.ts). */
export const DEVICE_FEATURES_V1: FeatureSet = {
  name: 'device',
  version: 1,
  kind: 'device',
  table: 'device_features',
  summary: 'per-device connection rate, fan-out, SYN/RST ratios and bytes/s against its own baseline',
  keys: [
    key('device', 'utf8', false, 'Device address (the state partition).'),
    key('window_start', 'ts', false, 'Start of the sliding window (exclusive).'),
    key('window_end', 'ts', false, 'End of the sliding window (inclusive).'),
    key('label', 'utf8', true, 'Most frequent ground-truth label of the flows the device initiated in the window, where known.'),
  ],
  features: [
    'out_flows', 'out_flows_per_s', 'out_distinct_peers', 'out_distinct_ports', 'out_packets_per_s', 'out_bytes_per_s',
    'out_unanswered_ratio', 'out_syn_ratio', 'out_rst_ratio', 'out_udp_ratio', 'out_icmp_ratio', 'out_mean_packets_per_flow',
    'in_flows', 'in_flows_per_s', 'in_distinct_peers', 'in_distinct_ports', 'in_packets_per_s', 'in_bytes_per_s', 'in_rst_ratio',
    'bytes_per_s_z', 'flows_per_s_z', 'peers_z', 'baseline_windows',
  ],
};

/** Every registered feature set. */
export const FEATURE_SETS: readonly FeatureSet[] = [FLOW_FEATURES_V1, CIC_WINDOW_FEATURES_V1, DEVICE_FEATURES_V1];

/** `name@version`, as recorded in a model. */
export function featureSetId(set: FeatureSet): string {
  return `${set.name}@${set.version}`;
}

/**
 * Look a set up by `name`, `name@version` or name and version; the newest version when none is
 * given. Unknown names are an error naming the known ones.
 */
export function featureSet(name: string, version?: number): FeatureSet {
  let wanted = name;
  let v = version;
  const at = name.indexOf('@');
  if (at !== -1) {
    wanted = name.slice(0, at);
    v = Number(name.slice(at + 1));
  }
  const candidates = FEATURE_SETS.filter((s) => s.name === wanted && (v === undefined || s.version === v));
  if (candidates.length === 0) {
    const known = FEATURE_SETS.map(featureSetId).join(', ');
    throw new HeirError(ErrorCode.FEATURES_MISSING, `unknown feature set ${name}${version !== undefined ? `@${version}` : ''} (known: ${known})`);
  }
  return candidates.reduce((a, b) => (b.version > a.version ? b : a));
}

/** The column specs of a set's table: its keys, then every feature as a non-null f64. */
export function featureColumns(set: FeatureSet): ColumnSpec[] {
  return [...set.keys, ...set.features.map((name) => ({ name, kind: 'f64' as const, nullable: false, doc: `feature ${name} of ${featureSetId(set)}` }))];
}

const schemas = new Map<string, { schema: Schema; columns: ColumnSpec[] }>();

/** The Arrow schema of a set's table (cached); metadata carries the table name and set version. */
export function featureSchema(set: FeatureSet): { schema: Schema; columns: ColumnSpec[] } {
  const id = featureSetId(set);
  let entry = schemas.get(id);
  if (!entry) {
    const columns = featureColumns(set);
    const schema = arrowSchema(set.table, set.version, columns);
    schema.metadata.set('heir.feature_set', id);
    entry = { schema, columns };
    schemas.set(id, entry);
  }
  return entry;
}

/**
 * The feature matrix of a featurizer's output batch, row-major (`X[row * width + j]`), in the
 * set's order: what a forest reads. A missing feature column is an error naming it.
 */
export function featureMatrix(batch: RecordBatch, set: FeatureSet): Float64Array {
  const width = set.features.length;
  const rows = batch.numRows;
  const out = new Float64Array(rows * width);
  for (let j = 0; j < width; j++) {
    const column = batch.getChild(set.features[j]);
    if (!column) throw new HeirError(ErrorCode.FEATURES_MISSING, `batch lacks feature ${set.features[j]} of ${featureSetId(set)}`);
    const values = column.toArray() as Float64Array;
    for (let i = 0; i < rows; i++) out[i * width + j] = values[i];
  }
  return out;
}

/**
 * Build a featurizer's output batch: key columns from plain values, and the features from one
 * Float64Array per feature (in the set's order) wrapped as Arrow data without a copy.
 */
export function featureBatch(set: FeatureSet, keys: Record<string, ArrayLike<unknown>>, features: readonly Float64Array[], length: number): RecordBatch {
  const { schema } = featureSchema(set);
  if (features.length !== set.features.length) throw new Error(`${featureSetId(set)}: ${features.length} feature columns for ${set.features.length} features`);
  const keySchema = keySchemas.get(featureSetId(set)) ?? new Schema(schema.fields.slice(0, set.keys.length));
  keySchemas.set(featureSetId(set), keySchema);
  const keyBatch = batchFromColumns(keySchema, set.keys, keys, length);
  const children = [...keyBatch.data.children];
  for (let j = 0; j < features.length; j++) {
    const values = features[j];
    if (values.length !== length) throw new Error(`${featureSetId(set)}: feature ${set.features[j]} has ${values.length} values, expected ${length}`);
    children.push(makeData({ type: new Float64(), length, nullCount: 0, data: values }));
  }
  return new RecordBatch(schema, makeData({ type: new Struct(schema.fields), length, nullCount: 0, children }));
}

const keySchemas = new Map<string, Schema>();
