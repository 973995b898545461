/**
 * Test rows of a dataset as Arrow flow batches carrying the model's feature columns, as a featurize
 * operator writes them (flow id, site, source address and start time, then one Float64 column per
 * feature): the input of the classify operator in the forest benchmarks (forest.bench.ts,
 * classify-ab.ts).
 */
import { Field, Float64, makeData, RecordBatch, Schema, Struct, TimestampMicrosecond, Utf8, vectorFromArray } from 'apache-arrow';
import type { Dataset } from '../datasets/load.ts';

/** `rows` rows of `x` (row-major, the dataset's features) in batches of `size` rows. */
export function flowBatches(data: Dataset, x: Float64Array, rows: number, size: number): RecordBatch[] {
  const d = data.features.length;
  const fields = [new Field('flow_id', new Utf8(), false), new Field('site_id', new Utf8(), false), new Field('src_addr', new Utf8(), true), new Field('ts_start', new TimestampMicrosecond('UTC'), false), ...data.features.map((f) => new Field(f, new Float64(), false))];
  const schema = new Schema(fields);
  const batches: RecordBatch[] = [];
  for (let r0 = 0; r0 < rows; r0 += size) {
    const n = Math.min(size, rows - r0);
    const children = [
      vectorFromArray(Array.from({ length: n }, (_, i) => `flow-${r0 + i}`), new Utf8()).data[0],
      vectorFromArray(new Array(n).fill('bench'), new Utf8()).data[0],
      vectorFromArray(Array.from({ length: n }, (_, i) => `10.0.0.${(r0 + i) % 250}`), new Utf8()).data[0],
      makeData({ type: new TimestampMicrosecond('UTC'), length: n, data: BigInt64Array.from({ length: n }, (_, i) => BigInt(1_700_000_000_000_000 + (r0 + i) * 1000)) }),
      ...data.features.map((_, f) => makeData({ type: new Float64(), length: n, data: Float64Array.from({ length: n }, (_, i) => x[(r0 + i) * d + f]) })),
    ];
    batches.push(new RecordBatch(schema, makeData({ type: new Struct(fields), length: n, nullCount: 0, children })));
  }
  return batches;
}
