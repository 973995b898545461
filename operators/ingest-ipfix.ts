/**
 * IPFIX (RFC 7011), NetFlow v9 (RFC 3954) and NetFlow v5 decoding: datagram bytes in, flow rows and
 * dead letters out. No I/O: the collector (`heir collect`) owns the socket; this module owns the
 * per-exporter state a template protocol needs:
 *
 * - Templates are cached per exporter (address:port) and observation domain (v9: source id).
 *   Template withdrawals (IPFIX field count 0) remove them. Options templates are parsed and
 *   recorded; their data records are not flows, but systemInitTimeMilliseconds (IE 160) from them
 *   anchors flowStart/EndSysUpTime (IEs 22/21), as softflowd exports it.
 * - Variable-length fields (length 65535) and enterprise-specific fields (the enterprise bit) are
 *   decoded; unknown ones are skipped by length. RFC 5103 reverse counters (enterprise 29305) give
 *   the backward direction of biflow records.
 * - Sequence numbers are checked per exporter/domain; a jump is counted as a gap (and the records
 *   it skipped, where the protocol counts records).
 * - Data sets that arrive before their template wait in a small bounded buffer and are decoded
 *   when the template arrives; when the buffer is full the oldest is dead-lettered, and
 *   `flushPending()` dead-letters the rest (at shutdown).
 *
 * Each template is compiled once into a field plan (an operation and a value slot per field, and
 * fixed offsets when no field has a variable length); records are decoded by walking the plan and
 * written straight into struct-of-arrays columns (ingest-ipfix-columns.ts), no object per record.
 * A fixed-length IPv4 template's plan is also compiled into a WebAssembly function that decodes a
 * whole data set at once (ipfix-wasm.ts: the same rows, byte for byte); other templates, and data
 * sets with a record that function leaves to this one, go field by field.
 * Flow identity (Community ID v1 and the flow id of flow schema v1, both SHA-1) is hashed per
 * datagram inside WebAssembly (pipeline/identity-batch.ts) and its text written into the column bytes: no
 * string per record.
 *
 * Records of unidirectional exporters become flows with zero backward counts: the two directions
 * of a connection stay two records (pairing them would need a flow cache and guesswork about
 * timeouts; a downstream operator can join them by Community ID).
 */
import { COMMUNITY_ID_INPUT_MAX, COMMUNITY_ID_TEXT_LENGTH, FLOW_ID_TEXT_LENGTH, communityIdInput, writeAddressText } from '../pipeline/flow-id.ts';
import { IdentityBatch } from '../pipeline/identity-batch.ts';
import { warn } from '../pipeline/warn.ts';
import type { FlowRow } from '../pipeline/flow-schema.ts';
import type { DeadLetter } from '../pipeline/types.ts';
import { ExportColumns, NUM, NUM_COUNT, TEXT, writeDigits, type TextColumn } from './ingest-ipfix-columns.ts';
import { BODY, CAP, DST_OFFSETS, DST_TEXT, FEATURE_OFFSETS, FEATURE_TEXT, NUMBERS, NUM_COLUMNS, REASON_NULLS, REASON_OFFSETS, REASON_TEXT, RESULT, SET_END, SRC_OFFSETS, SRC_TEXT, SetMemory, type PlanField, type SetDecode } from './ipfix-wasm.ts';

/** Information element ids HEIR maps (IANA IPFIX registry; NetFlow v9 field types share 1..127). */
export const IE = {
  octetDeltaCount: 1,
  packetDeltaCount: 2,
  protocolIdentifier: 4,
  tcpControlBits: 6,
  sourceTransportPort: 7,
  sourceIPv4Address: 8,
  ingressInterface: 10,
  destinationTransportPort: 11,
  destinationIPv4Address: 12,
  egressInterface: 14,
  flowEndSysUpTime: 21,
  flowStartSysUpTime: 22,
  sourceIPv6Address: 27,
  destinationIPv6Address: 28,
  icmpTypeCodeIPv4: 32,
  sourceMacAddress: 56,
  vlanId: 58,
  ipVersion: 60,
  destinationMacAddress: 80,
  octetTotalCount: 85,
  packetTotalCount: 86,
  flowEndReason: 136,
  icmpTypeCodeIPv6: 139,
  flowStartSeconds: 150,
  flowEndSeconds: 151,
  flowStartMilliseconds: 152,
  flowEndMilliseconds: 153,
  flowStartMicroseconds: 154,
  flowEndMicroseconds: 155,
  flowStartNanoseconds: 156,
  flowEndNanoseconds: 157,
  systemInitTimeMilliseconds: 160,
  initiatorOctets: 231,
  responderOctets: 232,
  biflowDirection: 239,
  dot1qVlanId: 243,
  initiatorPackets: 298,
  responderPackets: 299,
} as const;

/** RFC 5103 reverse information elements live under this private enterprise number. */
const REVERSE_PEN = 29305;
const VARIABLE = 65535;
/** Data sets kept while waiting for their template. */
const DEFAULT_MAX_PENDING = 64;
/** Templates per exporter/domain, and exporter/domain pairs, before new ones are refused. */
const MAX_TEMPLATES = 4096;
const MAX_DOMAINS = 4096;
/** Records of a data set reserved in the columns at once, at most. */
const MAX_RESERVED_ROWS = 1024;


/** One field of a template. */
interface FieldSpec {
  readonly id: number;
  readonly length: number;
  readonly enterprise: number;
}

/** A (data or options) template as it was announced. */
interface TemplateSpec {
  readonly id: number;
  readonly fields: readonly FieldSpec[];
  /** Scope fields of an options template (0 for a data template). */
  readonly scopeCount: number;
  readonly options: boolean;
  /** Smallest record length (variable-length fields count 1 byte). */
  readonly minLength: number;
}

/**
 * A template compiled for decoding: per field, the operation that reads it (OP_*, 0 = skip) and
 * the value slot it fills (V_*); when every field has a fixed length, its offset in the record.
 */
interface Template extends TemplateSpec {
  readonly ops: Uint8Array;
  readonly slots: Uint8Array;
  readonly lengths: Uint16Array;
  /** Field offsets within a record, or null when a field has a variable length. */
  readonly offsets: Uint16Array | null;
  /** Indices of the fields with an operation (the others are only skipped over). */
  readonly used: Uint16Array;
  /** Fixed-length templates: reads every used field of the record at `o` into its slot. */
  readonly read: RecordReader | null;
  /** Fixed-length IPv4 data templates: decodes a whole data set in WebAssembly (operators/ipfix-wasm.ts). */
  readonly decodeSet: SetDecode | null;
  /** The template has an interface field (its rows have `features` text). */
  readonly interfaces: boolean;
}

type RecordReader = (vals: Float64Array, b: Uint8Array, o: number) => void;

/** Per exporter + observation domain. */
interface DomainState {
  readonly templates: Map<number, Template>;
  expectedSequence: number | null;
  systemInitMs: number | null;
}

/** Header facts a data set needs to be decoded (also kept with a pending set). */
interface Context {
  readonly version: 5 | 9 | 10;
  readonly exporter: string;
  readonly domain: number;
  readonly sequence: number;
  /** Export time, epoch ms. */
  readonly exportMs: number;
  /** v9 and v5: sysUptime of the header, ms. */
  readonly sysUptimeMs: number;
  readonly stateKey: string;
  /** Sensor text and flow id prefix of the exporter. */
  readonly text: ExporterText;
}

interface PendingSet {
  readonly context: Context;
  readonly templateId: number;
  readonly body: Uint8Array;
}

/** What one datagram decoded to, its flows as row objects (tests, small tools). */
export interface DecodedDatagram extends DatagramResult {
  readonly flows: Partial<FlowRow>[];
}

/** What one datagram decoded to when its flows went into columns (`decodeInto`). */
export interface DatagramResult {
  /** 5, 9 or 10; 0 when the datagram could not be read at all. */
  readonly version: number;
  readonly domain: number;
  readonly sequence: number;
  /** Deterministic id of the datagram: `<ipfix|netflow9|netflow5>:<exporter>:<domain>:<sequence>`. */
  readonly batchId: string;
  /** Flow rows appended to the columns. */
  readonly records: number;
  readonly deadLetters: DeadLetter[];
}

/** Version, observation domain (v5: engine type and id) and sequence number of an export header. */
export interface ExportHeader {
  readonly version: 5 | 9 | 10;
  readonly domain: number;
  readonly sequence: number;
}

/** Counters of a decoder's life. */
export interface DecoderStats {
  datagrams: number;
  flows: number;
  templates: number;
  optionsTemplates: number;
  templateWithdrawals: number;
  optionsRecords: number;
  sequenceGaps: number;
  /** Records the gaps skipped (IPFIX and v5 count records; v9 counts datagrams). */
  missedRecords: number;
  deadLetters: number;
  /** Data sets that arrived before their template. */
  pendingSets: number;
  pendingDecoded: number;
  /** Records decoded a whole data set at a time in WebAssembly (operators/ipfix-wasm.ts). */
  wholeSetRecords: number;
}

/** Options of a decoder. */
export interface DecoderOptions {
  readonly site: string;
  /** Sensor id of the flows; defaults to the exporter address. */
  readonly sensor?: string;
  readonly maxPendingSets?: number;
  /**
   * Decode whole data sets of fixed-length IPv4 templates in WebAssembly (default true); false
   * keeps every template on the field-by-field path (tests compare the two).
   */
  readonly wholeSets?: boolean;
}

/** A malformed part of a datagram: the decoder dead-letters it and goes on. */
class DatagramError extends Error {}

// ---- field plan ------------------------------------------------------------------------------

// Value slots of one record (a Float64Array, NaN = absent). Address and MAC slots hold the
// field's byte offset in the data set.
const V_OCTETS = 0;
const V_PACKETS = 1;
const V_OCTETS_TOTAL = 2;
const V_PACKETS_TOTAL = 3;
const V_REV_OCTETS = 4;
const V_REV_PACKETS = 5;
const V_INIT_OCTETS = 6;
const V_RESP_OCTETS = 7;
const V_INIT_PACKETS = 8;
const V_RESP_PACKETS = 9;
const V_PROTO = 10;
const V_FLAGS = 11;
const V_REV_FLAGS = 12;
const V_SPORT = 13;
const V_DPORT = 14;
const V_ICMP = 15;
const V_SRC = 16;
const V_SRC_LEN = 17;
const V_DST = 18;
const V_DST_LEN = 19;
const V_START_US = 20;
const V_END_US = 21;
const V_START_UPTIME = 22;
const V_END_UPTIME = 23;
const V_SYSTEM_INIT = 24;
const V_END_REASON = 25;
const V_VLAN = 26;
const V_SRC_MAC = 27;
const V_DST_MAC = 28;
const V_BIFLOW = 29;
const V_INGRESS = 30;
const V_EGRESS = 31;
const SLOTS = 32;

// Operations: how a field's bytes become a slot value.
const OP_SKIP = 0;
const OP_UNSIGNED = 1;
const OP_SECONDS = 2;
const OP_MILLIS = 3;
const OP_NTP = 4;
const OP_IPV4 = 5;
const OP_IPV6 = 6;
const OP_MAC = 7;
const OP_VLAN = 8;

/** Operation and slot of an information element (IANA ids; v9 field types share 1..127). */
const PLAN: ReadonlyMap<number, readonly [op: number, slot: number]> = new Map([
  [IE.octetDeltaCount, [OP_UNSIGNED, V_OCTETS]],
  [IE.packetDeltaCount, [OP_UNSIGNED, V_PACKETS]],
  [IE.octetTotalCount, [OP_UNSIGNED, V_OCTETS_TOTAL]],
  [IE.packetTotalCount, [OP_UNSIGNED, V_PACKETS_TOTAL]],
  [IE.initiatorOctets, [OP_UNSIGNED, V_INIT_OCTETS]],
  [IE.responderOctets, [OP_UNSIGNED, V_RESP_OCTETS]],
  [IE.initiatorPackets, [OP_UNSIGNED, V_INIT_PACKETS]],
  [IE.responderPackets, [OP_UNSIGNED, V_RESP_PACKETS]],
  [IE.protocolIdentifier, [OP_UNSIGNED, V_PROTO]],
  [IE.tcpControlBits, [OP_UNSIGNED, V_FLAGS]],
  [IE.sourceTransportPort, [OP_UNSIGNED, V_SPORT]],
  [IE.destinationTransportPort, [OP_UNSIGNED, V_DPORT]],
  [IE.icmpTypeCodeIPv4, [OP_UNSIGNED, V_ICMP]],
  [IE.icmpTypeCodeIPv6, [OP_UNSIGNED, V_ICMP]],
  [IE.sourceIPv4Address, [OP_IPV4, V_SRC]],
  [IE.destinationIPv4Address, [OP_IPV4, V_DST]],
  [IE.sourceIPv6Address, [OP_IPV6, V_SRC]],
  [IE.destinationIPv6Address, [OP_IPV6, V_DST]],
  [IE.ingressInterface, [OP_UNSIGNED, V_INGRESS]],
  [IE.egressInterface, [OP_UNSIGNED, V_EGRESS]],
  [IE.flowStartSysUpTime, [OP_UNSIGNED, V_START_UPTIME]],
  [IE.flowEndSysUpTime, [OP_UNSIGNED, V_END_UPTIME]],
  [IE.flowStartSeconds, [OP_SECONDS, V_START_US]],
  [IE.flowEndSeconds, [OP_SECONDS, V_END_US]],
  [IE.flowStartMilliseconds, [OP_MILLIS, V_START_US]],
  [IE.flowEndMilliseconds, [OP_MILLIS, V_END_US]],
  [IE.flowStartMicroseconds, [OP_NTP, V_START_US]],
  [IE.flowStartNanoseconds, [OP_NTP, V_START_US]],
  [IE.flowEndMicroseconds, [OP_NTP, V_END_US]],
  [IE.flowEndNanoseconds, [OP_NTP, V_END_US]],
  [IE.systemInitTimeMilliseconds, [OP_UNSIGNED, V_SYSTEM_INIT]],
  [IE.flowEndReason, [OP_UNSIGNED, V_END_REASON]],
  [IE.vlanId, [OP_VLAN, V_VLAN]],
  [IE.dot1qVlanId, [OP_VLAN, V_VLAN]],
  [IE.sourceMacAddress, [OP_MAC, V_SRC_MAC]],
  [IE.destinationMacAddress, [OP_MAC, V_DST_MAC]],
  [IE.biflowDirection, [OP_UNSIGNED, V_BIFLOW]],
]);

/** RFC 5103 reverse elements HEIR maps (enterprise 29305). */
const REVERSE_PLAN: ReadonlyMap<number, readonly [op: number, slot: number]> = new Map([
  [IE.octetDeltaCount, [OP_UNSIGNED, V_REV_OCTETS]],
  [IE.octetTotalCount, [OP_UNSIGNED, V_REV_OCTETS]],
  [IE.packetDeltaCount, [OP_UNSIGNED, V_REV_PACKETS]],
  [IE.packetTotalCount, [OP_UNSIGNED, V_REV_PACKETS]],
  [IE.tcpControlBits, [OP_UNSIGNED, V_REV_FLAGS]],
]);

/** Compile a template's field plan once, when it arrives. */
function compile(spec: TemplateSpec, sets: SetMemory | null): Template {
  const n = spec.fields.length;
  const ops = new Uint8Array(n);
  const slots = new Uint8Array(n);
  const lengths = new Uint16Array(n);
  let offsets: Uint16Array | null = new Uint16Array(n);
  const used: number[] = [];
  let at = 0;
  spec.fields.forEach((field, f) => {
    lengths[f] = field.length;
    if (field.length === VARIABLE) offsets = null;
    else if (offsets) offsets[f] = at;
    at += field.length;
    // Scope fields of options templates describe what the options apply to: not record values.
    if (spec.options && f < spec.scopeCount) return;
    const plan = field.enterprise === 0 ? PLAN.get(field.id) : field.enterprise === REVERSE_PEN ? REVERSE_PLAN.get(field.id) : undefined;
    if (!plan) return;
    // Fixed lengths a reader needs are checked here, once (variable-length fields per record).
    const [op, slot] = plan;
    if (field.length !== VARIABLE && ((op === OP_IPV4 && field.length !== 4) || (op === OP_IPV6 && field.length !== 16) || (op === OP_MAC && field.length !== 6) || (op === OP_NTP && field.length !== 8))) return;
    ops[f] = op;
    slots[f] = slot;
    used.push(f);
  });
  const usedFields = Uint16Array.from(used);
  const fixed: Uint16Array | null = offsets;
  let decodeSet: SetDecode | null = null;
  if (fixed !== null && sets !== null && !spec.options) {
    const plan: PlanField[] = used.map((f) => ({ op: ops[f], slot: slots[f], offset: fixed[f], length: lengths[f] }));
    decodeSet = sets.compile(plan, spec.minLength);
  }
  const interfaces = used.some((f) => slots[f] === V_INGRESS || slots[f] === V_EGRESS);
  return { ...spec, ops, slots, lengths, offsets, used: usedFields, read: fixed === null ? null : compileReader(ops, slots, lengths, fixed, usedFields), decodeSet, interfaces };
}

/** Source text of `readUnsigned(b, at, length)` for the fixed lengths it unrolls. */
function unsignedSource(at: string, length: number): string {
  const byte = (i: number) => `b[${at} + ${i}]`;
  const word = (i: number) => `(((${byte(i)} << 24) | (${byte(i + 1)} << 16) | (${byte(i + 2)} << 8) | ${byte(i + 3)}) >>> 0)`;
  switch (length) {
    case 1:
      return byte(0);
    case 2:
      return `((${byte(0)} << 8) | ${byte(1)})`;
    case 4:
      return word(0);
    case 8:
      return `(${word(0)} * 4294967296 + ${word(4)})`;
    default:
      return `readUnsigned(b, ${at}, ${length})`;
  }
}

/**
 * A fixed-length template's record reader: straight-line code (generated once per template, as
 * the SHA-1 rounds are) that reads each used field at its constant offset into its slot, the
 * same values `readField` gives, without a dispatch per field.
 */
function compileReader(ops: Uint8Array, slots: Uint8Array, lengths: Uint16Array, offsets: Uint16Array, used: Uint16Array): RecordReader {
  const lines: string[] = [];
  for (const f of used) {
    const at = `o + ${offsets[f]}`;
    const slot = slots[f];
    const u = unsignedSource(at, lengths[f]);
    switch (ops[f]) {
      case OP_UNSIGNED:
        lines.push(`v[${slot}] = ${u};`);
        break;
      case OP_SECONDS:
        lines.push(`v[${slot}] = ${u} * 1e6;`);
        break;
      case OP_MILLIS:
        lines.push(`v[${slot}] = ${u} * 1000;`);
        break;
      case OP_NTP:
        lines.push(`v[${slot}] = ntpMicros(b, ${at});`);
        break;
      case OP_IPV4:
      case OP_IPV6:
        lines.push(`v[${slot}] = ${at};`, `v[${slot + 1}] = ${lengths[f]};`);
        break;
      case OP_MAC:
        lines.push(`v[${slot}] = ${at};`);
        break;
      case OP_VLAN:
        lines.push(`v[${slot}] = ${u} & 0x0fff;`);
        break;
      default:
        break;
    }
  }
  return new Function('readUnsigned', 'ntpMicros', `return (v, b, o) => {\n${lines.join('\n')}\n};`)(readUnsigned, ntpMicros) as RecordReader;
}

/** True when a template announcement repeats a known template field for field. */
function sameTemplate(known: TemplateSpec, spec: TemplateSpec): boolean {
  if (known.options !== spec.options || known.scopeCount !== spec.scopeCount || known.fields.length !== spec.fields.length) return false;
  for (let f = 0; f < spec.fields.length; f++) {
    const a = known.fields[f];
    const b = spec.fields[f];
    if (a.id !== b.id || a.length !== b.length || a.enterprise !== b.enterprise) return false;
  }
  return true;
}

/**
 * When the `count` template fields at `o` repeat `known`'s (ids, lengths, enterprise numbers) and
 * lie within the set, the offset after them; else -1 (the caller parses them as new).
 */
function repeatsKnown(view: DataView, o: number, count: number, known: TemplateSpec, ipfix = true): number {
  const fields = known.fields;
  if (fields.length !== count) return -1;
  const limit = view.byteLength;
  for (let i = 0; i < count; i++) {
    if (o + 4 > limit) return -1;
    const f = fields[i];
    let id = view.getUint16(o);
    if (view.getUint16(o + 2) !== f.length) return -1;
    o += 4;
    let enterprise = 0;
    // (NetFlow v9 field types have no enterprise bit.)
    if (ipfix && id & 0x8000) {
      if (o + 4 > limit) return -1;
      id &= 0x7fff;
      enterprise = view.getUint32(o);
      o += 4;
    }
    if (id !== f.id || enterprise !== f.enterprise) return -1;
  }
  return o;
}

/** Unsigned big-endian integer of 1..8 bytes (reduced-size encoding), exact up to 2^53. */
function readUnsigned(b: Uint8Array, o: number, length: number): number {
  switch (length) {
    case 1:
      return b[o];
    case 2:
      return (b[o] << 8) | b[o + 1];
    case 4:
      return ((b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]) >>> 0;
    case 8:
      return (((b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]) >>> 0) * 4294967296 + (((b[o + 4] << 24) | (b[o + 5] << 16) | (b[o + 6] << 8) | b[o + 7]) >>> 0);
    default: {
      let v = 0;
      for (let i = 0; i < length && i < 8; i++) v = v * 256 + b[o + i];
      return v;
    }
  }
}

/** NTP-format (RFC 5905) 64-bit timestamp to epoch microseconds. */
function ntpMicros(b: Uint8Array, o: number): number {
  const seconds = readUnsigned(b, o, 4) - 2208988800;
  const fraction = readUnsigned(b, o + 4, 4);
  return seconds * 1e6 + Math.round((fraction / 4294967296) * 1e6);
}

/** Read one field (its bytes at `b[o]`) into its slot. */
function readField(vals: Float64Array, b: Uint8Array, op: number, slot: number, o: number, length: number): void {
  switch (op) {
    case OP_UNSIGNED:
      vals[slot] = readUnsigned(b, o, length);
      break;
    case OP_SECONDS:
      vals[slot] = readUnsigned(b, o, length) * 1e6;
      break;
    case OP_MILLIS:
      vals[slot] = readUnsigned(b, o, length) * 1000;
      break;
    case OP_NTP:
      if (length === 8) vals[slot] = ntpMicros(b, o);
      break;
    case OP_IPV4:
    case OP_IPV6:
      if (length === (op === OP_IPV4 ? 4 : 16)) {
        vals[slot] = o;
        vals[slot + 1] = length;
      }
      break;
    case OP_MAC:
      if (length === 6) vals[slot] = o;
      break;
    case OP_VLAN:
      vals[slot] = readUnsigned(b, o, length) & 0x0fff;
      break;
    default:
      break;
  }
}

// ---- text written into the columns -----------------------------------------------------------

const ascii = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0));
const SOURCE_TEXT: Readonly<Record<number, Uint8Array>> = { 5: ascii('netflow5'), 9: ascii('netflow9'), 10: ascii('ipfix') };
const END_REASON_TEXT: readonly (Uint8Array | undefined)[] = [undefined, ascii('idle'), ascii('active'), ascii('fin'), ascii('eof'), ascii('exporter')];
const HEX = ascii('0123456789abcdef');
const INGRESS_TEXT = ascii('"ingressInterface":');
const EGRESS_TEXT = ascii('"egressInterface":');
/** Decimal text of an integer as String(v) gives it (digits for safe ones); returns the new end. */
function writeInteger(out: Uint8Array, at: number, v: number): number {
  if (v >= 0 && v <= Number.MAX_SAFE_INTEGER) return writeDigits(out, at, v);
  const s = String(v);
  for (let i = 0; i < s.length; i++) out[at + i] = s.charCodeAt(i);
  return at + s.length;
}

/** Per byte value its decimal text (up to 3 bytes) and, in the fourth byte, the text's length. */
const OCTET_TEXT = (() => {
  const table = new Uint8Array(1024);
  for (let v = 0; v < 256; v++) {
    const digits = String(v);
    for (let i = 0; i < digits.length; i++) table[4 * v + i] = digits.charCodeAt(i);
    table[4 * v + 3] = digits.length;
  }
  return table;
})();

/**
 * `writeAddressText` (pipeline/flow-id.ts) for addresses of either length: IPv4's dotted text
 * from a table of octet text, IPv6 through it.
 */
function addressText(out: Uint8Array, at: number, bytes: Uint8Array, o: number, length: number): number {
  if (length !== 4) return writeAddressText(out, at, bytes, o, length);
  for (let i = 0; i < 4; i++) {
    if (i) out[at++] = 46; // .
    const e = bytes[o + i] << 2;
    const n = OCTET_TEXT[e + 3];
    out[at] = OCTET_TEXT[e];
    if (n > 1) {
      out[at + 1] = OCTET_TEXT[e + 1];
      if (n > 2) out[at + 2] = OCTET_TEXT[e + 2];
    }
    at += n;
  }
  return at;
}

/** Text of an exporter the rows repeat: its sensor id and the flow id prefix `site\0sensor\0`. */
interface ExporterText {
  readonly sensor: Uint8Array;
  readonly idPrefix: Uint8Array;
  /** Bytes a row's longest text may take (every column is reserved this much per row). */
  readonly rowText: number;
  /** The sensor text repeated (whole-set rows copy theirs from it). */
  readonly sensorRun: Uint8Array;
}

/** Bytes of a repeated-text buffer, at most (a data set's rows copy their constant text from one). */
const RUN_BYTES = 4096;

/** `value` repeated as often as fits in RUN_BYTES (at least once). */
function repeatedText(value: Uint8Array): Uint8Array {
  const copies = Math.max(1, Math.floor(RUN_BYTES / Math.max(1, value.length)));
  const run = new Uint8Array(copies * value.length);
  for (let i = 0; i < copies; i++) run.set(value, i * value.length);
  return run;
}

/** The source words repeated, per export version. */
const SOURCE_RUN: Readonly<Record<number, Uint8Array>> = { 5: repeatedText(SOURCE_TEXT[5]), 9: repeatedText(SOURCE_TEXT[9]), 10: repeatedText(SOURCE_TEXT[10]) };

/** Longest text of a row besides site and sensor: `features` with two 2^53 interface numbers. */
const ROW_TEXT_MIN = 96;

/** Append bytes to the current row of a text column that has room for them. */
function put(t: TextColumn, src: Uint8Array): void {
  const bytes = t.bytes;
  let at = t.end;
  for (let i = 0; i < src.length; i++) bytes[at++] = src[i];
  t.end = at;
}

/**
 * Rows of one column whose text repeats the previous row's (site, sensor, source, end reason and
 * features text barely change within a datagram): the first copy is written, the next ones only
 * take their place, and `fillRun` copies them in with a few doubling copyWithin calls before the
 * datagram's rows are handed back.
 */
class RepeatRun {
  /** Text of constant columns (compared by identity), or null. */
  value: Uint8Array | null = null;
  /** Numbers the text was made of (features: ingress, egress; -1 = absent). */
  a = -1;
  b = -1;
  /** Where the first copy starts in the column bytes, its length, and the copies of the run. */
  start = 0;
  length = 0;
  count = 0;
}

/** True when the next copy of the run fits right after it in column t: its place is taken. */
function continueRun(t: TextColumn, r: RepeatRun): boolean {
  if (r.count === 0 || t.end !== r.start + r.count * r.length) return false;
  t.end += r.length;
  r.count++;
  return true;
}

/** Bytes of a run filled by a byte loop instead of copyWithin calls. */
const SHORT_RUN = 256;

/** Copy the first text of a run into the places its other rows took; the run ends. */
function fillRun(t: TextColumn, r: RepeatRun): void {
  const total = r.count * r.length;
  if (total <= SHORT_RUN) {
    // Short runs (a datagram's site, sensor or source words): a byte loop costs less than the
    // copyWithin calls. Each byte repeats the one a copy's length before it.
    const bytes = t.bytes;
    const length = r.length;
    const end = r.start + total;
    for (let i = r.start + length; i < end; i++) bytes[i] = bytes[i - length];
    r.count = 0;
    return;
  }
  let filled = r.length;
  while (filled < total) {
    const n = Math.min(filled, total - filled);
    t.bytes.copyWithin(r.start + filled, r.start, r.start + n);
    filled += n;
  }
  r.count = 0;
}

/** Copy a whole-set decoder's text run (`from` in its memory) into column t, up to the column end `end`. */
function copyText(t: TextColumn, memory: Uint8Array, from: number, end: number): void {
  const start = t.end;
  if (end - start > 32) t.bytes.set(memory.subarray(from, from + end - start), start);
  else {
    const bytes = t.bytes;
    const shift = from - start;
    for (let i = start; i < end; i++) bytes[i] = memory[i + shift];
  }
  t.end = end;
}

/**
 * Write `value` n times at the end of column t (reserved room), from `run` (value repeated);
 * returns where the copies start.
 */
function fillConstant(t: TextColumn, value: Uint8Array, run: Uint8Array, n: number): number {
  const bytes = t.bytes;
  const length = value.length;
  const start = t.end;
  const total = length * n;
  if (total <= run.length) bytes.set(total === run.length ? run : run.subarray(0, total), start);
  else {
    bytes.set(run, start);
    let filled = run.length;
    while (filled < total) {
      const k = Math.min(filled, total - filled);
      bytes.copyWithin(start + filled, start, start + k);
      filled += k;
    }
  }
  t.end = start + total;
  return start;
}

/** Append a constant text to the current row of column t, through its run. */
function putRepeated(t: TextColumn, r: RepeatRun, value: Uint8Array): void {
  if (r.value === value && continueRun(t, r)) return;
  if (r.count > 0) fillRun(t, r);
  r.value = value;
  r.start = t.end;
  r.length = value.length;
  r.count = 1;
  put(t, value);
}

// `emit` and `wholeSet` close rows by writing each text column's offset themselves: they know
// this many columns (and `wholeSet` this many numeric columns).
if (Object.keys(TEXT).length !== 11) throw new Error('emit writes the offsets of 11 text columns; TEXT has another number');
if (NUM_COUNT !== NUM_COLUMNS) throw new Error(`the whole-set decoder writes ${NUM_COLUMNS} numeric columns; NUM has another number`);

/** The columns written through runs, in `FlowDecoder.runs` order. */
const RUN_COLUMNS = [TEXT.site_id, TEXT.sensor_id, TEXT.source, TEXT.end_reason, TEXT.features] as const;

const utf8 = new TextEncoder();
/** Site and sensor text accepted, in bytes (twice this bounds a flow id's hash input). */
const ID_INPUT_MAX = 8192;
/**
 * Version, domain and sequence number of an export datagram's header, or null when the datagram
 * is too short or of another version (the collector groups datagrams into batches by these).
 */
export function exportHeader(datagram: Uint8Array): ExportHeader | null {
  if (datagram.length < 4) return null;
  const view = new DataView(datagram.buffer, datagram.byteOffset, datagram.byteLength);
  const version = view.getUint16(0);
  if (version === 10 && datagram.length >= 16) return { version, domain: view.getUint32(12), sequence: view.getUint32(8) };
  if (version === 9 && datagram.length >= 20) return { version, domain: view.getUint32(16), sequence: view.getUint32(12) };
  if (version === 5 && datagram.length >= 24) return { version, domain: (view.getUint8(20) << 8) | view.getUint8(21), sequence: view.getUint32(16) };
  return null;
}

/**
 * A stateful decoder of IPFIX / NetFlow v9 / v5 datagrams. One instance serves any number of
 * exporters; feed it datagrams in arrival order.
 *
 * @example
 * const decoder = new FlowDecoder({ site: 'h1' });
 * const columns = new ExportColumns();
 * const { records, deadLetters, batchId } = decoder.decodeInto(datagram, '10.0.0.1:50123', columns);
 * const batch = columns.toBatch();
 */
export class FlowDecoder {
  readonly stats: DecoderStats = {
    datagrams: 0,
    flows: 0,
    templates: 0,
    optionsTemplates: 0,
    templateWithdrawals: 0,
    optionsRecords: 0,
    sequenceGaps: 0,
    missedRecords: 0,
    deadLetters: 0,
    pendingSets: 0,
    pendingDecoded: 0,
    wholeSetRecords: 0,
  };
  private readonly states = new Map<string, DomainState>();
  private readonly pending: PendingSet[] = [];
  private readonly maxPending: number;
  /** Slot values of the record being decoded. */
  private readonly vals = new Float64Array(SLOTS);
  private readonly exporters = new Map<string, ExporterText>();
  private readonly siteText: Uint8Array;
  /** The site text repeated (whole-set rows copy theirs from it). */
  private readonly siteRun: Uint8Array;
  /**
   * Community ID inputs and flow id messages of the flows of the datagram being decoded, hashed
   * once per datagram; their id text goes to the columns from these offsets on (-1: none yet).
   * Only ids are written into those two columns, so a datagram's ids lie there one after another.
   */
  private readonly ids: IdentityBatch;
  private cidColumnAt = -1;
  private fidColumnAt = -1;
  /** Runs of repeated text in the datagram being decoded, one per column of RUN_COLUMNS. */
  private readonly runs = RUN_COLUMNS.map(() => new RepeatRun());
  /** Rows the columns have room for (text included) before `emit` must reserve again. */
  private rowsReserved = 0;
  /** Memory of the whole-set decoders of this decoder's templates (made with the first template; null: field by field only). */
  private sets: SetMemory | null = null;
  private wholeSets: boolean;

  constructor(private readonly options: DecoderOptions) {
    this.maxPending = options.maxPendingSets ?? DEFAULT_MAX_PENDING;
    this.wholeSets = options.wholeSets !== false && typeof WebAssembly === 'object';
    // Whole-set functions share the identity batch's memory: it keeps their region free.
    this.ids = new IdentityBatch(this.wholeSets ? SET_END : undefined);
    if (!Number.isInteger(this.maxPending) || this.maxPending < 0) throw new RangeError(`invalid maxPendingSets: ${options.maxPendingSets}`);
    this.siteText = utf8.encode(options.site);
    this.siteRun = repeatedText(this.siteText);
    if (this.siteText.length + 3 * (options.sensor?.length ?? 0) > ID_INPUT_MAX / 2) throw new RangeError(`invalid site/sensor: longer than ${ID_INPUT_MAX / 2} bytes`);
  }

  /** Number of templates known for an exporter/domain (tests, the collector's summary). */
  templateCount(exporter?: string, domain?: number): number {
    if (exporter !== undefined) return this.states.get(`${exporter}/${domain ?? 0}`)?.templates.size ?? 0;
    let n = 0;
    for (const s of this.states.values()) n += s.templates.size;
    return n;
  }

  /** Data sets waiting for their template. */
  get pendingCount(): number {
    return this.pending.length;
  }

  /** Decode one datagram from `exporter` (address:port) into flow row objects. Never throws on bad bytes. */
  decode(datagram: Uint8Array, exporter: string): DecodedDatagram {
    const columns = new ExportColumns(32);
    const result = this.decodeInto(datagram, exporter, columns);
    return { ...result, flows: columns.rows() };
  }

  /**
   * Decode one datagram from `exporter` (address:port), appending its flows to `out`. Never
   * throws on bad bytes: malformed parts come back as dead letters.
   */
  decodeInto(datagram: Uint8Array, exporter: string, out: ExportColumns): DatagramResult {
    this.stats.datagrams++;
    const before = out.length;
    const deadLetters: DeadLetter[] = [];
    const view = new DataView(datagram.buffer, datagram.byteOffset, datagram.byteLength);
    let version = 0;
    let domain = 0;
    let sequence = 0;
    try {
      if (datagram.length < 4) throw new DatagramError(`datagram of ${datagram.length} bytes is too short for a NetFlow/IPFIX header`);
      version = view.getUint16(0);
      if (version === 10) ({ domain, sequence } = this.decodeIpfix(view, datagram, exporter, out, deadLetters));
      else if (version === 9) ({ domain, sequence } = this.decodeV9(view, datagram, exporter, out, deadLetters));
      else if (version === 5) ({ domain, sequence } = this.decodeV5(view, datagram, exporter, out));
      else throw new DatagramError(`unsupported version ${version} (expected 10 IPFIX, 9 or 5 NetFlow)`);
    } catch (error) {
      if (!(error instanceof DatagramError)) throw error;
      deadLetters.push(this.dead(exporter, error.message, datagram));
    } finally {
      this.finishIdentity(out);
    }
    const source = version === 10 ? 'ipfix' : version === 9 ? 'netflow9' : version === 5 ? 'netflow5' : 'flowexport';
    return { version, domain, sequence, batchId: `${source}:${exporter}:${domain}:${sequence}`, records: out.length - before, deadLetters };
  }

  /**
   * Hash the identity inputs of the flows emitted since the last call (two SHA-1 batches: the
   * Community IDs, then the flow ids whose keys hold them) and write the ids' text into the
   * places `emit` took for them in the columns.
   */
  private finishIdentity(out: ExportColumns): void {
    for (let i = 0; i < RUN_COLUMNS.length; i++) {
      const r = this.runs[i];
      if (r.count > 0) fillRun(out.text[RUN_COLUMNS[i]], r);
    }
    const ids = this.ids;
    if (ids.flowIds === 0) return;
    ids.run();
    const memory = ids.bytes;
    const nc = ids.communityIds;
    if (nc > 0) out.text[TEXT.community_id].bytes.set(memory.subarray(ids.communityIdText, ids.communityIdText + nc * COMMUNITY_ID_TEXT_LENGTH), this.cidColumnAt);
    out.text[TEXT.flow_id].bytes.set(memory.subarray(ids.flowIdText, ids.flowIdText + ids.flowIds * FLOW_ID_TEXT_LENGTH), this.fidColumnAt);
    ids.clear();
    this.cidColumnAt = -1;
    this.fidColumnAt = -1;
  }

  /** Dead-letter every data set still waiting for a template (call at shutdown). */
  flushPending(): DeadLetter[] {
    const out = this.pending.map((p) => this.dead(p.context.exporter, `data set for template ${p.templateId} (domain ${p.context.domain}, sequence ${p.context.sequence}) never got its template`, p.body));
    this.pending.length = 0;
    return out;
  }

  private dead(exporter: string, reason: string, payload: Uint8Array): DeadLetter {
    this.stats.deadLetters++;
    return { input: `udp:${exporter}`, stage: 'ingest-ipfix', reason, payload: payload.slice(0, 65536) };
  }

  private state(exporter: string, domain: number): DomainState {
    const key = `${exporter}/${domain}`;
    let s = this.states.get(key);
    if (!s) {
      if (this.states.size >= MAX_DOMAINS) throw new DatagramError(`more than ${MAX_DOMAINS} exporter/domain pairs: ${key} refused`);
      s = { templates: new Map(), expectedSequence: null, systemInitMs: null };
      this.states.set(key, s);
    }
    return s;
  }

  private checkSequence(state: DomainState, sequence: number): void {
    if (state.expectedSequence !== null && sequence !== state.expectedSequence) {
      this.stats.sequenceGaps++;
      const skipped = (sequence - state.expectedSequence) >>> 0;
      // A forward jump skipped records; a backward one is a restart or reordering.
      if (skipped < 0x80000000) this.stats.missedRecords += skipped;
    }
  }

  /** Sensor text and flow id prefix of an exporter (made once per exporter). */
  private exporterText(exporter: string): ExporterText {
    let t = this.exporters.get(exporter);
    if (t === undefined) {
      const sensor = utf8.encode(this.options.sensor ?? exporter.replace(/:\d+$/, ''));
      const idPrefix = new Uint8Array(this.siteText.length + sensor.length + 2);
      idPrefix.set(this.siteText, 0);
      idPrefix.set(sensor, this.siteText.length + 1);
      t = { sensor, idPrefix, rowText: Math.max(ROW_TEXT_MIN, sensor.length, this.siteText.length), sensorRun: repeatedText(sensor) };
      if (this.exporters.size >= MAX_DOMAINS) this.exporters.clear();
      this.exporters.set(exporter, t);
    }
    return t;
  }
  // ---- IPFIX -------------------------------------------------------------------------------

  private decodeIpfix(view: DataView, datagram: Uint8Array, exporter: string, out: ExportColumns, deadLetters: DeadLetter[]) {
    if (datagram.length < 16) throw new DatagramError(`IPFIX message of ${datagram.length} bytes is shorter than its 16-byte header`);
    const length = view.getUint16(2);
    if (length < 16 || length > datagram.length) throw new DatagramError(`IPFIX message length ${length} does not fit the ${datagram.length}-byte datagram`);
    const exportMs = view.getUint32(4) * 1000;
    const sequence = view.getUint32(8);
    const domain = view.getUint32(12);
    const state = this.state(exporter, domain);
    this.checkSequence(state, sequence);
    const context: Context = { version: 10, exporter, domain, sequence, exportMs, sysUptimeMs: 0, stateKey: `${exporter}/${domain}`, text: this.exporterText(exporter) };
    let records = 0;
    let unknownCount = false;
    let offset = 16;
    while (offset + 4 <= length) {
      const setId = view.getUint16(offset);
      const setLength = view.getUint16(offset + 2);
      if (setLength < 4 || offset + setLength > length) {
        deadLetters.push(this.dead(exporter, `set ${setId} at byte ${offset} has length ${setLength}, past the message end (${length})`, datagram));
        unknownCount = true;
        break;
      }
      const body = datagram.subarray(offset + 4, offset + setLength);
      try {
        if (setId === 2 || setId === 3) this.ipfixTemplates(body, setId === 3, state, context, out, deadLetters);
        else if (setId >= 256) {
          const n = this.dataSet(body, setId, state, context, out, deadLetters);
          if (n < 0) unknownCount = true;
          else records += n;
        } else throw new DatagramError(`reserved set id ${setId}`);
      } catch (error) {
        if (!(error instanceof DatagramError)) throw error;
        deadLetters.push(this.dead(exporter, `set ${setId} at byte ${offset}: ${error.message}`, body));
        if (setId >= 256) unknownCount = true;
      }
      offset += setLength;
    }
    // IPFIX sequence numbers count data records; unknown when a set could not be counted.
    state.expectedSequence = unknownCount ? null : (sequence + records) >>> 0;
    return { domain, sequence };
  }

  private ipfixTemplates(body: Uint8Array, options: boolean, state: DomainState, context: Context, out: ExportColumns, deadLetters: DeadLetter[]): void {
    const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
    let o = 0;
    // Records until only padding (< 4 bytes) is left.
    while (o + 4 <= body.length) {
      const id = view.getUint16(o);
      const count = view.getUint16(o + 2);
      o += 4;
      if (id === 0 && count === 0) break; // padding
      if (count === 0) {
        // Withdrawal (RFC 7011 8.1); id 2/3 withdraws all.
        if (id === 2 || id === 3) state.templates.clear();
        else state.templates.delete(id);
        this.stats.templateWithdrawals++;
        continue;
      }
      if (id < 256) throw new DatagramError(`template id ${id} is below 256`);
      let scopeCount = 0;
      if (options) {
        if (o + 2 > body.length) throw new DatagramError(`options template ${id} is truncated`);
        scopeCount = view.getUint16(o);
        o += 2;
        if (scopeCount === 0 || scopeCount > count) throw new DatagramError(`options template ${id} has ${scopeCount} scope fields of ${count}`);
      }
      // Exporters resend their templates every few messages: one that repeats the known template
      // field for field is read in place, without building its field list.
      const known = state.templates.get(id);
      if (known !== undefined && known.options === options && known.scopeCount === scopeCount) {
        const end = repeatsKnown(view, o, count, known);
        if (end >= 0) {
          o = end;
          this.addTemplate(state, known, context, out, deadLetters);
          continue;
        }
      }
      const fields: FieldSpec[] = [];
      let minLength = 0;
      for (let i = 0; i < count; i++) {
        if (o + 4 > body.length) throw new DatagramError(`template ${id} is truncated at field ${i + 1} of ${count}`);
        let fieldId = view.getUint16(o);
        const fieldLength = view.getUint16(o + 2);
        o += 4;
        let enterprise = 0;
        if (fieldId & 0x8000) {
          if (o + 4 > body.length) throw new DatagramError(`template ${id} is truncated in the enterprise number of field ${i + 1}`);
          fieldId &= 0x7fff;
          enterprise = view.getUint32(o);
          o += 4;
        }
        if (fieldLength === 0) throw new DatagramError(`template ${id} field ${fieldId} has length 0`);
        minLength += fieldLength === VARIABLE ? 1 : fieldLength;
        fields.push({ id: fieldId, length: fieldLength, enterprise });
      }
      this.addTemplate(state, { id, fields, scopeCount, options, minLength }, context, out, deadLetters);
    }
  }

  private addTemplate(state: DomainState, spec: TemplateSpec, context: Context, out: ExportColumns, deadLetters: DeadLetter[]): void {
    // Exporters resend their templates every few messages: an unchanged one keeps its plan.
    const known = state.templates.get(spec.id);
    if (this.sets === null && this.wholeSets && !spec.options) {
      try {
        this.sets = new SetMemory(this.ids.memory);
      } catch (error) {
        // No memory for the module (address space): every template goes field by field.
        if (!(error instanceof RangeError)) throw error;
        this.wholeSets = false;
        warn(`IPFIX decoder: whole data sets are decoded field by field (${error.message})`);
      }
    }
    const template = known !== undefined && sameTemplate(known, spec) ? known : compile(spec, this.sets);
    if (!state.templates.has(template.id) && state.templates.size >= MAX_TEMPLATES) throw new DatagramError(`more than ${MAX_TEMPLATES} templates for ${context.stateKey}`);
    state.templates.set(template.id, template);
    if (template.options) this.stats.optionsTemplates++;
    else this.stats.templates++;
    // Data sets that came first are decoded now, in their own header context.
    for (let i = 0; i < this.pending.length; ) {
      const p = this.pending[i];
      if (p.context.stateKey !== context.stateKey || p.templateId !== template.id) {
        i++;
        continue;
      }
      this.pending.splice(i, 1);
      this.stats.pendingDecoded++;
      try {
        this.records(p.body, template, state, p.context, out);
      } catch (error) {
        if (!(error instanceof DatagramError)) throw error;
        deadLetters.push(this.dead(p.context.exporter, `buffered data set ${template.id}: ${error.message}`, p.body));
      }
    }
  }

  /** Decode a data set; returns the records decoded, or -1 when it waits for its template. */
  private dataSet(body: Uint8Array, setId: number, state: DomainState, context: Context, out: ExportColumns, deadLetters: DeadLetter[]): number {
    const template = state.templates.get(setId);
    if (template === undefined) {
      this.stats.pendingSets++;
      if (this.maxPending === 0) {
        deadLetters.push(this.dead(context.exporter, `data set for unknown template ${setId} (domain ${context.domain})`, body));
        return -1;
      }
      if (this.pending.length >= this.maxPending) {
        const oldest = this.pending.shift()!;
        deadLetters.push(this.dead(oldest.context.exporter, `data set for template ${oldest.templateId} (domain ${oldest.context.domain}) dropped from a full buffer before its template arrived`, oldest.body));
      }
      this.pending.push({ context, templateId: setId, body: body.slice() });
      return -1;
    }
    return this.records(body, template, state, context, out);
  }

  /** Decode the records of a data set with its template; returns how many. */
  private records(body: Uint8Array, template: Template, state: DomainState, context: Context, out: ExportColumns): number {
    if (template.decodeSet !== null) {
      const n = Math.floor(body.length / template.minLength);
      if (n > 0 && n <= CAP && this.wholeSet(body, n, template, state, context, out)) return n;
    }
    const vals = this.vals;
    const { ops, slots, lengths, offsets } = template;
    const fields = lengths.length;
    let o = 0;
    let n = 0;
    // Room for every record the set can hold, when that is a modest number.
    const most = Math.floor(body.length / Math.max(1, template.minLength));
    if (!template.options && most <= MAX_RESERVED_ROWS) {
      out.reserveRows(most, context.text.rowText);
      this.rowsReserved = most;
    }
    try {
      return this.recordsReserved(body, template, state, context, out, vals, ops, slots, lengths, offsets, fields, o, n);
    } finally {
      this.rowsReserved = 0;
    }
  }

  private recordsReserved(body: Uint8Array, template: Template, state: DomainState, context: Context, out: ExportColumns, vals: Float64Array, ops: Uint8Array, slots: Uint8Array, lengths: Uint16Array, offsets: Uint16Array | null, fields: number, o: number, n: number): number {
    const read = template.read;
    // A fixed-length template sets the same slots in every record (its fields' lengths were
    // checked when it was compiled), so the others stay NaN from one fill per set.
    if (offsets !== null) vals.fill(NaN);
    while (body.length - o >= template.minLength) {
      if (offsets !== null) {
        // Fixed-length record: minLength is its length, so every field is in the set.
        read!(vals, body, o);
        o += template.minLength;
      } else {
        vals.fill(NaN);
        for (let f = 0; f < fields; f++) {
          let length = lengths[f];
          if (length === VARIABLE) {
            if (o + 1 > body.length) throw new DatagramError(`record ${n + 1} of template ${template.id} is truncated`);
            length = body[o++];
            if (length === 255) {
              if (o + 2 > body.length) throw new DatagramError(`record ${n + 1} of template ${template.id} is truncated`);
              length = (body[o] << 8) | body[o + 1];
              o += 2;
            }
          }
          if (o + length > body.length) throw new DatagramError(`record ${n + 1} of template ${template.id} is truncated in field ${template.fields[f].id}`);
          if (ops[f] !== OP_SKIP) readField(vals, body, ops[f], slots[f], o, length);
          o += length;
        }
      }
      n++;
      if (template.options) {
        this.stats.optionsRecords++;
        if (vals[V_SYSTEM_INIT] === vals[V_SYSTEM_INIT]) state.systemInitMs = vals[V_SYSTEM_INIT];
        continue;
      }
      this.emit(body, state, context, out);
    }
    return n;
  }

  /**
   * Decode the `n` records of a data set of a fixed-length IPv4 template in WebAssembly and copy
   * its runs into the columns: the rows `emit` would append, byte for byte. False (nothing
   * written) when a record needs the field-by-field path.
   */
  private wholeSet(body: Uint8Array, n: number, template: Template, state: DomainState, context: Context, out: ExportColumns): boolean {
    const sets = this.sets!;
    const exporter = context.text;
    // The identity numbers go straight into the identity batch's room for them (same memory).
    const idsAt = this.ids.v4SetNumbers(exporter.idPrefix, n);
    sets.views();
    sets.bytes.set(body, BODY);
    out.reserveRows(n, context.text.rowText);
    const text = out.text;
    const src = text[TEXT.src_addr];
    const dst = text[TEXT.dst_addr];
    const reason = text[TEXT.end_reason];
    const features = text[TEXT.features];
    const uptimeBase = context.version === 10 ? (state.systemInitMs ?? NaN) : context.exportMs - context.sysUptimeMs;
    if (template.decodeSet!(n, src.end, dst.end, reason.end, features.end, uptimeBase, context.exportMs * 1000, idsAt) !== 0) return false;
    const row = out.length;
    const f64 = sets.f64;
    // The numbers of every record at once: module and columns both hold them record by record.
    const from = NUMBERS >> 3;
    out.numbers.set(f64.subarray(from, from + n * NUM_COLUMNS), row * NUM_COLUMNS);
    // Text bytes: the module's runs copied, the constant columns repeated.
    const words = sets.i32;
    const bytes = sets.bytes;
    copyText(src, bytes, SRC_TEXT, words[RESULT >> 2]);
    copyText(dst, bytes, DST_TEXT, words[(RESULT >> 2) + 1]);
    copyText(reason, bytes, REASON_TEXT, words[(RESULT >> 2) + 2]);
    copyText(features, bytes, FEATURE_TEXT, words[(RESULT >> 2) + 3]);
    const site = text[TEXT.site_id];
    const sensor = text[TEXT.sensor_id];
    const source = text[TEXT.source];
    const sourceText = SOURCE_TEXT[context.version];
    const siteStart = fillConstant(site, this.siteText, this.siteRun, n);
    const sensorStart = fillConstant(sensor, exporter.sensor, exporter.sensorRun, n);
    const sourceStart = fillConstant(source, sourceText, SOURCE_RUN[context.version], n);
    // Identity: the module builds every record's messages from its numbers; the id text goes to
    // the places taken here when the datagram ends (finishIdentity).
    this.ids.pushV4Set(idsAt, n);
    const cid = text[TEXT.community_id];
    const fid = text[TEXT.flow_id];
    const cidStart = cid.end;
    const fidStart = fid.end;
    if (this.cidColumnAt < 0) this.cidColumnAt = cidStart;
    if (this.fidColumnAt < 0) this.fidColumnAt = fidStart;
    cid.end = cidStart + n * COMMUNITY_ID_TEXT_LENGTH;
    fid.end = fidStart + n * FLOW_ID_TEXT_LENGTH;
    // Every text column's row offsets in one loop (the module's for its own runs).
    const srcMac = text[TEXT.src_mac];
    const dstMac = text[TEXT.dst_mac];
    const srcO = src.offsets;
    const dstO = dst.offsets;
    const reasonO = reason.offsets;
    const featuresO = features.offsets;
    const siteO = site.offsets;
    const sensorO = sensor.offsets;
    const sourceO = source.offsets;
    const srcMacO = srcMac.offsets;
    const dstMacO = dstMac.offsets;
    const cidO = cid.offsets;
    const fidO = fid.offsets;
    const srcMacN = srcMac.nulls;
    const dstMacN = dstMac.nulls;
    const srcMacEnd = srcMac.end;
    const dstMacEnd = dstMac.end;
    const siteLength = this.siteText.length;
    const sensorLength = exporter.sensor.length;
    const sourceLength = sourceText.length;
    const so = (SRC_OFFSETS >> 2) - row - 1;
    const dO = (DST_OFFSETS >> 2) - row - 1;
    const ro = (REASON_OFFSETS >> 2) - row - 1;
    const fo = (FEATURE_OFFSETS >> 2) - row - 1;
    for (let r = row + 1, i = 1; i <= n; r++, i++) {
      srcO[r] = words[so + r];
      dstO[r] = words[dO + r];
      reasonO[r] = words[ro + r];
      featuresO[r] = words[fo + r];
      siteO[r] = siteStart + i * siteLength;
      sensorO[r] = sensorStart + i * sensorLength;
      sourceO[r] = sourceStart + i * sourceLength;
      srcMacO[r] = srcMacEnd;
      dstMacO[r] = dstMacEnd;
      cidO[r] = cidStart + i * COMMUNITY_ID_TEXT_LENGTH;
      fidO[r] = fidStart + i * FLOW_ID_TEXT_LENGTH;
      srcMacN[r - 1] = 1;
      dstMacN[r - 1] = 1;
    }
    srcMac.nullCount += n;
    dstMac.nullCount += n;
    const reasonNulls = words[(RESULT >> 2) + 4];
    if (reasonNulls > 0) {
      const nulls = reason.nulls;
      for (let i = 0; i < n; i++) nulls[row + i] = bytes[REASON_NULLS + i];
      reason.nullCount += reasonNulls;
    }
    if (!template.interfaces) {
      features.nulls.fill(1, row, row + n);
      features.nullCount += n;
    }
    this.stats.flows += n;
    this.stats.wholeSetRecords += n;
    out.length = row + n;
    return true;
  }

  /** Append the flow row of the record in `vals` (addresses are offsets into `bytes`). */
  private emit(bytes: Uint8Array, state: DomainState, context: Context, out: ExportColumns): void {
    const v = this.vals;
    // Time: absolute fields first, then uptime-relative ones, else the export time.
    // Times beyond ±2^53 µs (year 2255; only garbage gets there) count as absent.
    let startUs = Math.abs(v[V_START_US]) <= Number.MAX_SAFE_INTEGER ? v[V_START_US] : NaN;
    let endUs = Math.abs(v[V_END_US]) <= Number.MAX_SAFE_INTEGER ? v[V_END_US] : NaN;
    // (Helpers such as "the first present value" are written out in this function: it is too
    // large for the compiler to inline more calls, and a call boxes its NaN and double arguments.)
    const systemInit = v[V_SYSTEM_INIT];
    const uptimeBase = context.version === 10 ? (systemInit === systemInit ? systemInit : (state.systemInitMs ?? NaN)) : context.exportMs - context.sysUptimeMs;
    if (startUs !== startUs && v[V_START_UPTIME] === v[V_START_UPTIME]) startUs = (uptimeBase + v[V_START_UPTIME]) * 1000;
    if (endUs !== endUs && v[V_END_UPTIME] === v[V_END_UPTIME]) endUs = (uptimeBase + v[V_END_UPTIME]) * 1000;
    if (!(Math.abs(startUs) <= Number.MAX_SAFE_INTEGER)) startUs = NaN;
    if (!(Math.abs(endUs) <= Number.MAX_SAFE_INTEGER)) endUs = NaN;
    if (startUs !== startUs) startUs = endUs !== endUs ? context.exportMs * 1000 : endUs;
    if (endUs !== endUs || endUs < startUs) endUs = startUs;
    startUs = Math.round(startUs);
    endUs = Math.round(endUs);

    let src = v[V_SRC];
    let srcLen = v[V_SRC_LEN];
    let dst = v[V_DST];
    let dstLen = v[V_DST_LEN];
    let sport = v[V_SPORT];
    let dport = v[V_DPORT];
    const proto = v[V_PROTO];
    if ((proto === 1 || proto === 58) && v[V_ICMP] === v[V_ICMP]) {
      sport = Math.floor(v[V_ICMP] / 256);
      dport = v[V_ICMP] % 256;
    } else if ((proto === 1 || proto === 58) && dport === dport && (sport !== sport || sport === 0)) {
      // NetFlow v9 exporters put ICMP type*256+code in the destination port.
      sport = Math.floor(dport / 256);
      dport = dport % 256;
    }
    // Counters: the first present of the initiator, delta and total elements, else 0.
    const initOctets = v[V_INIT_OCTETS];
    const octets = v[V_OCTETS];
    const octetsTotal = v[V_OCTETS_TOTAL];
    let fwdBytes = initOctets === initOctets ? initOctets : octets === octets ? octets : octetsTotal === octetsTotal ? octetsTotal : 0;
    const initPackets = v[V_INIT_PACKETS];
    const packets = v[V_PACKETS];
    const packetsTotal = v[V_PACKETS_TOTAL];
    let fwdPackets = initPackets === initPackets ? initPackets : packets === packets ? packets : packetsTotal === packetsTotal ? packetsTotal : 0;
    const respOctets = v[V_RESP_OCTETS];
    const revOctets = v[V_REV_OCTETS];
    let bwdBytes = respOctets === respOctets ? respOctets : revOctets === revOctets ? revOctets : 0;
    const respPackets = v[V_RESP_PACKETS];
    const revPackets = v[V_REV_PACKETS];
    let bwdPackets = respPackets === respPackets ? respPackets : revPackets === revPackets ? revPackets : 0;
    // The flags byte, x % 256 without a floating-point remainder: an integer mask below 2^31,
    // else x − 256·floor(x / 256), exact for every double 0 ≤ x < 2^64; NaN stays NaN.
    const flags = v[V_FLAGS];
    let flagsFwd = flags !== flags ? NaN : flags < 2147483648 ? flags & 255 : flags - Math.floor(flags / 256) * 256;
    const revFlags = v[V_REV_FLAGS];
    let flagsBwd = revFlags !== revFlags ? NaN : revFlags < 2147483648 ? revFlags & 255 : revFlags - Math.floor(revFlags / 256) * 256;
    if (v[V_BIFLOW] === 2 && src === src && dst === dst) {
      // reverseInitiator: the record's destination started the flow.
      [src, dst, srcLen, dstLen] = [dst, src, dstLen, srcLen];
      [sport, dport] = [dport, sport];
      [fwdBytes, bwdBytes] = [bwdBytes, fwdBytes];
      [fwdPackets, bwdPackets] = [bwdPackets, fwdPackets];
      [flagsFwd, flagsBwd] = [flagsBwd, flagsFwd];
    }
    const exporter = context.text;
    // Room in every text column for the longest text of a row: no check per column below.
    // (A data set reserves room for all its records at once.)
    if (this.rowsReserved > 0) this.rowsReserved--;
    else out.reserveRow(exporter.rowText);
    const row = out.length;
    const text = out.text;

    // Addresses: text straight into the columns; the source text is also part of the flow id key.
    let srcTextStart = -1;
    let srcTextEnd = -1;
    if (src === src) {
      const t = text[TEXT.src_addr];
      srcTextStart = t.end;
      t.end = addressText(t.bytes, t.end, bytes, src, srcLen);
      srcTextEnd = t.end;
    } else out.putNull(TEXT.src_addr);
    if (dst === dst) {
      const t = text[TEXT.dst_addr];
      t.end = addressText(t.bytes, t.end, bytes, dst, dstLen);
    } else out.putNull(TEXT.dst_addr);

    // Identity. The hash inputs are gathered here and hashed per datagram (finishIdentity); the
    // id text has a fixed length, so its place in the column is taken now and filled then.
    // Flow id: flowId() of pipeline/flow-id.ts, over `site \0 sensor \0 key \0 start`. Its key
    // holds the Community ID text (written into the message once it is known), the initiator's
    // address and port: both directions of a connection share a Community ID, so the initiator
    // side keeps their ids apart.
    const ids = this.ids;
    const sp = sport === sport ? sport : -1;
    const dp = dport === dport ? dport : -1;
    if (srcLen === 4 && dstLen === 4 && src === src && dst === dst && proto >= 0 && proto <= 255 && sp <= 65535 && dp <= 65535 && startUs >= 0) {
      // IPv4 (most records): the module writes both messages from these numbers.
      const startHigh = Math.floor(startUs / 1e8);
      ids.pushV4(exporter.idPrefix, (bytes[src] << 24) | (bytes[src + 1] << 16) | (bytes[src + 2] << 8) | bytes[src + 3], (bytes[dst] << 24) | (bytes[dst + 1] << 16) | (bytes[dst + 2] << 8) | bytes[dst + 3], proto, sp, dp, startHigh, startUs - startHigh * 1e8);
      const t = text[TEXT.community_id];
      if (this.cidColumnAt < 0) this.cidColumnAt = t.end;
      t.end += COMMUNITY_ID_TEXT_LENGTH;
    } else this.identityBytes(bytes, src, dst, srcLen, dstLen, proto, sport, dport, startUs, srcTextStart, srcTextEnd, context, out);
    const t = text[TEXT.flow_id];
    if (this.fidColumnAt < 0) this.fidColumnAt = t.end;
    t.end += FLOW_ID_TEXT_LENGTH;
    this.stats.flows++;

    const runs = this.runs;
    putRepeated(text[TEXT.site_id], runs[0], this.siteText);
    putRepeated(text[TEXT.sensor_id], runs[1], exporter.sensor);
    putRepeated(text[TEXT.source], runs[2], SOURCE_TEXT[context.version]);
    // (An integer index: indexing with NaN is a property lookup by name.)
    const reasonCode = v[V_END_REASON];
    const reason = reasonCode >= 0 && reasonCode < END_REASON_TEXT.length ? END_REASON_TEXT[reasonCode | 0] : undefined;
    if (reason !== undefined) putRepeated(text[TEXT.end_reason], runs[3], reason);
    else out.putNull(TEXT.end_reason);
    const srcMac = v[V_SRC_MAC];
    const dstMac = v[V_DST_MAC];
    if (srcMac === srcMac) this.mac(out, TEXT.src_mac, bytes, srcMac);
    else out.putNull(TEXT.src_mac);
    if (dstMac === dstMac) this.mac(out, TEXT.dst_mac, bytes, dstMac);
    else out.putNull(TEXT.dst_mac);
    const ingress = v[V_INGRESS];
    const egress = v[V_EGRESS];
    if (ingress === ingress || egress === egress) {
      const f = text[TEXT.features];
      const r = runs[4];
      const a = ingress === ingress ? ingress : -1;
      const b = egress === egress ? egress : -1;
      if (r.a !== a || r.b !== b || !continueRun(f, r)) {
        if (r.count > 0) fillRun(f, r);
        r.start = f.end;
        f.bytes[f.end++] = 123; // {
        if (ingress === ingress) {
          put(f, INGRESS_TEXT);
          f.end = writeInteger(f.bytes, f.end, ingress);
        }
        if (egress === egress) {
          if (ingress === ingress) f.bytes[f.end++] = 44; // ,
          put(f, EGRESS_TEXT);
          f.end = writeInteger(f.bytes, f.end, egress);
        }
        f.bytes[f.end++] = 125; // }
        r.a = a;
        r.b = b;
        r.length = f.end - r.start;
        r.count = 1;
      }
    } else out.putNull(TEXT.features);

    const num = out.numbers;
    const at = row * NUM_COUNT;
    num[at + NUM.ts_start] = startUs;
    num[at + NUM.ts_end] = endUs;
    num[at + NUM.ip_version] = src === src ? (srcLen === 4 ? 4 : 6) : NaN;
    num[at + NUM.src_port] = sport;
    num[at + NUM.dst_port] = dport;
    num[at + NUM.ip_proto] = proto;
    num[at + NUM.vlan_id] = v[V_VLAN];
    num[at + NUM.fwd_packets] = fwdPackets;
    num[at + NUM.bwd_packets] = bwdPackets;
    num[at + NUM.fwd_bytes] = fwdBytes;
    num[at + NUM.bwd_bytes] = bwdBytes;
    num[at + NUM.tcp_flags_fwd] = proto === 6 ? flagsFwd : NaN;
    num[at + NUM.tcp_flags_bwd] = proto === 6 ? flagsBwd : NaN;
    // out.endRow(), written out per column (constant indices: no loop over the column list).
    const next = row + 1;
    let c = text[0];
    c.offsets[next] = c.end;
    c = text[1];
    c.offsets[next] = c.end;
    c = text[2];
    c.offsets[next] = c.end;
    c = text[3];
    c.offsets[next] = c.end;
    c = text[4];
    c.offsets[next] = c.end;
    c = text[5];
    c.offsets[next] = c.end;
    c = text[6];
    c.offsets[next] = c.end;
    c = text[7];
    c.offsets[next] = c.end;
    c = text[8];
    c.offsets[next] = c.end;
    c = text[9];
    c.offsets[next] = c.end;
    c = text[10];
    c.offsets[next] = c.end;
    out.length = next;
  }

  /**
   * The Community ID input and flow id message of a record the module does not build itself
   * (IPv6, no addresses, out-of-range numbers), written here byte by byte.
   */
  private identityBytes(bytes: Uint8Array, src: number, dst: number, srcLen: number, dstLen: number, proto: number, sport: number, dport: number, startUs: number, srcTextStart: number, srcTextEnd: number, context: Context, out: ExportColumns): void {
    const ids = this.ids;
    const text = out.text;
    const exporter = context.text;
    let cid = -1;
    if (src === src && dst === dst && srcLen === dstLen && proto === proto) {
      const c = ids.reserve(COMMUNITY_ID_INPUT_MAX);
      cid = ids.pushCommunityId(c, communityIdInput(ids.bytes, c, bytes, src, bytes, dst, srcLen, proto, sport === sport ? sport : 0, dport === dport ? dport : 0));
      const t = text[TEXT.community_id];
      if (this.cidColumnAt < 0) this.cidColumnAt = t.end;
      t.end += COMMUNITY_ID_TEXT_LENGTH;
    } else out.putNull(TEXT.community_id);
    const prefix = exporter.idPrefix;
    const start = ids.reserve(prefix.length + 3 * context.stateKey.length + 160);
    const id = ids.bytes;
    let k = start;
    for (let i = 0; i < prefix.length; i++) id[k++] = prefix[i];
    if (cid >= 0) {
      ids.holeAt(cid, k);
      k += COMMUNITY_ID_TEXT_LENGTH;
      id[k++] = 124; // |
      const srcText = text[TEXT.src_addr].bytes;
      for (let i = srcTextStart; i < srcTextEnd; i++) id[k++] = srcText[i];
      id[k++] = 124;
      if (sport === sport) k = writeInteger(id, k, sport);
    } else k += utf8.encodeInto(`${context.stateKey}#${context.sequence}#${this.stats.flows}`, id.subarray(k)).written;
    id[k++] = 0;
    k = writeInteger(id, k, startUs);
    ids.pushFlowId(start, k);
  }

  /** MAC address text (aa:bb:…) of the 6 bytes at `o`. */
  private mac(out: ExportColumns, index: number, bytes: Uint8Array, o: number): void {
    const t = out.text[index];
    for (let i = 0; i < 6; i++) {
      if (i) t.bytes[t.end++] = 58;
      t.bytes[t.end++] = HEX[bytes[o + i] >> 4];
      t.bytes[t.end++] = HEX[bytes[o + i] & 15];
    }
  }

  // ---- NetFlow v9 --------------------------------------------------------------------------

  private decodeV9(view: DataView, datagram: Uint8Array, exporter: string, out: ExportColumns, deadLetters: DeadLetter[]) {
    if (datagram.length < 20) throw new DatagramError(`NetFlow v9 packet of ${datagram.length} bytes is shorter than its 20-byte header`);
    const sysUptimeMs = view.getUint32(4);
    const exportMs = view.getUint32(8) * 1000;
    const sequence = view.getUint32(12);
    const domain = view.getUint32(16);
    const state = this.state(exporter, domain);
    this.checkSequence(state, sequence);
    // v9 sequence numbers count export packets.
    state.expectedSequence = (sequence + 1) >>> 0;
    const context: Context = { version: 9, exporter, domain, sequence, exportMs, sysUptimeMs, stateKey: `${exporter}/${domain}`, text: this.exporterText(exporter) };
    let offset = 20;
    while (offset + 4 <= datagram.length) {
      const setId = view.getUint16(offset);
      const setLength = view.getUint16(offset + 2);
      if (setLength < 4 || offset + setLength > datagram.length) {
        deadLetters.push(this.dead(exporter, `flowset ${setId} at byte ${offset} has length ${setLength}, past the packet end (${datagram.length})`, datagram));
        break;
      }
      const body = datagram.subarray(offset + 4, offset + setLength);
      try {
        if (setId === 0) this.v9Templates(body, state, context, out, deadLetters);
        else if (setId === 1) this.v9OptionsTemplates(body, state, context, out, deadLetters);
        else if (setId >= 256) this.dataSet(body, setId, state, context, out, deadLetters);
        else throw new DatagramError(`reserved flowset id ${setId}`);
      } catch (error) {
        if (!(error instanceof DatagramError)) throw error;
        deadLetters.push(this.dead(exporter, `flowset ${setId} at byte ${offset}: ${error.message}`, body));
      }
      offset += setLength;
    }
    return { domain, sequence };
  }

  private v9Fields(view: DataView, o: number, count: number, limit: number, id: number): { fields: FieldSpec[]; minLength: number } {
    const fields: FieldSpec[] = [];
    let minLength = 0;
    for (let i = 0; i < count; i++) {
      if (o + 4 > limit) throw new DatagramError(`template ${id} is truncated at field ${i + 1} of ${count}`);
      const fieldId = view.getUint16(o);
      const length = view.getUint16(o + 2);
      o += 4;
      if (length === 0 || length === VARIABLE) throw new DatagramError(`template ${id} field ${fieldId} has invalid length ${length}`);
      minLength += length;
      fields.push({ id: fieldId, length, enterprise: 0 });
    }
    return { fields, minLength };
  }

  private v9Templates(body: Uint8Array, state: DomainState, context: Context, out: ExportColumns, deadLetters: DeadLetter[]): void {
    const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
    let o = 0;
    while (o + 4 <= body.length) {
      const id = view.getUint16(o);
      const count = view.getUint16(o + 2);
      o += 4;
      if (id === 0 && count === 0) break; // padding
      if (id < 256) throw new DatagramError(`template id ${id} is below 256`);
      if (count === 0) throw new DatagramError(`template ${id} has no fields`);
      const known = state.templates.get(id);
      if (known !== undefined && !known.options) {
        const end = repeatsKnown(view, o, count, known, false);
        if (end >= 0) {
          o = end;
          this.addTemplate(state, known, context, out, deadLetters);
          continue;
        }
      }
      const { fields, minLength } = this.v9Fields(view, o, count, body.length, id);
      o += count * 4;
      this.addTemplate(state, { id, fields, scopeCount: 0, options: false, minLength }, context, out, deadLetters);
    }
  }

  private v9OptionsTemplates(body: Uint8Array, state: DomainState, context: Context, out: ExportColumns, deadLetters: DeadLetter[]): void {
    const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
    let o = 0;
    while (o + 6 <= body.length) {
      const id = view.getUint16(o);
      const scopeBytes = view.getUint16(o + 2);
      const optionBytes = view.getUint16(o + 4);
      o += 6;
      if (id === 0 && scopeBytes === 0) break; // padding
      if (id < 256) throw new DatagramError(`options template id ${id} is below 256`);
      if (scopeBytes % 4 !== 0 || optionBytes % 4 !== 0 || scopeBytes + optionBytes === 0) throw new DatagramError(`options template ${id} has scope/option lengths ${scopeBytes}/${optionBytes}`);
      const count = (scopeBytes + optionBytes) / 4;
      // Scope field types (1 system, 2 interface, …) are not IEs: records() skips scope fields.
      const { fields, minLength } = this.v9Fields(view, o, count, body.length, id);
      o += count * 4;
      this.addTemplate(state, { id, fields, scopeCount: scopeBytes / 4, options: true, minLength }, context, out, deadLetters);
    }
  }

  // ---- NetFlow v5 --------------------------------------------------------------------------

  private decodeV5(view: DataView, datagram: Uint8Array, exporter: string, out: ExportColumns) {
    const length = view.byteLength;
    if (length < 24) throw new DatagramError(`NetFlow v5 packet of ${length} bytes is shorter than its 24-byte header`);
    const count = view.getUint16(2);
    if (count === 0 || count > 30 || length < 24 + count * 48) throw new DatagramError(`NetFlow v5 header says ${count} records but the packet holds ${Math.floor((length - 24) / 48)}`);
    const sysUptimeMs = view.getUint32(4);
    const exportMs = view.getUint32(8) * 1000 + Math.floor(view.getUint32(12) / 1e6);
    const sequence = view.getUint32(16);
    const domain = (view.getUint8(20) << 8) | view.getUint8(21); // engine type and id
    const state = this.state(exporter, domain);
    this.checkSequence(state, sequence);
    state.expectedSequence = (sequence + count) >>> 0;
    const context: Context = { version: 5, exporter, domain, sequence, exportMs, sysUptimeMs, stateKey: `${exporter}/${domain}`, text: this.exporterText(exporter) };
    const v = this.vals;
    // The fixed v5 record layout, read into the same slots a template fills.
    for (let i = 0; i < count; i++) {
      const o = 24 + i * 48;
      v.fill(NaN);
      v[V_SRC] = o;
      v[V_SRC_LEN] = 4;
      v[V_DST] = o + 4;
      v[V_DST_LEN] = 4;
      v[V_INGRESS] = view.getUint16(o + 12);
      v[V_EGRESS] = view.getUint16(o + 14);
      v[V_PACKETS] = view.getUint32(o + 16);
      v[V_OCTETS] = view.getUint32(o + 20);
      v[V_START_UPTIME] = view.getUint32(o + 24);
      v[V_END_UPTIME] = view.getUint32(o + 28);
      v[V_SPORT] = view.getUint16(o + 32);
      v[V_DPORT] = view.getUint16(o + 34);
      v[V_FLAGS] = view.getUint8(o + 37);
      v[V_PROTO] = view.getUint8(o + 38);
      // v5 carries ICMP type*256+code in the destination port.
      if (v[V_PROTO] === 1) v[V_ICMP] = v[V_DPORT];
      this.emit(datagram, state, context, out);
    }
    return { domain, sequence };
  }
}
