import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { join } from 'node:path';
import { Field, Float64, makeData, RecordBatch, Schema, Struct, TimestampMicrosecond, Utf8, vectorFromArray } from 'apache-arrow';
import { loadNamed, trainOnDataset } from '../../datasets/experiment.ts';
import { SAMPLES_DIR } from '../../datasets/registry.ts';
import { classifyOperator, detectionId, featureMatrix } from '../../operators/classify.ts';
import { FlatForest } from '../../operators/forest/flat-forest.ts';
import { modelId } from '../../operators/forest/model-file.ts';
import { DETECTION_COLUMNS, DETECTIONS_SCHEMA, type DetectionRow } from '../../operators/detections-schema.ts';
import { parser as cicParser } from '../../operators/ingest-cic.ts';
import { THREAT_MAP, threatOf } from '../../operators/threat-map.ts';
import { ENISA_2018, OWASP_2021, OWASP_IOT_2018 } from '../../knowledge/taxonomy.ts';
import { rowsOf } from '../../pipeline/columns.ts';
import { ErrorCode, HeirError, UserError } from '../../pipeline/errors.ts';
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
        const top = explanationOf(r);
        assert.ok(top.length >= 1 && top.length <= 3);
        for (const t of top) assert.ok(model.meta.features.includes(t.feature));
        // Shares are fractions of the splits, largest first, together at most the whole.
        for (let k = 1; k < top.length; k++) assert.ok(top[k].share <= top[k - 1].share);
        assert.ok(top[0].share > 0 && top.reduce((a, t) => a + t.share, 0) <= 1 + 1e-9);
      } else {
        assert.is(r.threat, null);
        assert.equal(explanationOf(r), []);
        assert.is(r.top1_value, null);
        assert.is(r.top1_share, null);
      }
    });
  }
  assert.ok(total > 3000);
  assert.ok(attacks > 0);
  // The sample includes the training rows, so the operator must agree with the labels on most rows.
  assert.ok(correct / total > 0.85, `agreement ${correct / total}`);
});

type Why = { feature: string; value: number | null; share: number }[];

/** The explanation columns of a detection, as a list (stops at the first empty slot). */
function explanationOf(r: DetectionRow): Why {
  const out: Why = [];
  for (const [f, v, s] of [[r.top1_feature, r.top1_value, r.top1_share], [r.top2_feature, r.top2_value, r.top2_share], [r.top3_feature, r.top3_value, r.top3_share]] as const) {
    if (f === null) break;
    assert.ok(s !== null, 'a named feature has a share');
    out.push({ feature: f, value: v, share: s });
  }
  return out;
}

/** Detections computed row by row from public pieces: the plain JS walk and path(). */
function referenceDetections(batch: RecordBatch, explainTrees = 8, top = 3) {
  const m = featureMatrix(batch, model.meta.features);
  if ('missing' in m) throw new Error('features missing');
  const x = m.x;
  const forest = new FlatForest(model.forest, { walk: 'js' });
  const K = forest.classes;
  const d = forest.features;
  const proba = forest.predictProba(x, batch.numRows);
  const id = modelId(model);
  const enc = new TextEncoder();
  const idBytes = enc.encode(id + '\0');
  return Array.from({ length: batch.numRows }, (_, r) => {
    let best = 0;
    for (let k = 1; k < K; k++) if (proba[r * K + k] > proba[r * K + best]) best = k;
    const label = model.meta.classes[best];
    let top3: Why = [];
    if (label !== model.meta.benign) {
      const counts = new Array<number>(d).fill(0);
      let total = 0;
      for (let t = 0; t < explainTrees; t++) {
        const used: number[] = [];
        const leaf = forest.path(x, r, t, (f) => used.push(f));
        if (forest.leafClass(leaf) !== best) continue;
        for (const f of used) counts[f]++;
        total += used.length;
      }
      const picked = counts.map((c, f) => ({ c, f })).filter((e) => e.c > 0).sort((a, b) => b.c - a.c || a.f - b.f).slice(0, top);
      top3 = picked.map((e) => ({ feature: model.meta.features[e.f], value: Number.isNaN(x[r * d + e.f]) ? null : x[r * d + e.f], share: Math.round((1000 * e.c) / total) / 1000 }));
    }
    const flowId = String(batch.getChild('flow_id')!.get(r));
    const flowBytes = enc.encode(flowId);
    // FNV-1a continues from the model id's hash: hash the concatenation directly.
    const all = new Uint8Array(idBytes.length + flowBytes.length);
    all.set(idBytes);
    all.set(flowBytes, idBytes.length);
    return { detection_id: detectionId(all, 0, all.length, [0xcbf29ce4, 0x84222325]), flow_id: flowId, label, confidence: proba[r * K + best], benign: label === model.meta.benign, features_top: top3 };
  });
}

test('detections equal a row-by-row reference, from the features JSON column and from Float64 columns', async () => {
  const batch = flows[0];
  const want = referenceDetections(batch);
  const pick = (rows: DetectionRow[]) => rows.map((r) => ({ detection_id: r.detection_id, flow_id: r.flow_id, label: r.label, confidence: r.confidence, benign: r.benign, features_top: explanationOf(r) }));
  assert.ok(want.some((w) => w.features_top.length > 2), 'some rows are explained with three features');
  assert.ok(want.some((w) => w.benign), 'some rows are benign');
  const fromJson = await classifyOperator(model).apply({ flows: batch }, ctx);
  assert.equal(pick(rowsOf(fromJson.detections, DETECTION_COLUMNS)), want);
  // The same rows with the features as Float64 columns, microsecond timestamps and a device column with nulls.
  const m = featureMatrix(batch, model.meta.features);
  if ('missing' in m) throw new Error('features missing');
  const n = batch.numRows;
  const d = model.meta.features.length;
  const fields = [new Field('flow_id', new Utf8(), false), new Field('site_id', new Utf8(), false), new Field('device', new Utf8(), true), new Field('ts_start', new TimestampMicrosecond('UTC'), false), ...model.meta.features.map((f) => new Field(f, new Float64(), false))];
  const ts = BigInt64Array.from({ length: n }, (_, i) => 1_764_000_000_000_000n + BigInt(i) * 1_001n);
  const children = [
    batch.getChild('flow_id')!.data[0],
    vectorFromArray(new Array(n).fill('ward-3'), new Utf8()).data[0],
    vectorFromArray(Array.from({ length: n }, (_, i) => (i % 5 === 0 ? null : `pump-${i % 7}`)), new Utf8()).data[0],
    makeData({ type: new TimestampMicrosecond('UTC'), length: n, data: ts }),
    ...model.meta.features.map((_, f) => makeData({ type: new Float64(), length: n, data: Float64Array.from({ length: n }, (_, r) => m.x[r * d + f]) })),
  ];
  const columns = new RecordBatch(new Schema(fields), makeData({ type: new Struct(fields), length: n, nullCount: 0, children }));
  const out = rowsOf((await classifyOperator(model).apply({ flows: columns }, ctx)).detections, DETECTION_COLUMNS);
  assert.equal(pick(out), want);
  out.forEach((r, i) => {
    assert.is(r.ts, Number(ts[i]));
    assert.is(r.site_id, 'ward-3');
    assert.is(r.device, i % 5 === 0 ? null : `pump-${i % 7}`);
    assert.is(r.model, modelId(model));
    const tags = model.meta.threatMap[r.label] ?? threatOf(r.label);
    assert.is(r.threat, r.benign ? null : (tags.enisa[0] ?? null));
    assert.is(r.attack_ics, r.benign || tags.attackIcs.length === 0 ? null : tags.attackIcs.join(','));
  });
  // Fewer trees and fewer features in the explanation follow the options.
  const two = rowsOf((await classifyOperator(model, { topFeatures: 2, explainTrees: 3 }).apply({ flows: columns }, ctx)).detections, DETECTION_COLUMNS);
  assert.equal(two.map(explanationOf), referenceDetections(batch, 3, 2).map((w) => w.features_top));
  assert.ok(two.every((r) => r.top3_feature === null && r.top3_value === null && r.top3_share === null));
  assert.ok(two.some((r) => r.top2_feature !== null));
  // The table has three explanation slots: more is refused with the reason.
  for (const bad of [4, -1, 1.5]) {
    try {
      classifyOperator(model, { topFeatures: bad });
      assert.unreachable(`topFeatures ${bad} accepted`);
    } catch (error) {
      assert.instance(error, UserError);
      assert.match((error as Error).message, /topFeatures .* 0 to 3/);
    }
  }
});

/** A flows batch with the model's features as Float64 columns, from a row-major matrix. */
function float64Flows(x: Float64Array, n: number, prefix: string): RecordBatch {
  const d = model.meta.features.length;
  const fields = [new Field('flow_id', new Utf8(), false), new Field('site_id', new Utf8(), false), new Field('src_addr', new Utf8(), true), new Field('ts_start', new TimestampMicrosecond('UTC'), false), ...model.meta.features.map((f) => new Field(f, new Float64(), false))];
  const children = [
    vectorFromArray(Array.from({ length: n }, (_, i) => `${prefix}-${i}`), new Utf8()).data[0],
    vectorFromArray(new Array(n).fill('ward-3'), new Utf8()).data[0],
    vectorFromArray(Array.from({ length: n }, (_, i) => `10.0.0.${i % 250}`), new Utf8()).data[0],
    makeData({ type: new TimestampMicrosecond('UTC'), length: n, data: BigInt64Array.from({ length: n }, (_, i) => 1_764_000_000_000_000n + BigInt(i)) }),
    ...model.meta.features.map((_, f) => makeData({ type: new Float64(), length: n, data: Float64Array.from({ length: n }, (_, r) => x[r * d + f]) })),
  ];
  return new RecordBatch(new Schema(fields), makeData({ type: new Struct(fields), length: n, nullCount: 0, children }));
}

test('rows that reach the same leaves with other values, and repeated rows, are explained with their own values, batch after batch', async () => {
  const m = featureMatrix(flows[0], model.meta.features);
  if ('missing' in m) throw new Error('features missing');
  const n = flows[0].numRows;
  const d = model.meta.features.length;
  // The rows, then each row nudged by a relative 1e-12 (the same leaves, other values), then the rows again.
  const x = new Float64Array(3 * n * d);
  x.set(m.x.subarray(0, n * d));
  for (let i = 0; i < n * d; i++) x[n * d + i] = m.x[i] * (1 + 1e-12);
  x.set(m.x.subarray(0, n * d), 2 * n * d);
  const mixed = float64Flows(x, 3 * n, 'mixed');
  const plain = float64Flows(m.x, n, 'plain');
  const op = classifyOperator(model);
  for (const batch of [mixed, plain, mixed]) {
    const got = rowsOf((await op.apply({ flows: batch }, ctx)).detections, DETECTION_COLUMNS);
    const want = referenceDetections(batch);
    assert.equal(got.map(explanationOf), want.map((w) => w.features_top));
    assert.equal(got.map((r) => r.label), want.map((w) => w.label));
  }
  // The case the memo must get right occurs: same label, explained, other text because of the values.
  const want = referenceDetections(mixed);
  const nudged = want.slice(0, n).filter((w, i) => w.features_top.length > 0 && w.label === want[n + i].label && JSON.stringify(w.features_top.map((e) => e.feature)) === JSON.stringify(want[n + i].features_top.map((e) => e.feature)) && w.features_top.some((e, k) => e.value !== want[n + i].features_top[k].value));
  assert.ok(nudged.length > 100, `${nudged.length} nudged rows explained alike`);
});

test('explanation values are the flow\'s own doubles: fractions of 1 to 17 digits, tiny, huge, negative, float32, NaN', async () => {
  const m = featureMatrix(flows[0], model.meta.features);
  if ('missing' in m) throw new Error('features missing');
  const n = flows[0].numRows;
  const d = model.meta.features.length;
  let seed = 7;
  const rnd = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 4294967296;
  const x = new Float64Array(n * d);
  for (let i = 0; i < n * d; i++) {
    const v = m.x[i];
    const digits = 1 + (i % 17);
    switch (Math.floor(i / d) % 8) {
      case 0: x[i] = v; break;
      case 1: x[i] = v + Math.round(rnd() * 10 ** digits) / 10 ** digits; break;
      case 2: x[i] = -rnd() * 10 ** ((i % 25) - 8); break;
      case 3: x[i] = 0.1 * Math.floor(rnd() * 100) + 0.2; break;
      case 4: x[i] = Number(`${1 + Math.floor(rnd() * 999)}e-${7 + (i % 4)}`); break;
      case 5: x[i] = Math.fround(rnd() * 1000); break;
      case 6: x[i] = (1 + rnd()) * 10 ** (12 + (i % 6)); break;
      default: x[i] = i % 3 === 0 ? NaN : v;
    }
  }
  const batch = float64Flows(x, n, 'fuzz');
  const got = rowsOf((await classifyOperator(model).apply({ flows: batch }, ctx)).detections, DETECTION_COLUMNS);
  const want = referenceDetections(batch);
  assert.ok(want.filter((w) => w.features_top.length > 0).length > 100, 'rows are explained');
  assert.ok(want.some((w) => w.features_top.some((e) => e.value === null)), 'some explained values are missing (NaN)');
  assert.equal(got.map(explanationOf), want.map((w) => w.features_top));
  // Bit for bit: the value column carries the very double of the input.
  const bits = (v: number) => new BigUint64Array(new Float64Array([v]).buffer)[0];
  got.forEach((r, i) => {
    const f = r.top1_feature === null ? -1 : model.meta.features.indexOf(r.top1_feature);
    if (f >= 0 && r.top1_value !== null) assert.is(bits(r.top1_value), bits(x[i * d + f]));
  });
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
  assert.ok(DETECTIONS_SCHEMA.fields.some((f) => f.name === 'top1_feature'));
  assert.is(DETECTIONS_SCHEMA.metadata.get('heir.version'), '2');
});

/** FNV-1a 64 in BigInt arithmetic, from a 64-bit state: the reference for the 32-bit halves. */
function fnv1a64(bytes: Uint8Array, state = 0xcbf29ce484222325n): bigint {
  let h = state;
  for (const b of bytes) h = ((h ^ BigInt(b)) * 0x100000001b3n) & 0xffffffffffffffffn;
  return h;
}

test('detection ids are FNV-1a 64 of model id, NUL and flow id, for any starting halves (above and below 2^31)', async () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 40 }), fc.integer({ min: 0, max: 2 ** 32 - 1 }), fc.integer({ min: 0, max: 2 ** 32 - 1 }), (bytes, hi, lo) => {
      const want = fnv1a64(bytes, (BigInt(hi) << 32n) | BigInt(lo)).toString(16).padStart(16, '0');
      // The halves as unsigned or as signed 32-bit integers: the same state.
      assert.is(detectionId(bytes, 0, bytes.length, [hi, lo]), want);
      assert.is(detectionId(bytes, 0, bytes.length, [hi | 0, lo | 0]), want);
    }),
    { seed: 7, numRuns: 300 },
  );
  // Through the operator, two models in one process, the first again after the second: each
  // detection id is the BigInt FNV-1a of its own bytes.
  const enc = new TextEncoder();
  const other = await trainOnDataset({ dataset: 'ciciomt2024', target: 'binary', forest: { trees: 5, seed: 3 } }, cic);
  for (const m of [model, other.model, model]) {
    const det = (await classifyOperator(m).apply({ flows: flows[0] }, ctx)).detections;
    const ids = det.getChild('detection_id')!;
    const flowIds = det.getChild('flow_id')!;
    for (let r = 0; r < det.numRows; r += 7) {
      const all = enc.encode(`${modelId(m)}\0${flowIds.get(r)}`);
      assert.is(ids.get(r), fnv1a64(all).toString(16).padStart(16, '0'), `row ${r} of model ${modelId(m)}`);
    }
  }
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
