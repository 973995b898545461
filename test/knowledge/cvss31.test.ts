import { existsSync, readFileSync } from 'node:fs';
import fc from 'fast-check';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { csvObjects } from '../../knowledge/csv.ts';
import { cvss31BaseScore, formatCvss3, parseCvss3, roundUp31, severityOf, type Cvss3Base } from '../../knowledge/cvss31.ts';

// Vectors and scores of the FIRST "CVSS v3.1 Examples" document.
const FIRST_EXAMPLES: readonly [string, string, number][] = [
  ['CVE-2013-1937 phpMyAdmin reflected XSS', 'CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N', 6.1],
  ['CVE-2013-0375 MySQL stored SQL injection', 'CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:C/C:L/I:L/A:N', 6.4],
  ['CVE-2014-3566 SSLv3 POODLE', 'CVSS:3.1/AV:N/AC:H/PR:N/UI:R/S:U/C:L/I:N/A:N', 3.1],
  ['CVE-2012-1516 VMware guest to host escape', 'CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:C/C:H/I:H/A:H', 9.9],
  ['CVE-2009-0783 Apache Tomcat XML parser', 'CVSS:3.1/AV:L/AC:L/PR:H/UI:N/S:U/C:L/I:L/A:L', 4.2],
  ['CVE-2012-0384 Cisco IOS command injection', 'CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:H', 8.8],
  ['CVE-2015-1098 Apple iWork denial of service', 'CVSS:3.1/AV:L/AC:L/PR:N/UI:R/S:U/C:H/I:H/A:H', 7.8],
  ['CVE-2014-0160 OpenSSL Heartbleed', 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N', 7.5],
  ['CVE-2014-6271 GNU Bash Shellshock', 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H', 9.8],
  ['CVE-2008-1447 DNS Kaminsky bug', 'CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:C/C:N/I:H/A:N', 6.8],
  ['CVE-2014-2005 Sophos login screen bypass', 'CVSS:3.1/AV:P/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H', 6.8],
  ['CVE-2010-0467 Joomla directory traversal', 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:L/I:N/A:N', 5.8],
  ['CVE-2012-1342 Cisco ASA ACL bypass', 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:N/I:L/A:N', 5.8],
  ['CVE-2013-6014 Juniper proxy ARP', 'CVSS:3.1/AV:A/AC:L/PR:N/UI:N/S:C/C:H/I:N/A:H', 9.3],
  ['CVE-2016-1645 Google Chrome PDFium', 'CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:U/C:H/I:H/A:H', 8.8],
  ['CVE-2016-0128 Windows SAM/LSAD Badlock', 'CVSS:3.1/AV:N/AC:H/PR:N/UI:R/S:U/C:H/I:H/A:N', 6.8],
];

test('base scores agree with the FIRST v3.1 examples', () => {
  for (const [name, vector, score] of FIRST_EXAMPLES) assert.is(cvss31BaseScore(vector), score, name);
});

test('every CISA CSAF medical vector scores as CISA published it', () => {
  const file = '../shared/knowledge/derived/cisagov_csaf_icsma_vulns_flat.csv';
  assert.ok(existsSync(file), `${file} is missing (the shared knowledge sources)`);
  const { rows } = csvObjects(readFileSync(file, 'utf8'));
  let checked = 0;
  for (const { values } of rows) {
    if (!values.cvss_vector.startsWith('CVSS:3')) continue;
    assert.is(cvss31BaseScore(values.cvss_vector), Number(values.cvss_base_score), `${values.advisory_id} ${values.cve} ${values.cvss_vector}`);
    checked++;
  }
  assert.ok(checked >= 400, `only ${checked} vectors checked`);
});

test('v3.1 round-up is exact where floating point is not', () => {
  assert.is(roundUp31(4.000000000000001), 4.0);
  assert.is(roundUp31(4.02), 4.1);
  assert.is(roundUp31(4.1), 4.1);
});

test('no impact scores 0; severity bands', () => {
  assert.is(cvss31BaseScore('CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:N'), 0);
  assert.is(severityOf(0), 'None');
  assert.is(severityOf(3.9), 'Low');
  assert.is(severityOf(4.0), 'Medium');
  assert.is(severityOf(7.0), 'High');
  assert.is(severityOf(9.0), 'Critical');
});

test('malformed vectors are rejected with the reason', () => {
  assert.throws(() => cvss31BaseScore('CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H'), /base metric A is missing/);
  assert.throws(() => cvss31BaseScore('CVSS:3.1/AV:X/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H'), /AV:X is not a legal value/);
  assert.throws(() => cvss31BaseScore('CVSS:2.0/AV:N'), /version 2.0/);
  assert.throws(() => cvss31BaseScore('CVSS:3.1/AV:N/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H'), /appears twice/);
});

const worse = { AV: ['P', 'L', 'A', 'N'], AC: ['H', 'L'], PR: ['H', 'L', 'N'], UI: ['R', 'N'], C: ['N', 'L', 'H'], I: ['N', 'L', 'H'], A: ['N', 'L', 'H'] } as const;
const base = fc.record({
  AV: fc.constantFrom(...worse.AV),
  AC: fc.constantFrom(...worse.AC),
  PR: fc.constantFrom(...worse.PR),
  UI: fc.constantFrom(...worse.UI),
  S: fc.constantFrom('U', 'C'),
  C: fc.constantFrom(...worse.C),
  I: fc.constantFrom(...worse.I),
  A: fc.constantFrom(...worse.A),
}) as fc.Arbitrary<Cvss3Base>;

test('scores are bounded, round-trip through the vector, and never fall when a metric gets worse', () => {
  fc.assert(
    fc.property(base, fc.constantFrom('AV', 'AC', 'PR', 'UI', 'C', 'I', 'A'), (b, metric) => {
      const s = cvss31BaseScore(formatCvss3(b));
      if (s < 0 || s > 10) return false;
      if (JSON.stringify(parseCvss3(formatCvss3(b)).base) !== JSON.stringify(b)) return false;
      const order = worse[metric as keyof typeof worse] as readonly string[];
      const at = order.indexOf(b[metric as keyof Cvss3Base]);
      if (at === order.length - 1) return true;
      const up = { ...b, [metric]: order[at + 1] } as Cvss3Base;
      return cvss31BaseScore(formatCvss3(up)) >= s;
    }),
    { seed: 42, numRuns: 2000 },
  );
});

test.run();
