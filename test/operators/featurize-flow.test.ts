import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { FLOW_FEATURES_V1, featureMatrix, featureSet, featureSetId } from '../../operators/feature-sets.ts';
import { featurizeFlowOperator, featurizeFlows } from '../../operators/featurize-flow.ts';
import { flowBatch, type FlowRow } from '../../pipeline/flow-schema.ts';
import { arrowSchema, batchFromRows } from '../../pipeline/columns.ts';

const T0 = Date.UTC(2026, 0, 1) * 1000;
const base = (id: string, extra: Partial<FlowRow>): Partial<FlowRow> => ({
  flow_id: id, site_id: 's', sensor_id: 'x', source: 'pcap', ts_start: T0, ts_end: T0, duration_s: 0,
  fwd_packets: 0, bwd_packets: 0, fwd_bytes: 0, bwd_bytes: 0, src_addr: '10.0.0.1', dst_addr: '10.0.0.2', ...extra,
});

const flows = flowBatch([
  // An HL7 session: 2 s, 4 packets/400 B out, 2 packets/200 B back, handshake completed.
  base('hl7', { ts_end: T0 + 2e6, duration_s: 2, fwd_packets: 4, bwd_packets: 2, fwd_bytes: 400, bwd_bytes: 200, ip_proto: 6, dst_port: 2575,
    tcp_flags_fwd: 2 | 16 | 8, tcp_flags_bwd: 2 | 16, syn_count: 2, rst_count: 0, ack_count: 5, iat_mean: 0.4, ttl_min: 64, ttl_max: 64, l7_proto: 'hl7-mllp', label: 'Benign' }),
  // One DNS query with no answer: a zero-length flow.
  base('dns', { fwd_packets: 1, fwd_bytes: 60, ip_proto: 17, dst_port: 53 }),
  // A SYN answered by RST on a dynamic port, with an L7 protocol without its own feature.
  base('rst', { duration_s: 0.5, fwd_packets: 1, bwd_packets: 1, fwd_bytes: 40, bwd_bytes: 40, ip_proto: 6, dst_port: 50000, tcp_flags_fwd: 2, tcp_flags_bwd: 4 | 16, syn_count: 1, rst_count: 1, l7_proto: 'ssh' }),
]);

const get = (batch: ReturnType<typeof featurizeFlows>, name: string) => Array.from(batch.getChild(name)!.toArray() as Float64Array);

test('per-flow features match hand-computed values', () => {
  const f = featurizeFlows(flows);
  assert.is(f.numRows, 3);
  assert.is(f.schema.metadata.get('heir.table'), 'flow_features');
  assert.is(f.schema.metadata.get('heir.feature_set'), 'flow@1');
  assert.equal(get(f, 'packets_per_s'), [6 / 2, 1 / 0.001, 2 / 0.5]);
  assert.equal(get(f, 'bytes_per_s'), [600 / 2, 60 / 0.001, 80 / 0.5]);
  assert.equal(get(f, 'bwd_fwd_packet_ratio'), [0.5, 0, 1]);
  assert.equal(get(f, 'fwd_mean_packet_bytes'), [100, 60, 40]);
  assert.equal(get(f, 'syn_ratio'), [2 / 6, 0, 0.5]);
  assert.equal(get(f, 'rst_ratio'), [0, 0, 0.5]);
  assert.equal(get(f, 'handshake_complete'), [1, 0, 0]);
  assert.equal(get(f, 'responder_silent'), [0, 1, 0]);
  assert.equal(get(f, 'proto_tcp'), [1, 0, 1]);
  assert.equal(get(f, 'proto_udp'), [0, 1, 0]);
  assert.equal(get(f, 'dst_port_well_known'), [0, 1, 0]);
  assert.equal(get(f, 'dst_port_registered'), [1, 0, 0]);
  assert.equal(get(f, 'dst_port_dynamic'), [0, 0, 1]);
  assert.equal(get(f, 'l7_hl7'), [1, 0, 0]);
  assert.equal(get(f, 'l7_other'), [0, 0, 1]);
  assert.equal(get(f, 'l7_none'), [0, 1, 0]);
  // Missing statistics are 0, not null.
  assert.equal(get(f, 'iat_mean'), [0.4, 0, 0]);
  assert.equal(get(f, 'ttl_max'), [64, 0, 0]);
  assert.equal(f.getChild('label')!.get(0), 'Benign');
  assert.is(f.getChild('flow_id')!.get(2), 'rst');
});

test('the feature matrix follows the registered order', () => {
  const f = featurizeFlows(flows);
  const X = featureMatrix(f, FLOW_FEATURES_V1);
  const w = FLOW_FEATURES_V1.features.length;
  assert.is(X.length, 3 * w);
  assert.is(X[0 * w + FLOW_FEATURES_V1.features.indexOf('packets_per_s')], 3);
  assert.is(X[1 * w + FLOW_FEATURES_V1.features.indexOf('l7_none')], 1);
  assert.is(featureSetId(featureSet('flow')), 'flow@1');
  assert.is(featureSet('cic-window@1').features.length, 39);
  assert.throws(() => featureSet('flow@9'), /unknown feature set flow@9/);
});

test('the operator adds flow_features and refuses a batch that is not flows', () => {
  const out = featurizeFlowOperator.apply({ flows }, { site: 's', sensor: 'x', batchId: 'b', warn() {} }) as Record<string, unknown>;
  assert.ok(out.flows === flows);
  assert.is((out.flow_features as { numRows: number }).numRows, 3);
  const other = batchFromRows(arrowSchema('detections', 1, [{ name: 'x', kind: 'f64', nullable: false, doc: '' }]), [{ name: 'x', kind: 'f64', nullable: false, doc: '' }], [{ x: 1 }] as never);
  assert.throws(() => featurizeFlows(other), /flow schema batch/);
});

test.run();
