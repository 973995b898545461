/**
 * The hunt operator: posture rules over flow batches. It reads `flows` and writes `findings`, one
 * row per (finding, batch) with a deterministic finding id. Rules are data (knowledge/rules.json,
 * docs/rules.md); this file compiles their conditions once and runs them over each batch's
 * columns. Evidence never carries secrets: a cleartext password is reported as a fact, a default
 * credential by its account and list entry, and values that look like tokens are redacted.
 */
import { createHash } from 'node:crypto';
import type { RecordBatch } from 'apache-arrow';
import type { Operator, OperatorContext, Tables } from '../pipeline/types.ts';
import { AddressClassifier } from '../knowledge/networks.ts';
import { defaultCredential, endOfSupportTable, loadRules, type Condition, type Rule, type RuleSet, type EndOfSupport } from '../knowledge/rules.ts';
import { columnValues } from './column-values.ts';
import { findingsBatch, type FindingRow } from './findings-schema.ts';

/** Options of the hunt operator, validated once at construction. */
export interface HuntOptions {
  /** Rule set (default: the shipped knowledge/rules.json). */
  readonly rules?: RuleSet;
  /** Extra CIDR ranges that belong to the hospital, besides the private and special ranges. */
  readonly internalNetworks?: readonly string[];
}

/** Column values of one batch, read once per column (plain arrays; timestamps in µs, as the timestamp's stored unit). */
class Columns {
  private readonly cache = new Map<string, unknown[]>();
  constructor(private readonly batch: RecordBatch) {}
  get length(): number {
    return this.batch.numRows;
  }
  get(name: string): unknown[] {
    let values = this.cache.get(name);
    if (!values) this.cache.set(name, (values = columnValues(this.batch, name)));
    return values;
  }
}

type Predicate = (i: number) => boolean;

/** Per-row facts a rule found while matching (which default account, which end-of-support product). */
interface RowNotes {
  defaultCredential?: { id: string; user: string; source: string };
  endOfSupport?: EndOfSupport;
  endOfSupportField?: string;
}

const SECRETISH = /((?:pass(?:word|wd)?|pwd|token|secret|api[_-]?key|auth|session|sid|key)\s*[=:]\s*)[^&;\s"']+/gi;

/** Remove anything that looks like a secret from a value shown as evidence, and bound its length. */
export function redact(value: string): string {
  return value
    .replace(/(authorization:\s*\w+\s+)\S+/gi, '$1[redacted]')
    .replace(SECRETISH, '$1[redacted]')
    .slice(0, 200);
}

function compile(cond: Condition, cols: Columns, rules: RuleSet, addresses: AddressClassifier, notes: RowNotes[]): Predicate {
  if ('any' in cond) {
    const parts = cond.any.map((c) => compile(c, cols, rules, addresses, notes));
    return (i) => parts.some((p) => p(i));
  }
  if ('not' in cond) {
    const inner = compile(cond.not, cols, rules, addresses, notes);
    return (i) => !inner(i);
  }
  if ('internal' in cond) {
    const values = cols.get(cond.internal === 'src' ? 'src_addr' : 'dst_addr');
    return (i) => values[i] !== null && addresses.isInternal(values[i] as string) === cond.is;
  }
  if ('lookup' in cond) {
    if (cond.lookup === 'default_credential') {
      const users = cols.get('login_user');
      const secrets = cols.get('login_secret_sha256');
      return (i) => {
        if (secrets[i] === null) return false;
        const hit = defaultCredential(users[i] as string | null, secrets[i] as string);
        if (hit) (notes[i] ??= {}).defaultCredential = hit;
        return hit !== undefined;
      };
    }
    const table = endOfSupportTable();
    const fields = cond.fields.map((f) => ({ name: f, values: cols.get(f) }));
    const ends = cols.get('ts_end');
    return (i) => {
      for (const f of fields) {
        const v = f.values[i];
        if (typeof v !== 'string') continue;
        for (const p of table) {
          if (p.fields.includes(f.name) && p.pattern.test(v) && (ends[i] as number) >= p.endOfSupportMicros) {
            const note = (notes[i] ??= {});
            note.endOfSupport = p;
            note.endOfSupportField = f.name;
            return true;
          }
        }
      }
      return false;
    };
  }
  const values = cols.get(cond.field);
  if (cond.null !== undefined) return cond.null ? (i) => values[i] === null : (i) => values[i] !== null;
  if (cond.eq !== undefined) return (i) => values[i] === cond.eq;
  if (cond.ne !== undefined) return (i) => values[i] !== null && values[i] !== cond.ne;
  if (cond.in !== undefined) {
    const set = new Set<unknown>(cond.in);
    return (i) => set.has(values[i]);
  }
  if (cond.not_in !== undefined) {
    const set = new Set<unknown>(cond.not_in);
    return (i) => values[i] !== null && !set.has(values[i]);
  }
  if (cond.in_list !== undefined) {
    const set = new Set(Object.keys(rules.lists[cond.in_list]).map((k) => k.toLowerCase()));
    return (i) => typeof values[i] === 'string' && set.has((values[i] as string).toLowerCase());
  }
  if (cond.matches !== undefined) {
    // Case-sensitive unless the rule asks otherwise: FHIR resource names (Patient, Device) are capitalised.
    const re = new RegExp(cond.matches, cond.ignore_case ? 'i' : '');
    return (i) => typeof values[i] === 'string' && re.test(values[i] as string);
  }
  const num = (i: number) => (typeof values[i] === 'number' ? (values[i] as number) : null);
  if (cond.gt !== undefined) return (i) => (num(i) ?? -Infinity) > cond.gt!;
  if (cond.gte !== undefined) return (i) => (num(i) ?? -Infinity) >= cond.gte!;
  if (cond.lt !== undefined) return (i) => (num(i) ?? Infinity) < cond.lt!;
  if (cond.lte !== undefined) return (i) => (num(i) ?? Infinity) <= cond.lte!;
  throw new Error(`condition on ${cond.field} has no operator`);
}

function service(proto: unknown, port: unknown): string {
  const p = proto === 6 ? 'tcp' : proto === 17 ? 'udp' : proto === null ? 'ip' : `ip${String(proto)}`;
  return port === null ? p : `${p}/${String(port)}`;
}

/** Deterministic finding id over site, rule, device and subject. */
export function findingId(site: string, rule: string, device: string, subject: string): string {
  return createHash('sha1').update(`${site}\u0000${rule}\u0000${device}\u0000${subject}`).digest('hex').slice(0, 16);
}

interface Accumulator {
  rule: Rule;
  site: string;
  sensor: string;
  device: string;
  mac: string | null;
  subject: string;
  first: number;
  last: number;
  flows: number;
  peers: Set<string>;
  facts: Map<string, Set<string>>;
  notes: RowNotes;
  /** Default-credential list entries seen, and how often such a login was accepted or refused. */
  defaults: Map<string, { user: string; source: string }>;
  defaultAccepted: number;
  defaultRefused: number;
  cleartextSecret: boolean;
  measure?: { value: number; threshold: number; window_s: number; what: string };
}

const MAX_LISTED = 5;

function describe(acc: Accumulator): { text: string; json: string } {
  const parts: string[] = [];
  const peers = [...acc.peers];
  parts.push(`${acc.flows} flow${acc.flows === 1 ? '' : 's'}${peers.length > 0 ? ` with ${peers.slice(0, MAX_LISTED).join(', ')}${peers.length > MAX_LISTED ? ` and ${peers.length - MAX_LISTED} more` : ''}` : ''}`);
  if (acc.subject && !['internet', 'scan'].includes(acc.subject)) parts.push(`on ${acc.subject}`);
  const facts: Record<string, string[]> = {};
  for (const [name, values] of acc.facts) {
    const list = [...values].slice(0, MAX_LISTED);
    facts[name] = list;
    parts.push(`${name}=${list.join(' | ')}`);
  }
  const json: Record<string, unknown> = { flows: acc.flows, peers: peers.slice(0, 20), peer_count: peers.length, facts };
  if (acc.cleartextSecret) {
    parts.push('a password crossed in cleartext (not kept)');
    json.cleartext_password = true;
  }
  if (acc.defaults.size > 0) {
    const entries = [...acc.defaults].map(([id, d]) => `${id}: ${d.source}`);
    const user = [...acc.defaults.values()][0].user;
    parts.push(`known default account "${user}" (default-credential list ${entries.join('; ')}); accepted in ${acc.defaultAccepted} flow${acc.defaultAccepted === 1 ? '' : 's'}, refused in ${acc.defaultRefused}`);
    json.default_credential = { account: user, entries: [...acc.defaults.keys()], accepted: acc.defaultAccepted, refused: acc.defaultRefused };
  }
  if (acc.notes.endOfSupport) {
    const e = acc.notes.endOfSupport;
    parts.push(`${e.product} seen in ${acc.notes.endOfSupportField}; end of support ${e.endOfSupport} (${e.source})`);
    json.end_of_support = { id: e.id, product: e.product, date: e.endOfSupport, field: acc.notes.endOfSupportField, source: e.source };
  }
  if (acc.measure) {
    parts.push(`${acc.measure.what} reached ${acc.measure.value} within ${acc.measure.window_s} s (threshold ${acc.measure.threshold})`);
    json.measure = acc.measure;
  }
  return { text: `${acc.rule.title}: ${parts.join('; ')}`, json: JSON.stringify(json) };
}

/** Run compiled rules over one flow batch; returns finding rows (one per finding id). */
export function huntBatch(batch: RecordBatch, rules: RuleSet, addresses: AddressClassifier, batchId: string): FindingRow[] {
  const cols = new Columns(batch);
  const n = cols.length;
  if (n === 0) return [];
  const site = cols.get('site_id');
  const sensor = cols.get('sensor_id');
  const src = cols.get('src_addr');
  const dst = cols.get('dst_addr');
  const srcMac = cols.get('src_mac');
  const dstMac = cols.get('dst_mac');
  const proto = cols.get('ip_proto');
  const dport = cols.get('dst_port');
  const start = cols.get('ts_start');
  const end = cols.get('ts_end');
  const user = cols.get('login_user');
  const secret = cols.get('login_secret_sha256');
  const failures = cols.get('login_failures');
  const accs = new Map<string, Accumulator>();
  const redactions = new Map<string, string>();
  const cipherNames = new Map<string, string>();
  for (const [code, name] of Object.entries(rules.lists.weak_tls_ciphers ?? {})) cipherNames.set(code.toLowerCase(), name);
  const cipherName = (code: string) => {
    const name = cipherNames.get(code.toLowerCase());
    return name ? `${code} (${name})` : code;
  };

  const subjectOf = (rule: Rule, i: number, notes: RowNotes | undefined): string => {
    switch (rule.subject) {
      case 'service':
        return service(proto[i], dport[i]);
      case 'login':
        return `${service(proto[i], dport[i])} ${String(user[i] ?? '')}`.trim();
      case 'software':
        return notes?.endOfSupport?.id ?? 'software';
      default:
        return rule.subject;
    }
  };

  const add = (rule: Rule, i: number, notes: RowNotes | undefined, subjectOverride?: string): Accumulator | null => {
    // A finding is about a hospital device: when the rule's side is outside the hospital and the
    // other side inside (a device sending credentials to an internet broker), the inside one is the device.
    let side = rule.device;
    const named = (side === 'src' ? src[i] : dst[i]) as string | null;
    const other = (side === 'src' ? dst[i] : src[i]) as string | null;
    if (named !== null && other !== null && !addresses.isInternal(named) && addresses.isInternal(other)) side = side === 'src' ? 'dst' : 'src';
    const peerSide = rule.peer === null ? null : side === 'src' ? 'dst' : 'src';
    const device = (side === 'src' ? src[i] : dst[i]) as string | null;
    if (device === null) return null;
    const subject = subjectOverride ?? subjectOf(rule, i, notes);
    // Accumulators are keyed by the plain identity; the SHA-1 id is computed once per finding at the end.
    const id = `${site[i] as string}\u0000${rule.id}\u0000${device}\u0000${subject}`;
    let acc = accs.get(id);
    if (!acc) {
      acc = {
        rule,
        site: site[i] as string,
        sensor: sensor[i] as string,
        device,
        mac: ((side === 'src' ? srcMac[i] : dstMac[i]) as string | null) ?? null,
        subject,
        first: start[i] as number,
        last: end[i] as number,
        flows: 0,
        peers: new Set(),
        facts: new Map(),
        notes: {},
        defaults: new Map(),
        defaultAccepted: 0,
        defaultRefused: 0,
        cleartextSecret: false,
      };
      accs.set(id, acc);
    }
    acc.flows++;
    if ((start[i] as number) < acc.first) acc.first = start[i] as number;
    if ((end[i] as number) > acc.last) acc.last = end[i] as number;
    if (peerSide) {
      const p = (peerSide === 'src' ? src[i] : dst[i]) as string | null;
      if (p !== null) acc.peers.add(p);
    }
    for (const field of rule.evidence) {
      const v = cols.get(field)[i];
      if (v === null || v === undefined || v === '') continue;
      let set = acc.facts.get(field);
      if (!set) acc.facts.set(field, (set = new Set()));
      if (set.size < MAX_LISTED) {
        const raw = String(v);
        let shown = redactions.get(raw);
        if (shown === undefined) redactions.set(raw, (shown = field === 'tls_cipher' ? cipherName(raw) : redact(raw)));
        set.add(shown);
      }
    }
    if (secret[i] !== null && (rule.evidence.includes('login_user') || rule.subject === 'login')) acc.cleartextSecret = true;
    if (notes?.defaultCredential) {
      const d = notes.defaultCredential;
      acc.defaults.set(d.id, { user: d.user, source: d.source });
      if (Number(failures[i] ?? 0) > 0) acc.defaultRefused++;
      else acc.defaultAccepted++;
    }
    if (notes?.endOfSupport) {
      acc.notes.endOfSupport = notes.endOfSupport;
      acc.notes.endOfSupportField = notes.endOfSupportField;
    }
    return acc;
  };

  for (const rule of rules.rules) {
    if (rule.kind !== 'flow' && rule.kind !== 'aggregate') continue;
    const notes: RowNotes[] = new Array(n);
    const preds = rule.when!.map((c) => compile(c, cols, rules, addresses, notes));
    // Rows that satisfy every condition, as an index list (conditions short-circuit in order).
    const hits: number[] = [];
    for (let i = 0; i < n; i++) {
      let ok = true;
      for (let k = 0; k < preds.length && ok; k++) ok = preds[k](i);
      if (ok) hits.push(i);
    }
    if (hits.length === 0) continue;
    if (rule.kind === 'flow') {
      for (const i of hits) add(rule, i, notes[i]);
      continue;
    }
    // Aggregate: per group, the largest measure over any window of window_s seconds.
    const groupCols = rule.group!.map((g) => cols.get(g));
    const groups = new Map<string, number[]>();
    for (const i of hits) {
      const key = groupCols.map((c) => String(c[i])).join('\u0000');
      let list = groups.get(key);
      if (!list) groups.set(key, (list = []));
      list.push(i);
    }
    const windowUs = rule.window_s! * 1e6;
    const m = rule.measure!;
    const sumCol = m.sum ? cols.get(m.sum) : null;
    const distinctCols = m.count_distinct ? m.count_distinct.map((f) => cols.get(f)) : null;
    for (const list of groups.values()) {
      list.sort((a, b) => (start[a] as number) - (start[b] as number));
      let best = 0;
      let bestFrom = 0;
      let bestTo = 0;
      let lo = 0;
      let sum = 0;
      const distinct = new Map<string, number>();
      const keyOf = (i: number) => distinctCols!.map((c) => String(c[i])).join('\u0000');
      for (let hi = 0; hi < list.length; hi++) {
        const i = list[hi];
        if (sumCol) sum += Number(sumCol[i] ?? 0);
        else if (distinctCols) distinct.set(keyOf(i), (distinct.get(keyOf(i)) ?? 0) + 1);
        while ((start[i] as number) - (start[list[lo]] as number) > windowUs) {
          const j = list[lo++];
          if (sumCol) sum -= Number(sumCol[j] ?? 0);
          else if (distinctCols) {
            const k = keyOf(j);
            const left = distinct.get(k)! - 1;
            if (left === 0) distinct.delete(k);
            else distinct.set(k, left);
          }
        }
        const value = sumCol ? sum : distinctCols ? distinct.size : hi - lo + 1;
        if (value > best) {
          best = value;
          bestFrom = lo;
          bestTo = hi;
        }
      }
      if (best < rule.threshold!) continue;
      const first = list[bestFrom];
      const subject = rule.subject === 'service' ? service(proto[first], dport[first]) : rule.subject;
      let acc: Accumulator | null = null;
      for (let k = bestFrom; k <= bestTo; k++) acc = add(rule, list[k], undefined, subject) ?? acc;
      if (acc) {
        const what = m.sum ? `sum of ${m.sum}` : m.count_distinct ? `distinct (${m.count_distinct.join(', ')})` : 'flow count';
        acc.measure = { value: best, threshold: rule.threshold!, window_s: rule.window_s!, what };
        if (!rule.peer) {
          // Scans: list a sample of what was probed instead of peers.
          const targets = new Set<string>();
          for (let k = bestFrom; k <= bestTo && targets.size < MAX_LISTED; k++) targets.add(`${String(dst[list[k]])}:${String(dport[list[k]])}`);
          acc.facts.set('targets', targets);
        }
      }
    }
  }

  const rows: FindingRow[] = [];
  for (const acc of accs.values()) {
    const id = findingId(acc.site, acc.rule.id, acc.device, acc.subject);
    const { text, json } = describe(acc);
    const t = acc.rule.taxonomy;
    rows.push({
      finding_id: id,
      site_id: acc.site,
      sensor_id: acc.sensor,
      batch_id: batchId,
      rule_id: acc.rule.id,
      rule_version: acc.rule.version,
      title: acc.rule.title,
      category: acc.rule.category,
      severity: acc.rule.severity,
      device: acc.device,
      device_mac: acc.mac,
      peer: acc.peers.size > 0 ? [...acc.peers][0] : null,
      subject: acc.subject,
      first_seen: acc.first,
      last_seen: acc.last,
      flow_count: acc.flows,
      evidence: text,
      evidence_json: json,
      default_credential: acc.defaults.size > 0 ? `${[...acc.defaults.values()][0].user} (${[...acc.defaults.keys()].join(', ')})` : null,
      enisa: t.enisa.join(','),
      owasp: t.owasp.join(','),
      owasp_iot: t.owasp_iot.join(','),
      attack_ics: t.attack_ics.join(','),
    });
  }
  rows.sort((a, b) => a.first_seen - b.first_seen || a.finding_id.localeCompare(b.finding_id));
  return rows;
}

/** Create the hunt operator. Rule files and network ranges are validated here, once. */
export function createHunt(options: HuntOptions = {}): Operator {
  const rules = options.rules ?? loadRules();
  const addresses = new AddressClassifier(options.internalNetworks ?? []);
  return {
    descriptor: {
      name: 'hunt',
      version: '1',
      summary: 'posture rules (cleartext clinical data, weak authentication, obsolete crypto, unsupported software, exposure) over flows',
      reads: ['flows'],
      writes: ['findings'],
    },
    apply(input: Tables, context: OperatorContext): Tables {
      const flows = input.flows;
      if (!flows) throw new Error('hunt: input has no flows table');
      return { ...input, findings: findingsBatch(huntBatch(flows, rules, addresses, context.batchId)) };
    },
  };
}

/** The hunt operator with the shipped rules. */
export const operator: Operator = createHunt();
