/**
 * FlowIdentities (the ids of a batch's flows, hashed at the cut) gives the same Community ID and
 * flow id as the one-flow-at-a-time functions of pipeline/flow-id.ts: IPv4 and IPv6, TCP, UDP,
 * SCTP, ICMP pairs and one-way types, protocols without ports, any ports and start times (safe
 * integers, fractions, huge values), any site and sensor text, batches of any size and repeated use.
 * IPv4 flows with safe integer start times take the identity module's own message writer
 * (`IdentityBatch.pushV4Pcap`), the others the JavaScript one: both meet in the same batches.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { communityIdBytes, flowId } from '../../../pipeline/flow-id.ts';
import { FlowIdentities } from '../../../operators/pcap/flow-identity.ts';

interface FlowKey {
  src: number[];
  dst: number[];
  proto: number;
  sport: number;
  dport: number;
  ts: number;
}

const flowKey = fc.oneof(fc.constant(4), fc.constant(16)).chain((n) =>
  fc.record({
    src: fc.array(fc.integer({ min: 0, max: 255 }), { minLength: n, maxLength: n }),
    dst: fc.array(fc.integer({ min: 0, max: 255 }), { minLength: n, maxLength: n }),
    proto: fc.constantFrom(6, 17, 132, 1, 58, 47, 50, 0),
    sport: fc.oneof(fc.integer({ min: 0, max: 65535 }), fc.constantFrom(0, 8, 128, 133, 3)),
    dport: fc.integer({ min: 0, max: 65535 }),
    ts: fc.oneof(fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }), fc.constantFrom(0, 9, 10, 99, 100, 1681867057829544, 2 ** 53, 1e21, 1.5)),
    // one address at both ends (the ports then order the endpoints)
    same: fc.boolean(),
  }).map(({ same, ...k }) => (same ? { ...k, dst: k.src } : k)),
);

/** Ids of `flows` hashed as one batch, as text. */
function batch(ids: FlowIdentities, flows: FlowKey[], site: string, sensor: string): { cid: string[]; fid: string[] } {
  const cidBytes = new Uint8Array(flows.length * 30 + 7);
  const fidBytes = new Uint8Array(flows.length * 16 + 3);
  flows.forEach((f, k) => ids.add(f.src, f.dst, f.src.length, f.proto, f.sport, f.dport, f.ts, site, sensor, 7 + k * 30, 3 + k * 16));
  assert.is(ids.count, flows.length);
  ids.finish(cidBytes, fidBytes);
  assert.is(ids.count, 0);
  const text = (b: Uint8Array, at: number, n: number) => Buffer.from(b.subarray(at, at + n)).toString('latin1');
  return { cid: flows.map((_, k) => text(cidBytes, 7 + k * 30, 30)), fid: flows.map((_, k) => text(fidBytes, 3 + k * 16, 16)) };
}

test('known flow', () => {
  const ids = new FlowIdentities();
  const f = { src: [10, 215, 173, 1], dst: [54, 200, 34, 119], proto: 6, sport: 38784, dport: 443, ts: 1681867057829544 };
  const got = batch(ids, [f], 'site-1', 'pcap');
  assert.is(got.cid[0], '1:UVS5ojveIZg3/LGuPJ+StSzo9QQ=');
  assert.is(got.fid[0], '70fc842e5eb3749d');
});

test('any flows, any batch size, the same ids as one flow at a time', () => {
  const ids = new FlowIdentities();
  fc.assert(
    fc.property(fc.array(flowKey, { maxLength: 700 }), fc.string({ maxLength: 20 }), fc.string({ maxLength: 20, unit: 'grapheme' }), (flows, site, sensor) => {
      const got = batch(ids, flows, site, sensor);
      flows.forEach((f, k) => {
        const cid = communityIdBytes(f.src, f.dst, f.proto, f.sport, f.dport);
        assert.is(got.cid[k], cid);
        assert.is(got.fid[k], flowId(site, sensor, cid, f.ts));
      });
    }),
    { seed: 1729, numRuns: 60 },
  );
});

test.run();
