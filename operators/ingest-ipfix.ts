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
 * Records of unidirectional exporters become flows with zero backward counts: the two directions
 * of a connection stay two records (pairing them would need a flow cache and guesswork about
 * timeouts; a downstream operator can join them by Community ID).
 */
import { addressText, communityIdBytes, flowId } from '../pipeline/flow-id.ts';
import type { FlowRow } from '../pipeline/flow-schema.ts';
import type { DeadLetter } from '../pipeline/types.ts';

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

const FLOW_END_REASON: Readonly<Record<number, string>> = { 1: 'idle', 2: 'active', 3: 'fin', 4: 'eof', 5: 'exporter' };

/** One field of a template. */
interface FieldSpec {
  readonly id: number;
  readonly length: number;
  readonly enterprise: number;
}

/** A (data or options) template. */
interface Template {
  readonly id: number;
  readonly fields: readonly FieldSpec[];
  /** Scope fields of an options template (0 for a data template). */
  readonly scopeCount: number;
  readonly options: boolean;
  /** Smallest record length (variable-length fields count 1 byte). */
  readonly minLength: number;
}

/** Per exporter + observation domain. */
interface DomainState {
  readonly templates: Map<number, Template>;
  expectedSequence: number | null;
  systemInitMs: number | null;
}

/** Header facts a data set needs to be decoded (also kept with a pending set). */
interface Context {
  readonly version: 9 | 10;
  readonly exporter: string;
  readonly domain: number;
  readonly sequence: number;
  /** Export time, epoch ms. */
  readonly exportMs: number;
  /** v9: sysUptime of the header, ms. */
  readonly sysUptimeMs: number;
  readonly stateKey: string;
}

interface PendingSet {
  readonly context: Context;
  readonly templateId: number;
  readonly body: Uint8Array;
}

/** What one datagram decoded to. */
export interface DecodedDatagram {
  /** 5, 9 or 10; 0 when the datagram could not be read at all. */
  readonly version: number;
  readonly domain: number;
  readonly sequence: number;
  /** Deterministic batch id: `<ipfix|netflow9|netflow5>:<exporter>:<domain>:<sequence>`. */
  readonly batchId: string;
  readonly flows: Partial<FlowRow>[];
  readonly deadLetters: DeadLetter[];
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
}

/** Options of a decoder. */
export interface DecoderOptions {
  readonly site: string;
  /** Sensor id of the flows; defaults to the exporter address. */
  readonly sensor?: string;
  readonly maxPendingSets?: number;
}

/** A malformed part of a datagram: the decoder dead-letters it and goes on. */
class DatagramError extends Error {}


function macText(view: DataView, offset: number): string {
  let s = '';
  for (let i = 0; i < 6; i++) s += (i ? ':' : '') + view.getUint8(offset + i).toString(16).padStart(2, '0');
  return s;
}

/** Unsigned big-endian integer of 1..8 bytes (reduced-size encoding), exact up to 2^53. */
function readUnsigned(view: DataView, offset: number, length: number): number {
  switch (length) {
    case 1:
      return view.getUint8(offset);
    case 2:
      return view.getUint16(offset);
    case 4:
      return view.getUint32(offset);
    case 8:
      return view.getUint32(offset) * 4294967296 + view.getUint32(offset + 4);
    default: {
      let v = 0;
      for (let i = 0; i < length && i < 8; i++) v = v * 256 + view.getUint8(offset + i);
      return v;
    }
  }
}

/** NTP-format (RFC 5905) 64-bit timestamp to epoch microseconds. */
function ntpMicros(view: DataView, offset: number): number {
  const seconds = view.getUint32(offset) - 2208988800;
  const fraction = view.getUint32(offset + 4);
  return seconds * 1e6 + Math.round((fraction / 4294967296) * 1e6);
}

/** One record's values while it is decoded (NaN = absent), reused across records. */
class Scratch {
  octets = NaN;
  packets = NaN;
  octetsTotal = NaN;
  packetsTotal = NaN;
  reverseOctets = NaN;
  reversePackets = NaN;
  initiatorOctets = NaN;
  responderOctets = NaN;
  initiatorPackets = NaN;
  responderPackets = NaN;
  proto = NaN;
  flags = NaN;
  reverseFlags = NaN;
  sport = NaN;
  dport = NaN;
  icmpTypeCode = NaN;
  /** Views into the datagram (read before the next record; never kept). */
  src: Uint8Array | null = null;
  dst: Uint8Array | null = null;
  startUs = NaN;
  endUs = NaN;
  startUptimeMs = NaN;
  endUptimeMs = NaN;
  systemInitMs = NaN;
  endReason = NaN;
  vlan = NaN;
  srcMac: string | null = null;
  dstMac: string | null = null;
  biflowDirection = NaN;
  ingress = NaN;
  egress = NaN;

  reset(): void {
    this.octets = this.packets = this.octetsTotal = this.packetsTotal = NaN;
    this.reverseOctets = this.reversePackets = this.initiatorOctets = this.responderOctets = NaN;
    this.initiatorPackets = this.responderPackets = this.proto = this.flags = this.reverseFlags = NaN;
    this.sport = this.dport = this.icmpTypeCode = NaN;
    this.src = this.dst = null;
    this.startUs = this.endUs = this.startUptimeMs = this.endUptimeMs = this.systemInitMs = NaN;
    this.endReason = this.vlan = this.biflowDirection = this.ingress = this.egress = NaN;
    this.srcMac = this.dstMac = null;
  }
}

const pick = (...values: number[]): number => {
  for (const v of values) if (!Number.isNaN(v)) return v;
  return NaN;
};

/**
 * A stateful decoder of IPFIX / NetFlow v9 / v5 datagrams. One instance serves any number of
 * exporters; feed it datagrams in arrival order.
 *
 * @example
 * const decoder = new FlowDecoder({ site: 'h1' });
 * const { flows, deadLetters, batchId } = decoder.decode(datagram, '10.0.0.1:50123');
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
  };
  private readonly states = new Map<string, DomainState>();
  private readonly pending: PendingSet[] = [];
  private readonly maxPending: number;
  private readonly scratch = new Scratch();

  constructor(private readonly options: DecoderOptions) {
    this.maxPending = options.maxPendingSets ?? DEFAULT_MAX_PENDING;
    if (!Number.isInteger(this.maxPending) || this.maxPending < 0) throw new RangeError(`invalid maxPendingSets: ${options.maxPendingSets}`);
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

  /** Decode one datagram from `exporter` (address:port). Never throws on bad bytes. */
  decode(datagram: Uint8Array, exporter: string): DecodedDatagram {
    this.stats.datagrams++;
    const flows: Partial<FlowRow>[] = [];
    const deadLetters: DeadLetter[] = [];
    const view = new DataView(datagram.buffer, datagram.byteOffset, datagram.byteLength);
    let version = 0;
    let domain = 0;
    let sequence = 0;
    try {
      if (datagram.length < 4) throw new DatagramError(`datagram of ${datagram.length} bytes is too short for a NetFlow/IPFIX header`);
      version = view.getUint16(0);
      if (version === 10) ({ domain, sequence } = this.decodeIpfix(view, datagram, exporter, flows, deadLetters));
      else if (version === 9) ({ domain, sequence } = this.decodeV9(view, datagram, exporter, flows, deadLetters));
      else if (version === 5) ({ domain, sequence } = this.decodeV5(view, exporter, flows));
      else throw new DatagramError(`unsupported version ${version} (expected 10 IPFIX, 9 or 5 NetFlow)`);
    } catch (error) {
      if (!(error instanceof DatagramError)) throw error;
      deadLetters.push(this.dead(exporter, error.message, datagram));
    }
    this.stats.flows += flows.length;
    const source = version === 10 ? 'ipfix' : version === 9 ? 'netflow9' : version === 5 ? 'netflow5' : 'flowexport';
    return { version, domain, sequence, batchId: `${source}:${exporter}:${domain}:${sequence}`, flows, deadLetters };
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

  // ---- IPFIX -------------------------------------------------------------------------------

  private decodeIpfix(view: DataView, datagram: Uint8Array, exporter: string, flows: Partial<FlowRow>[], deadLetters: DeadLetter[]) {
    if (datagram.length < 16) throw new DatagramError(`IPFIX message of ${datagram.length} bytes is shorter than its 16-byte header`);
    const length = view.getUint16(2);
    if (length < 16 || length > datagram.length) throw new DatagramError(`IPFIX message length ${length} does not fit the ${datagram.length}-byte datagram`);
    const exportMs = view.getUint32(4) * 1000;
    const sequence = view.getUint32(8);
    const domain = view.getUint32(12);
    const state = this.state(exporter, domain);
    this.checkSequence(state, sequence);
    const context: Context = { version: 10, exporter, domain, sequence, exportMs, sysUptimeMs: 0, stateKey: `${exporter}/${domain}` };
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
        if (setId === 2 || setId === 3) this.ipfixTemplates(body, setId === 3, state, context, flows, deadLetters);
        else if (setId >= 256) {
          const n = this.dataSet(body, setId, state, context, flows, deadLetters);
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

  private ipfixTemplates(body: Uint8Array, options: boolean, state: DomainState, context: Context, flows: Partial<FlowRow>[], deadLetters: DeadLetter[]): void {
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
      this.addTemplate(state, { id, fields, scopeCount, options, minLength }, context, flows, deadLetters);
    }
  }

  private addTemplate(state: DomainState, template: Template, context: Context, flows: Partial<FlowRow>[], deadLetters: DeadLetter[]): void {
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
        this.records(p.body, template, state, p.context, flows);
      } catch (error) {
        if (!(error instanceof DatagramError)) throw error;
        deadLetters.push(this.dead(p.context.exporter, `buffered data set ${template.id}: ${error.message}`, p.body));
      }
    }
  }

  /** Decode a data set; returns the records decoded, or -1 when it waits for its template. */
  private dataSet(body: Uint8Array, setId: number, state: DomainState, context: Context, flows: Partial<FlowRow>[], deadLetters: DeadLetter[]): number {
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
    return this.records(body, template, state, context, flows);
  }

  /** Decode the records of a data set with its template; returns how many. */
  private records(body: Uint8Array, template: Template, state: DomainState, context: Context, flows: Partial<FlowRow>[]): number {
    const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
    const s = this.scratch;
    let o = 0;
    let n = 0;
    while (body.length - o >= template.minLength) {
      s.reset();
      for (let f = 0; f < template.fields.length; f++) {
        const field = template.fields[f];
        let length = field.length;
        if (length === VARIABLE) {
          if (o + 1 > body.length) throw new DatagramError(`record ${n + 1} of template ${template.id} is truncated`);
          length = view.getUint8(o++);
          if (length === 255) {
            if (o + 2 > body.length) throw new DatagramError(`record ${n + 1} of template ${template.id} is truncated`);
            length = view.getUint16(o);
            o += 2;
          }
        }
        if (o + length > body.length) throw new DatagramError(`record ${n + 1} of template ${template.id} is truncated in field ${field.id}`);
        if (!template.options || f >= template.scopeCount) this.field(s, field, view, o, length);
        o += length;
      }
      n++;
      if (template.options) {
        this.stats.optionsRecords++;
        if (!Number.isNaN(s.systemInitMs)) state.systemInitMs = s.systemInitMs;
        continue;
      }
      flows.push(this.row(s, state, context));
    }
    return n;
  }

  /** Store one field's value in the scratch record. */
  private field(s: Scratch, field: FieldSpec, view: DataView, o: number, length: number): void {
    if (field.enterprise === REVERSE_PEN) {
      if (field.id === IE.octetDeltaCount || field.id === IE.octetTotalCount) s.reverseOctets = readUnsigned(view, o, length);
      else if (field.id === IE.packetDeltaCount || field.id === IE.packetTotalCount) s.reversePackets = readUnsigned(view, o, length);
      else if (field.id === IE.tcpControlBits) s.reverseFlags = readUnsigned(view, o, length);
      return;
    }
    if (field.enterprise !== 0) return;
    switch (field.id) {
      case IE.octetDeltaCount:
        s.octets = readUnsigned(view, o, length);
        break;
      case IE.packetDeltaCount:
        s.packets = readUnsigned(view, o, length);
        break;
      case IE.octetTotalCount:
        s.octetsTotal = readUnsigned(view, o, length);
        break;
      case IE.packetTotalCount:
        s.packetsTotal = readUnsigned(view, o, length);
        break;
      case IE.initiatorOctets:
        s.initiatorOctets = readUnsigned(view, o, length);
        break;
      case IE.responderOctets:
        s.responderOctets = readUnsigned(view, o, length);
        break;
      case IE.initiatorPackets:
        s.initiatorPackets = readUnsigned(view, o, length);
        break;
      case IE.responderPackets:
        s.responderPackets = readUnsigned(view, o, length);
        break;
      case IE.protocolIdentifier:
        s.proto = readUnsigned(view, o, length);
        break;
      case IE.tcpControlBits:
        s.flags = readUnsigned(view, o, length);
        break;
      case IE.sourceTransportPort:
        s.sport = readUnsigned(view, o, length);
        break;
      case IE.destinationTransportPort:
        s.dport = readUnsigned(view, o, length);
        break;
      case IE.icmpTypeCodeIPv4:
      case IE.icmpTypeCodeIPv6:
        s.icmpTypeCode = readUnsigned(view, o, length);
        break;
      case IE.sourceIPv4Address:
        if (length === 4) s.src = new Uint8Array(view.buffer, view.byteOffset + o, 4);
        break;
      case IE.destinationIPv4Address:
        if (length === 4) s.dst = new Uint8Array(view.buffer, view.byteOffset + o, 4);
        break;
      case IE.sourceIPv6Address:
        if (length === 16) s.src = new Uint8Array(view.buffer, view.byteOffset + o, 16);
        break;
      case IE.destinationIPv6Address:
        if (length === 16) s.dst = new Uint8Array(view.buffer, view.byteOffset + o, 16);
        break;
      case IE.ingressInterface:
        s.ingress = readUnsigned(view, o, length);
        break;
      case IE.egressInterface:
        s.egress = readUnsigned(view, o, length);
        break;
      case IE.flowStartSysUpTime:
        s.startUptimeMs = readUnsigned(view, o, length);
        break;
      case IE.flowEndSysUpTime:
        s.endUptimeMs = readUnsigned(view, o, length);
        break;
      case IE.flowStartSeconds:
        s.startUs = readUnsigned(view, o, length) * 1e6;
        break;
      case IE.flowEndSeconds:
        s.endUs = readUnsigned(view, o, length) * 1e6;
        break;
      case IE.flowStartMilliseconds:
        s.startUs = readUnsigned(view, o, length) * 1000;
        break;
      case IE.flowEndMilliseconds:
        s.endUs = readUnsigned(view, o, length) * 1000;
        break;
      case IE.flowStartMicroseconds:
      case IE.flowStartNanoseconds:
        if (length === 8) s.startUs = ntpMicros(view, o);
        break;
      case IE.flowEndMicroseconds:
      case IE.flowEndNanoseconds:
        if (length === 8) s.endUs = ntpMicros(view, o);
        break;
      case IE.systemInitTimeMilliseconds:
        s.systemInitMs = readUnsigned(view, o, length);
        break;
      case IE.flowEndReason:
        s.endReason = readUnsigned(view, o, length);
        break;
      case IE.vlanId:
      case IE.dot1qVlanId:
        s.vlan = readUnsigned(view, o, length) & 0x0fff;
        break;
      case IE.sourceMacAddress:
        if (length === 6) s.srcMac = macText(view, o);
        break;
      case IE.destinationMacAddress:
        if (length === 6) s.dstMac = macText(view, o);
        break;
      case IE.biflowDirection:
        s.biflowDirection = readUnsigned(view, o, length);
        break;
      default:
        break;
    }
  }

  /** The flow row of a decoded record. */
  private row(s: Scratch, state: DomainState, context: Context): Partial<FlowRow> {
    // Time: absolute fields first, then uptime-relative ones, else the export time.
    let startUs = s.startUs;
    let endUs = s.endUs;
    const uptimeBase = context.version === 9 ? context.exportMs - context.sysUptimeMs : pick(s.systemInitMs, state.systemInitMs ?? NaN);
    if (Number.isNaN(startUs) && !Number.isNaN(s.startUptimeMs) && !Number.isNaN(uptimeBase)) startUs = (uptimeBase + s.startUptimeMs) * 1000;
    if (Number.isNaN(endUs) && !Number.isNaN(s.endUptimeMs) && !Number.isNaN(uptimeBase)) endUs = (uptimeBase + s.endUptimeMs) * 1000;
    if (Number.isNaN(startUs)) startUs = Number.isNaN(endUs) ? context.exportMs * 1000 : endUs;
    if (Number.isNaN(endUs) || endUs < startUs) endUs = startUs;

    let src = s.src;
    let dst = s.dst;
    let sport = Number.isNaN(s.sport) ? null : s.sport;
    let dport = Number.isNaN(s.dport) ? null : s.dport;
    const proto = Number.isNaN(s.proto) ? null : s.proto;
    if ((proto === 1 || proto === 58) && !Number.isNaN(s.icmpTypeCode)) {
      sport = s.icmpTypeCode >> 8;
      dport = s.icmpTypeCode & 0xff;
    } else if ((proto === 1 || proto === 58) && dport !== null && (sport === null || sport === 0)) {
      // NetFlow v5/v9 exporters put ICMP type*256+code in the destination port.
      sport = dport >> 8;
      dport = dport & 0xff;
    }
    let fwdBytes = pick(s.initiatorOctets, s.octets, s.octetsTotal, 0);
    let fwdPackets = pick(s.initiatorPackets, s.packets, s.packetsTotal, 0);
    let bwdBytes = pick(s.responderOctets, s.reverseOctets, 0);
    let bwdPackets = pick(s.responderPackets, s.reversePackets, 0);
    let flagsFwd = Number.isNaN(s.flags) ? null : s.flags & 0xff;
    let flagsBwd = Number.isNaN(s.reverseFlags) ? null : s.reverseFlags & 0xff;
    if (s.biflowDirection === 2 && src && dst) {
      // reverseInitiator: the record's destination started the flow.
      [src, dst] = [dst, src];
      [sport, dport] = [dport, sport];
      [fwdBytes, bwdBytes] = [bwdBytes, fwdBytes];
      [fwdPackets, bwdPackets] = [bwdPackets, fwdPackets];
      [flagsFwd, flagsBwd] = [flagsBwd, flagsFwd];
    }
    const tuple = src !== null && dst !== null && src.length === dst.length && proto !== null;
    const cid = tuple ? communityIdBytes(src!, dst!, proto!, sport ?? 0, dport ?? 0) : null;
    const srcText = src ? addressText(src) : null;
    const dstText = dst ? addressText(dst) : null;
    const sensor = this.options.sensor ?? context.exporter.replace(/:\d+$/, '');
    // Both directions of a connection share a Community ID: the initiator side keeps their ids apart.
    const key = cid !== null ? `${cid}|${srcText}|${sport ?? ''}` : `${context.stateKey}#${context.sequence}#${this.stats.flows}`;
    const features: string[] = [];
    if (!Number.isNaN(s.ingress)) features.push(`"ingressInterface":${s.ingress}`);
    if (!Number.isNaN(s.egress)) features.push(`"egressInterface":${s.egress}`);
    return {
      flow_id: flowId(this.options.site, sensor, key, startUs),
      community_id: cid,
      site_id: this.options.site,
      sensor_id: sensor,
      source: context.version === 10 ? 'ipfix' : 'netflow9',
      ts_start: startUs,
      ts_end: endUs,
      duration_s: (endUs - startUs) / 1e6,
      end_reason: FLOW_END_REASON[s.endReason] ?? null,
      ip_version: src ? (src.length === 4 ? 4 : 6) : null,
      src_addr: srcText,
      dst_addr: dstText,
      src_port: sport,
      dst_port: dport,
      ip_proto: proto,
      src_mac: s.srcMac,
      dst_mac: s.dstMac,
      vlan_id: Number.isNaN(s.vlan) ? null : s.vlan,
      fwd_packets: fwdPackets,
      bwd_packets: bwdPackets,
      fwd_bytes: fwdBytes,
      bwd_bytes: bwdBytes,
      tcp_flags_fwd: proto === 6 ? flagsFwd : null,
      tcp_flags_bwd: proto === 6 ? flagsBwd : null,
      features: features.length ? `{${features.join(',')}}` : null,
    };
  }

  // ---- NetFlow v9 --------------------------------------------------------------------------

  private decodeV9(view: DataView, datagram: Uint8Array, exporter: string, flows: Partial<FlowRow>[], deadLetters: DeadLetter[]) {
    if (datagram.length < 20) throw new DatagramError(`NetFlow v9 packet of ${datagram.length} bytes is shorter than its 20-byte header`);
    const sysUptimeMs = view.getUint32(4);
    const exportMs = view.getUint32(8) * 1000;
    const sequence = view.getUint32(12);
    const domain = view.getUint32(16);
    const state = this.state(exporter, domain);
    this.checkSequence(state, sequence);
    // v9 sequence numbers count export packets.
    state.expectedSequence = (sequence + 1) >>> 0;
    const context: Context = { version: 9, exporter, domain, sequence, exportMs, sysUptimeMs, stateKey: `${exporter}/${domain}` };
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
        if (setId === 0) this.v9Templates(body, state, context, flows, deadLetters);
        else if (setId === 1) this.v9OptionsTemplates(body, state, context, flows, deadLetters);
        else if (setId >= 256) this.dataSet(body, setId, state, context, flows, deadLetters);
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

  private v9Templates(body: Uint8Array, state: DomainState, context: Context, flows: Partial<FlowRow>[], deadLetters: DeadLetter[]): void {
    const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
    let o = 0;
    while (o + 4 <= body.length) {
      const id = view.getUint16(o);
      const count = view.getUint16(o + 2);
      o += 4;
      if (id === 0 && count === 0) break; // padding
      if (id < 256) throw new DatagramError(`template id ${id} is below 256`);
      if (count === 0) throw new DatagramError(`template ${id} has no fields`);
      const { fields, minLength } = this.v9Fields(view, o, count, body.length, id);
      o += count * 4;
      this.addTemplate(state, { id, fields, scopeCount: 0, options: false, minLength }, context, flows, deadLetters);
    }
  }

  private v9OptionsTemplates(body: Uint8Array, state: DomainState, context: Context, flows: Partial<FlowRow>[], deadLetters: DeadLetter[]): void {
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
      this.addTemplate(state, { id, fields, scopeCount: scopeBytes / 4, options: true, minLength }, context, flows, deadLetters);
    }
  }

  // ---- NetFlow v5 --------------------------------------------------------------------------

  private decodeV5(view: DataView, exporter: string, flows: Partial<FlowRow>[]) {
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
    const base = exportMs - sysUptimeMs;
    const sensor = this.options.sensor ?? exporter.replace(/:\d+$/, '');
    for (let i = 0; i < count; i++) {
      const o = 24 + i * 48;
      const src = new Uint8Array(view.buffer, view.byteOffset + o, 4);
      const dst = new Uint8Array(view.buffer, view.byteOffset + o + 4, 4);
      const packets = view.getUint32(o + 16);
      const bytes = view.getUint32(o + 20);
      const startUs = (base + view.getUint32(o + 24)) * 1000;
      let endUs = (base + view.getUint32(o + 28)) * 1000;
      if (endUs < startUs) endUs = startUs;
      let sport: number = view.getUint16(o + 32);
      let dport: number = view.getUint16(o + 34);
      const flags = view.getUint8(o + 37);
      const proto = view.getUint8(o + 38);
      if (proto === 1) {
        // v5 carries ICMP type*256+code in the destination port.
        sport = dport >> 8;
        dport &= 0xff;
      }
      const cid = communityIdBytes(src, dst, proto, sport, dport);
      const srcText = addressText(src);
      flows.push({
        flow_id: flowId(this.options.site, sensor, `${cid}|${srcText}|${sport}`, startUs),
        community_id: cid,
        site_id: this.options.site,
        sensor_id: sensor,
        source: 'netflow5',
        ts_start: startUs,
        ts_end: endUs,
        duration_s: (endUs - startUs) / 1e6,
        ip_version: 4,
        src_addr: srcText,
        dst_addr: addressText(dst),
        src_port: sport,
        dst_port: dport,
        ip_proto: proto,
        fwd_packets: packets,
        bwd_packets: 0,
        fwd_bytes: bytes,
        bwd_bytes: 0,
        tcp_flags_fwd: proto === 6 ? flags : null,
        features: `{"ingressInterface":${view.getUint16(o + 12)},"egressInterface":${view.getUint16(o + 14)}}`,
      });
    }
    return { domain, sequence };
  }
}
