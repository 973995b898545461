import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ciciomt, ciciomtClassOf, CICIOMT_CLASSES } from '../../datasets/ciciomt.ts';
import { parseCsv, readCsvFile } from '../../datasets/csv.ts';
import { loadCsv, loadDataset } from '../../datasets/load.ts';
import { defaultDataDir, locateDataset, SAMPLES_DIR } from '../../datasets/registry.ts';
import { wustl } from '../../datasets/wustl.ts';
import { HeirError } from '../../pipeline/errors.ts';
import { recentWarnings, resetWarnings, setWarningSink } from '../../pipeline/warn.ts';

setWarningSink(null);
const WUSTL_SAMPLE = join(SAMPLES_DIR, wustl.sample);
const CIC_SAMPLE = join(SAMPLES_DIR, ciciomt.sample);

test('WUSTL sample: identifiers and constant columns dropped and listed, SrcMac leak warned', () => {
  resetWarnings();
  const d = loadDataset(wustl, WUSTL_SAMPLE);
  assert.is(d.layout, 'wustl-45');
  assert.is(d.rows, 1500);
  for (const id of ['SrcAddr', 'DstAddr', 'SrcMac', 'DstMac', 'Sport', 'Packet_num']) {
    const c = d.columns.find((x) => x.name === id)!;
    assert.is(c.role, 'identifier', id);
    assert.not.ok(c.kept, id);
    assert.not.ok(d.features.includes(id), id);
  }
  assert.ok(d.columns.some((c) => c.role === 'constant' && !c.kept), 'constant columns are reported');
  const mac = d.leakage.find((l) => l.column === 'SrcMac')!;
  assert.ok(mac.leaks && mac.score > 0.99, `SrcMac separates the classes (${mac.score})`);
  assert.ok(recentWarnings().some((w) => w.includes('SrcMac') && w.includes('separates')), 'a warning names SrcMac');
  assert.equal(d.targets.binary.classes, ['Benign', 'Attack']);
  assert.equal(d.targets.category.classes, ['Benign', 'Data Alteration', 'Spoofing']);
  // Categorical features are coded in a stable order.
  assert.ok(d.encodings.Flgs.length > 1);
  assert.equal([...d.encodings.Flgs], [...d.encodings.Flgs].sort());
});

test('WUSTL: --keep brings an identifier back as a feature', () => {
  const d = loadDataset(wustl, WUSTL_SAMPLE, { keep: ['SrcMac'] });
  assert.ok(d.features.includes('SrcMac'));
});

test('CICIoMT sample: inf rows and exact duplicates are dropped and counted; 19 classes in 6 categories', () => {
  const d = loadDataset(ciciomt, CIC_SAMPLE);
  assert.is(d.layout, 'cic-39');
  assert.ok(d.cleaning.nonFinite > 0, 'the sample holds inf rows');
  assert.ok((d.cleaning.nonFiniteByColumn.Rate ?? 0) > 0, 'Rate is the inf column');
  assert.is(d.cleaning.rowsKept, d.cleaning.rowsRead - d.cleaning.nonFinite - d.cleaning.duplicates - d.cleaning.malformed);
  for (let i = 0; i < d.x.length; i++) if (!Number.isFinite(d.x[i])) assert.unreachable(`non-finite value left at ${i}`);
  assert.is(d.targets.class.classes.length, 19);
  assert.equal(d.targets.category.classes, ['Benign', 'DDoS', 'DoS', 'MQTT', 'Recon', 'Spoofing']);
  const number = d.columns.find((c) => c.name === 'Number')!;
  assert.is(number.role, 'artefact');
  assert.not.ok(d.features.includes('Number'));
  assert.ok(d.groups && d.groups.names.length === 21, 'one group per capture');
});

test('exact duplicates are counted, not hidden', () => {
  const csv = readFileSync(WUSTL_SAMPLE, 'utf8').split('\n');
  const text = [...csv.slice(0, 50), csv[5], csv[6], csv[5]].join('\n') + '\n';
  const d = loadCsv(wustl, parseCsv(text, 'dups.csv'));
  assert.is(d.cleaning.duplicates, 3);
  assert.is(d.rows, 49);
});

test('.csv.gz and the 45-feature CIC layout are read by header; labels come from the file name', () => {
  const header = ['Header_Length', 'Protocol Type', 'Duration', 'Rate', 'Srate', 'Drate', 'fin_flag_number', 'IAT', 'Magnitue', 'Radius', 'Covariance', 'Variance', 'Weight', 'Number', 'Tot sum'];
  const rows = Array.from({ length: 20 }, (_, i) => header.map((_, j) => String((i * 7 + j) % 11)).join(','));
  const dir = mkdtempSync(join(tmpdir(), 'heir-cic45-'));
  const path = join(dir, 'TCP_IP-DDoS-UDP2_train.pcap.csv.gz');
  writeFileSync(path, gzipSync([header.join(','), ...rows].join('\n') + '\n'));
  const d = loadDataset(ciciomt, path);
  assert.is(d.layout, 'cic-45');
  assert.equal(d.targets.class.classes, ['TCP_IP-DDoS-UDP']);
  assert.equal(d.targets.category.classes, ['DDoS']);
  assert.ok(d.features.includes('Magnitue'));
});

test('a file of another dataset is refused with the missing columns named', () => {
  try {
    loadDataset(wustl, CIC_SAMPLE);
    assert.unreachable('should refuse');
  } catch (error) {
    assert.instance(error, HeirError);
    assert.match((error as Error).message, /missing column\(s\) Attack Category, Label/);
  }
});

test('malformed rows are counted with their line, and a model feature missing from the file is named', () => {
  const lines = readFileSync(WUSTL_SAMPLE, 'utf8').split('\n').slice(0, 30);
  lines[3] = lines[3] + ',extra';
  const d = loadCsv(wustl, parseCsv(lines.join('\n'), 'bad.csv'));
  assert.is(d.cleaning.malformed, 1);
  assert.match(d.cleaning.malformedExamples[0], /line 4/);
  try {
    loadCsv(wustl, parseCsv(lines.join('\n'), 'bad.csv'), { features: ['SrcBytes', 'NoSuchColumn'] });
    assert.unreachable('should fail');
  } catch (error) {
    assert.match((error as Error).message, /NoSuchColumn/);
  }
});

test('capture names map to the 19 classes (against label_map.csv where the shared data is present)', () => {
  assert.is(ciciomtClassOf('WiFi_and_MQTT_test_TCP_IP-DDoS-ICMP2_test.pcap'), 'TCP_IP-DDoS-ICMP');
  assert.is(ciciomtClassOf('Recon-VulScan_train.pcap.csv'), 'Recon-VulScan');
  assert.is(ciciomtClassOf('not a capture'), null);
  assert.is(CICIOMT_CLASSES.length, 19);
  const map = join(defaultDataDir(), 'ciciomt2024-sample', 'label_map.csv');
  if (!existsSync(map)) return;
  const csv = readCsvFile(map);
  for (const row of csv.rows) {
    assert.is(ciciomtClassOf(row[0]), row[2], row[0]);
    assert.is(ciciomtClassOf(row[1]), row[2], row[1]);
  }
});

test('locateDataset falls back to the committed sample and names unknown datasets', () => {
  const loc = locateDataset('ciciomt2024', '/nonexistent-dir');
  assert.ok(loc.sample);
  assert.throws(() => locateDataset('nope'), /unknown dataset 'nope'.*wustl-ehms-2020, ciciomt2024/);
});

test.run();
