/**
 * CVSS v3.1 (and v3.0) base scores from vector strings, as the FIRST specification defines them
 * (section 7.1 equations, Appendix A Roundup). v3.0 vectors use the v3.0 round-up (plain ceiling
 * to one decimal); v3.1 uses the floating-point-safe integer round-up.
 */
import { ErrorCode, UserError } from '../pipeline/errors.ts';

/** The eight base metrics of CVSS v3.x, by their abbreviations. */
export interface Cvss3Base {
  readonly AV: 'N' | 'A' | 'L' | 'P';
  readonly AC: 'L' | 'H';
  readonly PR: 'N' | 'L' | 'H';
  readonly UI: 'N' | 'R';
  readonly S: 'U' | 'C';
  readonly C: 'H' | 'L' | 'N';
  readonly I: 'H' | 'L' | 'N';
  readonly A: 'H' | 'L' | 'N';
}

/** A parsed v3.x vector. */
export interface Cvss3Vector {
  readonly version: '3.0' | '3.1';
  readonly base: Cvss3Base;
}

/** Qualitative severity (specification section 5). */
export type Severity = 'None' | 'Low' | 'Medium' | 'High' | 'Critical';

const ALLOWED: Readonly<Record<keyof Cvss3Base, readonly string[]>> = {
  AV: ['N', 'A', 'L', 'P'],
  AC: ['L', 'H'],
  PR: ['N', 'L', 'H'],
  UI: ['N', 'R'],
  S: ['U', 'C'],
  C: ['H', 'L', 'N'],
  I: ['H', 'L', 'N'],
  A: ['H', 'L', 'N'],
};
const BASE_KEYS = Object.keys(ALLOWED) as (keyof Cvss3Base)[];
/** Temporal and environmental metric names a v3.x vector may carry after the base metrics. */
const OPTIONAL_KEYS = new Set(['E', 'RL', 'RC', 'CR', 'IR', 'AR', 'MAV', 'MAC', 'MPR', 'MUI', 'MS', 'MC', 'MI', 'MA']);

// Metric weights from specification section 7.4.
const AV_W = { N: 0.85, A: 0.62, L: 0.55, P: 0.2 } as const;
const AC_W = { L: 0.77, H: 0.44 } as const;
const PR_W_U = { N: 0.85, L: 0.62, H: 0.27 } as const;
const PR_W_C = { N: 0.85, L: 0.68, H: 0.5 } as const;
const UI_W = { N: 0.85, R: 0.62 } as const;
const CIA_W = { H: 0.56, L: 0.22, N: 0 } as const;

/**
 * Parse a `CVSS:3.1/AV:N/...` (or `CVSS:3.0/...`) vector. A vector without the prefix is read as
 * v3.1. Every base metric must appear once with a legal value; temporal/environmental metrics are
 * accepted and ignored for the base score.
 */
export function parseCvss3(vector: string): Cvss3Vector {
  const bad = (why: string): never => {
    throw new UserError(ErrorCode.INPUT_MALFORMED, `invalid CVSS v3 vector "${vector}": ${why}`);
  };
  const parts = vector.trim().replace(/^\(|\)$/g, '').split('/');
  let version: '3.0' | '3.1' = '3.1';
  if (parts[0].startsWith('CVSS:')) {
    const v = parts.shift()!.slice(5);
    if (v !== '3.0' && v !== '3.1') bad(`version ${v} is not 3.0 or 3.1`);
    version = v as '3.0' | '3.1';
  }
  const base: Partial<Record<keyof Cvss3Base, string>> = {};
  const seen = new Set<string>();
  for (const part of parts) {
    const [key, value, extra] = part.split(':');
    if (value === undefined || extra !== undefined) bad(`"${part}" is not METRIC:VALUE`);
    if (seen.has(key)) bad(`metric ${key} appears twice`);
    seen.add(key);
    if (key in ALLOWED) {
      if (!ALLOWED[key as keyof Cvss3Base].includes(value)) bad(`${key}:${value} is not a legal value`);
      base[key as keyof Cvss3Base] = value;
    } else if (!OPTIONAL_KEYS.has(key)) bad(`unknown metric ${key}`);
  }
  for (const key of BASE_KEYS) if (base[key] === undefined) bad(`base metric ${key} is missing`);
  return { version, base: base as unknown as Cvss3Base };
}

/** CVSS v3.1 Roundup (Appendix A): smallest one-decimal number ≥ x, immune to float noise. */
export function roundUp31(x: number): number {
  const i = Math.round(x * 100000);
  return i % 10000 === 0 ? i / 100000 : (Math.floor(i / 10000) + 1) / 10;
}

/** CVSS v3.0 round-up: plain ceiling to one decimal. */
export function roundUp30(x: number): number {
  return Math.ceil(x * 10) / 10;
}

/** Impact and exploitability sub-scores and the base score of a parsed vector. */
export function cvss3Scores(v: Cvss3Vector): { base: number; impact: number; exploitability: number } {
  const m = v.base;
  const changed = m.S === 'C';
  const iss = 1 - (1 - CIA_W[m.C]) * (1 - CIA_W[m.I]) * (1 - CIA_W[m.A]);
  const impact = changed ? 7.52 * (iss - 0.029) - 3.25 * Math.pow(iss - 0.02, 15) : 6.42 * iss;
  const exploitability = 8.22 * AV_W[m.AV] * AC_W[m.AC] * (changed ? PR_W_C : PR_W_U)[m.PR] * UI_W[m.UI];
  const round = v.version === '3.0' ? roundUp30 : roundUp31;
  let base: number;
  if (impact <= 0) base = 0;
  else if (changed) base = round(Math.min(1.08 * (impact + exploitability), 10));
  else base = round(Math.min(impact + exploitability, 10));
  return { base, impact, exploitability };
}

/**
 * The CVSS v3.x base score of a vector string.
 * @example cvss31BaseScore('CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H') // 9.8
 */
export function cvss31BaseScore(vector: string): number {
  return cvss3Scores(parseCvss3(vector)).base;
}

/** Qualitative severity rating of a v3.x or v4.0 score. */
export function severityOf(score: number): Severity {
  if (score === 0) return 'None';
  if (score < 4) return 'Low';
  if (score < 7) return 'Medium';
  if (score < 9) return 'High';
  return 'Critical';
}

/** Write a base vector back as a canonical v3.1 string. */
export function formatCvss3(base: Cvss3Base, version: '3.0' | '3.1' = '3.1'): string {
  return `CVSS:${version}/` + BASE_KEYS.map((k) => `${k}:${base[k]}`).join('/');
}
