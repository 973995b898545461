import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from '../helpers/loopback.ts';
import { gzipSync } from 'node:zlib';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { buildKnowledgeBase } from '../../knowledge/build.ts';
import { advisoryById, attackTechnique, cveEntries, loadKnowledgeBase, SHIPPED_KB_PATH } from '../../knowledge/kb.ts';
import { ENISA_2018, OWASP_2021, OWASP_IOT_2018, THREAT_CLASSES, unknownTags } from '../../knowledge/taxonomy.ts';
import { canonicalVendor, normaliseVendor } from '../../knowledge/vendors.ts';

const SHARED = '../shared/knowledge';
const built = buildKnowledgeBase(SHARED);
const shipped = loadKnowledgeBase();

test('the shipped knowledge base is what `heir kb update --from ../shared/knowledge` builds (up to date, deterministic)', () => {
  assert.equal(JSON.stringify(built), JSON.stringify(shipped));
  assert.equal(gzipSync(Buffer.from(JSON.stringify(built)), { level: 9 }), readFileSync(SHIPPED_KB_PATH));
});

test('advisories: latest revision of each, products, CVEs with vectors and fixes', () => {
  assert.is(built.counts.advisories, 207);
  assert.is(built.counts.advisories_with_csaf, 153);
  const ids = built.advisories.map((a) => a.id);
  assert.is(new Set(ids).size, ids.length, 'one entry per advisory');
  // ICSMA-17-017-02 was updated twice (Update B, 2021-03-16): the latest revision is kept.
  const alaris = advisoryById(built, 'ICSMA-17-017-02B')!;
  assert.is(alaris.updated, '2021-03-16');
  assert.ok(alaris.title.includes('Update B'));
  assert.equal(alaris.vendors, ['BD (Becton Dickinson)']);
  const cve = alaris.cves.find((c) => c.cve === 'CVE-2016-9355')!;
  assert.is(cve.cvss3_vector, 'CVSS:3.0/AV:P/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H');
  assert.is(cve.cvss3_score, cve.cvss3_score_computed);
  assert.is(cve.score_source, 'cisa-csaf');
  assert.ok(cve.fixes.length > 0);
});

test('KEV and SSVC signals are attached to medical CVEs', () => {
  const eternal = cveEntries(built, 'CVE-2017-0143');
  assert.ok(eternal.length > 0 && eternal.every((e) => e.entry.kev !== null));
  const withSsvc = built.advisories.flatMap((a) => a.cves).filter((c) => c.ssvc !== null);
  assert.ok(withSsvc.length >= 20, `${withSsvc.length} CVEs with SSVC`);
  assert.ok(withSsvc.every((c) => ['none', 'poc', 'active'].includes(c.ssvc!.exploitation)));
  assert.is(built.counts.kev_cves, built.advisories.flatMap((a) => a.cves).filter((c) => c.kev).map((c) => c.cve).filter((c, i, all) => all.indexOf(c) === i).length);
});

test('vendor names are normalised by the table, not guessed', () => {
  assert.is(canonicalVendor('Phillips'), 'Philips');
  assert.is(canonicalVendor('General Electric (GE)'), 'GE HealthCare');
  assert.is(canonicalVendor('Medtronic '), 'Medtronic');
  assert.is(canonicalVendor('Dräger'), canonicalVendor('Drager'));
  assert.is(canonicalVendor('Innokas YhtymÃ¤ Oy'), canonicalVendor('Innokas Yhtymä Oy'));
  assert.equal(normaliseVendor('Silex Technology and GE Healthcare').names, ['Silex Technology', 'GE HealthCare']);
  assert.equal(normaliseVendor('Philipps Medical'), { names: ['Philipps Medical'], known: false });
  const spellings = new Set(built.advisories.filter((a) => a.vendors.includes('Philips')).map((a) => a.vendor_written));
  assert.ok(spellings.size >= 1);
});

test('ATT&CK for ICS techniques and mitigations come from the STIX bundle', () => {
  assert.is(built.attack_ics.length, 83);
  const t = attackTechnique(built, 'T0812')!;
  assert.is(t.name, 'Default Credentials');
  assert.ok(t.mitigations.length > 0);
  assert.ok(built.attack_ics.every((x) => /^T\d{4}$/.test(x.id) && x.description.length > 0));
});

test('taxonomy: ENISA 15, OWASP 10, OWASP IoT 10; every threat class links to known entries', () => {
  assert.is(ENISA_2018.length, 15);
  assert.is(OWASP_2021.length, 10);
  assert.is(OWASP_IOT_2018.length, 10);
  for (const list of [ENISA_2018, OWASP_2021, OWASP_IOT_2018]) for (const e of list) assert.ok(e.description.length > 0 && e.mitigations.length > 0, e.id);
  for (const [name, tags] of Object.entries(THREAT_CLASSES)) assert.equal(unknownTags(shipped, tags), [], name);
});

test('`heir kb update --from` writes the same file as the shipped one; `heir kb cvss` and `kb show` answer', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'heir-kb-'));
  try {
    const out = join(dir, 'kb.json.gz');
    const r = await run('node', ['bin/heir.js', 'kb', 'update', '--from', SHARED, '--out', out], { timeoutMs: 60_000 });
    assert.is(r.code, 0, r.stderr);
    assert.match(r.stdout, /advisories 207/);
    assert.equal(readFileSync(out), readFileSync(SHIPPED_KB_PATH));
    const missing = await run('node', ['bin/heir.js', 'kb', 'update', '--from', dir, '--out', join(dir, 'x.gz')]);
    assert.is(missing.code, 1);
    assert.match(missing.stderr, /knowledge sources missing in .*: icsadvprj\/medical_subset_ICSMA_plus_HPH\.csv, cisa-csaf-icsma\/json, cisa-kev/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const v4 = await run('node', ['bin/heir.js', 'kb', 'cvss', 'CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N']);
  assert.is(v4.stdout.trim(), '9.3 Critical');
  const cve = await run('node', ['bin/heir.js', 'kb', 'show', '--cve', 'CVE-2017-0143']);
  assert.match(cve.stdout, /"kev":\{"date_added"/);
});

test.run();
