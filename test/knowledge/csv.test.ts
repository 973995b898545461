import fc from 'fast-check';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { csvObjects, parseCsv } from '../../knowledge/csv.ts';
import { parseVersionSpec, versionMatches } from '../../knowledge/versions.ts';

const quote = (s: string) => (/[",\r\n]/.test(s) || s === '' ? `"${s.replaceAll('"', '""')}"` : s);

test('CSV: any table of fields survives writing and reading, with the line each record starts on', () => {
  const field = fc.string({ unit: fc.constantFrom('a', 'b', ',', '"', '\n', '\r\n', ' ', 'é', '1'), maxLength: 8 });
  fc.assert(
    fc.property(fc.array(fc.array(field, { minLength: 2, maxLength: 2 }), { minLength: 1, maxLength: 6 }), fc.boolean(), (rows, crlf) => {
      const eol = crlf ? '\r\n' : '\n';
      const text = rows.map((r) => r.map(quote).join(',')).join(eol) + eol;
      const parsed = parseCsv(text);
      if (parsed.length !== rows.length) return false;
      let line = 1;
      for (let i = 0; i < rows.length; i++) {
        if (parsed[i].line !== line) return false;
        if (JSON.stringify(parsed[i].fields) !== JSON.stringify(rows[i])) return false;
        line += rows[i].join(',').split(/\r\n|\n/).length;
      }
      return true;
    }),
    { seed: 7, numRuns: 3000 },
  );
});

test('CSV: byte order mark, blank lines, header objects', () => {
  const { header, rows } = csvObjects('\ufeffa,b\n1,"x,y"\n\n2,z\n');
  assert.equal(header, ['a', 'b']);
  assert.equal(rows.map((r) => [r.line, r.values.a, r.values.b]), [[2, '1', 'x,y'], [4, '2', 'z']]);
});

test('version expressions: parsing never throws and matching returns true, false or null', () => {
  fc.assert(
    fc.property(fc.string({ maxLength: 30 }), fc.string({ maxLength: 12 }), (expr, version) => {
      const r = versionMatches(parseVersionSpec(expr), version);
      return r === true || r === false || r === null;
    }),
    { seed: 11, numRuns: 5000 },
  );
});

test.run();
