/**
 * Flow identity and number text of the IPFIX decoder: the Community IDs and flow ids it hashes in
 * batches and writes into its columns as bytes must equal what `communityId` and `flowId`
 * (pipeline/flow-id.ts) give for each decoded row (so ids already in stores stay the same), for
 * IPv4 and IPv6, TCP/UDP/ICMP and other protocols, biflow records, records without addresses,
 * several exporters and long site/sensor names (fast-check). And the digit writer behind the
 * timestamps and counters, and the seconds writer behind duration_s, write what String() gives.
 */
import fc from 'fast-check';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { communityId, flowId } from '../../pipeline/flow-id.ts';
import { FlowDecoder, IE } from '../../operators/ingest-ipfix.ts';
import { ExportColumns, writeDigits, writeSeconds } from '../../operators/ingest-ipfix-columns.ts';
import { type Field, ipfix, set, templateRecord, u16, u32, u64 } from '../helpers/ipfix-datagrams.ts';

const COMMON: readonly Field[] = [
  [IE.sourceTransportPort, 2],
  [IE.destinationTransportPort, 2],
  [IE.protocolIdentifier, 1],
  [IE.octetDeltaCount, 8],
  [IE.packetDeltaCount, 4],
  [IE.flowStartMilliseconds, 8],
  [IE.biflowDirection, 1],
  [IE.ingressInterface, 4],
];
const V4: readonly Field[] = [[IE.sourceIPv4Address, 4], [IE.destinationIPv4Address, 4], ...COMMON];
const V6: readonly Field[] = [[IE.sourceIPv6Address, 16], [IE.destinationIPv6Address, 16], ...COMMON];
/** No addresses: the flow id falls back to exporter, domain, sequence and record number. */
const NONE: readonly Field[] = COMMON;

const recordArb = fc.record({
  kind: fc.constantFrom(256, 257, 258),
  src: fc.uint8Array({ minLength: 16, maxLength: 16 }),
  dst: fc.uint8Array({ minLength: 16, maxLength: 16 }),
  sameAddress: fc.boolean(),
  sport: fc.oneof(fc.integer({ min: 0, max: 65535 }), fc.constantFrom(0, 8, 80)),
  dport: fc.oneof(fc.integer({ min: 0, max: 65535 }), fc.constantFrom(0, 53, 443)),
  proto: fc.constantFrom(6, 17, 1, 58, 132, 47, 0),
  octets: fc.integer({ min: 0, max: 2 ** 40 }),
  startMs: fc.integer({ min: 0, max: 4102444800000 }),
  biflow: fc.constantFrom(0, 1, 2),
});

function encode(r: typeof recordArb extends fc.Arbitrary<infer T> ? T : never): Buffer {
  const length = r.kind === 256 ? 4 : r.kind === 257 ? 16 : 0;
  const dst = r.sameAddress ? r.src : r.dst;
  return Buffer.concat([
    Buffer.from(r.src.subarray(0, length)),
    Buffer.from(dst.subarray(0, length)),
    u16(r.sport),
    u16(r.dport),
    Buffer.from([r.proto]),
    u64(r.octets),
    u32(3),
    u64(r.startMs),
    Buffer.from([r.biflow]),
    u32(7),
  ]);
}

test('decoded Community IDs and flow ids equal communityId() and flowId() of each row (fast-check)', () => {
  const exporterArb = fc.constantFrom('10.0.0.9:4000', '[2001:db8::7]:2055', 'exporter-ü:9');
  fc.assert(
    fc.property(
      fc.string({ maxLength: 40 }),
      fc.option(fc.string({ maxLength: 200 }), { nil: undefined }),
      fc.array(fc.tuple(exporterArb, fc.array(recordArb, { minLength: 1, maxLength: 12 })), { minLength: 1, maxLength: 6 }),
      (site, sensor, datagrams) => {
        const decoder = new FlowDecoder({ site, sensor });
        const columns = new ExportColumns(4); // small, so rows and text grow while ids are pending
        const expectedKeys: (string | null)[] = [];
        const sequences = new Map<string, number>();
        for (const [exporter, records] of datagrams) {
          const sequence = sequences.get(exporter) ?? 0;
          const sets = [set(2, templateRecord(256, V4), templateRecord(257, V6), templateRecord(258, NONE)), ...records.map((r) => set(r.kind, encode(r)))];
          const result = decoder.decodeInto(ipfix(1, sequence, ...sets), exporter, columns);
          assert.equal(result.deadLetters, []);
          sequences.set(exporter, sequence + records.length);
          for (const r of records) expectedKeys.push(r.kind === 258 ? `${exporter}/1#${sequence}#${expectedKeys.length}` : null);
        }
        const rows = columns.rows();
        assert.is(rows.length, expectedKeys.length);
        rows.forEach((row, i) => {
          const cid = communityId(row.src_addr ?? null, row.dst_addr ?? null, row.ip_proto ?? null, row.src_port ?? null, row.dst_port ?? null);
          assert.is(row.community_id, cid, `row ${i}`);
          const key = expectedKeys[i] ?? `${cid}|${row.src_addr}|${row.src_port ?? ''}`;
          assert.is(row.flow_id, flowId(site, row.sensor_id!, key, row.ts_start!), `row ${i}`);
        });
      },
    ),
    { numRuns: 150, seed: 3 },
  );
});

test('writeDigits writes String(v) for every safe integer size', () => {
  const out = new Uint8Array(32);
  fc.assert(
    fc.property(fc.oneof(fc.integer({ min: 0, max: 1000 }), fc.integer({ min: 0, max: 0x7fffffff }), fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }), fc.constantFrom(0, 9, 10, 99, 100, 2 ** 31 - 1, 2 ** 31, 1e8, 1e8 - 1, 1e16, Number.MAX_SAFE_INTEGER)), fc.integer({ min: 0, max: 8 }), (v, at) => {
      const end = writeDigits(out, at, v);
      assert.is(Buffer.from(out.subarray(at, end)).toString(), String(v));
    }),
    { numRuns: 5000, seed: 9 },
  );
});

test('writeSeconds writes String(micros / 1e6) for durations of every size', () => {
  const out = new Uint8Array(40);
  fc.assert(
    fc.property(
      fc.oneof(fc.integer({ min: 0, max: 10_000_000 }), fc.integer({ min: 0, max: 1e12 + 10 }), fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }), fc.double({ min: -1e7, max: 1e13, noNaN: true }), fc.constantFrom(0, 1, 10, 100000, 1000000, 1500000, 999999999999, 1e12, 1e12 - 1)),
      (micros) => {
        const end = writeSeconds(out, 3, micros);
        assert.is(Buffer.from(out.subarray(3, end)).toString(), String(micros / 1e6), String(micros));
      },
    ),
    { numRuns: 5000, seed: 13 },
  );
});

test.run();
