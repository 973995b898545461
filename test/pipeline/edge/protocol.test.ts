/** The edge wire protocol: round trips, and any bytes at all are read without throwing. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { ACK_MAGIC, BATCH_MAGIC, MAX_ID_BYTES, ackMessage, batchMessage, readAck, readBatch } from '../../../pipeline/edge/protocol.ts';

const enc = new TextEncoder();

test('batch and acknowledgement round trips', () => {
  fc.assert(
    fc.property(fc.string({ minLength: 1, maxLength: 200 }), fc.uint8Array({ maxLength: 300 }), fc.constantFrom('stored' as const, 'duplicate' as const, 'dead-letter' as const), (id, frame, status) => {
      const read = readBatch(batchMessage(id, frame));
      assert.ok(read.ok);
      if (read.ok) {
        assert.is(read.id, id);
        assert.equal(read.frame, frame);
      }
      assert.equal(readAck(ackMessage(id, status)), { id, status });
    }),
    { seed: 42, numRuns: 300 },
  );
});

test('arbitrary parts never throw, and are never taken for a valid message by accident', () => {
  fc.assert(
    fc.property(fc.array(fc.uint8Array({ maxLength: 40 }), { maxLength: 5 }), (parts) => {
      const read = readBatch(parts);
      if (read.ok) assert.is(new TextDecoder().decode(parts[0]), BATCH_MAGIC);
      else assert.type(read.reason, 'string');
      const ack = readAck(parts);
      if (ack) assert.is(new TextDecoder().decode(parts[0]), ACK_MAGIC);
    }),
    { seed: 7, numRuns: 1000 },
  );
});

test('reasons name what is wrong', () => {
  const garbage = readBatch([Uint8Array.of(0xff, 0xfe, 0x00)]);
  assert.not.ok(garbage.ok);
  if (!garbage.ok) assert.match(garbage.reason, /not a batch message: first part is 3 bytes that are not a protocol tag/);
  const twoParts = readBatch([enc.encode(BATCH_MAGIC), enc.encode('b-1')]);
  assert.not.ok(twoParts.ok);
  if (!twoParts.ok) {
    assert.is(twoParts.id, 'b-1', 'the id is kept, so the bad message can be acknowledged');
    assert.match(twoParts.reason, /2 parts, expected 3/);
  }
  const longId = readBatch([enc.encode(BATCH_MAGIC), new Uint8Array(MAX_ID_BYTES + 1).fill(0x61), new Uint8Array(4)]);
  assert.not.ok(longId.ok);
  if (!longId.ok) assert.match(longId.reason, /batch id is not UTF-8 text of 1 to 1024 bytes/);
  assert.is(readAck([enc.encode(ACK_MAGIC), enc.encode('b-1'), enc.encode('maybe')]), undefined);
});

test.run();
