import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseInventory, parseMds2, readInventory } from '../../knowledge/inventory-file.ts';

test('a CSV inventory with MDS2 answers', () => {
  const devices = readInventory('test/fixtures/inventory/hospital.csv', 'test/fixtures/inventory/mds2.csv');
  assert.is(devices.length, 9);
  const pump = devices.find((d) => d.asset_id === 'PUMP-001')!;
  assert.is(pump.vendor, 'BD (Becton Dickinson)');
  assert.is(pump.version, '9.19');
  assert.is(pump.criticality, 'therapy');
  assert.is(pump.mac, '00:1a:01:00:00:11');
  assert.equal(pump.mds2, { 'DOC-1': 'Becton Dickinson', 'AUTH-1': 'Yes', 'CSUP-1': 'No' });
  assert.is(pump.line, 2);
});

test('a JSON inventory with embedded MDS2', () => {
  const devices = parseInventory(
    JSON.stringify({ devices: [{ asset_id: 'A1', ip: '10.0.0.1', manufacturer: 'GE', model: 'ApexPro Telemetry Server', software_version: '4.2', criticality: 'Life sustaining', mds2: { 'AUTH-1': 'N/A' } }] }),
    'inv.json',
  );
  assert.is(devices[0].address, '10.0.0.1');
  assert.is(devices[0].vendor, 'GE HealthCare');
  assert.is(devices[0].criticality, 'life-sustaining');
  assert.equal(devices[0].mds2, { 'AUTH-1': 'N/A' });
});

const bad = (text: string, pattern: RegExp, file = 'inv.csv') => assert.throws(() => parseInventory(text, file), (e: Error) => pattern.test(e.message), `expected ${pattern}`);

test('bad inventories: a clear error with the line (or item) and the field', () => {
  const header = 'asset_id,address,mac,make,model,version,criticality\n';
  bad(header + 'P1,10.0.0.1,,BD,Alaris,9.1,therapy\nP2,10.0.0.999,,BD,Alaris,9.1,therapy\n', /inv\.csv: line 3, field address: "10\.0\.0\.999" is not an IP address/);
  bad(header + 'P1,10.0.0.1,00:11:22:33:44,BD,Alaris,9.1,therapy\n', /line 2, field mac: "00:11:22:33:44" is not a MAC address/);
  bad(header + 'P1,10.0.0.1,,BD,Alaris,9.1,very important\n', /line 2, field criticality: "very important" is not one of life-sustaining/);
  bad(header + ',,,BD,Alaris,9.1,therapy\n', /line 2, field asset_id: a device needs an asset_id, an address or a MAC/);
  bad(header + 'P1,10.0.0.1,,BD,Alaris,9.1,therapy\nP1,10.0.0.2,,BD,Alaris,9.1,therapy\n', /line 3, field asset_id: "P1" already appears at 2/);
  bad('asset_id,colour\nP1,blue\n', /line 2, field colour: unknown field/);
  bad(header + 'P1,10.0.0.1,,BD,"Alaris,9.1,therapy\n', /line 2: a quoted field is not closed/);
  bad(header + 'P1,10.0.0.1,,BD,Alaris,9.1,therapy,extra\n', /line 2: 8 fields, but the header has 7/);
  bad('[{"asset_id":"A"},{"asset_id":"B","address":"nope"}]', /inv\.json: item 2, field address: "nope" is not an IP address/, 'inv.json');
  bad('[{"asset_id":"A","mds2":{"AUTH-1":"Perhaps"}}]', /item 1, field answer: "Perhaps" for AUTH-1 is not Yes, No, N\/A or See Note/, 'inv.json');
  bad('{"devices": 3}', /expected a JSON list of devices/, 'inv.json');
  bad('[{"asset_id": "A",', /not valid JSON/, 'inv.json');
});

test('bad MDS2 files: line and field', () => {
  const m = (text: string, pattern: RegExp) => assert.throws(() => parseMds2(text, 'mds2.csv'), (e: Error) => pattern.test(e.message), `expected ${pattern}`);
  m('asset_id,question_id,answer\nP1,AUTH-1,Yes\nP1,auth one,Yes\n', /mds2\.csv: line 3, field question_id: "auth one" is not an MDS2 question id/);
  m('asset_id,question_id,answer\nP1,AUTH-1,\n', /line 2, field answer: question AUTH-1 has no answer/);
  m('asset_id,question_id,answer\nP1,AUTH-1,Yes\nP1,AUTH-1,No\n', /line 3, field question_id: AUTH-1 answered twice/);
  m('asset,question_id,answer\n', /line 1, field asset_id: missing column/);
  assert.throws(() => readInventory('test/fixtures/inventory/hospital.csv', 'test/fixtures/inventory/missing.csv'), /cannot read test\/fixtures\/inventory\/missing\.csv/);
});

test.run();
