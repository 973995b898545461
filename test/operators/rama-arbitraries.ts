/** fast-check generators of RAMA inputs, shared by the RAMA property tests. */
import fc from 'fast-check';
import { CRITICALITIES, SEVERITIES, type AttackInput, type DeviceRiskInput, type FindingInput, type VulnInput } from '../../operators/rama/model.ts';

export const AS_OF = Date.UTC(2026, 10, 28) * 1000;
const DAY = 86_400_000_000;

export const vulnArb: fc.Arbitrary<VulnInput> = fc.record({
  cve: fc.integer({ min: 1, max: 40 }).map((n) => `CVE-2024-${1000 + n}`),
  cvssBase: fc.integer({ min: 0, max: 100 }).map((n) => n / 10),
  cvssVersion: fc.constantFrom('3.0' as const, '3.1' as const, '4.0' as const, 'headline' as const),
  rubricAdjustedBase: fc.option(fc.integer({ min: 0, max: 100 }).map((n) => n / 10), { nil: null }),
  attackVector: fc.option(fc.constantFrom('N' as const, 'A' as const, 'L' as const, 'P' as const), { nil: null }),
  kev: fc.boolean(),
  exploitation: fc.constantFrom('none' as const, 'poc' as const, 'active' as const),
  automatable: fc.boolean(),
  fixAvailable: fc.boolean(),
  fixApplied: fc.boolean(),
});

export const findingArb: fc.Arbitrary<FindingInput> = fc.record({
  rule: fc.constantFrom('telnet-open', 'obsolete-tls', 'cleartext-phi-hl7', 'default-password', 'unsupported-os', 'ftp-cleartext-login'),
  severity: fc.constantFrom(...SEVERITIES),
});

export const attackArb: fc.Arbitrary<AttackInput> = fc.record({
  threat: fc.constantFrom('ransomware', 'malware', 'denial of service', 'web-based attacks', 'phishing'),
  severity: fc.constantFrom(...SEVERITIES),
  confidence: fc.integer({ min: 0, max: 1000 }).map((n) => n / 1000),
  ts: fc.integer({ min: -90, max: 2 }).map((d) => AS_OF + d * DAY),
});

export const deviceArb: fc.Arbitrary<DeviceRiskInput> = fc.record({
  device: fc.constantFrom('d1', 'd2', 'pump-7'),
  site: fc.constant('site-a'),
  unit: fc.constantFrom('ICU', 'Ward'),
  make: fc.constant('Make'),
  model: fc.constant('Model'),
  criticality: fc.constantFrom(...CRITICALITIES),
  vulns: fc.array(vulnArb, { maxLength: 12 }),
  findings: fc.array(findingArb, { maxLength: 6 }),
  attacks: fc.array(attackArb, { maxLength: 6 }),
  controls: fc.record({ segmented: fc.boolean(), internetExposed: fc.boolean() }),
});
