/**
 * Zeek conn.log, both as TSV (the `#separator`/`#fields`/`#types` header, `#close` footer; several
 * logs may follow one another) and as JSON lines (`LogAscii::use_json`, epoch or ISO 8601 `ts`).
 * The connection uid is not used: the flow id derives from the Community ID and the start time.
 *
 * Mapping: ts/duration → ts_start/ts_end/duration_s; id.orig_h/p, id.resp_h/p, proto → 5-tuple
 * (ICMP type/code are in the port fields, as Zeek logs them); service → l7_proto (`ssl` → `tls`,
 * the first of a list); orig_ip_bytes/resp_ip_bytes → fwd/bwd_bytes; orig_bytes/resp_bytes (payload)
 * → fwd/bwd_payload_bytes; orig_pkts/resp_pkts → fwd/bwd_packets; conn_state → end_reason (SF →
 * fin, REJ and RST* → rst, any other state → idle); history letters → tcp_flags_fwd/bwd (upper
 * case = originator: S SYN, H SYN+ACK, A ACK, F FIN, R RST); orig_l2_addr/resp_l2_addr → MACs and
 * vlan where logged. `-` (unset) and `(empty)` are null. A `community_id` field, where the
 * community-id package logs one, is checked against HEIR's own: mismatches are counted in a warning.
 */
import { InputError } from '../pipeline/errors.ts';
import { communityId } from '../pipeline/flow-id.ts';
import type { FlowRow } from '../pipeline/flow-schema.ts';
import type { Parser } from '../pipeline/types.ts';
import { warn } from '../pipeline/warn.ts';
import { ipVersionOf, isoMicros, parseLines, parseNumber, protoNumber, RowError, type LineReader, type TextRow } from './ingest-text.ts';

const REQUIRED_FIELDS = ['ts', 'id.orig_h', 'id.orig_p', 'id.resp_h', 'id.resp_p', 'proto'] as const;

/** TCP flag bits per history letter (case gives the direction). */
const HISTORY_FLAGS: Readonly<Record<string, number>> = { s: 0x02, h: 0x12, a: 0x10, f: 0x01, r: 0x04 };

/** Zeek service names that HEIR spells differently. */
const SERVICE_NAMES: Readonly<Record<string, string>> = { ssl: 'tls', dce_rpc: 'dcerpc', 'krb_tcp': 'kerberos', krb: 'kerberos' };

/** A value of a field as Zeek wrote it: text (TSV) or JSON. Null for unset and empty. */
type Value = string | number | boolean | null;

/** end_reason of a Zeek conn_state. */
function endReason(state: string | null): string | null {
  if (state === null) return null;
  if (state === 'SF') return 'fin';
  if (state === 'REJ' || state.startsWith('RST')) return 'rst';
  return 'idle';
}

class ZeekReader implements LineReader {
  readonly source = 'zeek';
  private mode: 'tsv' | 'json' | null = null;
  private separator = '\t';
  private unset = '-';
  private empty = '(empty)';
  private fields: Map<string, number> | null = null;
  private width = 0;
  private cidChecked = 0;
  private cidMismatches = 0;

  constructor(private readonly input: string) {}

  line(text: string, number: number): TextRow | null {
    if (this.mode === null) {
      if (text.startsWith('#separator')) this.mode = 'tsv';
      else if (text.trimStart().startsWith('{')) this.mode = 'json';
      else throw new InputError(this.input, `not a Zeek conn.log (expected a TSV header starting "#separator" or JSON lines starting "{"): ${JSON.stringify(text.slice(0, 80))}`);
    }
    if (this.mode === 'json') return this.jsonLine(text);
    if (text.startsWith('#')) return this.directive(text, number);
    if (this.fields === null) throw new RowError('data line before the #fields header');
    const parts = text.split(this.separator);
    if (parts.length !== this.width) throw new RowError(`expected ${this.width} fields, found ${parts.length}`);
    const get = (name: string): Value => {
      const i = this.fields!.get(name);
      if (i === undefined) return null;
      const v = parts[i];
      return v === this.unset || v === this.empty || v === '' ? null : v;
    };
    return this.flow(get);
  }

  finish(lines: number): void {
    if (this.mode === null) throw new InputError(this.input, lines === 0 ? 'empty input: expected a Zeek conn.log (TSV or JSON)' : 'no Zeek conn.log records found');
    if (this.mode === 'tsv' && this.fields === null) throw new InputError(this.input, 'Zeek TSV log without a #fields header');
    if (this.cidMismatches > 0) warn(`${this.input}: ${this.cidMismatches} of ${this.cidChecked} Zeek community_id values differ from the Community ID HEIR computes (seed 0); HEIR's are kept`);
  }

  private directive(text: string, number: number): null {
    const space = text.search(/[\t ]/);
    const name = space === -1 ? text : text.slice(0, space);
    const value = space === -1 ? '' : text.slice(space + 1);
    switch (name) {
      case '#separator':
        // Written escaped: `#separator \x09`.
        this.separator = value.replace(/\\x([0-9a-fA-F]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16)));
        if (this.separator.length !== 1) throw new InputError(this.input, `line ${number}: unsupported #separator ${JSON.stringify(value)}`);
        break;
      case '#unset_field':
        this.unset = value.split(this.separator)[0] ?? '-';
        break;
      case '#empty_field':
        this.empty = value.split(this.separator)[0] ?? '(empty)';
        break;
      case '#path': {
        const path = value.split(this.separator)[0];
        if (path !== 'conn') throw new InputError(this.input, `line ${number}: a Zeek ${path} log, not a conn log (#path conn expected)`);
        break;
      }
      case '#fields': {
        const names = text.split(this.separator).slice(1);
        const index = new Map(names.map((n, i) => [n, i] as const));
        const missing = REQUIRED_FIELDS.filter((n) => !index.has(n));
        if (missing.length) throw new InputError(this.input, `line ${number}: Zeek #fields lacks ${missing.join(', ')} (expected a conn.log)`);
        this.fields = index;
        this.width = names.length;
        break;
      }
      default:
        // #set_separator, #open, #types, #close: nothing to keep.
        break;
    }
    return null;
  }

  private jsonLine(text: string): TextRow | null {
    let record: unknown;
    try {
      record = JSON.parse(text);
    } catch (error) {
      throw new RowError(`not valid JSON: ${(error as Error).message}`);
    }
    if (record === null || typeof record !== 'object' || Array.isArray(record)) throw new RowError('not a JSON object');
    const obj = record as Record<string, unknown>;
    for (const name of REQUIRED_FIELDS) if (!(name in obj)) throw new RowError(`missing ${name}`);
    const get = (name: string): Value => {
      const v = obj[name];
      if (v === undefined || v === null) return null;
      if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return v;
      throw new RowError(`${name} has an unexpected JSON type`);
    };
    return this.flow(get);
  }

  private flow(get: (name: string) => Value): TextRow {
    const num = (name: string): number | null => {
      const v = get(name);
      if (v === null) return null;
      const n = typeof v === 'number' ? v : typeof v === 'string' ? parseNumber(v) : null;
      if (n === null || !Number.isFinite(n) || n < 0) throw new RowError(`${name} is not a non-negative number: ${JSON.stringify(String(v).slice(0, 40))}`);
      return n;
    };
    const port = (name: string): number => {
      const n = num(name);
      if (n === null || !Number.isInteger(n) || n > 65535) throw new RowError(`${name} is not a port: ${JSON.stringify(String(get(name)).slice(0, 40))}`);
      return n;
    };
    const text = (name: string): string | null => {
      const v = get(name);
      return v === null ? null : String(v);
    };
    const tsValue = get('ts');
    let ts: number | null = null;
    if (typeof tsValue === 'number') ts = Math.round(tsValue * 1e6);
    else if (typeof tsValue === 'string') ts = parseNumber(tsValue) !== null ? Math.round(parseNumber(tsValue)! * 1e6) : isoMicros(tsValue);
    if (ts === null || !Number.isFinite(ts)) throw new RowError(`ts is not a time: ${JSON.stringify(String(tsValue).slice(0, 40))}`);
    const src = text('id.orig_h');
    const dst = text('id.resp_h');
    if (src === null || dst === null) throw new RowError('missing id.orig_h or id.resp_h');
    const protoText = text('proto');
    const proto = protoText === null ? null : protoNumber(protoText);
    if (proto === null) throw new RowError(`proto is not an IP protocol: ${JSON.stringify(protoText)}`);
    const sport = port('id.orig_p');
    const dport = port('id.resp_p');
    const duration = num('duration') ?? 0;
    const service = text('service');
    const firstService = service === null ? null : service.split(',')[0].trim().toLowerCase();
    const history = text('history');
    let flagsFwd: number | null = null;
    let flagsBwd: number | null = null;
    if (history !== null && proto === 6) {
      flagsFwd = 0;
      flagsBwd = 0;
      for (const ch of history) {
        const bits = HISTORY_FLAGS[ch.toLowerCase()];
        if (bits === undefined) continue;
        if (ch === ch.toUpperCase()) flagsFwd |= bits;
        else flagsBwd |= bits;
      }
    }
    const row: Partial<FlowRow> = {
      ts_start: ts,
      ts_end: ts + Math.round(duration * 1e6),
      duration_s: duration,
      end_reason: endReason(text('conn_state')),
      ip_version: ipVersionOf(src),
      src_addr: src,
      dst_addr: dst,
      src_port: sport,
      dst_port: dport,
      ip_proto: proto,
      src_mac: text('orig_l2_addr'),
      dst_mac: text('resp_l2_addr'),
      vlan_id: num('vlan'),
      l7_proto: firstService ? (SERVICE_NAMES[firstService] ?? firstService) : null,
      fwd_packets: num('orig_pkts') ?? 0,
      bwd_packets: num('resp_pkts') ?? 0,
      fwd_bytes: num('orig_ip_bytes') ?? 0,
      bwd_bytes: num('resp_ip_bytes') ?? 0,
      fwd_payload_bytes: num('orig_bytes'),
      bwd_payload_bytes: num('resp_bytes'),
      tcp_flags_fwd: flagsFwd,
      tcp_flags_bwd: flagsBwd,
    };
    const logged = text('community_id');
    const ours = communityId(src, dst, proto, sport, dport);
    if (logged !== null) {
      this.cidChecked++;
      if (logged !== ours) this.cidMismatches++;
    }
    row.community_id = ours;
    return { row };
  }
}

/** The Zeek conn.log parser (`heir ingest zeek`), TSV or JSON. */
export const parser: Parser = {
  descriptor: { format: 'zeek', version: '1', summary: 'Zeek conn.log, TSV (#fields header) or JSON lines' },
  parse(chunks, options) {
    return parseLines(chunks, options, new ZeekReader(options.input), 'ingest-zeek');
  },
};
