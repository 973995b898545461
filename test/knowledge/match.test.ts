import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readInventory } from '../../knowledge/inventory-file.ts';
import { identitiesFromTraffic } from '../../knowledge/fingerprint.ts';
import { loadKnowledgeBase } from '../../knowledge/kb.ts';
import { matchAdvisories } from '../../knowledge/match.ts';
import { compareVersions, parseVersionSpec, versionMatches } from '../../knowledge/versions.ts';

const kb = loadKnowledgeBase();
const inventory = readInventory('test/fixtures/inventory/hospital.csv');
const matched = (asset: string) => {
  const d = inventory.find((x) => x.asset_id === asset)!;
  return matchAdvisories(kb, { vendor: d.make, model: d.model, version: d.version });
};

// Real device models named in CISA medical advisories, with the advisories that name them.
test('the matcher finds the advisories that name each inventoried model and version', () => {
  const expect: Record<string, string[]> = {
    'PUMP-001': ['ICSMA-17-017-02', 'ICSMA-20-317-01'],
    'PUMP-002': ['ICSMA-17-250-02'],
    'PUMP-003': ['ICSMA-20-296-02'],
    'MON-001': ['ICSMA-17-255-01'],
    'CARD-001': ['ICSMA-18-179-01', 'ICSMA-18-219-01'],
    'PHARM-001': ['ICSMA-20-170-01'],
    'TELEM-001': ['ICSMA-20-023-01'],
  };
  for (const [asset, advisories] of Object.entries(expect)) {
    const ids = matched(asset).map((m) => m.advisory);
    for (const a of advisories) assert.ok(ids.includes(a), `${asset}: expected ${a}, got ${ids.join(', ')}`);
  }
});

test('versions outside the affected range, other makers and unknown products do not match', () => {
  assert.not.ok(matched('MON-002').some((m) => m.advisory === 'ICSMA-17-255-01'), 'B.06.18 is the fixed MX40 version');
  // B. Braun writes U61 in one advisory and 012U000040 in another: different schemes are not compared.
  assert.is(matched('PUMP-003').find((m) => m.advisory === 'ICSMA-20-296-02')!.confidence, 'high');
  const other = matched('PUMP-003').find((m) => m.advisory === 'ICSMA-17-082-02');
  assert.ok(other === undefined || other.confidence !== 'high', 'U61 against < 012U000040 cannot be decided');
  assert.equal(matched('PRN-001'), []);
  assert.equal(matchAdvisories(kb, { vendor: 'Philips', model: 'Alaris 8015 PC unit', version: '9.19' }), [], 'vendor must match');
  assert.equal(matchAdvisories(kb, { vendor: 'BD', model: 'Alaris 8015 PC unit', version: '12.3' }).filter((m) => m.advisory === 'ICSMA-17-017-02'), []);
});

test('matches carry confidence, evidence and the CVEs with scores, KEV and fix status', () => {
  const pump = matched('PUMP-001').find((m) => m.advisory === 'ICSMA-17-017-02')!;
  assert.is(pump.confidence, 'high');
  assert.ok(pump.evidence.some((e) => e.includes('9.19') && e.includes('<= 9.33')), pump.evidence.join('; '));
  assert.equal(pump.cves.map((c) => c.cve).sort(), ['CVE-2016-8375', 'CVE-2016-9355']);
  assert.is(pump.cves.find((c) => c.cve === 'CVE-2016-8375')!.cvss3_score, 4.9);
  const carelink = matched('CARD-001')[0];
  assert.ok(carelink.evidence.some((e) => /all versions/.test(e)));
  const pharm = matched('PHARM-001').find((m) => m.advisory === 'ICSMA-20-170-01')!;
  assert.ok(pharm.cves.some((c) => c.cve === 'CVE-2017-0143' && c.kev !== null), 'EternalBlue is in KEV');
  const noVersion = matchAdvisories(kb, { vendor: 'BD', model: 'Alaris 8015 PC unit', version: null }).find((m) => m.advisory === 'ICSMA-17-017-02')!;
  assert.ok(noVersion.score < pump.score, 'an unknown version is less certain');
});

test('software announced in traffic: DCMTK 3.6.7 (dcmtk in Debian 12) is named by ICSMA-26-181-01, fixed for ICSMA-22-174-01', () => {
  const ids = identitiesFromTraffic({ dicom_impl_version: ['OFFIS_DCMTK_367'] });
  assert.equal(ids.map((i) => [i.vendor, i.model, i.version]), [['OFFIS', 'DCMTK', '3.6.7']]);
  const m = matchAdvisories(kb, ids[0]);
  const hit = m.find((x) => x.advisory === 'ICSMA-26-181-01')!;
  assert.ok(hit, m.map((x) => x.advisory).join(', '));
  assert.is(hit.confidence, 'medium', 'a summary-row advisory is less certain than a CSAF product tree');
  assert.not.ok(m.some((x) => x.advisory === 'ICSMA-22-174-01'), '3.6.7 is the fixed version of the 2022 advisory (< 3.6.7)');
  assert.equal(identitiesFromTraffic({ dicom_impl_version: ['SOMETHING_ELSE'] }), []);
});

test('version expressions as CISA writes them', () => {
  assert.ok(compareVersions('9.33', '9.5') > 0);
  assert.ok(compareVersions('B.06.12', 'B.06.18') < 0);
  assert.is(versionMatches(parseVersionSpec('<= 9.33'), '9.19'), true);
  assert.is(versionMatches(parseVersionSpec('< B.06.18'), 'B.06.18'), false);
  assert.is(versionMatches(parseVersionSpec('>= 2.5 | <= 3.11'), '3.0'), true);
  assert.is(versionMatches(parseVersionSpec('>= 2.5 | <= 3.11'), '3.12'), false);
  assert.is(versionMatches(parseVersionSpec('1.1 | 1.5 | 1.6'), '1.6.1'), true);
  assert.is(versionMatches(parseVersionSpec('5.x.x'), '5.4.1'), true);
  assert.is(versionMatches(parseVersionSpec('1.5.12 and prior'), '1.5.3'), true);
  assert.is(versionMatches(parseVersionSpec('vers:all/*'), 'anything'), true);
  assert.is(versionMatches(parseVersionSpec('< 012U000040'), 'U61'), null);
  assert.is(versionMatches(parseVersionSpec('The following Philips e-Alert versions are affected: Version R2.1 and prior.'), 'R2.0'), true);
  assert.is(versionMatches(parseVersionSpec('DCMTK <=3.7.0'), '3.7.1'), false);
  assert.is(versionMatches(parseVersionSpec('with wireless option (shipped 2017)'), '1.0'), null);
});

test.run();
