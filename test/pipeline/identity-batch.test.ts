/**
 * Flow identity hashed inside WebAssembly against node:crypto: Community ID text (`1:` + base64
 * of the SHA-1) of each input and the flow id (first 8 bytes of the SHA-1, hex) of each message
 * after its Community ID hole is filled. Random batches (fast-check) mix message lengths across
 * the block boundaries in one group of lanes, batch sizes that are not a multiple of the group,
 * and batches large enough to grow the module's memory; a batch is reused after clear().
 */
import { hash } from 'node:crypto';
import fc from 'fast-check';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { IdentityBatch } from '../../pipeline/identity-batch.ts';

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

test.run();
