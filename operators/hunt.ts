/**
 * The hunt operator: posture rules over flow batches. It reads `flows` and writes `findings`, one
 * row per (finding, batch) with a deterministic finding id. Rules are data (knowledge/rules.json,
 * docs/rules.md); this file compiles their conditions once and runs them over each batch's
 * columns. Evidence never carries secrets: a cleartext password is reported as a fact, a default
 * credential by its account and list entry, and values that look like tokens are redacted.
 *
 * Flow rules look at one flow. Aggregate rules (brute force, scanning) count over event time
 * across batches, like featurize-device: the operator owns a `HuntState` partitioned by rule and
 * group (the source device, e.g. (src, dst, port) for failed logins, src for scans). Flows that
 * pass a rule's conditions wait in their group, in event-time order, while they are within
 * `window_s` of the group's newest flow; once the measure over some window reaches the threshold,
 * the rule fires once for that window: an episode opens at the window's first flow and takes in
 * every flow of the group up to `window_s` after it, and only a flow after the episode can start
 * the next one. A batch emits a row for each episode it opened or added to (its flow count is what
 * the batch added; the evidence is the episode so far), so a burst split over many batches gives
 * the same merged finding as one batch, and a slow trickle never fires. Flows older than the
 * newest event minus window and lateness are late: counted and reported, not added. Groups are
 * evicted by event time and bounded in number; a batch id seen again returns its earlier rows.
 */
import { createHash } from 'node:crypto';
import type { RecordBatch } from 'apache-arrow';
import { ConfigError } from '../pipeline/errors.ts';
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
  /** Bounded lateness of aggregate rules, µs: how far behind the newest flow a flow may start and still count. Default 120 s. */
  readonly latenessMicros?: number;
  /** Most groups an aggregate rule keeps at once (the least recently active go first). Default 100,000. */
  readonly maxGroups?: number;
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


/** One flow an aggregate rule counts: what its finding needs once the window is decided. */
interface AggregateEvent {
  readonly ts: number;
  readonly end: number;
  /** Its share of a `sum` measure. */
  readonly weight: number;
  /** Its value of a `count_distinct` measure. */
  readonly key: string;
  readonly site: string;
  readonly sensor: string;
  readonly device: string;
  readonly mac: string | null;
  readonly peer: string | null;
  readonly service: string;
  readonly target: string;
  readonly facts: readonly (readonly [string, string])[];
  readonly secret: boolean;
}

/** A firing of an aggregate rule: the window [from, until] and everything the group did in it. */
interface Episode {
  readonly until: number;
  readonly acc: Accumulator;
  value: number;
  readonly keys: Set<string> | null;
  readonly targets: Set<string>;
  /** Flows already reported in earlier rows. */
  reported: number;
}

/** One group of one aggregate rule (e.g. one (src, dst, port) of failed logins). */
interface GroupWindow {
  /** Flows waiting in event-time order; `events[lo..]` is the window ending at the newest. */
  events: AggregateEvent[];
  lo: number;
  sum: number;
  readonly distinct: Map<string, number>;
  /** Newest event time seen in the group (eviction). */
  newest: number;
  episode: Episode | null;
}

/** State of one aggregate rule. */
interface RuleWindows {
  readonly groups: Map<string, GroupWindow>;
  /** Largest event time seen by the rule, µs. */
  maxTs: number;
  lastSweep: number;
}

/** Everything the hunt operator remembers between batches (the aggregate rules' windows). */
export interface HuntState {
  readonly latenessMicros: number;
  readonly maxGroups: number;
  readonly rules: Map<string, RuleWindows>;
  /** Aggregate rows of recent batches by batch id and content, so a redelivered batch gives the same rows. */
  readonly recent: Map<string, FindingRow[]>;
  readonly counters: { late: number; evictedGroups: number; episodes: number };
}

/** Create the state of the aggregate rules (one per stream, or per device shard). */
export function createHuntState(options: { latenessMicros?: number; maxGroups?: number } = {}): HuntState {
  const latenessMicros = options.latenessMicros ?? 120_000_000;
  const maxGroups = options.maxGroups ?? 100_000;
  if (!(latenessMicros >= 0)) throw new ConfigError(`invalid hunt lateness: ${latenessMicros} µs`);
  if (!Number.isInteger(maxGroups) || maxGroups < 1) throw new ConfigError(`invalid hunt group limit: ${maxGroups}`);
  return { latenessMicros, maxGroups, rules: new Map(), recent: new Map(), counters: { late: 0, evictedGroups: 0, episodes: 0 } };
}

const RECENT_BATCHES = 64;
/** Flows one group keeps waiting at most (a pathological group loses its oldest first). */
const MAX_WAITING = 20_000;
/** Distinct values an episode counts at most. */
const MAX_DISTINCT = 1 << 17;

/** Measure of a group's current window. */
function windowValue(g: GroupWindow, m: Rule['measure']): number {
  return m!.sum ? g.sum : m!.count_distinct ? g.distinct.size : g.events.length - g.lo;
}

function enter(g: GroupWindow, e: AggregateEvent): void {
  g.sum += e.weight;
  g.distinct.set(e.key, (g.distinct.get(e.key) ?? 0) + 1);
}

function leave(g: GroupWindow, e: AggregateEvent): void {
  g.sum -= e.weight;
  const left = g.distinct.get(e.key)! - 1;
  if (left === 0) g.distinct.delete(e.key);
  else g.distinct.set(e.key, left);
}

/** Recount the group's window from scratch; returns the first window [lo, hi] that reaches the threshold, if any. */
function rescan(g: GroupWindow, rule: Rule, windowUs: number): [number, number] | null {
  g.lo = 0;
  g.sum = 0;
  g.distinct.clear();
  for (let hi = 0; hi < g.events.length; hi++) {
    enter(g, g.events[hi]);
    while (g.events[hi].ts - g.events[g.lo].ts > windowUs) leave(g, g.events[g.lo++]);
    if (windowValue(g, rule.measure) >= rule.threshold!) return [g.lo, hi];
  }
  return null;
}

/** The finding row of an accumulator. */
function findingRow(acc: Accumulator, batchId: string): FindingRow {
  const { text, json } = describe(acc);
  const t = acc.rule.taxonomy;
  return {
    finding_id: findingId(acc.site, acc.rule.id, acc.device, acc.subject),
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
  };
}

/** Run compiled rules over one flow batch; returns finding rows (one per finding id). */
export function huntBatch(batch: RecordBatch, rules: RuleSet, addresses: AddressClassifier, batchId: string, state: HuntState = createHuntState()): FindingRow[] {
  const cols = new Columns(batch);
  const n = cols.length;
  if (n === 0) return [];
  // A batch seen before (a redelivery) gives the aggregate rows it gave then; its flows are not counted twice.
  const flowIds = cols.get('flow_id');
  const replayKey = `${batchId}\u0000${n}\u0000${String(flowIds[0])}\u0000${String(flowIds[n - 1])}`;
  const replay = state.recent.get(replayKey);
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

  // A finding is about a hospital device: when the rule's side is outside the hospital and the
  // other side inside (a device sending credentials to an internet broker), the inside one is the device.
  /** The rule's device, its MAC and peer for row `i`. */
  const sides = (rule: Rule, i: number): { device: string | null; mac: string | null; peer: string | null } => {
    let side = rule.device;
    const named = (side === 'src' ? src[i] : dst[i]) as string | null;
    const other = (side === 'src' ? dst[i] : src[i]) as string | null;
    if (named !== null && other !== null && !addresses.isInternal(named) && addresses.isInternal(other)) side = side === 'src' ? 'dst' : 'src';
    const device = (side === 'src' ? src[i] : dst[i]) as string | null;
    const mac = ((side === 'src' ? srcMac[i] : dstMac[i]) as string | null) ?? null;
    const peer = rule.peer === null ? null : ((side === 'src' ? dst[i] : src[i]) as string | null);
    return { device, mac, peer };
  };

  const add = (rule: Rule, i: number, notes: RowNotes | undefined): void => {
    const { device, mac, peer } = sides(rule, i);
    if (device === null) return;
    const subject = subjectOf(rule, i, notes);
    // Accumulators are keyed by the plain identity; the SHA-1 id is computed once per finding at the end.
    const id = `${site[i] as string}\u0000${rule.id}\u0000${device}\u0000${subject}`;
    let acc = accs.get(id);
    if (!acc) {
      acc = {
        rule,
        site: site[i] as string,
        sensor: sensor[i] as string,
        device,
        mac,
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
    if (peer !== null) acc.peers.add(peer);
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
  };

  /** Shown evidence values of row `i` for a rule (redacted as the flow rules' are). */
  const factsOf = (rule: Rule, i: number): (readonly [string, string])[] => {
    const out: (readonly [string, string])[] = [];
    for (const field of rule.evidence) {
      const v = cols.get(field)[i];
      if (v === null || v === undefined || v === '') continue;
      const raw = String(v);
      let shown = redactions.get(raw);
      if (shown === undefined) redactions.set(raw, (shown = field === 'tls_cipher' ? cipherName(raw) : redact(raw)));
      out.push([field, shown]);
    }
    return out;
  };

  const absorb = (ep: Episode, e: AggregateEvent, m: NonNullable<Rule['measure']>): void => {
    const acc = ep.acc;
    acc.flows++;
    if (e.ts < acc.first) acc.first = e.ts;
    if (e.end > acc.last) acc.last = e.end;
    if (e.peer !== null) acc.peers.add(e.peer);
    for (const [field, shown] of e.facts) {
      let set = acc.facts.get(field);
      if (!set) acc.facts.set(field, (set = new Set()));
      if (set.size < MAX_LISTED) set.add(shown);
    }
    if (e.secret) acc.cleartextSecret = true;
    if (ep.targets.size < MAX_LISTED) ep.targets.add(e.target);
    if (m.sum) ep.value += e.weight;
    else if (ep.keys) {
      if (ep.keys.size < MAX_DISTINCT) ep.keys.add(e.key);
      ep.value = ep.keys.size;
    } else ep.value++;
    touched.add(ep);
  };

  /** The window events[lo..hi] of group `g` reached the threshold: open an episode with it. */
  const fire = (rule: Rule, g: GroupWindow, lo: number, windowUs: number): void => {
    const m = rule.measure!;
    const first = g.events[lo];
    const until = first.ts + windowUs;
    const subject = rule.subject === 'service' ? first.service : rule.subject;
    const acc: Accumulator = {
      rule, site: first.site, sensor: first.sensor, device: first.device, mac: first.mac, subject, first: first.ts, last: first.end,
      flows: 0, peers: new Set(), facts: new Map(), notes: {}, defaults: new Map(), defaultAccepted: 0, defaultRefused: 0, cleartextSecret: false,
    };
    const ep: Episode = { until, acc, value: 0, keys: m.count_distinct ? new Set() : null, targets: new Set(), reported: 0 };
    g.episode = ep;
    state.counters.episodes++;
    // The window's flows join the episode; flows before it are done with; later ones (out of order) wait on.
    let k = lo;
    for (; k < g.events.length && g.events[k].ts <= until; k++) absorb(ep, g.events[k], m);
    g.events = g.events.slice(k);
    rescan(g, rule, windowUs);
  };

  const touched = new Set<Episode>();

  /** Feed a rule's matching rows (in event-time order) into its groups, firing at most once per window. */
  const aggregate = (rule: Rule, hits: number[]): void => {
    let rw = state.rules.get(rule.id);
    if (!rw) state.rules.set(rule.id, (rw = { groups: new Map(), maxTs: -Infinity, lastSweep: -Infinity }));
    const windowUs = rule.window_s! * 1e6;
    const m = rule.measure!;
    const groupCols = rule.group!.map((g) => cols.get(g));
    const sumCol = m.sum ? cols.get(m.sum) : null;
    const distinctCols = m.count_distinct ? m.count_distinct.map((f) => cols.get(f)) : null;
    hits.sort((a, b) => (start[a] as number) - (start[b] as number) || a - b);
    const seen = new Set<GroupWindow>();
    for (const i of hits) {
      const ts = start[i] as number;
      if (ts < rw.maxTs - windowUs - state.latenessMicros) {
        state.counters.late++;
        continue;
      }
      if (ts > rw.maxTs) rw.maxTs = ts;
      const { device, mac, peer } = sides(rule, i);
      if (device === null) continue;
      const key = groupCols.length === 1 ? String(groupCols[0][i]) : groupCols.map((c) => String(c[i])).join('\u0000');
      let g = rw.groups.get(key);
      if (!g) {
        g = { events: [], lo: 0, sum: 0, distinct: new Map(), newest: ts, episode: null };
        rw.groups.set(key, g);
        seen.add(g);
      } else if (!seen.has(g)) {
        // Most recently active last: the front of the map is what a full state evicts first.
        rw.groups.delete(key);
        rw.groups.set(key, g);
        seen.add(g);
      }
      if (ts > g.newest) g.newest = ts;
      const e: AggregateEvent = {
        ts, end: end[i] as number, weight: sumCol ? Number(sumCol[i] ?? 0) : 1,
        key: distinctCols ? distinctCols.map((c) => String(c[i])).join('\u0000') : '',
        site: site[i] as string, sensor: sensor[i] as string, device, mac, peer,
        service: service(proto[i], dport[i]), target: `${String(dst[i])}:${String(dport[i])}`,
        facts: factsOf(rule, i), secret: secret[i] !== null && (rule.evidence.includes('login_user') || rule.subject === 'login'),
      };
      if (g.episode && ts <= g.episode.until) {
        absorb(g.episode, e, m);
        continue;
      }
      if (g.episode) g.episode = null;
      const evs = g.events;
      let crossing: [number, number] | null = null;
      if (evs.length === 0 || ts >= evs[evs.length - 1].ts) {
        evs.push(e);
        enter(g, e);
        while (ts - evs[g.lo].ts > windowUs) leave(g, evs[g.lo++]);
        if (windowValue(g, m) >= rule.threshold!) crossing = [g.lo, evs.length - 1];
        else if (g.lo > 64 && g.lo * 2 > evs.length) {
          g.events = evs.slice(g.lo);
          g.lo = 0;
        }
        if (crossing === null && g.events.length - g.lo > MAX_WAITING) leave(g, g.events[g.lo++]);
      } else {
        // Out of event-time order: put it in its place and look again at the windows it is in.
        let a = 0;
        let b = evs.length;
        while (a < b) {
          const mid = (a + b) >> 1;
          if (evs[mid].ts <= ts) a = mid + 1;
          else b = mid;
        }
        evs.splice(a, 0, e);
        crossing = rescan(g, rule, windowUs);
      }
      if (crossing) fire(rule, g, crossing[0], windowUs);
    }
    // Eviction by event time: a group idle for longer than window and lateness can no longer fire with
    // its waiting flows nor absorb into its episode.
    if (rw.maxTs - rw.lastSweep >= windowUs) {
      rw.lastSweep = rw.maxTs;
      const horizon = rw.maxTs - windowUs - state.latenessMicros;
      for (const [k, g] of rw.groups) if (g.newest < horizon && (g.episode === null || g.episode.until < horizon)) rw.groups.delete(k);
    }
    for (const k of rw.groups.keys()) {
      if (rw.groups.size <= state.maxGroups) break;
      rw.groups.delete(k);
      state.counters.evictedGroups++;
    }
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
    if (replay) continue;
    aggregate(rule, hits);
  }

  const rows: FindingRow[] = [];
  for (const acc of accs.values()) rows.push(findingRow(acc, batchId));
  let aggregateRows: FindingRow[];
  if (replay) aggregateRows = replay;
  else {
    const byId = new Map<string, FindingRow>();
    for (const ep of touched) {
      const acc = ep.acc;
      const r = acc.rule;
      const what = r.measure!.sum ? `sum of ${r.measure!.sum}` : r.measure!.count_distinct ? `distinct (${r.measure!.count_distinct.join(', ')})` : 'flow count';
      acc.measure = { value: ep.value, threshold: r.threshold!, window_s: r.window_s!, what };
      // Scans: a sample of what was probed instead of peers.
      if (!r.peer) acc.facts.set('targets', ep.targets);
      const row = findingRow(acc, batchId);
      row.flow_count = acc.flows - ep.reported;
      ep.reported = acc.flows;
      const same = byId.get(row.finding_id);
      if (!same) byId.set(row.finding_id, row);
      else {
        // Two episodes of one finding in a batch (a long attack): one row, the later evidence.
        const later = row.last_seen >= same.last_seen ? row : same;
        byId.set(row.finding_id, { ...later, flow_count: same.flow_count + row.flow_count, first_seen: Math.min(same.first_seen, row.first_seen), last_seen: Math.max(same.last_seen, row.last_seen) });
      }
    }
    aggregateRows = [...byId.values()];
    state.recent.set(replayKey, aggregateRows);
    if (state.recent.size > RECENT_BATCHES) state.recent.delete(state.recent.keys().next().value!);
  }
  rows.push(...aggregateRows);
  rows.sort((a, b) => a.first_seen - b.first_seen || a.finding_id.localeCompare(b.finding_id));
  return rows;
}

/** Create the hunt operator. Rule files and network ranges are validated here, once. */
export function createHunt(options: HuntOptions = {}): Operator {
  const rules = options.rules ?? loadRules();
  const addresses = new AddressClassifier(options.internalNetworks ?? []);
  const state = createHuntState({ latenessMicros: options.latenessMicros, maxGroups: options.maxGroups });
  return {
    descriptor: {
      name: 'hunt',
      version: '2',
      summary: 'posture rules (cleartext clinical data, weak authentication, obsolete crypto, unsupported software, exposure) over flows; brute force and scanning over event-time windows across batches',
      reads: ['flows'],
      writes: ['findings'],
    },
    apply(input: Tables, context: OperatorContext): Tables {
      const flows = input.flows;
      if (!flows) throw new Error('hunt: input has no flows table');
      const late = state.counters.late;
      const findings = findingsBatch(huntBatch(flows, rules, addresses, context.batchId, state));
      if (state.counters.late > late) context.warn(`${state.counters.late - late} flow(s) started more than a rule window plus ${state.latenessMicros / 1e6} s before the newest flow seen and were not counted by the aggregate rules`);
      return { ...input, findings };
    },
  };
}

/** The hunt operator with the shipped rules. */
export const operator: Operator = createHunt();
