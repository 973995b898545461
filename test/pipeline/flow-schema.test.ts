import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { communityId, addressBytes } from '../../pipeline/flow-id.ts';
import { FLOW_COLUMNS, FLOW_SCHEMA, FlowBatchBuilder, flowBatch, flowRows } from '../../pipeline/flow-schema.ts';
import { decodeTables, encodeTables } from '../../pipeline/ipc.ts';
import { flowSchemaMarkdown } from '../../pipeline/schema-doc.ts';

test('docs/flow-schema.md is the generated document of the declared schema', () => {
  assert.is(readFileSync(new URL('../../docs/flow-schema.md', import.meta.url), 'utf8'), flowSchemaMarkdown());
});

test('Community ID v1 matches the specification test vectors', () => {
  // From the community-id-spec baseline (seed 0): TCP, UDP, ICMP echo and ICMPv6 neighbour solicitation.
  assert.is(communityId('128.232.110.120', '66.35.250.204', 6, 34855, 80), '1:LQU9qZlK+B5F3KDmev6m5PMibrg=');
  assert.is(communityId('66.35.250.204', '128.232.110.120', 6, 80, 34855), '1:LQU9qZlK+B5F3KDmev6m5PMibrg=');
  assert.is(communityId('192.168.1.52', '8.8.8.8', 17, 54585, 53), '1:d/FP5EW3wiY1vCndhwleRRKHowQ=');
  assert.is(communityId('192.168.0.89', '192.168.0.1', 1, 8, 0), '1:X0snYXpgwiv9TZtqg64sgzUn6Dk=');
  assert.is(communityId('192.168.0.1', '192.168.0.89', 1, 0, 0), '1:X0snYXpgwiv9TZtqg64sgzUn6Dk=');
  assert.is(communityId('fe80::200:86ff:fe05:80da', 'fe80::260:97ff:fe07:69ea', 58, 135, 0), '1:dGHyGvjMfljg6Bppwm3bg0LO8TY=');
  assert.is(communityId('not-an-ip', '1.2.3.4', 6, 1, 2), null);
});

test('IPv6 text forms parse to the same bytes', () => {
  assert.equal([...addressBytes('::ffff:10.0.0.1')!], [...addressBytes('0:0:0:0:0:ffff:a00:1')!]);
  assert.is(addressBytes('2001:db8::1')!.length, 16);
});

test('flows round-trip through Arrow IPC frames with schema metadata intact', () => {
  const batch = flowBatch([{ flow_id: 'a', site_id: 's', sensor_id: 'x', source: 'pcap', ts_start: 1_700_000_000_123_456, ts_end: 1_700_000_001_000_000, duration_s: 0.876544, fwd_packets: 3, bwd_packets: 2, fwd_bytes: 180, bwd_bytes: 120, hl7_message_type: 'ORU^R01', mqtt_password: true }]);
  const back = decodeTables(encodeTables({ flows: batch }), 'test').flows;
  assert.is(back.schema.metadata.get('heir.table'), 'flows');
  assert.is(back.schema.metadata.get('heir.version'), '1');
  assert.equal(flowRows(back), flowRows(batch));
  assert.is(flowRows(back)[0].ts_start, 1_700_000_000_123_456);
  assert.is(FLOW_SCHEMA.fields.length, FLOW_COLUMNS.length);
});

test('the builder refuses a record without its required columns, naming the column', () => {
  const builder = new FlowBatchBuilder();
  assert.throws(() => builder.push({ flow_id: 'a', site_id: 's' }), /missing sensor_id/);
});

test.run();
