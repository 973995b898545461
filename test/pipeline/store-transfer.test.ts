import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { arrowSchema, batchFromRows } from '../../pipeline/columns.ts';
import { flowBatch, flowRows, type FlowRow } from '../../pipeline/flow-schema.ts';
import { TablePacker, TableUnpacker } from '../../pipeline/store-transfer.ts';
import { syntheticSource } from '../../pipeline/synthetic-source.ts';

/** The synthetic flows (72 % with protocol facts), as one batch. */
async function synthetic(count: number) {
  for await (const b of syntheticSource({ site: 's', sensor: 'x', count, batchSize: count, seed: 11 }).batches()) return b.tables.flows;
  throw new Error('no batch');
}

/** Cross a thread boundary for real: structured clone with the packed buffer transferred. */
function cross<T>(value: T, transfer: ArrayBuffer[]): T {
  return structuredClone(value, { transfer });
}

test('packed batches come back with the same rows, also slices (offsets inside the buffers, booleans and validity at the parent offset)', async () => {
  const flows = await synthetic(3001);
  const packer = new TablePacker();
  const unpacker = new TableUnpacker();
  for (const part of [flows, flows.slice(0, 1000), flows.slice(1003), flows.slice(5, 13)]) {
    const packed = packer.pack({ flows: part });
    const back = unpacker.unpack(cross(packed, [packed.buffer])).flows;
    assert.is(back.numRows, part.numRows);
    assert.is(back.schema.metadata.get('heir.table'), part.schema.metadata.get('heir.table'));
    assert.equal(back.schema.fields.map((f) => [f.name, String(f.type), f.metadata.get('heir.sparse')]), part.schema.fields.map((f) => [f.name, String(f.type), f.metadata.get('heir.sparse')]));
    assert.equal(flowRows(back), flowRows(part));
  }
});

test('nulls, booleans and strings of every kind survive packing', () => {
  const rows: Partial<FlowRow>[] = Array.from({ length: 70 }, (_, i) => ({
    flow_id: `f${i}`, site_id: 's', sensor_id: 'x', source: 'synthetic', ts_start: 1_700_000_000_000_000 + i, ts_end: 1_700_000_000_000_000 + i,
    duration_s: i / 3, fwd_packets: i, bwd_packets: 0, fwd_bytes: 60 * i, bwd_bytes: 0,
    src_addr: i % 3 === 0 ? null : ['', 'é', '日本語テキスト', 'x'.repeat(40)][i % 4], http_basic_auth: i % 2 === 0 ? true : i % 3 === 0 ? null : false,
  }));
  const batch = flowBatch(rows).slice(3, 60);
  const packed = new TablePacker().pack({ flows: batch });
  assert.equal(flowRows(new TableUnpacker().unpack(cross(packed, [packed.buffer])).flows), flowRows(batch));
});

test('a schema crosses once; a schema that differs (metadata included) gets a number of its own', async () => {
  const packer = new TablePacker();
  const unpacker = new TableUnpacker();
  const spec = [{ name: 'id', kind: 'utf8', nullable: false, doc: '' }] as const;
  const v1 = arrowSchema('things', 1, spec);
  const v2 = arrowSchema('things', 2, spec);
  const first = packer.pack({ things: batchFromRows(v1, spec, [{ id: 'a' }]) });
  const again = packer.pack({ things: batchFromRows(v1, spec, [{ id: 'b' }]) });
  const other = packer.pack({ things: batchFromRows(v2, spec, [{ id: 'c' }]) });
  assert.ok(first.batches[0].schemaIpc);
  assert.is(again.batches[0].schemaIpc, undefined);
  assert.is(again.batches[0].schema, first.batches[0].schema);
  assert.is.not(other.batches[0].schema, first.batches[0].schema);
  assert.ok(other.batches[0].schemaIpc);
  const ids = [first, again, other].map((p) => unpacker.unpack(p).things.getChild('id')!.get(0));
  assert.equal(ids, ['a', 'b', 'c']);
  // A receiver that missed the schema says so instead of guessing.
  assert.throws(() => new TableUnpacker().unpack(again), /never sent/);
});

test('a released buffer is used again for the next batch that fits; a larger batch gets a new one and the outgrown buffer is dropped', async () => {
  const packer = new TablePacker();
  const flows = await synthetic(500);
  const a = packer.pack({ flows });
  packer.release(a.buffer);
  const b = packer.pack({ flows: flows.slice(0, 400) });
  assert.is(b.buffer, a.buffer);
  packer.release(b.buffer);
  const big = await synthetic(4000);
  const c = packer.pack({ flows: big });
  assert.is.not(c.buffer, a.buffer);
  assert.ok(c.buffer.byteLength > a.buffer.byteLength);
  // The outgrown buffer was dropped: the next small batch gets a new one, then the big one back.
  const d = packer.pack({ flows: flows.slice(0, 10) });
  assert.is.not(d.buffer, a.buffer);
  packer.release(c.buffer);
  assert.is(packer.pack({ flows: big }).buffer, c.buffer);
});

test.run();
