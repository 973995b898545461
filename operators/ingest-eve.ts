/**
 * Suricata EVE JSON lines. Only `event_type: "flow"` records become flows; other event types
 * (alert, dns, tls, stats, …) are counted and skipped (one warning per input gives the counts), not
 * dead-lettered: they are valid EVE, just not flows.
 *
 * Mapping: src_ip/src_port → initiator (Suricata's to-server side), dest_ip/dest_port → responder,
 * proto (name or number), app_proto → l7_proto (`failed`/`unknown` → null), flow.pkts_toserver/
 * toclient → fwd/bwd_packets, flow.bytes_toserver/toclient → fwd/bwd_bytes, flow.start/end →
 * ts_start/ts_end, flow.reason → end_reason (timeout → idle, shutdown → eof, forced → active),
 * tcp.tcp_flags_ts/tc → tcp_flags_fwd/bwd, icmp_type/icmp_code → the port fields, vlan[0],
 * ether.src_mac/dest_mac. The logged community_id is checked against HEIR's own; mismatches are
 * counted in a warning and HEIR's value is kept.
 */
import { InputError } from '../pipeline/errors.ts';
import { communityId } from '../pipeline/flow-id.ts';
import type { FlowRow } from '../pipeline/flow-schema.ts';
import type { Parser } from '../pipeline/types.ts';
import { warn } from '../pipeline/warn.ts';
import { ipVersionOf, isoMicros, parseLines, protoNumber, RowError, type LineReader, type TextRow } from './ingest-text.ts';

const END_REASON: Readonly<Record<string, string>> = { timeout: 'idle', shutdown: 'eof', forced: 'active' };
const NO_APP = new Set(['failed', 'unknown', '']);

function object(value: unknown, name: string): Record<string, unknown> | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'object' || Array.isArray(value)) throw new RowError(`${name} is not a JSON object`);
  return value as Record<string, unknown>;
}

function count(obj: Record<string, unknown>, name: string, path: string): number {
  const v = obj[name];
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw new RowError(`${path}.${name} is missing or not a count`);
  return v;
}

function time(value: unknown, name: string): number {
  const us = typeof value === 'string' ? isoMicros(value) : null;
  if (us === null) throw new RowError(`${name} is missing or not an ISO 8601 time`);
  return us;
}

class EveReader implements LineReader {
  readonly source = 'eve';
  private records = 0;
  private skipped = new Map<string, number>();
  private cidChecked = 0;
  private cidMismatches = 0;

  constructor(private readonly input: string) {}

  line(text: string): TextRow | null {
    if (this.records === 0 && !text.trimStart().startsWith('{')) {
      throw new InputError(this.input, `not Suricata EVE JSON (expected one JSON object per line, starting "{"): ${JSON.stringify(text.slice(0, 80))}`);
    }
    this.records++;
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (error) {
      throw new RowError(`not valid JSON: ${(error as Error).message}`);
    }
    const event = object(parsed, 'record');
    if (event === null) throw new RowError('not a JSON object');
    const type = event.event_type;
    if (typeof type !== 'string') throw new RowError('missing event_type');
    if (type !== 'flow') {
      this.skipped.set(type, (this.skipped.get(type) ?? 0) + 1);
      return null;
    }
    const flow = object(event.flow, 'flow');
    if (flow === null) throw new RowError('flow event without a flow object');
    const src = event.src_ip;
    const dst = event.dest_ip;
    if (typeof src !== 'string' || typeof dst !== 'string' || ipVersionOf(src) === null || ipVersionOf(dst) === null) throw new RowError('src_ip or dest_ip is missing or not an IP address');
    const proto = typeof event.proto === 'number' ? event.proto : typeof event.proto === 'string' ? protoNumber(event.proto) : null;
    if (proto === null || !Number.isInteger(proto) || proto < 0 || proto > 255) throw new RowError(`proto is not an IP protocol: ${JSON.stringify(event.proto)}`);
    const portOf = (name: string): number | null => {
      const v = event[name];
      if (v === undefined || v === null) return null;
      if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 65535) throw new RowError(`${name} is not a port: ${JSON.stringify(v)}`);
      return v;
    };
    const icmp = proto === 1 || proto === 58;
    const sport = icmp ? portOf('icmp_type') : portOf('src_port');
    const dport = icmp ? portOf('icmp_code') : portOf('dest_port');
    const start = time(flow.start, 'flow.start');
    const end = time(flow.end, 'flow.end');
    if (end < start) throw new RowError('flow.end is before flow.start');
    const tcp = object(event.tcp, 'tcp');
    const hexFlags = (name: string): number | null => {
      const v = tcp?.[name];
      if (typeof v !== 'string') return null;
      if (!/^[0-9a-fA-F]{1,2}$/.test(v)) throw new RowError(`tcp.${name} is not a hex flag byte: ${JSON.stringify(v.slice(0, 10))}`);
      return parseInt(v, 16);
    };
    const app = typeof event.app_proto === 'string' ? event.app_proto.toLowerCase() : '';
    const vlan = Array.isArray(event.vlan) && typeof event.vlan[0] === 'number' ? event.vlan[0] : null;
    const ether = object(event.ether, 'ether');
    const mac = (v: unknown) => (typeof v === 'string' && v !== '' ? v.toLowerCase() : null);
    const row: Partial<FlowRow> = {
      ts_start: start,
      ts_end: end,
      duration_s: (end - start) / 1e6,
      end_reason: typeof flow.reason === 'string' ? (END_REASON[flow.reason] ?? null) : null,
      ip_version: ipVersionOf(src),
      src_addr: src,
      dst_addr: dst,
      src_port: sport,
      dst_port: dport,
      ip_proto: proto,
      src_mac: mac(ether?.src_mac),
      dst_mac: mac(ether?.dest_mac),
      vlan_id: vlan,
      l7_proto: NO_APP.has(app) ? null : app === 'tls' || app === 'ssl' ? 'tls' : app,
      fwd_packets: count(flow, 'pkts_toserver', 'flow'),
      bwd_packets: count(flow, 'pkts_toclient', 'flow'),
      fwd_bytes: count(flow, 'bytes_toserver', 'flow'),
      bwd_bytes: count(flow, 'bytes_toclient', 'flow'),
      tcp_flags_fwd: hexFlags('tcp_flags_ts'),
      tcp_flags_bwd: hexFlags('tcp_flags_tc'),
    };
    const ours = communityId(src, dst, proto, sport, dport);
    if (typeof event.community_id === 'string') {
      this.cidChecked++;
      if (event.community_id !== ours) this.cidMismatches++;
    }
    row.community_id = ours;
    return { row };
  }

  finish(lines: number): void {
    if (this.records === 0) throw new InputError(this.input, lines === 0 ? 'empty input: expected Suricata EVE JSON lines' : 'no Suricata EVE records found');
    if (this.skipped.size) {
      const counts = [...this.skipped].map(([t, n]) => `${t}: ${n}`).join(', ');
      warn(`${this.input}: skipped EVE events that are not flows (${counts})`);
    }
    if (this.cidMismatches > 0) warn(`${this.input}: ${this.cidMismatches} of ${this.cidChecked} EVE community_id values differ from the Community ID HEIR computes (seed 0); HEIR's are kept`);
  }

  /** Non-flow events skipped so far, by event type (tests read it through the warning). */
  get skippedCounts(): ReadonlyMap<string, number> {
    return this.skipped;
  }
}

/** The Suricata EVE parser (`heir ingest eve`): flow events only. */
export const parser: Parser = {
  descriptor: { format: 'eve', version: '1', summary: 'Suricata EVE JSON lines (event_type flow)' },
  parse(chunks, options) {
    return parseLines(chunks, options, new EveReader(options.input), 'ingest-eve');
  },
};
