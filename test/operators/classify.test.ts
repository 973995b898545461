import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { join } from 'node:path';
import { RecordBatch } from 'apache-arrow';
import { loadNamed, trainOnDataset } from '../../datasets/experiment.ts';
import { SAMPLES_DIR } from '../../datasets/registry.ts';
import { classifyOperator, featureMatrix } from '../../operators/classify.ts';
import { DETECTION_COLUMNS, DETECTIONS_SCHEMA } from '../../operators/detections-schema.ts';
import { parser as cicParser } from '../../operators/ingest-cic.ts';
import { THREAT_MAP, threatOf } from '../../operators/threat-map.ts';
import { ENISA_2018, OWASP_2021, OWASP_IOT_2018 } from '../../knowledge/taxonomy.ts';
import { rowsOf } from '../../pipeline/columns.ts';
import { ErrorCode, HeirError } from '../../pipeline/errors.ts';
import { setWarningSink } from '../../pipeline/warn.ts';
import { parseFile } from '../helpers/ingest.ts';

setWarningSink(null);
const ctx = { site: 'test-site', sensor: 'test-sensor', batchId: 'b1', warn() {} };
const cic = loadNamed('ciciomt2024', { sample: true });
const { model } = await trainOnDataset({ dataset: 'ciciomt2024', target: 'category', forest: { trees: 20, seed: 1 } }, cic);
// The committed sample through the real CIC parser: features ride in the `features` JSON column.
const parsed = await parseFile(cicParser, join(SAMPLES_DIR, 'ciciomt2024-sample.csv.gz'), { batchSize: 4096, rows: false });
const flows = parsed.outputs.map((o) => o.flows).filter((b): b is RecordBatch => b !== undefined);

test('classify writes one detection per flow with label, probability and threat tags', async () => {
  const op = classifyOperator(model);
  assert.is(op.descriptor.name, 'classify');
  assert.equal(op.descriptor.reads, ['flows']);
  assert.equal(op.descriptor.writes, ['detections']);
  let total = 0;
  let correct = 0;
  let attacks = 0;
  for (const batch of flows) {
    const out = await op.apply({ flows: batch }, ctx);
    assert.ok(out.flows === batch, 'the flows pass through');
    const det = out.detections;
    assert.is(det.numRows, batch.numRows);
    assert.is(det.schema.metadata.get('heir.table'), 'detections');
    const rows = rowsOf(det, DETECTION_COLUMNS);
    const truth = batch.getChild('label_category')!;
    rows.forEach((r, i) => {
      total++;
      assert.is(r.flow_id, String(batch.getChild('flow_id')!.get(i)));
      assert.ok(r.confidence > 0 && r.confidence <= 1);
      assert.ok(model.meta.classes.includes(r.label));
      assert.is(r.benign, r.label === 'Benign');
      if (truth.get(i) === r.label) correct++;
      if (!r.benign) {
        attacks++;
        assert.ok(r.threat && ENISA_2018.some((e) => e.id === r.threat), `ENISA id ${r.threat}`);
        assert.ok(r.attack_ics && /^T0\d{3}(,T0\d{3})*$/.test(r.attack_ics), `ATT&CK ids ${r.attack_ics}`);
        const top = JSON.parse(r.features_top!) as { feature: string; value: number | null; share: number }[];
        assert.ok(top.length >= 1 && top.length <= 3);
        for (const t of top) assert.ok(model.meta.features.includes(t.feature));
      } else {
        assert.is(r.threat, null);
        assert.is(r.features_top, null);
      }
    });
  }
  assert.ok(total > 3000);
  assert.ok(attacks > 0);
  // The sample includes the training rows, so the operator must agree with the labels on most rows.
  assert.ok(correct / total > 0.85, `agreement ${correct / total}`);
});

test('detection ids are deterministic per flow and model, and differ between models', async () => {
  const a = await classifyOperator(model).apply({ flows: flows[0] }, ctx);
  const b = await classifyOperator(model).apply({ flows: flows[0] }, { ...ctx, batchId: 'other' });
  const ids = (t: typeof a) => rowsOf(t.detections, DETECTION_COLUMNS).map((r) => r.detection_id);
  assert.equal(ids(a), ids(b));
  assert.is(new Set(ids(a)).size, flows[0].numRows);
  const other = await trainOnDataset({ dataset: 'ciciomt2024', target: 'binary', forest: { trees: 5, seed: 2 } }, cic);
  const c = await classifyOperator(other.model).apply({ flows: flows[0] }, ctx);
  assert.not.equal(ids(c)[0], ids(a)[0]);
  assert.ok(DETECTIONS_SCHEMA.fields.some((f) => f.name === 'features_top'));
});

test('sliced batches (decoded flow ids) give the same detections as whole ones', async () => {
  const op = classifyOperator(model);
  const whole = rowsOf((await op.apply({ flows: flows[0] }, ctx)).detections, DETECTION_COLUMNS).slice(10, 30);
  const part = rowsOf((await op.apply({ flows: flows[0].slice(10, 30) }, ctx)).detections, DETECTION_COLUMNS);
  assert.equal(part, whole);
});

test('a stream without the model features is refused, naming the missing columns', async () => {
  const batch = flows[0];
  const keep = batch.schema.fields.filter((f) => f.name !== 'features').map((f) => f.name);
  const stripped = batch.select(keep);
  try {
    await classifyOperator(model).apply({ flows: stripped }, ctx);
    assert.unreachable('should refuse');
  } catch (error) {
    assert.instance(error, HeirError);
    assert.is((error as HeirError).code, ErrorCode.FEATURES_MISSING);
    assert.match((error as Error).message, /Header_Length/);
    assert.match((error as Error).message, /Variance/);
  }
  const m = featureMatrix(stripped, ['Header_Length', 'fwd_packets']);
  assert.ok('missing' in m && m.missing.length === 1 && m.missing[0] === 'Header_Length', 'flow-schema columns are used directly');
});

test('every class of both datasets maps to ENISA, OWASP, OWASP IoT and ATT&CK for ICS', () => {
  const enisa = new Set(ENISA_2018.map((e) => e.id));
  const owasp = new Set(OWASP_2021.map((e) => e.id));
  const iot = new Set(OWASP_IOT_2018.map((e) => e.id));
  const wustl = loadNamed('wustl-ehms-2020', { sample: true });
  const classes = new Set<string>();
  for (const d of [cic, wustl]) for (const t of ['binary', 'category', 'class'] as const) for (const c of d.targets[t].classes) classes.add(c);
  for (const c of classes) {
    const tags = threatOf(c);
    assert.ok(THREAT_MAP[c], `${c} is in the table`);
    if (c === 'Benign') {
      assert.is(tags.enisa.length, 0);
      continue;
    }
    assert.ok(tags.enisa.length > 0 && tags.enisa.every((e) => enisa.has(e)), `${c} ENISA`);
    assert.ok(tags.owasp.every((e) => owasp.has(e)) && tags.owaspIot.length > 0 && tags.owaspIot.every((e) => iot.has(e)), `${c} OWASP`);
    if (c !== 'Attack') assert.ok(tags.attackIcs.length > 0, `${c} ATT&CK`);
  }
  assert.equal(threatOf('ARP_Spoofing').attackIcs, ['T0830', 'T0842']);
  assert.ok(threatOf('TCP_IP-DDoS-SYN').attackIcs.includes('T0814'));
  assert.ok(threatOf('Recon-Port_Scan').attackIcs.includes('T0846'));
  assert.ok(threatOf('MQTT-Malformed_Data').threatClass === 'mqtt-abuse');
  assert.ok(threatOf('Data Alteration').attackIcs.includes('T0832'));
  assert.is(threatOf('some new flood').threatClass, 'dos');
});

test.run();
