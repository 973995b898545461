/**
 * Hunt rules are data: knowledge/rules.json (format documented in docs/rules.md). This module
 * reads and validates a rule file, and the lookup tables rules use (default credentials,
 * end-of-support software). Validation names the rule and the field at fault.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ConfigError } from '../pipeline/errors.ts';
import { FLOW_COLUMNS } from '../pipeline/flow-schema.ts';
import { THREAT_CLASSES, unknownTags, type TaxonomyTags } from './taxonomy.ts';
import type { KnowledgeBase } from './kb-types.ts';

/** Finding severities, least to most severe. */
export const SEVERITIES = ['info', 'low', 'medium', 'high', 'critical'] as const;
export type FindingSeverity = (typeof SEVERITIES)[number];

/** One condition of a rule's `when` list (all must hold). */
export type Condition =
  | { field: string; eq?: string | number | boolean; ne?: string | number | boolean; in?: (string | number)[]; not_in?: (string | number)[]; in_list?: string; null?: boolean; gt?: number; gte?: number; lt?: number; lte?: number; matches?: string; ignore_case?: boolean }
  | { internal: 'src' | 'dst'; is: boolean }
  | { lookup: 'default_credential' }
  | { lookup: 'end_of_support'; fields: string[] }
  | { any: Condition[] }
  | { not: Condition };

/** A hunt rule. */
export interface Rule {
  readonly id: string;
  readonly version: number;
  readonly title: string;
  readonly category: string;
  readonly severity: FindingSeverity;
  /** flow: per flow; aggregate: a measure over a group within a time window; baseline and advisory: evaluated at read time. */
  readonly kind: 'flow' | 'aggregate' | 'baseline' | 'advisory';
  readonly device: 'src' | 'dst';
  readonly peer: 'src' | 'dst' | null;
  /** What distinguishes two findings of the rule on one device: service, login, software, internet, scan, advisory. */
  readonly subject: string;
  readonly when?: Condition[];
  readonly group?: string[];
  readonly measure?: { sum?: string; count_distinct?: string[]; count?: boolean };
  readonly threshold?: number;
  readonly window_s?: number;
  readonly learning_s?: number;
  readonly min_confidence?: 'low' | 'medium' | 'high';
  readonly evidence: string[];
  readonly description: string;
  readonly mitigation: string;
  readonly taxonomy: TaxonomyTags;
}

/** A loaded rule file. */
export interface RuleSet {
  readonly rules: readonly Rule[];
  readonly lists: Readonly<Record<string, Readonly<Record<string, string>>>>;
  readonly source: string;
}

/** Path of the rules that ship with HEIR. */
export const SHIPPED_RULES_PATH = fileURLToPath(new URL('./rules.json', import.meta.url));

const FLOW_FIELDS = new Set<string>(FLOW_COLUMNS.map((c) => c.name));
const KINDS = new Set(['flow', 'aggregate', 'baseline', 'advisory']);
const FIELD_OPS = ['eq', 'ne', 'in', 'not_in', 'in_list', 'null', 'gt', 'gte', 'lt', 'lte', 'matches'];

function checkCondition(cond: unknown, where: string, lists: Record<string, unknown>, problems: string[]): void {
  if (typeof cond !== 'object' || cond === null) {
    problems.push(`${where}: a condition must be an object`);
    return;
  }
  const c = cond as Record<string, unknown>;
  if ('any' in c) {
    if (!Array.isArray(c.any) || c.any.length === 0) problems.push(`${where}.any: must be a non-empty list of conditions`);
    else c.any.forEach((x, i) => checkCondition(x, `${where}.any[${i}]`, lists, problems));
    return;
  }
  if ('not' in c) return checkCondition(c.not, `${where}.not`, lists, problems);
  if ('internal' in c) {
    if (c.internal !== 'src' && c.internal !== 'dst') problems.push(`${where}.internal: must be "src" or "dst"`);
    if (typeof c.is !== 'boolean') problems.push(`${where}.is: must be true or false`);
    return;
  }
  if ('lookup' in c) {
    if (c.lookup === 'default_credential') return;
    if (c.lookup === 'end_of_support') {
      if (!Array.isArray(c.fields) || c.fields.some((f) => !FLOW_FIELDS.has(String(f)))) problems.push(`${where}.fields: must list flow columns`);
      return;
    }
    problems.push(`${where}.lookup: unknown lookup "${String(c.lookup)}" (default_credential, end_of_support)`);
    return;
  }
  if (typeof c.field !== 'string' || !FLOW_FIELDS.has(c.field)) {
    problems.push(`${where}.field: "${String(c.field)}" is not a flow column`);
    return;
  }
  const ops = Object.keys(c).filter((k) => k !== 'field' && k !== 'ignore_case');
  if ('ignore_case' in c && (typeof c.ignore_case !== 'boolean' || !('matches' in c))) problems.push(`${where}.ignore_case: true or false, with matches only`);
  if (ops.length !== 1 || !FIELD_OPS.includes(ops[0])) {
    problems.push(`${where}: needs exactly one operator of ${FIELD_OPS.join(', ')} (found ${ops.join(', ') || 'none'})`);
    return;
  }
  const op = ops[0];
  const v = c[op];
  if ((op === 'in' || op === 'not_in') && !Array.isArray(v)) problems.push(`${where}.${op}: must be a list`);
  if (op === 'in_list' && (typeof v !== 'string' || !(v in lists))) problems.push(`${where}.in_list: "${String(v)}" is not a list of the rule file`);
  if (op === 'null' && typeof v !== 'boolean') problems.push(`${where}.null: must be true or false`);
  if (['gt', 'gte', 'lt', 'lte'].includes(op) && typeof v !== 'number') problems.push(`${where}.${op}: must be a number`);
  if (op === 'matches') {
    try {
      new RegExp(String(v), 'i');
    } catch (error) {
      problems.push(`${where}.matches: not a regular expression (${(error as Error).message})`);
    }
  }
}

/**
 * Validate a parsed rule file; returns the rule set or throws a ConfigError listing every problem
 * with the rule id and field. ATT&CK for ICS tags are checked against the knowledge base when given.
 */
export function validateRules(data: unknown, source: string, kb: KnowledgeBase | null = null): RuleSet {
  const problems: string[] = [];
  const doc = data as { format?: unknown; rules?: unknown; lists?: unknown };
  if (typeof doc !== 'object' || doc === null) throw new ConfigError(`${source}: a rule file is a JSON object with "rules"`);
  if (doc.format !== 1) problems.push(`format: must be 1`);
  const lists = (typeof doc.lists === 'object' && doc.lists !== null ? doc.lists : {}) as Record<string, Record<string, string>>;
  if (!Array.isArray(doc.rules)) throw new ConfigError(`${source}: "rules" must be a list`);
  const seen = new Set<string>();
  doc.rules.forEach((raw: unknown, i: number) => {
    const r = raw as Record<string, unknown>;
    const where = `rules[${i}]${typeof r?.id === 'string' ? ` (${r.id})` : ''}`;
    if (typeof r !== 'object' || r === null) return problems.push(`${where}: must be an object`);
    if (typeof r.id !== 'string' || !/^[a-z0-9][a-z0-9-]*$/.test(r.id)) problems.push(`${where}.id: must be lower-case words joined by hyphens`);
    else if (seen.has(r.id)) problems.push(`${where}.id: duplicate id`);
    else seen.add(r.id);
    if (!Number.isInteger(r.version) || (r.version as number) < 1) problems.push(`${where}.version: must be a positive integer`);
    for (const key of ['title', 'description', 'mitigation', 'subject']) if (typeof r[key] !== 'string' || (r[key] as string).trim() === '') problems.push(`${where}.${key}: must be a non-empty string`);
    if (typeof r.category !== 'string' || !(r.category in THREAT_CLASSES)) problems.push(`${where}.category: "${String(r.category)}" is not a threat class (${Object.keys(THREAT_CLASSES).join(', ')})`);
    if (!SEVERITIES.includes(r.severity as FindingSeverity)) problems.push(`${where}.severity: must be one of ${SEVERITIES.join(', ')}`);
    if (!KINDS.has(r.kind as string)) problems.push(`${where}.kind: must be flow, aggregate, baseline or advisory`);
    if (r.device !== 'src' && r.device !== 'dst') problems.push(`${where}.device: must be "src" or "dst"`);
    if (r.peer !== null && r.peer !== 'src' && r.peer !== 'dst') problems.push(`${where}.peer: must be "src", "dst" or null`);
    if (!Array.isArray(r.evidence) || r.evidence.some((f) => !FLOW_FIELDS.has(String(f)))) problems.push(`${where}.evidence: must list flow columns`);
    if (r.kind === 'flow' || r.kind === 'aggregate') {
      if (!Array.isArray(r.when) || r.when.length === 0) problems.push(`${where}.when: must be a non-empty list of conditions`);
      else r.when.forEach((c, j) => checkCondition(c, `${where}.when[${j}]`, lists, problems));
    }
    if (r.kind === 'aggregate') {
      if (!Array.isArray(r.group) || r.group.length === 0 || r.group.some((f) => !FLOW_FIELDS.has(String(f)))) problems.push(`${where}.group: must list flow columns`);
      const m = r.measure as Record<string, unknown> | undefined;
      const mk = m ? Object.keys(m) : [];
      if (mk.length !== 1 || !['sum', 'count_distinct', 'count'].includes(mk[0])) problems.push(`${where}.measure: one of {sum: column}, {count_distinct: [columns]}, {count: true}`);
      else if (mk[0] === 'sum' && !FLOW_FIELDS.has(String(m!.sum))) problems.push(`${where}.measure.sum: not a flow column`);
      else if (mk[0] === 'count_distinct' && (!Array.isArray(m!.count_distinct) || (m!.count_distinct as unknown[]).some((f) => !FLOW_FIELDS.has(String(f))))) problems.push(`${where}.measure.count_distinct: must list flow columns`);
      if (typeof r.threshold !== 'number' || r.threshold <= 0) problems.push(`${where}.threshold: must be a positive number`);
      if (typeof r.window_s !== 'number' || r.window_s <= 0) problems.push(`${where}.window_s: must be a positive number of seconds`);
    }
    if (r.kind === 'baseline' && (typeof r.learning_s !== 'number' || r.learning_s <= 0)) problems.push(`${where}.learning_s: must be a positive number of seconds`);
    const t = r.taxonomy as TaxonomyTags | undefined;
    if (!t || !['enisa', 'owasp', 'owasp_iot', 'attack_ics'].every((k) => Array.isArray((t as unknown as Record<string, unknown>)[k]))) problems.push(`${where}.taxonomy: needs enisa, owasp, owasp_iot and attack_ics lists`);
    else for (const bad of unknownTags(kb, kb ? t : { ...t, attack_ics: [] })) problems.push(`${where}.taxonomy: unknown tag ${bad}`);
  });
  if (problems.length > 0) throw new ConfigError(`${source}: invalid rule file:\n  ${problems.join('\n  ')}`);
  return { rules: doc.rules as Rule[], lists, source };
}

/** Load and validate a rule file (the shipped one by default). */
export function loadRules(path: string = SHIPPED_RULES_PATH, kb: KnowledgeBase | null = null): RuleSet {
  let data: unknown;
  try {
    data = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new ConfigError(`${path}: cannot read the rule file: ${(error as Error).message}`, { cause: error });
  }
  return validateRules(data, path, kb);
}

/** A known default credential, keyed for lookup by user and password hash. */
export interface DefaultCredential {
  readonly id: string;
  readonly user: string;
  readonly source: string;
}

let defaults: Map<string, DefaultCredential> | null = null;

/** SHA-256 hex of a string, as the parsers hash cleartext passwords. */
export function sha256Hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/** The default-credential entry for a user name and password hash, if it is a known default. */
export function defaultCredential(user: string | null, secretSha256: string): DefaultCredential | undefined {
  if (!defaults) {
    const data = JSON.parse(readFileSync(new URL('./default-credentials.json', import.meta.url), 'utf8')) as { credentials: { id: string; user: string; password: string; source: string }[] };
    defaults = new Map();
    for (const c of data.credentials) defaults.set(`${c.user.toLowerCase()}\u0000${sha256Hex(c.password)}`, { id: c.id, user: c.user, source: c.source });
  }
  return defaults.get(`${(user ?? '').trim().toLowerCase()}\u0000${secretSha256.toLowerCase()}`);
}

/** A product past its end of support. */
export interface EndOfSupport {
  readonly id: string;
  readonly product: string;
  readonly pattern: RegExp;
  readonly fields: readonly string[];
  readonly endOfSupportMicros: number;
  readonly endOfSupport: string;
  readonly source: string;
}

let eos: EndOfSupport[] | null = null;

/** The end-of-support table. */
export function endOfSupportTable(): readonly EndOfSupport[] {
  if (!eos) {
    const data = JSON.parse(readFileSync(new URL('./end-of-support.json', import.meta.url), 'utf8')) as { products: { id: string; product: string; pattern: string; fields: string[]; end_of_support: string; source: string }[] };
    eos = data.products.map((p) => ({ id: p.id, product: p.product, pattern: new RegExp(p.pattern, 'i'), fields: p.fields, endOfSupport: p.end_of_support, endOfSupportMicros: Date.parse(`${p.end_of_support}T00:00:00Z`) * 1000, source: p.source }));
  }
  return eos;
}
