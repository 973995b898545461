/**
 * Whole data sets of fixed-length IPv4 templates decoded in WebAssembly. When a template arrives,
 * its field plan is compiled into a module function (assembled here byte by byte, as
 * pipeline/sha1-simd.ts assembles the hash) that reads every record of a data set and writes, in
 * the module's memory, what the decoder's row writer (`FlowDecoder.emit`, operators/ingest-ipfix.ts)
 * would write for it: the thirteen numeric columns (ts_start … tcp_flags_bwd, NaN = null) as runs
 * of doubles, the source and destination address text, the end reason and interface `features`
 * text with their column offsets (and the end reason's null flags), and per record the numbers the
 * identity module builds the Community ID input and flow id message from. The decoder then copies
 * each run into its columns (one `set()` per column per data set) and fills the columns every row
 * of a datagram shares (site, sensor, source) itself.
 *
 * The arithmetic is the row writer's, in the same IEEE doubles: times (absolute, uptime-based or
 * the export time, the ±2^53 µs bounds, `Math.round`), ICMP type and code from their field or the
 * destination port, the first present counter of each direction, the flags byte. Which slots a
 * record has is fixed by a fixed-length template, so every "first present value" choice of the
 * row writer is made once, at compile time.
 *
 * Templates this path does not cover keep the field-by-field path: options templates, variable-
 * length fields, IPv6 or MAC addresses, NTP times, biflow direction, systemInitTime inside data
 * records, no protocol field, numbers of 3, 5, 6 or 7 bytes, VLAN or interface fields wider than
 * 4 bytes, and a template without both IPv4 addresses. A data set whose record falls outside what
 * the identity module builds itself (protocol above 255, a port above 65535, a start before 1970)
 * returns 1 and is decoded by the field-by-field path as a whole; nothing of it has been written
 * to the columns then.
 */
import { F64, FunctionCode, I32, name, section, uleb, vec } from '../pipeline/wasm-bytes.ts';

// ---- plan (the same operation and slot numbers as operators/ingest-ipfix.ts) -------------------

/** Value slots the compiled path reads (ingest-ipfix.ts V_*). */
export const SLOT = {
  octets: 0,
  packets: 1,
  octetsTotal: 2,
  packetsTotal: 3,
  revOctets: 4,
  revPackets: 5,
  initOctets: 6,
  respOctets: 7,
  initPackets: 8,
  respPackets: 9,
  proto: 10,
  flags: 11,
  revFlags: 12,
  sport: 13,
  dport: 14,
  icmp: 15,
  src: 16,
  dst: 18,
  startUs: 20,
  endUs: 21,
  startUptime: 22,
  endUptime: 23,
  systemInit: 24,
  endReason: 25,
  vlan: 26,
  srcMac: 27,
  dstMac: 28,
  biflow: 29,
  ingress: 30,
  egress: 31,
} as const;

/** Operations (ingest-ipfix.ts OP_*). */
export const OP = { skip: 0, unsigned: 1, seconds: 2, millis: 3, ntp: 4, ipv4: 5, ipv6: 6, mac: 7, vlan: 8 } as const;

/** One used field of a fixed-length template: its operation, slot, offset in the record and length. */
export interface PlanField {
  readonly op: number;
  readonly slot: number;
  readonly offset: number;
  readonly length: number;
}

// ---- memory layout ---------------------------------------------------------------------------

/** Records of one data set at most: a set is at most 65,535 bytes and a covered record at least 9. */
export const CAP = 8192;
/**
 * The whole-set region starts here, in the identity module's memory (pipeline/identity-batch.ts):
 * that module's own tables lie below it, its messages above SET_END, so the identity numbers a
 * whole-set function writes are read by the identity module where they are.
 */
export const SET_BASE = 4096;
/** Per byte value its decimal text (up to 3 bytes) and, in the fourth byte, the text's length. */
const OCTETS = SET_BASE;
/** End reason words: 16 bytes per code 0..7, the word then its length in byte 8 (0 = null). */
const REASONS = SET_BASE + 1024;
/** Text ends after a call: source, destination, end reason, features; then the end reason's null count. */
export const RESULT = SET_BASE + 1152;
/** "00" … "99": two decimal digits at a time. */
const PAIRS = SET_BASE + 1280;
/** The data set's bytes, copied in by the caller. */
export const BODY = SET_BASE + 2048;
/** Numeric columns: NUM_COLUMNS doubles per record (record-major), in the decoder's NUM order. */
export const NUMBERS = BODY + 65536;
export const NUM_COLUMNS = 13;
/**
 * Identity numbers: ID_WORDS i32 per record (source, destination, protocol, ports, start halves),
 * written where the caller says (the identity batch's room for them, IdentityBatch.v4SetNumbers).
 */
export const ID_WORDS = 7;
/** Column offsets (absolute: the caller's text end plus the bytes written) of the four text columns. */
export const SRC_OFFSETS = NUMBERS + NUM_COLUMNS * CAP * 8;
export const DST_OFFSETS = SRC_OFFSETS + 4 * CAP;
export const REASON_OFFSETS = DST_OFFSETS + 4 * CAP;
export const FEATURE_OFFSETS = REASON_OFFSETS + 4 * CAP;
/** One byte per record: 1 when its end reason is null. */
export const REASON_NULLS = FEATURE_OFFSETS + 4 * CAP;
export const SRC_TEXT = REASON_NULLS + CAP;
export const DST_TEXT = SRC_TEXT + 16 * CAP;
export const REASON_TEXT = DST_TEXT + 16 * CAP;
/** Longest features text: `{"ingressInterface":4294967295,"egressInterface":4294967295}` is 60 bytes. */
export const FEATURE_TEXT = REASON_TEXT + 16 * CAP;
/** End of the whole-set region (the identity batch keeps its messages above it). */
export const SET_END = FEATURE_TEXT + 64 * CAP;
const PAGES = Math.ceil(SET_END / 65536);

/** End reason text of codes 1..5 (flowEndReason, IANA), as the row writer writes it. */
const REASON_WORDS = ['', 'idle', 'active', 'fin', 'eof', 'exporter'];

// ---- opcodes (WebAssembly core spec 2.0, 5.4) -----------------------------------------------

const BLOCK_VOID = 0x40;
const OP_BLOCK = 0x02;
const OP_LOOP = 0x03;
const OP_IF = 0x04;
const OP_ELSE = 0x05;
const OP_END = 0x0b;
const OP_BR = 0x0c;
const OP_BR_IF = 0x0d;
const OP_RETURN = 0x0f;
const OP_SELECT = 0x1b;
const I32_LOAD = 0x28;
const I32_LOAD8_U = 0x2d;
const I32_STORE = 0x36;
const I32_STORE8 = 0x3a;
const I32_LOAD16_U = 0x2f;
const I32_STORE16 = 0x3b;
const F64_STORE = 0x39;
const F64_CONST = 0x44;
const I32_EQZ = 0x45;
const I32_LT_U = 0x49;
const I32_GE_U = 0x4f;
const F64_EQ = 0x61;
const F64_NE = 0x62;
const F64_LT = 0x63;
const F64_GT = 0x64;
const F64_LE = 0x65;
const F64_GE = 0x66;
const I32_ADD = 0x6a;
const I32_SUB = 0x6b;
const I32_MUL = 0x6c;
const I32_DIV_U = 0x6e;
const I32_REM_U = 0x70;
const I32_AND = 0x71;
const I32_OR = 0x72;
const I32_SHL = 0x74;
const I32_SHR_U = 0x76;
const F64_ABS = 0x99;
const F64_FLOOR = 0x9c;
const F64_ADD = 0xa0;
const F64_SUB = 0xa1;
const F64_MUL = 0xa2;
const F64_DIV = 0xa3;
const F64_COPYSIGN = 0xa6;
const I32_TRUNC_F64_S = 0xaa;
const F64_CONVERT_I32_U = 0xb8;

/** Instruction writer of one function body. */
class Asm extends FunctionCode {
  f64(v: number): this {
    const b = new Uint8Array(new Float64Array([v]).buffer);
    return this.op(F64_CONST, ...b);
  }
  load8(offset = 0): this {
    return this.op(I32_LOAD8_U, 0, ...uleb(offset));
  }
  load(offset = 0): this {
    return this.op(I32_LOAD, 0, ...uleb(offset));
  }
  store(offset = 0): this {
    return this.op(I32_STORE, 0, ...uleb(offset));
  }
  store8(offset = 0): this {
    return this.op(I32_STORE8, 0, ...uleb(offset));
  }
  storeF64(offset = 0): this {
    return this.op(F64_STORE, 0, ...uleb(offset));
  }
}

/** The smallest record a covered template can have: two IPv4 addresses and a protocol byte. */
const MIN_RECORD = 9;

/**
 * True when the whole-set path covers a fixed-length data template with these used fields (see
 * the module comment for what it does not).
 */
export function covers(fields: readonly PlanField[], recordLength: number): boolean {
  if (recordLength < MIN_RECORD) return false;
  let src = -1;
  let dst = -1;
  let proto = false;
  for (const f of fields) {
    if (f.op === OP.ipv6 || f.op === OP.mac || f.op === OP.ntp) return false;
    if (f.slot === SLOT.biflow || f.slot === SLOT.systemInit) return false;
    if (f.op === OP.ipv4) {
      if (f.length !== 4) return false;
      if (f.slot === SLOT.src) src = f.offset;
      else dst = f.offset;
      continue;
    }
    if (f.length !== 1 && f.length !== 2 && f.length !== 4 && f.length !== 8) return false;
    if ((f.slot === SLOT.vlan || f.slot === SLOT.ingress || f.slot === SLOT.egress) && f.length > 4) return false;
    if (f.slot === SLOT.proto) proto = true;
  }
  return src >= 0 && dst >= 0 && proto;
}

/** A compiled whole-set decoder: `(count, srcEnd, dstEnd, reasonEnd, featuresEnd, uptimeBaseMs, exportUs) → 0 | 1`. */
export type SetDecode = (count: number, srcEnd: number, dstEnd: number, reasonEnd: number, featuresEnd: number, uptimeBaseMs: number, exportUs: number, idsAt: number) => number;

// Parameters and locals of the function.
const P_COUNT = 0;
const P_SRC_END = 1;
const P_DST_END = 2;
const P_REASON_END = 3;
const P_FEATURES_END = 4;
const P_UPTIME_BASE = 5; // f64
const P_EXPORT_US = 6; // f64
const P_IDS = 7; // where the identity numbers go (4-aligned)
const PARAMS = [I32, I32, I32, I32, I32, F64, F64, I32];
// i32 locals
const L_I = 8;
const L_REC = 9;
const L_SRC = 10;
const L_DST = 11;
const L_SP = 12; // source text pointer
const L_DP = 13;
const L_RP = 14;
const L_FP = 15;
const L_NULLS = 16;
const L_T = 17;
const L_Q = 18;
const L_N = 19;
const L_V = 20;
const L_IN = 21; // ingress / egress as u32
const L_EG = 22;
const L_ID = 23; // identity record pointer
const I32_LOCALS = 16;
// f64 locals: one per value slot (0..31), then scratch
const F_SLOT = 24;
const F_START = F_SLOT + 32;
const F_END = F_START + 1;
const F_SPORT = F_START + 2;
const F_DPORT = F_START + 3;
const F_X = F_START + 4;
const F64_LOCALS = 32 + 6;

const MAX_SAFE = Number.MAX_SAFE_INTEGER;

/** The function body of a template's whole-set decoder. */
function decodeBody(fields: readonly PlanField[], recordLength: number): number[] {
  const a = new Asm();
  const present = new Set<number>();
  for (const f of fields) {
    present.add(f.slot);
    if (f.op === OP.ipv4) present.add(f.slot + 1);
  }
  const has = (slot: number) => present.has(slot);
  /** Push the unsigned big-endian value of `length` bytes at record + offset, as i32 (lengths 1, 2, 4). */
  const u32 = (offset: number, length: number) => {
    if (length === 1) {
      a.get(L_REC).load8(BODY + offset);
      return;
    }
    a.get(L_REC).load8(BODY + offset).i32(8).op(I32_SHL).get(L_REC).load8(BODY + offset + 1).op(I32_OR);
    if (length === 2) return;
    a.i32(8).op(I32_SHL).get(L_REC).load8(BODY + offset + 2).op(I32_OR);
    a.i32(8).op(I32_SHL).get(L_REC).load8(BODY + offset + 3).op(I32_OR);
  };
  /** Push the unsigned value as f64 (8 bytes: high word × 2^32 + low word, as `readUnsigned`). */
  const unsigned = (offset: number, length: number) => {
    if (length === 8) {
      u32(offset, 4);
      a.op(F64_CONVERT_I32_U).f64(4294967296).op(F64_MUL);
      u32(offset + 4, 4);
      a.op(F64_CONVERT_I32_U).op(F64_ADD);
      return;
    }
    u32(offset, length);
    a.op(F64_CONVERT_I32_U);
  };
  /**
   * x mod 256 of a non-negative integral double x (the row writer's flags byte). (Here and below
   * x × 2^-8 stands for x / 256: scaling by a power of two is exact either way, and cheaper.)
   */
  const byteOf = (slot: number) => {
    a.get(F_SLOT + slot).get(F_SLOT + slot).f64(1 / 256).op(F64_MUL).op(F64_FLOOR).f64(256).op(F64_MUL).op(F64_SUB);
  };
  /** Math.round of the double on the stack (via F_X): floor, up when the rest is ≥ 0.5, sign of x. */
  const round = () => {
    a.set(F_X);
    a.get(F_X).op(F64_FLOOR).f64(1).op(F64_ADD);
    a.get(F_X).op(F64_FLOOR);
    a.get(F_X).get(F_X).op(F64_FLOOR).op(F64_SUB).f64(0.5).op(F64_GE).op(OP_SELECT);
    a.get(F_X).op(F64_COPYSIGN);
  };
  /** Keep the double in local l only when |l| ≤ 2^53 − 1, else NaN. */
  const bound = (l: number) => {
    a.get(l).f64(NaN).get(l).op(F64_ABS).f64(MAX_SAFE).op(F64_LE).op(OP_SELECT).set(l);
  };
  /** Write the constant ASCII text at pointer local p, advancing it. */
  const text = (p: number, s: string) => {
    // four bytes at a time (little-endian words), then the rest byte by byte
    let i = 0;
    for (; i + 4 <= s.length; i += 4) a.get(p).i32(s.charCodeAt(i) | (s.charCodeAt(i + 1) << 8) | (s.charCodeAt(i + 2) << 16) | (s.charCodeAt(i + 3) << 24)).store(i);
    for (; i < s.length; i++) a.get(p).i32(s.charCodeAt(i)).store8(i);
    a.get(p).i32(s.length).op(I32_ADD).set(p);
  };
  /** Decimal digits of the u32 in local L_V at pointer local p (p advances). */
  const digits = (p: number) => {
    // Below 100 (most interface numbers): one or two digits from the pairs table.
    a.get(L_V).i32(10).op(I32_LT_U, OP_IF, BLOCK_VOID);
    a.get(p).get(L_V).i32(48).op(I32_ADD).store8();
    a.get(p).i32(1).op(I32_ADD).set(p);
    a.op(OP_ELSE);
    a.get(L_V).i32(100).op(I32_LT_U, OP_IF, BLOCK_VOID);
    a.get(p).get(L_V).i32(1).op(I32_SHL).op(I32_LOAD16_U, 0, ...uleb(PAIRS)).op(I32_STORE16, 0, 0);
    a.get(p).i32(2).op(I32_ADD).set(p);
    a.op(OP_ELSE);
    // count: N = 1 + number of powers of ten ≤ v
    a.i32(1).set(L_N);
    for (const power of [10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000, 1000000000]) a.get(L_N).get(L_V).i32(power).op(I32_GE_U).op(I32_ADD).set(L_N);
    a.get(p).get(L_N).op(I32_ADD).tee(L_Q).set(p);
    a.op(OP_LOOP, BLOCK_VOID);
    a.get(L_Q).i32(1).op(I32_SUB).tee(L_Q).get(L_V).i32(10).op(I32_REM_U).i32(48).op(I32_ADD).store8();
    a.get(L_V).i32(10).op(I32_DIV_U).tee(L_V).op(OP_BR_IF, 0);
    a.op(OP_END);
    a.op(OP_END, OP_END);
  };
  /** Dotted text of the big-endian address in local addr at pointer local p. */
  const dotted = (addr: number, p: number) => {
    for (let j = 0; j < 4; j++) {
      if (j > 0) {
        a.get(p).i32(46).store8();
        a.get(p).i32(1).op(I32_ADD).set(p);
      }
      a.get(addr).i32(24 - 8 * j).op(I32_SHR_U).i32(255).op(I32_AND).i32(2).op(I32_SHL).load(OCTETS).set(L_T);
      a.get(p).get(L_T).store();
      a.get(p).get(L_T).i32(24).op(I32_SHR_U).op(I32_ADD).set(p);
    }
  };
  /** Store the value `value` pushes as numeric column c of record I (L_T: the record's numbers). */
  const column = (c: number, value: () => void) => {
    a.get(L_T);
    value();
    a.storeF64(NUMBERS + c * 8);
  };

  // Slots the template does not fill are NaN in every record.
  for (let s = 0; s < 32; s++) if (!has(s)) a.f64(NaN).set(F_SLOT + s);
  a.i32(SRC_TEXT).set(L_SP).i32(DST_TEXT).set(L_DP).i32(REASON_TEXT).set(L_RP).i32(FEATURE_TEXT).set(L_FP).i32(0).set(L_NULLS);
  a.i32(0).set(L_I).i32(0).set(L_REC).get(P_IDS).set(L_ID);
  a.op(OP_BLOCK, BLOCK_VOID, OP_LOOP, BLOCK_VOID);
  a.get(L_I).get(P_COUNT).op(I32_GE_U, OP_BR_IF, 1);

  // Fields, in template order (a later field of the same slot wins, as in the reader).
  for (const f of fields) {
    switch (f.op) {
      case OP.ipv4:
        u32(f.offset, 4);
        a.set(f.slot === SLOT.src ? L_SRC : L_DST);
        break;
      case OP.unsigned:
        if (f.slot === SLOT.ingress || f.slot === SLOT.egress) {
          u32(f.offset, f.length);
          a.set(f.slot === SLOT.ingress ? L_IN : L_EG);
        } else {
          unsigned(f.offset, f.length);
          a.set(F_SLOT + f.slot);
        }
        break;
      case OP.seconds:
        unsigned(f.offset, f.length);
        a.f64(1e6).op(F64_MUL).set(F_SLOT + f.slot);
        break;
      case OP.millis:
        unsigned(f.offset, f.length);
        a.f64(1000).op(F64_MUL).set(F_SLOT + f.slot);
        break;
      case OP.vlan:
        u32(f.offset, f.length);
        a.i32(0x0fff).op(I32_AND).op(F64_CONVERT_I32_U).set(F_SLOT + f.slot);
        break;
      default:
        throw new Error(`whole-set decoder: operation ${f.op} is not covered`);
    }
  }

  // Times: absolute fields, else uptime-based ones, else the export time (FlowDecoder.emit).
  a.get(F_SLOT + SLOT.startUs).set(F_START);
  bound(F_START);
  a.get(F_SLOT + SLOT.endUs).set(F_END);
  bound(F_END);
  if (has(SLOT.startUptime)) {
    a.get(P_UPTIME_BASE).get(F_SLOT + SLOT.startUptime).op(F64_ADD).f64(1000).op(F64_MUL).get(F_START).get(F_START).get(F_START).op(F64_NE).op(OP_SELECT).set(F_START);
  }
  if (has(SLOT.endUptime)) {
    a.get(P_UPTIME_BASE).get(F_SLOT + SLOT.endUptime).op(F64_ADD).f64(1000).op(F64_MUL).get(F_END).get(F_END).get(F_END).op(F64_NE).op(OP_SELECT).set(F_END);
  }
  bound(F_START);
  bound(F_END);
  // start = start is NaN ? (end is NaN ? export : end) : start
  a.get(P_EXPORT_US).get(F_END).get(F_END).get(F_END).op(F64_NE).op(OP_SELECT).get(F_START).get(F_START).get(F_START).op(F64_NE).op(OP_SELECT).set(F_START);
  // end = end is NaN || end < start ? start : end
  a.get(F_START).get(F_END).get(F_END).get(F_END).op(F64_NE).get(F_END).get(F_START).op(F64_LT).op(I32_OR).op(OP_SELECT).set(F_END);
  a.get(F_START);
  round();
  a.set(F_START);
  a.get(F_END);
  round();
  a.set(F_END);

  // Ports, with ICMP type and code from their field or the destination port.
  a.get(F_SLOT + SLOT.sport).set(F_SPORT);
  a.get(F_SLOT + SLOT.dport).set(F_DPORT);
  const proto = F_SLOT + SLOT.proto;
  a.get(proto).f64(1).op(F64_EQ).get(proto).f64(58).op(F64_EQ).op(I32_OR).op(OP_IF, BLOCK_VOID);
  if (has(SLOT.icmp)) {
    const icmp = F_SLOT + SLOT.icmp;
    a.get(icmp).f64(1 / 256).op(F64_MUL).op(F64_FLOOR).set(F_SPORT);
    byteOf(SLOT.icmp);
    a.set(F_DPORT);
  } else {
    // dport present and (sport absent or 0)
    a.get(F_DPORT).get(F_DPORT).op(F64_EQ).get(F_SPORT).get(F_SPORT).op(F64_NE).get(F_SPORT).f64(0).op(F64_EQ).op(I32_OR).op(I32_AND).op(OP_IF, BLOCK_VOID);
    a.get(F_DPORT).f64(1 / 256).op(F64_MUL).op(F64_FLOOR).set(F_SPORT);
    a.get(F_DPORT).get(F_DPORT).f64(1 / 256).op(F64_MUL).op(F64_FLOOR).f64(256).op(F64_MUL).op(F64_SUB).set(F_DPORT);
    a.op(OP_END);
  }
  a.op(OP_END);

  // The identity module's conditions: protocol ≤ 255, ports ≤ 65535, start ≥ 0; else the set
  // goes to the field-by-field path.
  a.get(proto).f64(255).op(F64_GT).get(F_SPORT).f64(65535).op(F64_GT).op(I32_OR).get(F_DPORT).f64(65535).op(F64_GT).op(I32_OR).get(F_START).f64(0).op(F64_GE).op(I32_EQZ).op(I32_OR);
  a.op(OP_IF, BLOCK_VOID).i32(1).op(OP_RETURN).op(OP_END);

  // Identity numbers: source, destination, protocol, ports (-1 absent), start µs as 10^8 halves.
  a.get(L_ID).get(L_SRC).store(0);
  a.get(L_ID).get(L_DST).store(4);
  a.get(L_ID).get(proto).op(I32_TRUNC_F64_S).store(8);
  // (select before truncating: truncating NaN traps)
  a.get(L_ID).get(F_SPORT).f64(-1).get(F_SPORT).get(F_SPORT).op(F64_EQ).op(OP_SELECT).op(I32_TRUNC_F64_S).store(12);
  a.get(L_ID).get(F_DPORT).f64(-1).get(F_DPORT).get(F_DPORT).op(F64_EQ).op(OP_SELECT).op(I32_TRUNC_F64_S).store(16);
  a.get(F_START).f64(1e8).op(F64_DIV).op(F64_FLOOR).set(F_X);
  a.get(L_ID).get(F_X).op(I32_TRUNC_F64_S).store(20);
  a.get(L_ID).get(F_START).get(F_X).f64(1e8).op(F64_MUL).op(F64_SUB).op(I32_TRUNC_F64_S).store(24);
  a.get(L_ID).i32(4 * ID_WORDS).op(I32_ADD).set(L_ID);

  // Numeric columns (NUM order of ingest-ipfix-columns.ts).
  const first = (slots: number[]) => () => {
    const s = slots.find(has);
    if (s === undefined) a.f64(0);
    else a.get(F_SLOT + s);
  };
  const flagsOf = (slot: number) => () => {
    if (!has(slot)) {
      a.f64(NaN);
      return;
    }
    byteOf(slot);
    a.f64(NaN).get(proto).f64(6).op(F64_EQ).op(OP_SELECT);
  };
  a.get(L_I).i32(NUM_COLUMNS * 8).op(I32_MUL).set(L_T);
  column(0, () => a.get(F_START));
  column(1, () => a.get(F_END));
  column(2, () => a.f64(4));
  column(3, () => a.get(F_SPORT));
  column(4, () => a.get(F_DPORT));
  column(5, () => a.get(proto));
  column(6, () => a.get(F_SLOT + SLOT.vlan));
  column(7, first([SLOT.initPackets, SLOT.packets, SLOT.packetsTotal]));
  column(8, first([SLOT.respPackets, SLOT.revPackets]));
  column(9, first([SLOT.initOctets, SLOT.octets, SLOT.octetsTotal]));
  column(10, first([SLOT.respOctets, SLOT.revOctets]));
  column(11, flagsOf(SLOT.flags));
  column(12, flagsOf(SLOT.revFlags));

  // Address text and its column offsets.
  const offset = (table: number, p: number, start: number, end: number) => {
    a.get(L_I).i32(2).op(I32_SHL).get(end).get(p).op(I32_ADD).i32(start).op(I32_SUB).store(table);
  };
  dotted(L_SRC, L_SP);
  offset(SRC_OFFSETS, L_SP, SRC_TEXT, P_SRC_END);
  dotted(L_DST, L_DP);
  offset(DST_OFFSETS, L_DP, DST_TEXT, P_DST_END);

  // End reason: the word of codes 1..5, else null.
  if (has(SLOT.endReason)) {
    const code = F_SLOT + SLOT.endReason;
    // T = code in 1..5 ? code : 0 (the entry of 0 and 6, 7 has length 0)
    a.get(code).f64(0).get(code).f64(1).op(F64_GE).get(code).f64(6).op(F64_LT).op(I32_AND).op(OP_SELECT).op(I32_TRUNC_F64_S).i32(4).op(I32_SHL).set(L_T);
    a.get(L_T).load8(REASONS + 8).set(L_N);
    a.get(L_I).get(L_N).op(I32_EQZ).store8(REASON_NULLS);
    a.get(L_NULLS).get(L_N).op(I32_EQZ).op(I32_ADD).set(L_NULLS);
    a.get(L_RP).get(L_T).load(REASONS).store(0);
    a.get(L_RP).get(L_T).load(REASONS + 4).store(4);
    a.get(L_RP).get(L_N).op(I32_ADD).set(L_RP);
  } else {
    a.get(L_I).i32(1).store8(REASON_NULLS);
    a.get(L_NULLS).i32(1).op(I32_ADD).set(L_NULLS);
  }
  offset(REASON_OFFSETS, L_RP, REASON_TEXT, P_REASON_END);

  // Interface features text, when the template has either interface.
  const ingress = has(SLOT.ingress);
  const egress = has(SLOT.egress);
  if (ingress || egress) {
    text(L_FP, '{');
    if (ingress) {
      text(L_FP, '"ingressInterface":');
      a.get(L_IN).set(L_V);
      digits(L_FP);
    }
    if (egress) {
      text(L_FP, ingress ? ',"egressInterface":' : '"egressInterface":');
      a.get(L_EG).set(L_V);
      digits(L_FP);
    }
    text(L_FP, '}');
  }
  offset(FEATURE_OFFSETS, L_FP, FEATURE_TEXT, P_FEATURES_END);

  a.get(L_REC).i32(recordLength).op(I32_ADD).set(L_REC);
  a.get(L_I).i32(1).op(I32_ADD).set(L_I);
  a.op(OP_BR, 0, OP_END, OP_END);

  // Text ends and the end reason's null count.
  a.i32(RESULT).get(P_SRC_END).get(L_SP).op(I32_ADD).i32(SRC_TEXT).op(I32_SUB).store(0);
  a.i32(RESULT).get(P_DST_END).get(L_DP).op(I32_ADD).i32(DST_TEXT).op(I32_SUB).store(4);
  a.i32(RESULT).get(P_REASON_END).get(L_RP).op(I32_ADD).i32(REASON_TEXT).op(I32_SUB).store(8);
  a.i32(RESULT).get(P_FEATURES_END).get(L_FP).op(I32_ADD).i32(FEATURE_TEXT).op(I32_SUB).store(12);
  a.i32(RESULT).get(L_NULLS).store(16);
  a.i32(0);
  a.op(OP_END);
  return [2, ...uleb(I32_LOCALS), I32, ...uleb(F64_LOCALS), F64, ...a.bytes];
}

/** A module of one exported function `decode` over an imported memory `m.memory`. */
function moduleOf(body: readonly number[]): Uint8Array<ArrayBuffer> {
  const type = [0x60, ...vec(PARAMS.map((t) => [t])), ...vec([[I32]])];
  return new Uint8Array([
    ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
    ...section(1, vec([type])),
    ...section(2, vec([[...name('m'), ...name('memory'), 0x02, 0x00, ...uleb(PAGES)]])),
    ...section(3, vec([[0]])),
    ...section(7, vec([[...name('decode'), 0x00, 0]])),
    ...section(10, vec([[...uleb(body.length), ...body]])),
  ]);
}

/** Compiled modules by field plan (templates repeat across exporters and decoders). */
const modules = new Map<string, WebAssembly.Module>();
const MAX_MODULES = 256;

/**
 * The whole-set region of one decoder, in the memory of its identity batch, and views of that
 * memory. `compile` makes a template's function over it; the caller copies a data set to BODY,
 * calls it, and reads the runs. The identity batch may grow the memory: `views()` renews the
 * views then (call it after anything that may have grown it, before reading them).
 */
export class SetMemory {
  bytes: Uint8Array;
  f64: Float64Array;
  i32: Int32Array;

  /** `memory`: the identity batch's, kept free by it below SET_END (grown here to reach it). */
  constructor(readonly memory: WebAssembly.Memory) {
    const have = memory.buffer.byteLength;
    if (have < PAGES * 65536) memory.grow(PAGES - have / 65536);
    this.bytes = new Uint8Array(memory.buffer);
    this.f64 = new Float64Array(memory.buffer);
    this.i32 = new Int32Array(memory.buffer);
    const b = this.bytes;
    for (let v = 0; v < 256; v++) {
      const digits = String(v);
      for (let i = 0; i < digits.length; i++) b[OCTETS + 4 * v + i] = digits.charCodeAt(i);
      b[OCTETS + 4 * v + 3] = digits.length;
    }
    for (let v = 0; v < 100; v++) {
      b[PAIRS + 2 * v] = 48 + Math.floor(v / 10);
      b[PAIRS + 2 * v + 1] = 48 + (v % 10);
    }
    REASON_WORDS.forEach((word, code) => {
      for (let i = 0; i < word.length; i++) b[REASONS + 16 * code + i] = word.charCodeAt(i);
      b[REASONS + 16 * code + 8] = word.length;
    });
  }

  /** Renew the views when the memory has grown (a grown memory detaches the old buffer). */
  views(): void {
    if (this.bytes.byteLength !== 0) return;
    const buffer = this.memory.buffer;
    this.bytes = new Uint8Array(buffer);
    this.f64 = new Float64Array(buffer);
    this.i32 = new Int32Array(buffer);
  }

  /** The whole-set decoder of a fixed-length template's used fields, or null when not covered. */
  compile(fields: readonly PlanField[], recordLength: number): SetDecode | null {
    if (!covers(fields, recordLength)) return null;
    const key = `${recordLength}|${fields.map((f) => `${f.op}.${f.slot}.${f.offset}.${f.length}`).join(',')}`;
    let module = modules.get(key);
    if (module === undefined) {
      module = new WebAssembly.Module(moduleOf(decodeBody(fields, recordLength)));
      if (modules.size >= MAX_MODULES) modules.clear();
      modules.set(key, module);
    }
    const instance = new WebAssembly.Instance(module, { m: { memory: this.memory } });
    return instance.exports.decode as SetDecode;
  }
}
