/**
 * Affected-version expressions as CISA's CSAF files write them (`<= 9.33`, `vers:all/*`,
 * `>= 2.0 | <= 2.5`, `3.x`, `1.2.0 and below`, `2.1 | 2.2`) and an ordering of version strings
 * (numeric segments compare as numbers, so 9.33 > 9.5).
 */

/** One affected-version expression in structured form. */
export type VersionSpec =
  | { readonly kind: 'all' }
  | { readonly kind: 'range'; readonly lower?: { v: string; inclusive: boolean }; readonly upper?: { v: string; inclusive: boolean } }
  | { readonly kind: 'exact'; readonly v: string }
  | { readonly kind: 'prefix'; readonly v: string }
  | { readonly kind: 'any-of'; readonly specs: readonly VersionSpec[] }
  | { readonly kind: 'text'; readonly text: string };

function segments(v: string): (number | string)[] {
  return (v.toLowerCase().match(/\d+|[a-z]+/g) ?? []).map((s) => (/^\d/.test(s) ? Number(s) : s));
}

/** Compare two version strings: negative, zero or positive. */
export function compareVersions(a: string, b: string): number {
  const x = segments(a);
  const y = segments(b);
  const n = Math.max(x.length, y.length);
  for (let i = 0; i < n; i++) {
    const p = x[i] ?? 0;
    const q = y[i] ?? 0;
    if (p === q) continue;
    if (typeof p === 'number' && typeof q === 'number') return p - q;
    // A number sorts after a letter suffix of the same position (1.0 > 1.0-beta style ordering is not needed here).
    if (typeof p === 'number') return 1;
    if (typeof q === 'number') return -1;
    return p < q ? -1 : 1;
  }
  return 0;
}

const VERSIONISH = /^[vV]?\d+[\w.\-]*$/;

function parseTerm(term: string): VersionSpec {
  const t = term.trim().replace(/^versions?\s+/i, '');
  if (/^vers:all\/\*$/i.test(t) || /^all( versions)?$/i.test(t)) return { kind: 'all' };
  let m = /^(<=|<|>=|>|=)\s*(.+)$/.exec(t);
  if (m) {
    const v = m[2].trim();
    if (!/\d/.test(v)) return { kind: 'text', text: t };
    if (m[1] === '=') return { kind: 'exact', v };
    const bound = { v, inclusive: m[1].length === 2 };
    return m[1].startsWith('<') ? { kind: 'range', upper: bound } : { kind: 'range', lower: bound };
  }
  m = /^(\S+)\s+(and|&)\s+(below|prior|earlier|older)/i.exec(t) ?? /^(\S+)\s+or\s+(earlier|older|prior|lower)/i.exec(t);
  if (m && /\d/.test(m[1])) return { kind: 'range', upper: { v: m[1], inclusive: true } };
  m = /^[vV]?(\d+(?:\.\d+)*)(?:\.[xX*])+$/.exec(t);
  if (m) return { kind: 'prefix', v: m[1] };
  if (VERSIONISH.test(t)) return { kind: 'exact', v: t.replace(/^[vV]/, '') };
  // Prose (advisories known only from their summary row): use a bound only when the text states exactly one.
  const bounds = [...t.matchAll(/(<=|<|>=|>)\s*[vV]?(\d[\w.\-]*)/g)];
  if (bounds.length === 1) {
    const [, op, v] = bounds[0];
    const bound = { v: v.replace(/[.\-]+$/, ''), inclusive: op.length === 2 };
    return op.startsWith('<') ? { kind: 'range', upper: bound } : { kind: 'range', lower: bound };
  }
  const prior = [...t.matchAll(/(?:^|\s)[vV]?([A-Za-z]?\d[\w.]*)\s+(?:and|or)\s+(?:prior|earlier|below|older)/g)];
  if (bounds.length === 0 && prior.length === 1) return { kind: 'range', upper: { v: prior[0][1].replace(/\.+$/, ''), inclusive: true } };
  return { kind: 'text', text: t };
}

/** Parse one affected-version expression. Never throws: what it cannot read becomes `text`. */
export function parseVersionSpec(expr: string): VersionSpec {
  const terms = expr.split('|').map((s) => s.trim()).filter((s) => s !== '');
  if (terms.length === 0) return { kind: 'text', text: expr };
  const specs = terms.map(parseTerm);
  if (specs.length === 1) return specs[0];
  // `>= a | <= b` is one bounded range (CSAF vers-style constraints), not two alternatives.
  const ranges = specs.filter((s): s is Extract<VersionSpec, { kind: 'range' }> => s.kind === 'range');
  if (ranges.length === specs.length && ranges.length === 2) {
    const lower = ranges.find((r) => r.lower)?.lower;
    const upper = ranges.find((r) => r.upper)?.upper;
    if (lower && upper) return { kind: 'range', lower, upper };
  }
  return { kind: 'any-of', specs };
}

/** Whether two versions are written in the same scheme (both start with a number, or both with a letter). */
export function comparable(a: string, b: string): boolean {
  const x = segments(a)[0];
  const y = segments(b)[0];
  return x !== undefined && y !== undefined && typeof x === typeof y;
}

/**
 * Whether a version satisfies a spec: true, false, or null when it cannot be decided (free text,
 * or a version written in another scheme than the advisory's, such as U61 against 012U000061).
 */
export function versionMatches(spec: VersionSpec, version: string): boolean | null {
  const v = version.trim().replace(/^[vV](?=\d)/, '');
  switch (spec.kind) {
    case 'all':
      return true;
    case 'exact': {
      // "1.6" in an advisory covers 1.6 and its patch levels (1.6.1), not 1.60.
      const want = segments(spec.v);
      const got = segments(v);
      return want.length > 0 && got.length >= want.length && want.every((s, i) => got[i] === s);
    }
    case 'prefix': {
      const want = segments(spec.v);
      const got = segments(v);
      return want.every((s, i) => got[i] === s);
    }
    case 'range': {
      if ((spec.lower && !comparable(v, spec.lower.v)) || (spec.upper && !comparable(v, spec.upper.v))) return null;
      if (spec.lower) {
        const c = compareVersions(v, spec.lower.v);
        if (c < 0 || (c === 0 && !spec.lower.inclusive)) return false;
      }
      if (spec.upper) {
        const c = compareVersions(v, spec.upper.v);
        if (c > 0 || (c === 0 && !spec.upper.inclusive)) return false;
      }
      return true;
    }
    case 'any-of': {
      let unknown = false;
      for (const s of spec.specs) {
        const r = versionMatches(s, v);
        if (r === true) return true;
        if (r === null) unknown = true;
      }
      return unknown ? null : false;
    }
    case 'text':
      return spec.text.trim().toLowerCase() === v.toLowerCase() ? true : null;
  }
}
