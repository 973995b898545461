/**
 * Argus flow records as CSV, as `ra -c , -n -u -s <fields>` or the default `ra -c ,` prints them.
 * Columns are found by their header names, so any field order and extra fields work. Argus
 * management records (proto `man`) are skipped.
 *
 * Time: `-u` (epoch seconds) is best; full dates (`2020/01/31.12:00:00.123456`, `2020-01-31
 * 12:00:00`) are read as UTC. The default `ra` time format is a time of day without a date: such
 * rows are dated 1970-01-01 and one warning says so. Ports are best numeric (`ra -n`); the service
 * names plain `ra` prints are looked up in /etc/services (where `ra` took them from) and a small
 * built-in table; an unknown name is a dead letter naming the fix. Without SrcPkts/DstPkts (the default field set) all packets
 * and bytes are counted forward and the backward counts are 0.
 */
import { InputError } from '../pipeline/errors.ts';
import type { FlowRow } from '../pipeline/flow-schema.ts';
import type { Parser } from '../pipeline/types.ts';
import { warn } from '../pipeline/warn.ts';
import { headerIndex, ipVersionOf, parseLines, parseNumber, protoNumber, requireNumber, requirePort, RowError, splitCsv, type LineReader, type TextRow } from './ingest-text.ts';

/** Header names HEIR needs (at least these must be present). */
const REQUIRED = ['StartTime', 'Proto', 'SrcAddr', 'DstAddr'] as const;

/** Argus TCP/UDP states mapped to why the record was emitted. */
const END_REASON: Readonly<Record<string, string>> = { FIN: 'fin', CLO: 'fin', RST: 'rst', TIM: 'idle', CON: 'active' };

const TIME_OF_DAY = /^(\d{1,2}):(\d{2}):(\d{2}(?:\.\d+)?)$/;
const DATE_TIME = /^(\d{4})[/-](\d{2})[/-](\d{2})[.T ](\d{2}):(\d{2}):(\d{2}(?:\.\d+)?)$/;

/** Epoch microseconds of an Argus time field, and whether it carried a date. */
function argusTime(field: string, text: string): { us: number; dated: boolean } {
  const t = text.trim();
  const n = parseNumber(t);
  if (n !== null) return { us: Math.round(n * 1e6), dated: true };
  let m = DATE_TIME.exec(t);
  if (m) {
    const ms = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), 0);
    if (Number.isNaN(ms)) throw new RowError(`${field} is not a time: ${JSON.stringify(t.slice(0, 40))}`);
    return { us: ms * 1000 + Math.round(Number(m[6]) * 1e6), dated: true };
  }
  m = TIME_OF_DAY.exec(t);
  if (m) return { us: (Number(m[1]) * 3600 + Number(m[2]) * 60) * 1e6 + Math.round(Number(m[3]) * 1e6), dated: false };
  throw new RowError(`${field} is not a time: ${JSON.stringify(t.slice(0, 40))}`);
}

class ArgusReader implements LineReader {
  readonly source = 'argus';
  private index: Map<string, number> | null = null;
  private width = 0;
  private undatedWarned = false;
  private hasSplit = false;

  constructor(private readonly input: string) {}

  line(text: string, number: number): TextRow | null {
    const fields = splitCsv(text);
    if (fields === null) throw new RowError('unterminated quote');
    if (this.index === null) return this.header(fields, text);
    if (fields.length !== this.width) throw new RowError(`expected ${this.width} fields, found ${fields.length}`);
    // ra repeats the header when it is asked to (-c with multiple files): skip repeats.
    if (fields[this.index.get('StartTime')!] === 'StartTime') return null;
    return this.row(fields, number);
  }

  finish(lines: number): void {
    if (this.index === null) throw new InputError(this.input, lines === 0 ? 'empty input: expected an Argus CSV header (ra -c ,)' : 'no Argus CSV header found (expected ra -c , output)');
  }

  private header(fields: string[], text: string): null {
    // The first occurrence wins (`-s +stime` can print a field twice).
    const index = headerIndex(fields);
    const missing = REQUIRED.filter((name) => !index.has(name));
    if (missing.length) {
      throw new InputError(this.input, `not an Argus CSV header (expected ra -c , output with ${REQUIRED.join(', ')}; missing ${missing.join(', ')}): ${JSON.stringify(text.slice(0, 120))}`);
    }
    this.index = index;
    this.width = fields.length;
    this.hasSplit = index.has('SrcPkts') && index.has('DstPkts');
    return null;
  }

  private get(fields: string[], name: string): string | undefined {
    const i = this.index!.get(name);
    return i === undefined ? undefined : fields[i];
  }

  private row(fields: string[], number: number): TextRow | null {
    const protoText = this.get(fields, 'Proto')!.trim();
    if (protoText === 'man') return null;
    const start = argusTime('StartTime', this.get(fields, 'StartTime')!);
    if (!start.dated && !this.undatedWarned) {
      this.undatedWarned = true;
      warn(`${this.input}: Argus StartTime has no date (line ${number}); rows are dated 1970-01-01 — print epoch times with ra -u`);
    }
    const durText = this.get(fields, 'Dur');
    const lastText = this.get(fields, 'LastTime');
    let tsEnd: number;
    let duration: number;
    if (durText !== undefined) {
      duration = requireNumber('Dur', durText);
      if (duration < 0) throw new RowError(`Dur is negative: ${duration}`);
      tsEnd = start.us + Math.round(duration * 1e6);
    } else if (lastText !== undefined) {
      tsEnd = argusTime('LastTime', lastText).us;
      duration = Math.max(0, (tsEnd - start.us) / 1e6);
    } else {
      tsEnd = start.us;
      duration = 0;
    }
    const proto = protoNumber(protoText);
    const src = this.get(fields, 'SrcAddr')!.trim();
    const dst = this.get(fields, 'DstAddr')!.trim();
    if (src === '' || dst === '') throw new RowError('missing SrcAddr or DstAddr');
    const ipVersion = ipVersionOf(src);
    const portOf = (name: string): number | null => {
      const t = this.get(fields, name);
      if (t === undefined || t.trim() === '') return null;
      return requirePort(name, t);
    };
    const sport = portOf('Sport');
    const dport = portOf('Dport');
    const count = (name: string): number | null => {
      const t = this.get(fields, name);
      if (t === undefined) return null;
      const v = requireNumber(name, t);
      if (v < 0) throw new RowError(`${name} is negative: ${v}`);
      return v;
    };
    const totPkts = count('TotPkts');
    const totBytes = count('TotBytes');
    let fwdPackets: number, bwdPackets: number, fwdBytes: number, bwdBytes: number;
    if (this.hasSplit) {
      fwdPackets = count('SrcPkts')!;
      bwdPackets = count('DstPkts')!;
      fwdBytes = count('SrcBytes') ?? (totBytes !== null ? totBytes : 0);
      bwdBytes = count('DstBytes') ?? 0;
      if (!this.index!.has('SrcBytes') && totBytes === null) throw new RowError('no byte counts (SrcBytes/TotBytes)');
    } else {
      if (totPkts === null || totBytes === null) throw new RowError('no packet or byte counts (TotPkts/TotBytes or SrcPkts/DstPkts)');
      fwdPackets = totPkts;
      bwdPackets = 0;
      fwdBytes = count('SrcBytes') ?? totBytes;
      bwdBytes = count('DstBytes') ?? 0;
    }
    const state = this.get(fields, 'State')?.trim() ?? '';
    const row: Partial<FlowRow> = {
      ts_start: start.us,
      ts_end: tsEnd,
      duration_s: duration,
      end_reason: END_REASON[state] ?? null,
      ip_version: ipVersion,
      src_addr: src,
      dst_addr: dst,
      src_port: sport,
      dst_port: dport,
      ip_proto: proto,
      fwd_packets: fwdPackets,
      bwd_packets: bwdPackets,
      fwd_bytes: fwdBytes,
      bwd_bytes: bwdBytes,
    };
    const smac = this.get(fields, 'SrcMac')?.trim();
    const dmac = this.get(fields, 'DstMac')?.trim();
    if (smac) row.src_mac = smac.toLowerCase();
    if (dmac) row.dst_mac = dmac.toLowerCase();
    return { row };
  }
}

/** The Argus CSV parser (`heir ingest argus`). */
export const parser: Parser = {
  descriptor: { format: 'argus', version: '1', summary: 'Argus flow records as CSV (ra -c , -n -u -s …), columns found by header name' },
  parse(chunks, options) {
    return parseLines(chunks, options, new ArgusReader(options.input), 'ingest-argus');
  },
};
