import fc from 'fast-check';
import { test } from 'uvu';
import { columnValues } from '../../operators/column-values.ts';
import { flowBatch, type FlowRow } from '../../pipeline/flow-schema.ts';

const row = fc.record({
  http_basic_auth: fc.option(fc.boolean()),
  dst_port: fc.option(fc.integer({ min: 0, max: 65535 })),
  iat_mean: fc.option(fc.double({ noNaN: true })),
  tls_sni: fc.option(fc.string({ unit: 'grapheme', maxLength: 12 })),
  // Vector.get returns milliseconds as a float: beyond ~2^50 µs the reference itself loses the last microsecond.
  ts_start: fc.integer({ min: 0, max: 2 ** 50 }),
});

test('whole-column reads equal Vector.get, for batches and their slices', () => {
  fc.assert(
    fc.property(fc.array(row, { minLength: 1, maxLength: 60 }), fc.nat(), fc.nat(), (parts, a, b) => {
      const rows: Partial<FlowRow>[] = parts.map((p, i) => ({ flow_id: `f${i}`, site_id: 's', sensor_id: 'x', source: 'lab', ts_end: p.ts_start, duration_s: 0, fwd_packets: 1, bwd_packets: 0, fwd_bytes: 1, bwd_bytes: 0, ...p }));
      const batch = flowBatch(rows);
      const from = a % rows.length;
      const to = from + (b % (rows.length - from + 1));
      for (const view of [batch, batch.slice(from, to)]) {
        for (const name of ['http_basic_auth', 'dst_port', 'iat_mean', 'tls_sni', 'ts_start', 'ja3_missing_column']) {
          const got = columnValues(view, name);
          const vector = view.schema.fields.some((f) => f.name === name) ? view.getChildAt(view.schema.fields.findIndex((f) => f.name === name)) : null;
          for (let i = 0; i < view.numRows; i++) {
            const v = vector ? vector.get(i) : null;
            const want = v === null || v === undefined ? null : name === 'ts_start' ? Math.round(Number(v) * 1000) : v;
            if (!Object.is(got[i], want) && got[i] !== want) return false;
          }
        }
      }
      return true;
    }),
    { seed: 3, numRuns: 300 },
  );
});

test.run();
