/**
 * What every line-based ingest format shares: a byte-level line splitter with a length bound, a
 * CSV field splitter with quotes, strict number parsing, gzip detection, and the driver that turns
 * a format's per-line reader into flow batches and dead letters. The format modules (Argus, Zeek,
 * EVE, CIC, WUSTL) hold only their header rules and field mappings.
 */
import { readFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { InputError, messageOf } from '../pipeline/errors.ts';
import { communityId, flowId } from '../pipeline/flow-id.ts';
import { FLOW_COLUMNS, FlowBatchBuilder, type FlowRow } from '../pipeline/flow-schema.ts';
import type { DeadLetter, ParseOptions, ParseOutput } from '../pipeline/types.ts';

/** Longest line a text parser accepts (bytes, without the line end); longer lines are dead-lettered. */
export const MAX_LINE_BYTES = 1 << 20;

/** Dead-letter payloads are cut to this many characters. */
const PAYLOAD_CHARS = 512;

/** Dead letters held before they are flushed in an output step of their own. */
const DEAD_LETTER_FLUSH = 1000;

const LF = 0x0a;
const CR = 0x0d;

/** Called once per line: its 1-based number, its bytes (line end removed), the input offset after it, and whether it was cut. */
export type LineSink = (number: number, bytes: Uint8Array, endOffset: number, tooLong: boolean) => void;

/**
 * Splits a byte stream into lines at LF (a CR before the LF is dropped). Lines longer than
 * `maxBytes` are not buffered: their bytes are counted and dropped, and the sink sees them with
 * `tooLong` set and only the first bytes (for the dead-letter payload).
 */
export class LineSplitter {
  private pending: Uint8Array[] = [];
  private pendingLength = 0;
  private overflow = false;
  private lineNumber = 0;
  private offset = 0;

  constructor(private readonly sink: LineSink, private readonly maxBytes = MAX_LINE_BYTES) {}

  /** Feed one chunk; complete lines go to the sink at once. */
  push(chunk: Uint8Array): void {
    let start = 0;
    for (;;) {
      const nl = chunk.indexOf(LF, start);
      if (nl === -1) break;
      this.append(chunk.subarray(start, nl));
      this.offset += nl + 1 - start;
      this.emit();
      start = nl + 1;
    }
    if (start < chunk.length) {
      this.append(chunk.subarray(start));
      this.offset += chunk.length - start;
    }
  }

  /** End of input: a last line without a line end is still a line. */
  end(): void {
    if (this.pendingLength > 0 || this.overflow) this.emit();
  }

  /** Lines seen so far. */
  get lines(): number {
    return this.lineNumber;
  }

  private append(part: Uint8Array): void {
    if (part.length === 0) return;
    if (this.overflow) return;
    if (this.pendingLength + part.length > this.maxBytes) {
      // Keep a prefix for the dead-letter payload; drop the rest of the line as it streams by.
      const room = Math.max(0, PAYLOAD_CHARS - this.pendingLength);
      if (room > 0) this.pending.push(part.slice(0, room));
      this.pendingLength = Math.min(PAYLOAD_CHARS, this.pendingLength + part.length);
      this.overflow = true;
      return;
    }
    // Copy: the chunk may be reused by the producer once we return.
    this.pending.push(part.slice());
    this.pendingLength += part.length;
  }

  private emit(): void {
    let bytes: Uint8Array;
    if (this.pending.length === 1) bytes = this.pending[0];
    else {
      bytes = new Uint8Array(this.pendingLength);
      let o = 0;
      for (const p of this.pending) {
        bytes.set(p.subarray(0, bytes.length - o), o);
        o += p.length;
        if (o >= bytes.length) break;
      }
    }
    if (this.pending.length === 0) bytes = new Uint8Array(0);
    if (!this.overflow && bytes.length > 0 && bytes[bytes.length - 1] === CR) bytes = bytes.subarray(0, bytes.length - 1);
    const tooLong = this.overflow;
    this.pending = [];
    this.pendingLength = 0;
    this.overflow = false;
    this.sink(++this.lineNumber, bytes, this.offset, tooLong);
  }
}

/**
 * Split one CSV line into fields (RFC 4180 quoting: `"a,b"` and `""` inside quotes). Fields are
 * not trimmed. Returns null for an unterminated quote. Quoted fields do not span lines here: every
 * format HEIR reads writes one record per line.
 */
export function splitCsv(line: string, separator = ','): string[] | null {
  const out: string[] = [];
  const sep = separator.charCodeAt(0);
  let i = 0;
  const n = line.length;
  for (;;) {
    if (i < n && line.charCodeAt(i) === 0x22) {
      // Quoted field: runs to the closing quote; a doubled quote is one quote.
      let value = '';
      let j = i + 1;
      for (;;) {
        const q = line.indexOf('"', j);
        if (q === -1) return null;
        value += line.slice(j, q);
        if (line.charCodeAt(q + 1) === 0x22) {
          value += '"';
          j = q + 2;
          continue;
        }
        i = q + 1;
        break;
      }
      // Anything between the closing quote and the separator is kept (lenient, like most readers).
      const next = line.indexOf(separator, i);
      if (next === -1) {
        out.push(value + line.slice(i));
        return out;
      }
      out.push(value + line.slice(i, next));
      i = next + 1;
      continue;
    }
    let j = i;
    while (j < n && line.charCodeAt(j) !== sep) j++;
    out.push(line.slice(i, j));
    if (j >= n) return out;
    i = j + 1;
  }
}

const NUMBER = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

/**
 * A decimal number from text (surrounding blanks allowed), or null when the text is not one.
 * `inf`, `-inf`, `nan` and `infinity` (any case) are accepted only with `allowSpecial`.
 */
export function parseNumber(text: string, allowSpecial = false): number | null {
  const t = text.trim();
  if (NUMBER.test(t)) return Number(t);
  if (allowSpecial) {
    const l = t.toLowerCase();
    if (l === 'inf' || l === 'infinity' || l === '+inf') return Infinity;
    if (l === '-inf' || l === '-infinity') return -Infinity;
    if (l === 'nan') return NaN;
  }
  return null;
}

/** A row that cannot be read: the driver dead-letters it with this reason and the line number. */
export class RowError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RowError';
  }
}

/** A required number of a row, or a RowError naming the field. */
export function requireNumber(field: string, text: string | undefined): number {
  if (text === undefined) throw new RowError(`missing field ${field}`);
  const v = parseNumber(text);
  if (v === null) throw new RowError(`${field} is not a number: ${JSON.stringify(text.slice(0, 40))}`);
  return v;
}

/** A port / small integer field: an integer in [0, max], decimal or 0x-hex (Argus prints ICMP ports in hex). */
export function requireInteger(field: string, text: string | undefined, max: number): number {
  if (text === undefined) throw new RowError(`missing field ${field}`);
  const t = text.trim();
  const v = /^0x[0-9a-f]+$/i.test(t) ? parseInt(t.slice(2), 16) : parseNumber(t);
  if (v === null || !Number.isInteger(v) || v < 0 || v > max) throw new RowError(`${field} is not an integer in 0..${max}: ${JSON.stringify(t.slice(0, 40))}`);
  return v;
}

/** Service names of ports common on hospital networks, for machines without /etc/services. */
const BUILTIN_SERVICES: Readonly<Record<string, number>> = {
  'ftp-data': 20, ftp: 21, ssh: 22, telnet: 23, smtp: 25, domain: 53, bootps: 67, bootpc: 68, tftp: 69, http: 80,
  pop3: 110, sunrpc: 111, ntp: 123, 'netbios-ns': 137, 'netbios-dgm': 138, 'netbios-ssn': 139, imap2: 143, snmp: 161,
  'snmp-trap': 162, ldap: 389, https: 443, 'microsoft-ds': 445, syslog: 514, submission: 587, ldaps: 636, 'domain-s': 853,
  imaps: 993, pop3s: 995, mqtt: 1883, nfs: 2049, mysql: 3306, 'ms-wbt-server': 3389, mdns: 5353, postgresql: 5432,
  'x11': 6000, 'secure-mqtt': 8883, dicom: 104, 'dicom-tls': 2762, 'http-alt': 8080,
};

let services: Map<string, number> | null = null;

/** Port of a service name as `ra` printed it (from /etc/services, then the built-in table). */
function servicePort(name: string): number | undefined {
  if (services === null) {
    services = new Map(Object.entries(BUILTIN_SERVICES));
    try {
      for (const line of readFileSync('/etc/services', 'utf8').split('\n')) {
        const m = /^([A-Za-z0-9][\w.+-]*)\s+(\d+)\/(?:tcp|udp|sctp)/.exec(line);
        if (!m) continue;
        const port = Number(m[2]);
        if (!services.has(m[1])) services.set(m[1], port);
        for (const alias of line.replace(/#.*/, '').trim().split(/\s+/).slice(2)) if (!services.has(alias)) services.set(alias, port);
      }
    } catch {
      // No services file: the built-in table alone.
    }
  }
  return services.get(name);
}

/**
 * A port field: decimal, 0x-hex (Argus prints ICMP type/code so), or a service name as Argus prints
 * it without -n (looked up in /etc/services, then a built-in table).
 */
export function requirePort(field: string, text: string | undefined): number {
  if (text === undefined) throw new RowError(`missing field ${field}`);
  const t = text.trim();
  if (/^[A-Za-z][\w.+-]*$/.test(t) && !/^0x[0-9a-f]+$/i.test(t)) {
    const port = servicePort(t);
    if (port === undefined) throw new RowError(`${field} is neither a port number nor a known service name: ${JSON.stringify(t.slice(0, 40))}`);
    return port;
  }
  return requireInteger(field, t, 65535);
}

/** IP protocol numbers by the names Argus, Zeek and Suricata print. */
export const PROTO_NUMBERS: Readonly<Record<string, number>> = {
  icmp: 1,
  igmp: 2,
  ipip: 4,
  tcp: 6,
  udp: 17,
  ipv6: 41,
  gre: 47,
  esp: 50,
  ah: 51,
  'ipv6-icmp': 58,
  icmpv6: 58,
  icmp6: 58,
  ospf: 89,
  pim: 103,
  vrrp: 112,
  l2tp: 115,
  sctp: 132,
  udplite: 136,
};

/** IP protocol number from a name or a number; null when unknown. */
export function protoNumber(text: string): number | null {
  const t = text.trim().toLowerCase();
  if (/^\d+$/.test(t)) {
    const n = Number(t);
    return n <= 255 ? n : null;
  }
  return PROTO_NUMBERS[t] ?? null;
}

/** 4 or 6 for a textual address, null otherwise. */
export function ipVersionOf(address: string | null): number | null {
  if (address === null) return null;
  if (/^\d{1,3}(?:\.\d{1,3}){3}$/.test(address)) return 4;
  if (address.includes(':') && /^[0-9a-fA-F:.]+$/.test(address)) return 6;
  return null;
}

/** What a format parses each line into: a flow row (ids are filled in by the driver) and, optionally, its identity key. */
export interface TextRow {
  readonly row: Partial<FlowRow>;
  /** Key of the flow id; defaults to the Community ID, else `<input>#<line>`. */
  readonly key?: string;
}

/** One format's reading of lines: stateful (headers), created per input. */
export interface LineReader {
  /** Source name written in the `source` column. */
  readonly source: string;
  /**
   * Read one line (line ends removed, never empty). Return a flow, or null for a line that is not a
   * flow (comment, header, other record kind). Throw RowError for a bad row, InputError for a file
   * that is not this format.
   */
  line(text: string, number: number): TextRow | null;
  /** After the last line: throw InputError if the input never showed the format's header. */
  finish(lines: number): void;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });
const lossy = new TextDecoder('utf-8');

function payloadOf(bytes: Uint8Array): string {
  return lossy.decode(bytes.subarray(0, PAYLOAD_CHARS));
}

/** Kind of each numeric flow column, and the required columns: checked once per row. */
const NUMERIC_KIND: ReadonlyMap<string, string> = new Map(FLOW_COLUMNS.filter((c) => c.kind === 'f64' || c.kind === 'i32' || c.kind === 'ts').map((c) => [c.name, c.kind]));
const REQUIRED_COLUMNS = FLOW_COLUMNS.filter((c) => !c.nullable).map((c) => c.name);

/**
 * The driver of every line format: splits the input into lines, hands each to the reader, fills in
 * site, sensor, source, Community ID and the deterministic flow id, cuts batches of
 * `options.batchSize`, and turns bad rows into dead letters naming the line, then goes on.
 */
export async function* parseLines(chunks: AsyncIterable<Uint8Array>, options: ParseOptions, reader: LineReader, stage: string): AsyncGenerator<ParseOutput> {
  if (!Number.isInteger(options.batchSize) || options.batchSize < 1) throw new RangeError(`invalid batchSize: ${options.batchSize}`);
  // Rows complete inside the splitter's callback; they queue here with the offset after each.
  let ready: Partial<FlowRow>[] = [];
  let readyOffsets: number[] = [];
  let deadLetters: DeadLetter[] = [];
  let lastOffset = 0;
  // Offset after the last row handed out: what a consumer has fully seen when rows are still queued.
  let emittedOffset = 0;
  let fatal: unknown = null;

  const dead = (number: number, reason: string, bytes: Uint8Array) => {
    deadLetters.push({ input: options.input, stage, reason: `line ${number}: ${reason}`, payload: payloadOf(bytes) });
  };

  const onLine: LineSink = (number, bytes, endOffset, tooLong) => {
    lastOffset = endOffset;
    if (fatal !== null) return;
    if (tooLong) return dead(number, `line longer than ${MAX_LINE_BYTES} bytes`, bytes);
    if (bytes.length === 0) return;
    let text: string;
    try {
      text = utf8.decode(bytes);
    } catch {
      return dead(number, 'not valid UTF-8 text', bytes);
    }
    if (text.trim() === '') return;
    try {
      const out = reader.line(text, number);
      if (out === null) return;
      ready.push(complete(out, reader.source, options, number));
      readyOffsets.push(endOffset);
    } catch (error) {
      if (error instanceof InputError) {
        fatal = error;
        return;
      }
      dead(number, messageOf(error), bytes);
    }
  };

  const builder = new FlowBatchBuilder();
  function* cut(all: boolean): Generator<ParseOutput> {
    let from = 0;
    while (ready.length - from >= options.batchSize || (all && ready.length > from)) {
      const to = Math.min(ready.length, from + options.batchSize);
      for (let i = from; i < to; i++) builder.push(ready[i]);
      emittedOffset = readyOffsets[to - 1];
      yield { flows: builder.build(), deadLetters: deadLetters.length ? deadLetters : undefined, offset: emittedOffset };
      deadLetters = [];
      from = to;
    }
    if (from > 0) {
      ready = ready.slice(from);
      readyOffsets = readyOffsets.slice(from);
    }
  }

  const splitter = new LineSplitter(onLine);
  for await (const chunk of chunks) {
    if (options.signal?.aborted) break;
    splitter.push(chunk);
    if (fatal !== null) throw fatal;
    yield* cut(false);
    if (deadLetters.length >= DEAD_LETTER_FLUSH) {
      // Rows still queued are not emitted yet: the offset must not pass them.
      yield { deadLetters, offset: ready.length ? emittedOffset : lastOffset };
      deadLetters = [];
    }
  }
  splitter.end();
  if (fatal !== null) throw fatal;
  reader.finish(splitter.lines);
  yield* cut(true);
  if (deadLetters.length) yield { deadLetters, offset: lastOffset };
}

function complete(out: TextRow, source: string, options: ParseOptions, lineNumber: number): Partial<FlowRow> {
  const row = out.row as Record<string, unknown> & Partial<FlowRow>;
  let cid = row.community_id ?? null;
  if (cid === null && row.src_addr != null && row.dst_addr != null && row.ip_proto != null) {
    cid = communityId(row.src_addr, row.dst_addr, row.ip_proto, row.src_port ?? null, row.dst_port ?? null);
  }
  const key = out.key ?? cid ?? `${options.input}#${lineNumber}`;
  // The reader's row object is ours to complete in place (no copy per row).
  row.community_id = cid;
  row.flow_id = flowId(options.site, options.sensor, key, row.ts_start ?? 0);
  row.site_id = options.site;
  row.sensor_id = options.sensor;
  row.source = source;
  // Checked here, per row, so a bad value dead-letters its line instead of failing a whole batch.
  for (const name of REQUIRED_COLUMNS) if (row[name] === undefined || row[name] === null) throw new RowError(`missing ${name}`);
  for (const name in row) {
    const v = row[name];
    const kind = NUMERIC_KIND.get(name);
    if (kind === undefined || v === undefined || v === null) continue;
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new RowError(`${name} is not a finite number: ${String(v)}`);
    if (kind === 'i32' && (!Number.isInteger(v) || v < -2147483648 || v > 2147483647)) throw new RowError(`${name} is not a 32-bit integer: ${v}`);
    if (kind === 'ts' && Math.abs(v) > 8.64e18) throw new RowError(`${name} is out of range: ${v}`);
  }
  return row;
}

/** The first bytes of an input without consuming them: the rest of the stream follows. */
async function peek(chunks: AsyncIterable<Uint8Array>, want: number): Promise<{ head: Uint8Array; rest: AsyncIterator<Uint8Array> }> {
  const it = chunks[Symbol.asyncIterator]();
  const parts: Uint8Array[] = [];
  let length = 0;
  while (length < want) {
    const r = await it.next();
    if (r.done) break;
    parts.push(r.value);
    length += r.value.length;
  }
  return { head: Buffer.concat(parts), rest: it };
}

async function* resume(head: Uint8Array, rest: AsyncIterator<Uint8Array>): AsyncGenerator<Uint8Array> {
  if (head.length) yield head;
  for (;;) {
    const r = await rest.next();
    if (r.done) return;
    yield r.value;
  }
}

/**
 * Pass an input through unchanged, or gunzip it when it starts with the gzip magic (1f 8b), so
 * `heir ingest cic file.csv.gz` needs no separate step. A corrupt gzip stream is an InputError.
 *
 * @example for await (const out of parser.parse(maybeGunzip(createReadStream(path)), options)) …
 */
export async function* maybeGunzip(chunks: AsyncIterable<Uint8Array>, input = 'input'): AsyncGenerator<Uint8Array> {
  const { head, rest } = await peek(chunks, 2);
  if (head.length < 2 || head[0] !== 0x1f || head[1] !== 0x8b) {
    yield* resume(head, rest);
    return;
  }
  const gunzip = createGunzip();
  const source = Readable.from(resume(head, rest), { objectMode: false });
  source.on('error', (error) => gunzip.destroy(error));
  source.pipe(gunzip);
  try {
    for await (const chunk of gunzip) yield chunk as Uint8Array;
  } catch (error) {
    throw new InputError(input, `not a valid gzip stream: ${messageOf(error)}`, { cause: error });
  } finally {
    source.destroy();
  }
}

/** Column positions by header name (names trimmed; the first of a repeated name wins). */
export function headerIndex(fields: readonly string[]): Map<string, number> {
  const index = new Map<string, number>();
  fields.forEach((name, i) => {
    const key = name.trim();
    if (!index.has(key)) index.set(key, i);
  });
  return index;
}

/**
 * Writes the `features` JSON of rows: the named dataset columns as numbers. `inf`/`nan` are kept
 * as null (JSON has no infinity), and so is an empty cell; a value that is not a number at all is
 * a RowError naming the column. Keys are quoted once, at construction.
 */
export class FeatureWriter {
  private readonly keys: string[];

  constructor(private readonly names: readonly string[], private readonly positions: readonly number[]) {
    this.keys = names.map((n, k) => (k ? ',' : '{') + JSON.stringify(n) + ':');
  }

  /** The JSON object of one row's fields. */
  json(fields: readonly string[]): string {
    let out = '';
    for (let k = 0; k < this.keys.length; k++) {
      const text = fields[this.positions[k]];
      // An empty cell is a missing value (CIC leaves Std/Variance empty for one-packet windows).
      const v = text.trim() === '' ? NaN : parseNumber(text, true);
      if (v === null) throw new RowError(`${this.names[k]} is not a number: ${JSON.stringify(text.slice(0, 40))}`);
      out += this.keys[k] + (Number.isFinite(v) ? String(v) : 'null');
    }
    return this.keys.length ? out + '}' : '{}';
  }
}

const ISO_TIME = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?(Z|[+-]\d{2}:?\d{2})?$/;

/**
 * Epoch microseconds of an ISO 8601 time as Zeek and Suricata write it (`2024-03-01T10:00:00.000100+0000`,
 * `…Z`, no zone = UTC), keeping all six fraction digits (Date.parse keeps only milliseconds); null if not one.
 */
export function isoMicros(text: string): number | null {
  const m = ISO_TIME.exec(text.trim());
  if (!m) return null;
  const ms = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]));
  if (Number.isNaN(ms) || Number(m[2]) > 12 || Number(m[3]) > 31 || Number(m[4]) > 23 || Number(m[5]) > 59 || Number(m[6]) > 60) return null;
  const fraction = m[7] ? Math.round(Number(m[7]) * 1e6) : 0;
  let offsetMinutes = 0;
  if (m[8] && m[8] !== 'Z') {
    const z = m[8].replace(':', '');
    offsetMinutes = (z[0] === '-' ? -1 : 1) * (Number(z.slice(1, 3)) * 60 + Number(z.slice(3, 5)));
  }
  return (ms - offsetMinutes * 60000) * 1000 + fraction;
}
