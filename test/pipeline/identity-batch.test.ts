/**
 * Flow identity hashed inside WebAssembly against node:crypto: Community ID text (`1:` + base64
 * of the SHA-1) of each input and the flow id (first 8 bytes of the SHA-1, hex) of each message
 * after its Community ID hole is filled. Random batches (fast-check) mix message lengths across
 * the block boundaries in one group of lanes, batch sizes that are not a multiple of the group,
 * and batches large enough to grow the module's memory; a batch is reused after clear(). IPv4
 * flows whose messages the module writes itself (`pushV4`) give communityIdBytes() and flowId()
 * of the same flow, mixed with flows whose messages were written outside.
 */
import { hash } from 'node:crypto';
import fc from 'fast-check';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { IdentityBatch } from '../../pipeline/identity-batch.ts';
import { addressText, communityIdBytes, flowId } from '../../pipeline/flow-id.ts';

const text = (b: IdentityBatch, at: number, n: number) => Buffer.from(b.bytes.subarray(at, at + n)).toString('latin1');

interface Flow {
  readonly input: Uint8Array;
  /** Flow id message with a 30-byte hole at `hole` (or no Community ID: hole -1). */
  readonly message: Uint8Array;
  readonly hole: number;
}

/** Push the flows, run, and check every id against node:crypto. */
function check(batch: IdentityBatch, flows: readonly Flow[]): void {
  const cidOf: number[] = [];
  for (const f of flows) {
    let k = -1;
    if (f.hole >= 0) {
      const at = batch.reserve(f.input.length);
      batch.bytes.set(f.input, at);
      k = batch.pushCommunityId(at, at + f.input.length);
    }
    const at = batch.reserve(f.message.length);
    batch.bytes.set(f.message, at);
    if (k >= 0) batch.holeAt(k, at + f.hole);
    batch.pushFlowId(at, at + f.message.length);
    cidOf.push(k);
  }
  batch.run();
  flows.forEach((f, i) => {
    const message = Buffer.from(f.message);
    const k = cidOf[i];
    if (k >= 0) {
      const cid = '1:' + hash('sha1', f.input, 'base64');
      assert.is(text(batch, batch.communityIdText + 30 * k, 30), cid, `Community ID ${k}`);
      message.write(cid, f.hole, 'latin1');
    }
    assert.is(text(batch, batch.flowIdText + 16 * i, 16), hash('sha1', message, 'hex').slice(0, 16), `flow id ${i}`);
  });
  batch.clear();
}

const flowArb = fc
  .record({
    input: fc.uint8Array({ maxLength: 40 }),
    head: fc.uint8Array({ maxLength: 120 }),
    tail: fc.uint8Array({ maxLength: 200 }),
    withCid: fc.boolean(),
  })
  .map(({ input, head, tail, withCid }): Flow => {
    const message = new Uint8Array(head.length + (withCid ? 30 : 0) + tail.length);
    message.set(head, 0);
    message.set(tail, message.length - tail.length);
    return { input, message, hole: withCid ? head.length : -1 };
  });

test('Community IDs and flow ids equal node:crypto (fast-check, mixed lengths and batch sizes)', () => {
  const batch = new IdentityBatch();
  fc.assert(
    fc.property(fc.array(flowArb, { minLength: 1, maxLength: 40 }), (flows) => check(batch, flows)),
    { numRuns: 300, seed: 17 },
  );
});

test('every message length from 0 to 300 bytes in one batch, then a batch that grows the memory', () => {
  const batch = new IdentityBatch();
  const flows: Flow[] = [];
  for (let n = 0; n <= 300; n++) {
    const message = Uint8Array.from({ length: n + 30 }, (_, i) => (i * 131 + n) & 0xff);
    flows.push({ input: Uint8Array.from({ length: n % 41 }, (_, i) => (i * 7 + n) & 0xff), message, hole: n % 2 ? n : -1 });
  }
  check(batch, flows);
  const many: Flow[] = [];
  for (let i = 0; i < 3000; i++) many.push({ input: Uint8Array.of(i & 0xff, i >> 8, 6), message: Uint8Array.from({ length: 64 + (i % 150) }, (_, j) => (i + j) & 0xff), hole: i % 30 });
  check(batch, many);
  // Site and sensor names may make a flow id message many blocks long.
  check(batch, [{ input: new Uint8Array(16), message: new Uint8Array(9000).fill(0x61), hole: 4000 }, ...many.slice(0, 9)]);
});

const v4Arb = fc.record({
  src: fc.uint8Array({ minLength: 4, maxLength: 4 }),
  dst: fc.uint8Array({ minLength: 4, maxLength: 4 }),
  same: fc.boolean(),
  proto: fc.constantFrom(1, 58, 6, 17, 132, 47, 0, 255),
  sport: fc.oneof(fc.constantFrom(-1, 0, 8, 0, 13, 128, 133, 255, 256, 65535), fc.integer({ min: 0, max: 65535 })),
  dport: fc.oneof(fc.constantFrom(-1, 0, 1, 53, 65535), fc.integer({ min: 0, max: 65535 })),
  start: fc.oneof(fc.constantFrom(0, 7, 99_999_999, 100_000_000, 2 ** 31 - 1, 2 ** 31, 1_797_828_091_763_000, Number.MAX_SAFE_INTEGER), fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER })),
  outside: fc.boolean(),
});

test('IPv4 flows built inside the module equal communityIdBytes() and flowId() (fast-check, ICMP pairs, absent ports)', () => {
  const batch = new IdentityBatch();
  const word = (a: Uint8Array) => (a[0] << 24) | (a[1] << 16) | (a[2] << 8) | a[3];
  fc.assert(
    fc.property(fc.string({ maxLength: 20 }), fc.string({ maxLength: 70 }), fc.array(v4Arb, { minLength: 1, maxLength: 30 }), (site, sensor, flows) => {
      const prefix = Buffer.from(`${site}\u0000${sensor}\u0000`);
      const expected = flows.map((f) => {
        const dst = f.same ? f.src : f.dst;
        const cid = communityIdBytes(f.src, dst, f.proto, Math.max(0, f.sport), Math.max(0, f.dport));
        const key = `${cid}|${addressText(f.src)}|${f.sport < 0 ? '' : f.sport}`;
        return { cid, fid: flowId(site, sensor, key, f.start), key };
      });
      flows.forEach((f, i) => {
        const dst = f.same ? f.src : f.dst;
        if (!f.outside) {
          batch.pushV4(prefix, word(f.src), word(dst), f.proto, f.sport, f.dport, Math.floor(f.start / 1e8), f.start % 1e8);
          return;
        }
        // A flow whose messages were written outside the module, between the others.
        const input = Buffer.concat([Buffer.from([0, 0]), Buffer.from(f.src), Buffer.from(dst)]);
        const at = batch.reserve(input.length);
        batch.bytes.set(input, at);
        const k = batch.pushCommunityId(at, at + input.length);
        const message = Buffer.from(`${site}\u0000${sensor}\u0000${'-'.repeat(30)}${i}`);
        const m = batch.reserve(message.length);
        batch.bytes.set(message, m);
        batch.holeAt(k, m + prefix.length);
        batch.pushFlowId(m, m + message.length);
        const cid = '1:' + hash('sha1', input, 'base64');
        expected[i] = { cid, fid: hash('sha1', Buffer.from(`${site}\u0000${sensor}\u0000${cid}${i}`), 'hex').slice(0, 16), key: '' };
      });
      batch.run();
      expected.forEach((e, i) => {
        assert.is(text(batch, batch.communityIdText + 30 * i, 30), e.cid, `Community ID ${i}`);
        assert.is(text(batch, batch.flowIdText + 16 * i, 16), e.fid, `flow id ${i} (${e.key})`);
      });
      batch.clear();
    }),
    { numRuns: 400, seed: 23 },
  );
});

test('pushV4Set (numbers written into the module memory above a kept region) equals pushV4 flow by flow, with abandoned reservations, other messages and prefixes (fast-check)', () => {
  const LOW = 300_000;
  const bulk = new IdentityBatch(LOW);
  const single = new IdentityBatch();
  const word = (a: Uint8Array) => (a[0] << 24) | (a[1] << 16) | (a[2] << 8) | a[3];
  // The kept region: bytes the batch must never write (grown into first, as a whole-set decoder does).
  bulk.memory.grow(Math.ceil(LOW / 65536));
  const pattern = (i: number) => (i * 7 + 3) & 0xff;
  const low = new Uint8Array(bulk.memory.buffer, 4096, LOW - 4096);
  for (let i = 0; i < low.length; i++) low[i] = pattern(i);
  fc.assert(
    fc.property(fc.string({ maxLength: 20 }), fc.array(fc.tuple(fc.array(v4Arb, { minLength: 0, maxLength: 40 }), fc.boolean(), fc.boolean()), { minLength: 1, maxLength: 5 }), (site, runs) => {
      const prefixes = [Buffer.from(`${site}\u0000a\u0000`), Buffer.from(`${site}\u0000sensor-b\u0000`)];
      let flows = 0;
      runs.forEach(([run, other, abandon], r) => {
        const prefix = prefixes[r % 2];
        const numbers = (f: (typeof run)[number]) => [word(f.src), word(f.same ? f.src : f.dst), f.proto, f.sport, f.dport, Math.floor(f.start / 1e8), f.start % 1e8];
        if (abandon) {
          // Room taken and numbers written, then not pushed (a data set that goes field by field).
          const at = bulk.v4SetNumbers(prefix, run.length + 1);
          new Int32Array(bulk.bytes.buffer).fill(-3, at >> 2, (at >> 2) + 7 * (run.length + 1));
        }
        const at = bulk.v4SetNumbers(prefix, run.length);
        const words = new Int32Array(bulk.bytes.buffer);
        run.forEach((f, i) => {
          words.set(numbers(f), (at >> 2) + 7 * i);
          single.pushV4(prefix, ...(numbers(f) as [number, number, number, number, number, number, number]));
        });
        bulk.pushV4Set(at, run.length);
        flows += run.length;
        if (other) {
          // A flow pushed by pushV4 and a message written outside the module, between runs.
          const f = run[0] ?? { src: Uint8Array.of(10, 0, 0, 1), dst: Uint8Array.of(10, 0, 0, 2), same: false, proto: 6, sport: 1, dport: 2, start: 5 };
          for (const batch of [bulk, single]) {
            batch.pushV4(prefix, ...(numbers(f) as [number, number, number, number, number, number, number]));
            const at = batch.reserve(12);
            batch.bytes.set([0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 17, 0], at);
            const k = batch.pushCommunityId(at, at + 12);
            const m = batch.reserve(prefix.length + 40);
            batch.bytes.set(prefix, m);
            batch.bytes.fill(0x2e, m + prefix.length, m + prefix.length + 40);
            batch.holeAt(k, m + prefix.length);
            batch.pushFlowId(m, m + prefix.length + 40);
          }
          flows += 2;
        }
      });
      bulk.run();
      single.run();
      assert.is(bulk.communityIds, flows);
      assert.is(bulk.flowIds, flows);
      assert.is(text(bulk, bulk.communityIdText, 30 * flows), text(single, single.communityIdText, 30 * flows));
      assert.is(text(bulk, bulk.flowIdText, 16 * flows), text(single, single.flowIdText, 16 * flows));
      bulk.clear();
      single.clear();
    }),
    { numRuns: 300, seed: 31 },
  );
  const after = new Uint8Array(bulk.memory.buffer, 4096, LOW - 4096);
  let changed = -1;
  for (let i = 0; i < after.length && changed < 0; i++) if (after[i] !== pattern(i)) changed = 4096 + i;
  assert.is(changed, -1, 'the kept region was written');
});

test('two batches filled at the same time keep their messages apart (an instance each)', () => {
  const a = new IdentityBatch();
  const b = new IdentityBatch();
  const message = (n: number) => Uint8Array.from({ length: 70 }, (_, i) => (i * n) & 0xff);
  for (let k = 0; k < 20; k++) {
    for (const [batch, n] of [[a, 3], [b, 5]] as const) {
      const at = batch.reserve(70);
      batch.bytes.set(message(n + k), at);
      batch.pushFlowId(at, at + 70);
    }
  }
  a.run();
  b.run();
  for (let k = 0; k < 20; k++) {
    assert.is(text(a, a.flowIdText + 16 * k, 16), hash('sha1', message(3 + k), 'hex').slice(0, 16));
    assert.is(text(b, b.flowIdText + 16 * k, 16), hash('sha1', message(5 + k), 'hex').slice(0, 16));
  }
});

test.run();
