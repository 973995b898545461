/**
 * Text columns of the flow batch builder: values written as UTF-8 bytes row by row (ASCII,
 * non-ASCII, long and short strings, nulls between them, addresses and MACs written from their
 * bytes) read back from the built Arrow batch as the same strings, batch after batch; a column no
 * row set is all null; a non-nullable column left null is refused. Texts that repeat (written from
 * the bytes kept of their first writing) read back the same.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { addressText } from '../../../pipeline/flow-id.ts';
import { FlowColumns } from '../../../operators/pcap/flow-columns.ts';
import { FLOW_COLUMNS } from '../../../pipeline/flow-schema.ts';

/** The required columns set to something, so a batch can be built. */
function required(b: FlowColumns, i: number, except = ''): void {
  for (const spec of FLOW_COLUMNS) {
    if (spec.nullable || spec.name === 'flow_id' || spec.name === except) continue;
    b.col[spec.name].setAny(i, spec.kind === 'utf8' ? 'x' : 1);
  }
  b.col.flow_id.setStr(i, 'id');
}

function macText(mac: number): string {
  return Array.from({ length: 6 }, (_, k) => (Math.floor(mac / 2 ** (8 * (5 - k))) & 0xff).toString(16).padStart(2, '0')).join(':');
}

test('text, addresses and MACs read back as written, batch after batch', () => {
  const b = new FlowColumns();
  // Texts that repeat from row to row and batch to batch too (a column copies the bytes of a text it wrote before).
  const again = fc.constantFrom('t13d1516h2_8daaf6152771_02713d6af862', 'Überwachungsmonitor Station 4', '\ud83d\ude00 patient monitor', 'abcdefghijkl', 'abcdefghijk', 'y'.repeat(257));
  const text = fc.oneof(fc.string({ maxLength: 80 }), fc.string({ maxLength: 300, unit: 'grapheme' }), fc.string({ maxLength: 60, unit: 'binary' }), again, again, fc.constant(null));
  const address = fc.oneof(fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 4, maxLength: 4 }), fc.array(fc.constantFrom(0, 0, 0, 1, 255, 0x20), { minLength: 16, maxLength: 16 }));
  const row = fc.record({ sni: text, host: text, addr: fc.option(address), mac: fc.option(fc.integer({ min: 0, max: 2 ** 48 - 1 })) });
  fc.assert(
    fc.property(fc.array(row, { maxLength: 300 }), (rows) => {
      rows.forEach((r, i) => {
        const j = b.row();
        assert.is(j, i);
        required(b, i);
        b.col.tls_sni.setStr(i, r.sni);
        b.col.http_host.setAny(i, r.host);
        if (r.addr !== null) b.col.src_addr.setAddress(i, r.addr, r.addr.length);
        if (r.mac !== null) b.col.src_mac.setMac(i, r.mac);
        b.commit();
      });
      const batch = b.build();
      assert.is(batch.numRows, rows.length);
      const sni = batch.getChild('tls_sni');
      const host = batch.getChild('http_host');
      const addr = batch.getChild('src_addr');
      const mac = batch.getChild('src_mac');
      const never = batch.getChild('dicom_called_ae');
      rows.forEach((r, i) => {
        assert.is(sni?.get(i), r.sni);
        assert.is(host?.get(i), r.host);
        assert.is(addr?.get(i), r.addr === null ? null : addressText(r.addr));
        assert.is(mac?.get(i), r.mac === null ? null : macText(r.mac));
        assert.is(never?.get(i), null);
      });
      assert.is(never?.nullCount, rows.length);
    }),
    { seed: 4242, numRuns: 80 },
  );
});

test('rows of a text column are set in order', () => {
  const b = new FlowColumns();
  b.col.tls_sni.setStr(3, 'a');
  assert.throws(() => b.col.tls_sni.setStr(2, 'b'), /row 2 set after row 3/);
});

test('a required column left null is refused', () => {
  const b = new FlowColumns();
  required(b, 0);
  b.commit();
  b.row();
  b.commit();
  assert.throws(() => b.build(), /must not hold null/);
});

test('setSame: rows of one text written at the cut, and runs broken by other text, nulls or setStr, read back as set', () => {
  const b = new FlowColumns();
  const value = fc.oneof(fc.constantFrom('site-1', 'site-1', 'site-1', 'pcap', '', 'søndre'), fc.string({ maxLength: 20 }));
  const step = fc.record({ how: fc.constantFrom('same', 'same', 'same', 'str', 'null'), v: value });
  fc.assert(
    fc.property(fc.array(step, { maxLength: 120 }), (steps) => {
      steps.forEach((s, i) => {
        assert.is(b.row(), i);
        required(b, i, 'sensor_id');
        if (s.how === 'same') b.col.tls_sni.setSame(i, s.v);
        else if (s.how === 'str') b.col.tls_sni.setStr(i, s.v);
        b.col.sensor_id.setSame(i, 'sensor');
        b.commit();
      });
      const batch = b.build();
      const site = batch.getChild('tls_sni');
      const sensor = batch.getChild('sensor_id');
      steps.forEach((s, i) => {
        assert.is(site?.get(i), s.how === 'null' ? null : s.v);
        assert.is(sensor?.get(i), 'sensor');
      });
    }),
    { seed: 2911, numRuns: 200 },
  );
});

test.run();
