import { readFileSync } from 'node:fs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { DEFAULT_KNOWLEDGE_DIR, classifyProduct, loadCatalogue } from '../../datasets/fleet-catalogue.ts';
import { simulateFleet } from '../../datasets/fleet.ts';

const asOf = Date.UTC(2026, 10, 28) * 1000;
const catalogue = loadCatalogue();

test('the catalogue holds real medical product lines with their CVEs, KEV and SSVC signals', () => {
  assert.ok(catalogue.length > 150, `only ${catalogue.length} product lines`);
  const sigma = catalogue.find((l) => /sigma spectrum/i.test(l.model));
  assert.ok(sigma && sigma.criticality === 'therapy' && sigma.deviceClass === 'infusion-pump');
  const kev = readFileSync(`${DEFAULT_KNOWLEDGE_DIR}/cisa-kev/known_exploited_vulnerabilities.csv`, 'utf8');
  const kevCves = catalogue.flatMap((l) => l.cves).filter((c) => c.kev);
  assert.ok(kevCves.length > 0);
  for (const c of kevCves) assert.ok(kev.includes(`${c.cve},`), `${c.cve} marked KEV but not in the catalogue`);
  // One revision per advisory: no advisory id twice.
  assert.is(new Set(catalogue.map((l) => l.advisory)).size, catalogue.length);
  assert.equal(classifyProduct('Evita V500 ventilator'), { criticality: 'life-sustaining', deviceClass: 'ventilator' });
});

test('a fleet is seeded, labelled synthetic, and draws makes and models from the advisories', () => {
  const a = simulateFleet(catalogue, { hospitals: 12, seed: 3, asOf, devices: 1500 });
  const b = simulateFleet(catalogue, { hospitals: 12, seed: 3, asOf, devices: 1500 });
  const c = simulateFleet(catalogue, { hospitals: 12, seed: 4, asOf, devices: 1500 });
  assert.equal(a, b);
  assert.not.equal(a.devices, c.devices);
  assert.is(a.devices.length, 1500);
  assert.is(a.sites.length, 12);
  for (const table of [a.sites, a.devices, a.vulns]) assert.ok(table.every((r) => r.synthetic === true && r.site.startsWith('SYN-')));
  // Findings and detections use the hunt's and the classifier's own schemas: labelled by sensor, model and evidence.
  assert.ok(a.findings.length > 0 && a.findings.every((f) => f.site_id.startsWith('SYN-') && f.sensor_id === 'SYN-fleet' && f.evidence.startsWith('SYNTHETIC')));
  assert.ok(a.detections.length > 0 && a.detections.every((d) => d.site_id.startsWith('SYN-') && d.model === 'SYN-fleet-simulator' && !d.benign));
  const addresses = new Set(a.devices.map((d) => d.address));
  assert.is(addresses.size, a.devices.length, 'addresses are unique');
  assert.ok(a.findings.every((f) => addresses.has(f.device)) && a.detections.every((d) => addresses.has(d.device)));
  const subset = readFileSync(`${DEFAULT_KNOWLEDGE_DIR}/icsadvprj/medical_subset_ICSMA_plus_HPH.csv`, 'utf8');
  for (const d of a.devices) if (!d.make.includes('synthetic')) assert.ok(subset.includes(d.model), `model ${d.model} is not in the advisories`);
  for (const v of a.vulns) assert.ok(subset.includes(v.cve), `${v.cve} is not in the advisories`);
  assert.ok(a.vulns.some((v) => v.fix_applied) && a.vulns.some((v) => !v.fix_applied));
  assert.ok(a.findings.every((f) => f.last_seen <= asOf) && a.detections.every((d) => d.ts <= asOf));
  assert.throws(() => simulateFleet(catalogue, { hospitals: 0, seed: 1, asOf }), /invalid hospitals/);
  assert.throws(() => simulateFleet(catalogue, { hospitals: 5, seed: 1, asOf, devices: 3 }), /invalid devices/);
});

test.run();
