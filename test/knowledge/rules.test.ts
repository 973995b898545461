import { readFileSync } from 'node:fs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { loadKnowledgeBase } from '../../knowledge/kb.ts';
import { defaultCredential, endOfSupportTable, loadRules, sha256Hex, validateRules } from '../../knowledge/rules.ts';

const kb = loadKnowledgeBase();
const shipped = JSON.parse(readFileSync('knowledge/rules.json', 'utf8'));

test('the shipped rules are valid, with taxonomy tags known to the knowledge base', () => {
  const set = loadRules(undefined, kb);
  assert.ok(set.rules.length >= 20);
  const ids = set.rules.map((r) => r.id);
  for (const id of ['cleartext-hl7', 'cleartext-dicom', 'cleartext-fhir', 'telnet-service', 'ftp-service', 'vnc-service', 'http-basic-cleartext', 'mqtt-cleartext-password', 'default-credentials', 'brute-force', 'external-remote-access', 'obsolete-tls-version', 'weak-tls-cipher', 'unsupported-os', 'internet-communication', 'port-scan', 'new-service', 'vulnerable-version']) assert.ok(ids.includes(id), id);
  for (const r of set.rules) for (const k of ['enisa', 'owasp', 'owasp_iot'] as const) assert.ok(r.taxonomy[k].length > 0, `${r.id} has ${k} tags`);
});

test('an invalid rule file is refused with every problem named by rule and field', () => {
  const doc = structuredClone(shipped);
  doc.rules[0].severity = 'urgent';
  doc.rules[1].when[0].field = 'l7_protocol';
  doc.rules[2].taxonomy.attack_ics = ['T9999'];
  doc.rules[3].when.push({ field: 'dst_port', gt: 'ten' });
  doc.rules[4].id = doc.rules[5].id;
  doc.rules.push({ ...doc.rules[10], id: 'my-rule', kind: 'aggregate', measure: {}, threshold: 0 });
  try {
    validateRules(doc, 'my-rules.json', kb);
    assert.unreachable('should have thrown');
  } catch (error) {
    const m = (error as Error).message;
    assert.match(m, /my-rules\.json: invalid rule file/);
    assert.match(m, /rules\[0\] \(cleartext-hl7\)\.severity: must be one of info, low, medium, high, critical/);
    assert.match(m, /rules\[1\] \(cleartext-dicom\)\.when\[0\]\.field: "l7_protocol" is not a flow column/);
    assert.match(m, /rules\[2\] \(cleartext-fhir\)\.taxonomy: unknown tag attack_ics:T9999/);
    assert.match(m, /rules\[3\] \(telnet-service\)\.when\[1\]\.gt: must be a number/);
    assert.match(m, /\.id: duplicate id/);
    assert.match(m, /\(my-rule\)\.measure: one of/);
    assert.match(m, /\(my-rule\)\.threshold: must be a positive number/);
  }
});

test('default credentials are recognised by password hash; end-of-support table parses', () => {
  assert.is(defaultCredential('admin', sha256Hex('admin'))?.id, 'generic-admin-admin');
  assert.is(defaultCredential('ADMIN', sha256Hex('admin'))?.id, 'generic-admin-admin');
  assert.is(defaultCredential('admin', sha256Hex('Tr0ub4dor&3')), undefined);
  assert.is(defaultCredential('nurse', sha256Hex('admin')), undefined);
  const table = endOfSupportTable();
  assert.ok(table.find((p) => p.id === 'windows-xp')!.pattern.test('Mozilla/4.0 (compatible; MSIE 8.0; Windows NT 5.1)'));
  assert.not.ok(table.find((p) => p.id === 'windows-xp')!.pattern.test('Mozilla/5.0 (Windows NT 5.10)'));
});

test('docs/rules.md lists every shipped rule', () => {
  const doc = readFileSync('docs/rules.md', 'utf8');
  for (const r of loadRules().rules) assert.ok(doc.includes(`| \`${r.id}\` |`), `${r.id} is not in docs/rules.md`);
});

test.run();
