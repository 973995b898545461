/**
 * CVSS v4.0 scores from vector strings (base, and threat/environmental when present), following the
 * specification's MacroVector method (section 8): the six equivalence classes EQ1–EQ6 select a
 * MacroVector whose score comes from FIRST's lookup table (knowledge/cvss40-lookup.json); the
 * vector's severity distance from the MacroVector's highest-severity vectors then interpolates
 * towards the next lower MacroVectors.
 */
import { readFileSync } from 'node:fs';
import { ErrorCode, UserError } from '../pipeline/errors.ts';

/** Effective metric values of a v4.0 vector (modified metrics applied, defaults filled in). */
export type Cvss4Metrics = Readonly<Record<string, string>>;

const BASE: Readonly<Record<string, readonly string[]>> = {
  AV: ['N', 'A', 'L', 'P'],
  AC: ['L', 'H'],
  AT: ['N', 'P'],
  PR: ['N', 'L', 'H'],
  UI: ['N', 'P', 'A'],
  VC: ['H', 'L', 'N'],
  VI: ['H', 'L', 'N'],
  VA: ['H', 'L', 'N'],
  SC: ['H', 'L', 'N'],
  SI: ['H', 'L', 'N'],
  SA: ['H', 'L', 'N'],
};
const OPTIONAL: Readonly<Record<string, readonly string[]>> = {
  E: ['X', 'A', 'P', 'U'],
  CR: ['X', 'H', 'M', 'L'],
  IR: ['X', 'H', 'M', 'L'],
  AR: ['X', 'H', 'M', 'L'],
  MAV: ['X', 'N', 'A', 'L', 'P'],
  MAC: ['X', 'L', 'H'],
  MAT: ['X', 'N', 'P'],
  MPR: ['X', 'N', 'L', 'H'],
  MUI: ['X', 'N', 'P', 'A'],
  MVC: ['X', 'H', 'L', 'N'],
  MVI: ['X', 'H', 'L', 'N'],
  MVA: ['X', 'H', 'L', 'N'],
  MSC: ['X', 'H', 'L', 'N'],
  MSI: ['X', 'S', 'H', 'L', 'N'],
  MSA: ['X', 'S', 'H', 'L', 'N'],
  S: ['X', 'N', 'P'],
  AU: ['X', 'N', 'Y'],
  R: ['X', 'A', 'U', 'I'],
  V: ['X', 'D', 'C'],
  RE: ['X', 'L', 'M', 'H'],
  U: ['X', 'Clear', 'Green', 'Amber', 'Red'],
};

let lookupTable: Readonly<Record<string, number>> | null = null;
function lookup(): Readonly<Record<string, number>> {
  lookupTable ??= (JSON.parse(readFileSync(new URL('./cvss40-lookup.json', import.meta.url), 'utf8')) as { macrovectors: Record<string, number> }).macrovectors;
  return lookupTable;
}

/** Parse a `CVSS:4.0/...` vector into effective metric values; throws a UserError naming the problem. */
export function parseCvss4(vector: string): Cvss4Metrics {
  const bad = (why: string): never => {
    throw new UserError(ErrorCode.INPUT_MALFORMED, `invalid CVSS v4.0 vector "${vector}": ${why}`);
  };
  const parts = vector.trim().split('/');
  if (parts.shift() !== 'CVSS:4.0') bad('it must start with CVSS:4.0');
  const given: Record<string, string> = {};
  for (const part of parts) {
    const [key, value, extra] = part.split(':');
    if (value === undefined || extra !== undefined) bad(`"${part}" is not METRIC:VALUE`);
    if (key in given) bad(`metric ${key} appears twice`);
    const legal = BASE[key] ?? OPTIONAL[key];
    if (!legal) bad(`unknown metric ${key}`);
    if (!legal.includes(value)) bad(`${key}:${value} is not a legal value`);
    given[key] = value;
  }
  for (const key of Object.keys(BASE)) if (given[key] === undefined) bad(`base metric ${key} is missing`);
  // Effective values: a modified metric overrides its base metric; E and CR/IR/AR default to their
  // worst case (specification section 8: "X" is treated as the highest severity).
  const eff: Record<string, string> = {};
  for (const key of Object.keys(BASE)) {
    const modified = given['M' + key];
    eff[key] = modified !== undefined && modified !== 'X' ? modified : given[key];
  }
  eff.E = given.E === undefined || given.E === 'X' ? 'A' : given.E;
  for (const key of ['CR', 'IR', 'AR']) eff[key] = given[key] === undefined || given[key] === 'X' ? 'H' : given[key];
  return eff;
}

/** The six-digit MacroVector (EQ1..EQ6) of effective metrics. */
export function macroVector(m: Cvss4Metrics): string {
  const av = m.AV, pr = m.PR, ui = m.UI;
  const eq1 = av === 'N' && pr === 'N' && ui === 'N' ? 0 : (av === 'N' || pr === 'N' || ui === 'N') && av !== 'P' ? 1 : 2;
  const eq2 = m.AC === 'L' && m.AT === 'N' ? 0 : 1;
  const eq3 = m.VC === 'H' && m.VI === 'H' ? 0 : m.VC === 'H' || m.VI === 'H' || m.VA === 'H' ? 1 : 2;
  const eq4 = m.SI === 'S' || m.SA === 'S' ? 0 : m.SC === 'H' || m.SI === 'H' || m.SA === 'H' ? 1 : 2;
  const eq5 = m.E === 'A' ? 0 : m.E === 'P' ? 1 : 2;
  const eq6 = (m.CR === 'H' && m.VC === 'H') || (m.IR === 'H' && m.VI === 'H') || (m.AR === 'H' && m.VA === 'H') ? 0 : 1;
  return `${eq1}${eq2}${eq3}${eq4}${eq5}${eq6}`;
}

// Severity levels within a MacroVector, in tenths (specification section 8.2, "severity distance").
const LEVEL: Readonly<Record<string, Readonly<Record<string, number>>>> = {
  AV: { N: 0, A: 1, L: 2, P: 3 },
  PR: { N: 0, L: 1, H: 2 },
  UI: { N: 0, P: 1, A: 2 },
  AC: { L: 0, H: 1 },
  AT: { N: 0, P: 1 },
  VC: { H: 0, L: 1, N: 2 },
  VI: { H: 0, L: 1, N: 2 },
  VA: { H: 0, L: 1, N: 2 },
  SC: { H: 1, L: 2, N: 3 },
  SI: { S: 0, H: 1, L: 2, N: 3 },
  SA: { S: 0, H: 1, L: 2, N: 3 },
  CR: { H: 0, M: 1, L: 2 },
  IR: { H: 0, M: 1, L: 2 },
  AR: { H: 0, M: 1, L: 2 },
};

// The highest-severity vectors of each EQ level (FIRST calculator's max_composed data).
const MAX_EQ1: readonly (readonly string[])[] = [['AV:N/PR:N/UI:N'], ['AV:A/PR:N/UI:N', 'AV:N/PR:L/UI:N', 'AV:N/PR:N/UI:P'], ['AV:P/PR:N/UI:N', 'AV:A/PR:L/UI:P']];
const MAX_EQ2: readonly (readonly string[])[] = [['AC:L/AT:N'], ['AC:H/AT:N', 'AC:L/AT:P']];
const MAX_EQ3EQ6: Readonly<Record<string, readonly string[]>> = {
  '00': ['VC:H/VI:H/VA:H/CR:H/IR:H/AR:H'],
  '01': ['VC:H/VI:H/VA:L/CR:M/IR:M/AR:H', 'VC:H/VI:H/VA:H/CR:M/IR:M/AR:M'],
  '10': ['VC:L/VI:H/VA:H/CR:H/IR:H/AR:H', 'VC:H/VI:L/VA:H/CR:H/IR:H/AR:H'],
  '11': ['VC:L/VI:H/VA:L/CR:H/IR:M/AR:H', 'VC:L/VI:H/VA:H/CR:H/IR:M/AR:M', 'VC:H/VI:L/VA:H/CR:M/IR:H/AR:M', 'VC:H/VI:L/VA:L/CR:M/IR:H/AR:H', 'VC:L/VI:L/VA:H/CR:H/IR:H/AR:M'],
  '21': ['VC:L/VI:L/VA:L/CR:H/IR:H/AR:H'],
};
const MAX_EQ4: readonly string[] = ['SC:H/SI:S/SA:S', 'SC:H/SI:H/SA:H', 'SC:L/SI:L/SA:L'];
// Depth of each MacroVector (largest severity distance inside it), in tenths.
const DEPTH_EQ1 = [1, 4, 5];
const DEPTH_EQ2 = [1, 2];
const DEPTH_EQ3EQ6: Readonly<Record<string, number>> = { '00': 7, '01': 6, '10': 8, '11': 8, '21': 10 };
const DEPTH_EQ4 = [6, 5, 4];

function fragment(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const p of text.split('/')) {
    const [k, v] = p.split(':');
    out[k] = v;
  }
  return out;
}

/**
 * The CVSS v4.0 score of a vector: CVSS-B for base-only vectors, CVSS-BT/BE/BTE when threat or
 * environmental metrics are given.
 * @example cvss40Score('CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N') // 9.3
 */
export function cvss40Score(vector: string): number {
  return cvss40ScoreOf(parseCvss4(vector));
}

/** Score of already-parsed effective metrics. */
export function cvss40ScoreOf(m: Cvss4Metrics): number {
  if (['VC', 'VI', 'VA', 'SC', 'SI', 'SA'].every((k) => m[k] === 'N')) return 0;
  const table = lookup();
  const mv = macroVector(m);
  const eq = Array.from(mv, Number);
  const value = table[mv];
  const at = (e1: number, e2: number, e3: number, e4: number, e5: number, e6: number): number => table[`${e1}${e2}${e3}${e4}${e5}${e6}`] ?? NaN;
  const [e1, e2, e3, e4, e5, e6] = eq;
  // Next lower MacroVector per EQ (EQ3 and EQ6 move together; from 00 both ways exist, take the higher).
  const lower1 = at(e1 + 1, e2, e3, e4, e5, e6);
  const lower2 = at(e1, e2 + 1, e3, e4, e5, e6);
  let lower36: number;
  if (e3 === 0 && e6 === 0) lower36 = Math.max(at(e1, e2, e3, e4, e5, e6 + 1), at(e1, e2, e3 + 1, e4, e5, e6));
  else if (e3 === 1 && e6 === 0) lower36 = at(e1, e2, e3, e4, e5, e6 + 1);
  else if (e6 === 1 && e3 <= 1) lower36 = at(e1, e2, e3 + 1, e4, e5, e6);
  else lower36 = at(e1, e2, e3 + 1, e4, e5, e6 + 1);
  const lower4 = at(e1, e2, e3, e4 + 1, e5, e6);
  const lower5 = at(e1, e2, e3, e4, e5 + 1, e6);

  // Find the first highest-severity vector that the scored vector does not exceed in any metric.
  const key36 = `${e3}${e6}`;
  let dist: Record<string, number> | null = null;
  const candidates: string[] = [];
  for (const a of MAX_EQ1[e1]) for (const b of MAX_EQ2[e2]) for (const c of MAX_EQ3EQ6[key36]) candidates.push(`${a}/${b}/${c}/${MAX_EQ4[e4]}`);
  for (const text of candidates) {
    const max = fragment(text);
    const candidate: Record<string, number> = {};
    let fits = true;
    for (const k of Object.keys(LEVEL)) {
      const delta = LEVEL[k][m[k]] - LEVEL[k][max[k]];
      if (delta < 0) {
        fits = false;
        break;
      }
      candidate[k] = delta;
    }
    if (fits) {
      dist = candidate;
      break;
    }
  }
  if (dist === null) throw new Error(`CVSS v4.0: no highest-severity vector found for MacroVector ${mv}`);
  const d1 = dist.AV + dist.PR + dist.UI;
  const d2 = dist.AC + dist.AT;
  const d36 = dist.VC + dist.VI + dist.VA + dist.CR + dist.IR + dist.AR;
  const d4 = dist.SC + dist.SI + dist.SA;

  // Each EQ with a lower MacroVector contributes (available score drop) × (distance / depth); EQ5
  // always contributes 0 but counts in the mean.
  let sum = 0;
  let n = 0;
  const add = (lower: number, distance: number, depth: number): void => {
    if (Number.isNaN(lower)) return;
    n++;
    sum += (value - lower) * (distance / depth);
  };
  add(lower1, d1, DEPTH_EQ1[e1]);
  add(lower2, d2, DEPTH_EQ2[e2]);
  add(lower36, d36, DEPTH_EQ3EQ6[key36]);
  add(lower4, d4, DEPTH_EQ4[e4]);
  add(lower5, 0, 1);
  let score = n === 0 ? value : value - sum / n;
  score = Math.min(10, Math.max(0, score));
  // Round half up at one decimal; the tiny lift keeps x.x5 ties that land one ULP low on the right side.
  return Math.round((score + 1e-6) * 10) / 10;
}
