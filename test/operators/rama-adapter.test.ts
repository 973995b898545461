import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { inputFingerprint, inputsFromRows, threatId } from '../../operators/rama/adapter.ts';

const device = { device: 'p1', site: 's', address: '10.0.0.5', unit: null, make: 'Baxter', model: 'Sigma Spectrum', criticality: null, segmented: null, internet_exposed: null };
const vuln = { device: 'p1', site: 's', cve: 'CVE-2020-12040', cvss_base: 9.8, cvss_version: '3.1', cvss_vector: 'CVSS:3.1/AV:A/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H', rubric_adjusted_base: null, kev: false, exploitation: null, automatable: null, fix_available: true, fix_applied: false };

test('unknown values resolve to the worse one; the attack vector comes from the CVSS vector', () => {
  const { inputs, deadLetters } = inputsFromRows({ devices: [device], vulns: [vuln], findings: [], detections: [] });
  assert.is(deadLetters.length, 0);
  const d = inputs[0];
  assert.is(d.criticality, 'life-sustaining');
  assert.equal(d.controls, { segmented: false, internetExposed: true });
  assert.is(d.unit, 'unassigned');
  assert.is(d.vulns[0].attackVector, 'A');
  assert.is(d.vulns[0].exploitation, 'none');
  assert.is(d.vulns[0].automatable, false);
});

test('findings and detections name devices by id or address; benign rows skipped; severity from the ENISA threat', () => {
  const { inputs, unmatched } = inputsFromRows({
    devices: [device],
    vulns: [],
    findings: [
      { site: 's', device: '10.0.0.5', rule: 'telnet-service', severity: 'HIGH' },
      { site: 's', device: '198.51.100.7', rule: 'port-scan', severity: 'medium' },
    ],
    detections: [
      { ts: 1, site: 's', device: '10.0.0.5', label: 'Benign', threat: null, severity: null, confidence: 0.99, benign: true },
      { ts: 2, site: 's', device: 'p1', label: 'Ransomware', threat: 'ransomware', severity: null, confidence: 0.8 },
      { ts: 3, site: 's', device: '10.0.0.5', label: 'x', threat: 'Denial of service', severity: null, confidence: 0.5 },
      { ts: 4, site: 's', device: '203.0.113.9', target: '10.0.0.5', label: 'x', threat: 'something-new', severity: null, confidence: 0.5 },
      { ts: 5, site: 's', device: '203.0.113.9', target: '203.0.113.10', label: 'x', threat: 'malware', severity: null, confidence: 0.5 },
    ],
  });
  assert.equal(inputs[0].findings, [{ rule: 'telnet-service', severity: 'high' }]);
  assert.equal(inputs[0].attacks.map((a) => [a.threat, a.severity]), [['ransomware', 'critical'], ['denial-of-service', 'high'], ['something-new', 'high']]);
  assert.equal(unmatched, { findings: 1, detections: 1 });
  assert.is(threatId(' Web based_attacks '), 'web-based-attacks');
});

test('rows that cannot be used become dead letters with the reason', () => {
  const { inputs, deadLetters } = inputsFromRows({
    devices: [device, device, { ...device, device: 'p2', criticality: 'vital' }, { ...device, device: '' }],
    vulns: [{ ...vuln, cvss_base: 12 }, { ...vuln, device: 'ghost' }, { ...vuln, exploitation: 'maybe' }, { ...vuln, cvss_version: '2.0' }],
    findings: [{ site: 's', device: 'p1', rule: 'r', severity: 'severe' }],
    detections: [{ ts: 1, site: 's', device: 'p1', label: 'dos', threat: 'denial-of-service', severity: null, confidence: 1.5 }, { ts: 'x', site: 's', device: 'p1', label: 'dos', threat: 'denial-of-service', severity: null, confidence: 0.5 }],
  });
  assert.is(inputs.length, 1);
  const reasons = deadLetters.map((d) => `${d.input}: ${d.reason}`);
  assert.equal(reasons, [
    'rama_devices: device p1 of site s is listed twice',
    'rama_devices: unknown criticality: vital',
    'rama_devices: device or site is empty',
    'rama_device_vulns: CVSS base outside 0–10: 12 / rubric null',
    'rama_device_vulns: unknown device ghost of site s',
    'rama_device_vulns: unknown exploitation: maybe',
    'rama_device_vulns: unknown CVSS version: 2.0',
    'findings: unknown severity: severe',
    'detections: confidence outside 0–1: 1.5',
    'detections: timestamp is not a number: x',
  ]);
  assert.ok(deadLetters.every((d) => d.stage === 'rama' && typeof d.payload === 'string'));
});

test('the input fingerprint ignores list order and changes with any input', () => {
  const { inputs } = inputsFromRows({ devices: [device], vulns: [vuln, { ...vuln, cve: 'CVE-2020-0001' }], findings: [], detections: [] });
  const d = inputs[0];
  assert.is(inputFingerprint({ ...d, vulns: [...d.vulns].reverse() }), inputFingerprint(d));
  assert.is.not(inputFingerprint({ ...d, vulns: [{ ...d.vulns[0], fixApplied: true }, d.vulns[1]] }), inputFingerprint(d));
  assert.match(inputFingerprint(d), /^[0-9a-f]{16}$/);
});

test.run();
