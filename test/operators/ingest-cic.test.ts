/**
 * CICIoMT2024: the shared gzip sample (39-feature layout, 64,260 rows) parsed end to end through
 * maybeGunzip; a 45-feature file is recognised by its header; labels follow the dataset's
 * label_map.csv.
 */
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { cicClass, parser } from '../../operators/ingest-cic.ts';
import { columnSum, fuzzLineParser, parseBytes, parseFile, rejectsInput, rowsBetween } from '../helpers/ingest.ts';

const DIR = new URL('../../../shared/datasets/ciciomt2024-sample/', import.meta.url).pathname;
const FILE = DIR + 'ciciomt2024-sample.csv.gz';
const lines = gunzipSync(readFileSync(FILE)).toString('utf8').trim().split('\n');

test('label_map.csv: capture names reduce to the 19 classes and 6 categories', () => {
  const map = readFileSync(DIR + 'label_map.csv', 'utf8').trim().split('\n').slice(1).map((l) => l.split(','));
  assert.ok(map.length >= 20);
  for (const [attackType, , class19, class6] of map) assert.equal(cicClass(attackType), { label: class19, category: class6 }, attackType);
});

test('the shared sample: every row a window flow, features and labels kept', async () => {
  const parsed = await parseFile(parser, FILE, { rows: false });
  assert.equal(parsed.deadLetters, []);
  assert.is(parsed.outputs.reduce((n, o) => n + (o.flows?.numRows ?? 0), 0), lines.length - 1);
  const header = lines[0].split(',');
  const at = (name: string) => header.indexOf(name);
  const data = lines.slice(1).map((l) => l.split(','));
  assert.is(columnSum(parsed, 'fwd_packets'), data.reduce((s, f) => s + Number(f[at('Number')]), 0));
  assert.is(columnSum(parsed, 'fwd_bytes'), data.reduce((s, f) => s + Number(f[at('Tot sum')]), 0));
  const [first] = rowsBetween(parsed, 0, 1);
  const features = JSON.parse(first.features!) as Record<string, number | null>;
  assert.is(Object.keys(features).length, 39);
  assert.is(features.Rate, null, 'inf is kept as null');
  assert.equal([features['Protocol Type'], features.Time_To_Live, features.IAT], [6, 64, 0]);
  assert.equal([first.ip_proto, first.fwd_packets, first.fwd_bytes, first.pkt_len_mean, first.rst_count, first.label, first.label_category], [6, 10, 600, 60, 10, 'Recon-Port_Scan', 'Recon']);
  assert.equal([first.ts_start, first.duration_s, first.community_id, first.end_reason], [0, 0, null, 'dataset']);
  // Empty cells (one-packet windows) are missing values, not bad rows.
  const [oneWindow] = rowsBetween(parsed, 61806, 61807);
  assert.is(oneWindow.pkt_len_std, null);
  assert.is(JSON.parse(oneWindow.features!).Variance, null);
  const categories = new Set<string>();
  for (const o of parsed.outputs) for (const c of o.flows!.getChild('label_category')!) categories.add(c as string);
  assert.equal([...categories].sort(), ['Benign', 'DDoS', 'DoS', 'MQTT', 'Recon', 'Spoofing']);
});

test('the 45-feature layout is told apart by its header', async () => {
  const header45 = 'Header_Length,Protocol Type,Duration,Rate,Srate,Drate,fin_flag_number,syn_flag_number,rst_flag_number,psh_flag_number,ack_flag_number,ece_flag_number,cwr_flag_number,ack_count,syn_count,fin_count,rst_count,HTTP,HTTPS,DNS,Telnet,SMTP,SSH,IRC,TCP,UDP,DHCP,ARP,ICMP,IGMP,IPv,LLC,Tot sum,Min,Max,AVG,Std,Tot size,IAT,Number,Magnitue,Radius,Covariance,Variance,Weight,label';
  const row = '54.0,17,64.0,12.5,12.5,0.0,0,0,0,0,0,0,0,0.0,0.0,0.0,0.0,0,0,1,0,0,0,0,0,1,0,0,0,0,1,1,740,74,74,74.0,0.0,74,0.08,10,12.16,0.0,0.0,0.0,141.55,DDoS-UDP_Flood';
  const { rows, deadLetters } = await parseBytes(parser, `${header45}\n${row}\n`);
  assert.equal(deadLetters, []);
  const features = JSON.parse(rows[0].features!) as Record<string, number>;
  assert.is(Object.keys(features).length, 45);
  assert.equal([features.Srate, features.Magnitue, features.Weight], [12.5, 12.16, 141.55]);
  assert.equal([rows[0].ip_proto, rows[0].fwd_packets, rows[0].fwd_bytes, rows[0].iat_mean, rows[0].label, rows[0].label_category], [17, 10, 740, 0.08, 'DDoS-UDP_Flood', 'DDoS']);
});

function withField(line: string, name: string, value: string): string {
  const fields = line.split(',');
  fields[lines[0].split(',').indexOf(name)] = value;
  return fields.join(',');
}

test('bad rows and a foreign header', async () => {
  const text = [lines[0], lines[1], lines[2].replace(/^20\.8,/, 'x,'), lines[3] + ',1', withField(lines[4], 'Number', '-10')].join('\n');
  const { rows, deadLetters } = await parseBytes(parser, text);
  assert.is(rows.length, 1);
  assert.equal(deadLetters.map((d) => d.reason.replace(/:.*/, '')), ['line 3', 'line 4', 'line 5']);
  assert.match(deadLetters[0].reason, /Header_Length is not a number: "x"/);
  assert.match(deadLetters[1].reason, /expected 40 fields, found 41/);
  assert.match(deadLetters[2].reason, /Number is not a packet count/);
  await rejectsInput(() => parseBytes(parser, 'Dir,Flgs,SrcAddr\n', { input: 'wustl.csv' }), /wustl\.csv: not a CICIoMT2024 CSV header \(expected the 39- or 45-feature layout/);
});

test('fuzz: mutated CIC rows', async () => {
  await fuzzLineParser(parser, lines[0], lines.slice(1, 30));
});

test.run();
