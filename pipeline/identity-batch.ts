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
import { COMMUNITY_ID_TEXT_LENGTH, FLOW_ID_TEXT_LENGTH } from './flow-id.ts';
import { IDS_EMPTY, IDS_FREE, IDS_GROUP, compileSha1Ids, type Sha1Ids } from './sha1-simd.ts';

let shared: Sha1Ids | null | undefined;

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
  /** Where the next message goes (64-byte aligned). */
  private end = IDS_FREE;
  /** Longest message slot of the batch (lanes of a group read up to it past their own). */
  private longest = 64;
  private cids: Int32Array<ArrayBuffer> = new Int32Array(2 * 64);
  private keys: Int32Array<ArrayBuffer> = new Int32Array(64);
  private fids: Int32Array<ArrayBuffer> = new Int32Array(2 * 64);
  /** Messages pushed. */
  communityIds = 0;
  flowIds = 0;
  /** After `run()`: addresses in `bytes` of the Community ID text and the flow id text. */
  communityIdText = 0;
  flowIdText = 0;

  constructor() {
    shared ??= compileSha1Ids();
    if (shared === null) throw new Error('WebAssembly SIMD is not available in this runtime (flow identity needs it; Node.js 20 has it)');
    this.wasm = shared;
    this.bytes = new Uint8Array(this.wasm.memory.buffer);
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
    // Another batch may have grown the shared memory already.
    const memory = this.wasm.memory;
    if (want > memory.buffer.byteLength) memory.grow(Math.ceil((want - memory.buffer.byteLength) / 65536));
    this.bytes = new Uint8Array(memory.buffer);
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
    this.room(this.flowIdText + FLOW_ID_TEXT_LENGTH * nf);
    const words = new Int32Array(this.bytes.buffer, cidTable, (fidDigests - cidTable) >> 2);
    // Spare lanes of a last group hash the empty message.
    words.set(this.cids.subarray(0, 2 * nc), 0);
    for (let i = 2 * nc; i < 2 * gc; i += 2) {
      words[i] = IDS_EMPTY;
      words[i + 1] = 0;
    }
    words.set(this.keys.subarray(0, nc), 2 * gc);
    const f = 2 * gc + nc;
    words.set(this.fids.subarray(0, 2 * nf), f);
    for (let i = 2 * nf; i < 2 * gf; i += 2) {
      words[f + i] = IDS_EMPTY;
      words[f + i + 1] = 0;
    }
    const wasm = this.wasm;
    if (nc > 0) {
      wasm.hash(cidTable, gc, cidDigests);
      wasm.communityIds(cidDigests, nc, this.communityIdText, keyTable);
    }
    if (nf > 0) {
      wasm.hash(fidTable, gf, fidDigests);
      wasm.flowIds(fidDigests, nf, this.flowIdText);
    }
  }

  /** Forget the messages, keeping the memory. */
  clear(): void {
    this.communityIds = 0;
    this.flowIds = 0;
    this.end = IDS_FREE;
    this.longest = 64;
  }
}
