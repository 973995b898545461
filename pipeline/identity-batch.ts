/**
 * Flow identity of many flows in one call, its bytes never leaving WebAssembly memory: a decoder
 * writes each flow's Community ID input (`communityIdInput`) and flow id message
 * (`site \0 sensor \0 key \0 start`, its Community ID text left as a 30-byte hole) straight into
 * the module's memory, then one `run()` pads and hashes all Community ID inputs (SHA-1, four
 * lanes at a time, pipeline/sha1-simd.ts), writes their text both into an output run and into the
 * holes of the flow id messages, hashes those, and writes the flow ids' hex text into a second
 * run. The decoder copies each run into its column bytes with one `set()`.
 *
 * The same ids as `communityIdBytes` and `flowId` (pipeline/flow-id.ts), byte for byte.
 */
import { COMMUNITY_ID_TEXT_LENGTH, FLOW_ID_TEXT_LENGTH, ICMP4_PAIR, ICMP6_PAIR } from './flow-id.ts';
import { IDS_EMPTY, IDS_FREE, IDS_GROUP, IDS_ICMP4, IDS_ICMP6, V4_WORDS, compileSha1Ids, type Sha1Ids } from './sha1-simd.ts';

/** An instance of the identity module (its own memory) with its ICMP pair tables filled. */
function identityModule(): Sha1Ids | null {
  const wasm = compileSha1Ids();
  if (wasm !== null) {
    const memory = new Uint8Array(wasm.memory.buffer);
    for (const [type, reply] of Object.entries(ICMP4_PAIR)) memory[IDS_ICMP4 + Number(type)] = reply;
    for (const [type, reply] of Object.entries(ICMP6_PAIR)) memory[IDS_ICMP6 + Number(type)] = reply;
  }
  return wasm;
}

/** Bytes of a flow id message `pushV4` reserves besides its prefix: hole, |, address, |, port, \0, start. */
const V4_MESSAGE_MAX = 30 + 1 + 15 + 1 + 5 + 1 + 16;
/** The same for `pushV4Pcap`: hole, \0, start. */
const PCAP_MESSAGE_MAX = 30 + 1 + 16;

/** Bytes a message slot takes: the message, 0x80, zeros and the 8-byte length, in whole blocks. */
const slotBytes = (length: number) => (((length + 8) >>> 6) + 1) << 6;

/** Grow an Int32Array to hold at least `n` items, keeping its content. */
function ensure(a: Int32Array<ArrayBuffer>, n: number): Int32Array<ArrayBuffer> {
  if (n <= a.length) return a;
  const b = new Int32Array(Math.max(n, a.length * 2));
  b.set(a);
  return b;
}

/**
 * Community ID inputs and flow id messages gathered for one `run()`. Write a message at
 * `reserve(n)` into `bytes` (read `bytes` after every reserve: the memory may have grown), close
 * it with `pushCommunityId` (and tell where its text goes in the flow id message with `holeAt`) /
 * `pushFlowId`, run, read the text at `communityIdText` (30 bytes per
 * Community ID, in push order) and `flowIdText` (16 bytes per flow id), then `clear()`.
 */
export class IdentityBatch {
  private readonly wasm: Sha1Ids;
  /** The module's memory (remade when it grows). */
  bytes: Uint8Array;
  /** The same memory as 32-bit words. */
  private words: Int32Array;
  /** Where messages start: IDS_FREE, or above a region the owner keeps for itself (64-byte aligned). */
  private readonly free: number;
  /** Where the next message goes (64-byte aligned). */
  private end: number;
  /** Longest message slot of the batch (lanes of a group read up to it past their own). */
  private longest = 64;
  private cids: Int32Array<ArrayBuffer> = new Int32Array(2 * 64);
  private keys: Int32Array<ArrayBuffer> = new Int32Array(64);
  private fids: Int32Array<ArrayBuffer> = new Int32Array(2 * 64);
  /** IPv4 flows whose messages the module writes (V4_WORDS each), and their count. */
  private v4: Int32Array<ArrayBuffer> = new Int32Array(V4_WORDS * 64);
  private v4Count = 0;
  /** The same for flows of a capture (`pushV4Pcap`). */
  private pcapV4: Int32Array<ArrayBuffer> = new Int32Array(V4_WORDS * 64);
  private pcapCount = 0;
  /**
   * Runs of IPv4 flows whose numbers lie in the memory (`pushV4Set`), 8 words each: numbers
   * address, count, first slot, slot stride, first Community ID and flow id index, prefix address
   * and length.
   */
  private sets: Int32Array<ArrayBuffer> = new Int32Array(8 * 8);
  private setCount = 0;
  /** Flows of those runs (when they are all the batch's flows, the JavaScript tables hold nothing). */
  private setFlows = 0;
  /** The exporter prefix last copied into the memory, and where. */
  private prefix: Uint8Array | null = null;
  private prefixAt = 0;
  /** Messages pushed. */
  communityIds = 0;
  flowIds = 0;
  /** After `run()`: addresses in `bytes` of the Community ID text and the flow id text. */
  communityIdText = 0;
  flowIdText = 0;

  /**
   * `low`: the memory below this address (rounded up to 64 bytes) is the owner's (a whole-set
   * decoder's region, operators/ipfix-wasm.ts); messages and tables go above it.
   */
  constructor(low = IDS_FREE) {
    this.free = (Math.max(low, IDS_FREE) + 63) & ~63;
    this.end = this.free;
    const wasm = identityModule();
    if (wasm === null) throw new Error('WebAssembly SIMD is not available in this runtime (flow identity needs it; Node.js 20 has it)');
    this.wasm = wasm;
    this.bytes = new Uint8Array(this.wasm.memory.buffer);
    this.words = new Int32Array(this.wasm.memory.buffer);
  }

  /** The module's memory (shared with the owner of the region below `low`). */
  get memory(): WebAssembly.Memory {
    return this.wasm.memory;
  }

  /** Make room for a message of at most `n` bytes; returns where to write it in `bytes`. */
  reserve(n: number): number {
    this.room(this.end + slotBytes(n));
    return this.end;
  }

  /** Close the Community ID input `bytes[start .. end)`; returns its index. */
  pushCommunityId(start: number, end: number): number {
    const k = this.communityIds++;
    if (2 * k + 2 > this.cids.length) {
      this.cids = ensure(this.cids, 2 * k + 2);
      this.keys = ensure(this.keys, k + 1);
    }
    this.cids[2 * k] = start;
    this.cids[2 * k + 1] = end - start;
    this.keys[k] = IDS_EMPTY + 64; // a scratch hole until holeAt()
    this.close(start, end);
    return k;
  }

  /** Community ID `k`'s text also goes into a flow id message, at `at` in `bytes` (its 30-byte hole). */
  holeAt(k: number, at: number): void {
    this.keys[k] = at;
  }

  /** Close the flow id message `bytes[start .. end)`; returns its index. */
  pushFlowId(start: number, end: number): number {
    const k = this.flowIds++;
    if (2 * k + 2 > this.fids.length) this.fids = ensure(this.fids, 2 * k + 2);
    this.fids[2 * k] = start;
    this.fids[2 * k + 1] = end - start;
    this.close(start, end);
    return k;
  }

  private close(start: number, end: number): void {
    const slot = slotBytes(end - start);
    if (slot > this.longest) this.longest = slot;
    this.end = start + slot;
  }

  /** Have `bytes` reach `need` bytes (plus what lanes read past the last slot). */
  private room(need: number): void {
    const want = need + this.longest + 256;
    if (want <= this.bytes.length) return;
    // (a memory grown by the owner of the low region detaches these views too: length 0)
    const memory = this.wasm.memory;
    if (want > memory.buffer.byteLength) memory.grow(Math.ceil((want - memory.buffer.byteLength) / 65536));
    this.bytes = new Uint8Array(memory.buffer);
    this.words = new Int32Array(memory.buffer);
  }

  /**
   * An IPv4 flow whose Community ID input and flow id message the module writes itself (the same
   * bytes as `communityIdInput` and `site \0 sensor \0 <Community ID>|<source>|<port> \0 <start>`):
   * `prefix` is `site \0 sensor \0`, addresses are big-endian numbers, protocol 0..255, ports
   * 0..65535 or -1 when absent (the Community ID then takes 0), start 0..2^53 µs as its decimal
   * halves (µs = startHigh × 10^8 + startLow: two small integers, so no number is boxed per
   * call). Returns the Community ID's index; the flow id's index is `flowIds - 1` after the call.
   */
  pushV4(prefix: Uint8Array, src: number, dst: number, proto: number, sport: number, dport: number, startHigh: number, startLow: number): number {
    return this.pushV4To(false, prefix, src, dst, proto, sport, dport, startHigh, startLow);
  }

  /**
   * `pushV4` for a flow of a capture: the flow id message is `site \0 sensor \0 <Community ID> \0
   * <start>` (no exporter address and port: the bytes operators/pcap/flow-identity.ts writes),
   * `prefix` being `site \0 sensor \0`. Ports 0..65535 (ICMP: type and code).
   */
  pushV4Pcap(prefix: Uint8Array, src: number, dst: number, proto: number, sport: number, dport: number, startHigh: number, startLow: number): number {
    return this.pushV4To(true, prefix, src, dst, proto, sport, dport, startHigh, startLow);
  }

  private pushV4To(pcap: boolean, prefix: Uint8Array, src: number, dst: number, proto: number, sport: number, dport: number, startHigh: number, startLow: number): number {
    if (prefix !== this.prefix) this.usePrefix(prefix);
    // One room check for both messages: the Community ID input (12 or 16 bytes) takes one
    // 64-byte slot, the flow id message the slot right after it.
    const c = this.end;
    const f = c + 64;
    const fidLength = prefix.length + (pcap ? PCAP_MESSAGE_MAX : V4_MESSAGE_MAX);
    this.room(f + slotBytes(fidLength));
    const k = this.pushCommunityId(c, c + (proto === 6 || proto === 17 || proto === 132 || proto === 1 || proto === 58 ? 16 : 12));
    const j = this.pushFlowId(f, f + fidLength);
    this.keys[k] = f + prefix.length;
    let w: Int32Array<ArrayBuffer>;
    let n: number;
    if (pcap) {
      n = this.pcapCount++;
      if ((n + 1) * V4_WORDS > this.pcapV4.length) this.pcapV4 = ensure(this.pcapV4, (n + 1) * V4_WORDS);
      w = this.pcapV4;
    } else {
      n = this.v4Count++;
      if ((n + 1) * V4_WORDS > this.v4.length) this.v4 = ensure(this.v4, (n + 1) * V4_WORDS);
      w = this.v4;
    }
    const o = n * V4_WORDS;
    w[o] = c;
    w[o + 1] = f;
    w[o + 2] = j;
    w[o + 3] = this.prefixAt;
    w[o + 4] = prefix.length;
    w[o + 5] = src;
    w[o + 6] = dst;
    w[o + 7] = proto;
    w[o + 8] = sport;
    w[o + 9] = dport;
    w[o + 10] = startHigh;
    w[o + 11] = startLow;
    return k;
  }

  /** Copy an exporter's `prefix` into the memory once; the messages pushed after it refer to it. */
  private usePrefix(prefix: Uint8Array): void {
    const at = this.reserve(prefix.length);
    this.bytes.set(prefix, at);
    this.end = at + ((prefix.length + 63) & ~63);
    this.prefix = prefix;
    this.prefixAt = at;
  }

  /**
   * Where `n` IPv4 flows of exporter prefix `prefix` may write their numbers for `pushV4Set`, seven
   * words each (source, destination, protocol, source port, destination port, start high and low
   * halves): room is made for them and their messages. Nothing is pushed until `pushV4Set`; read
   * `bytes` again afterwards (the memory may have grown).
   */
  v4SetNumbers(prefix: Uint8Array, n: number): number {
    if (prefix !== this.prefix) this.usePrefix(prefix);
    const at = this.end;
    const fidSlot = slotBytes(prefix.length + V4_MESSAGE_MAX);
    if (fidSlot > this.longest) this.longest = fidSlot;
    this.room(((at + 28 * n + 63) & ~63) + n * (64 + fidSlot));
    return at;
  }

  /**
   * `pushV4` for the `n` flows whose numbers were written at `at` (from `v4SetNumbers`, with
   * the same prefix and no push in between): the module reads them there when the batch runs.
   */
  pushV4Set(at: number, n: number): void {
    if (n <= 0) return;
    const prefixLength = this.prefix!.length;
    const fidSlot = slotBytes(prefixLength + V4_MESSAGE_MAX);
    if (fidSlot > this.longest) this.longest = fidSlot;
    const stride = 64 + fidSlot;
    const first = (at + 28 * n + 63) & ~63;
    const k0 = this.communityIds;
    const j0 = this.flowIds;
    // The tables are copied into the memory whole when the batch runs: room for these flows'
    // entries (the module writes them).
    if (2 * (k0 + n) > this.cids.length) {
      this.cids = ensure(this.cids, 2 * (k0 + n));
      this.keys = ensure(this.keys, k0 + n);
    }
    if (2 * (j0 + n) > this.fids.length) this.fids = ensure(this.fids, 2 * (j0 + n));
    const s = this.setCount++;
    if (8 * (s + 1) > this.sets.length) this.sets = ensure(this.sets, 8 * (s + 1));
    const t = this.sets;
    const o = 8 * s;
    t[o] = at;
    t[o + 1] = n;
    t[o + 2] = first;
    t[o + 3] = stride;
    t[o + 4] = k0;
    t[o + 5] = j0;
    t[o + 6] = this.prefixAt;
    t[o + 7] = prefixLength;
    this.communityIds = k0 + n;
    this.flowIds = j0 + n;
    this.setFlows += n;
    this.end = first + n * stride;
  }

  /** Hash everything pushed and write the ids' text (see `communityIdText`, `flowIdText`). */
  run(): void {
    const nc = this.communityIds;
    const nf = this.flowIds;
    const gc = Math.ceil(nc / IDS_GROUP) * IDS_GROUP;
    const gf = Math.ceil(nf / IDS_GROUP) * IDS_GROUP;
    // Tables, digests and text after the messages.
    const cidTable = this.end;
    const keyTable = cidTable + 8 * gc;
    const fidTable = keyTable + 4 * nc;
    const cidDigests = (fidTable + 8 * gf + 15) & ~15;
    const fidDigests = cidDigests + 20 * gc;
    this.communityIdText = fidDigests + 20 * gf;
    this.flowIdText = this.communityIdText + COMMUNITY_ID_TEXT_LENGTH * nc;
    const v4Table = (this.flowIdText + FLOW_ID_TEXT_LENGTH * nf + 3) & ~3;
    const nv4 = this.v4Count;
    const npcap = this.pcapCount;
    const pcapTable = v4Table + 4 * V4_WORDS * nv4;
    this.room(pcapTable + 4 * V4_WORDS * npcap);
    // (Every table address is a multiple of 4: word index = address / 4.)
    const words = this.words;
    const c = cidTable >> 2;
    // Spare lanes of a last group hash the empty message.
    // (entries of pushV4Set's flows are the module's to write: no copy when they are all)
    if (this.setFlows < nc) words.set(this.cids.subarray(0, 2 * nc), c);
    for (let i = c + 2 * nc; i < c + 2 * gc; i += 2) {
      words[i] = IDS_EMPTY;
      words[i + 1] = 0;
    }
    if (this.setFlows < nc) words.set(this.keys.subarray(0, nc), keyTable >> 2);
    const f = fidTable >> 2;
    if (this.setFlows < nf) words.set(this.fids.subarray(0, 2 * nf), f);
    for (let i = f + 2 * nf; i < f + 2 * gf; i += 2) {
      words[i] = IDS_EMPTY;
      words[i + 1] = 0;
    }
    if (nv4 > 0) words.set(this.v4.subarray(0, V4_WORDS * nv4), v4Table >> 2);
    const t = this.sets;
    for (let s = 0, o = 0; s < this.setCount; s++, o += 8) {
      this.wasm.flowsV4Set(t[o], t[o + 1], t[o + 2], t[o + 3], t[o + 4], t[o + 5], t[o + 6], t[o + 7], cidTable, keyTable, fidTable);
    }
    if (npcap > 0) {
      words.set(this.pcapV4.subarray(0, V4_WORDS * npcap), pcapTable >> 2);
      this.wasm.flowsV4Pcap(pcapTable, npcap, fidTable);
    }
    // One call for the messages, both hashes and both texts.
    this.wasm.run(v4Table, nv4, fidTable, cidTable, gc, cidDigests, nc, this.communityIdText, keyTable, gf, fidDigests, nf, this.flowIdText);
  }

  /** Forget the messages, keeping the memory. */
  clear(): void {
    this.communityIds = 0;
    this.flowIds = 0;
    this.v4Count = 0;
    this.pcapCount = 0;
    this.setCount = 0;
    this.setFlows = 0;
    this.prefix = null;
    this.end = this.free;
    this.longest = 64;
  }
}
