/**
 * pcap/pcapng ingest: capture bytes in (a file or `tcpdump -w -`), flow-schema batches out. The
 * reader streams records over chunks, the decoder reads headers in place, the assembler keeps one
 * fixed-size state per flow, and L7 facts come from the first payload bytes of each flow.
 *
 * @example
 * for await (const out of parsePcap(createReadStream('a.pcap'), { site: 's', sensor: 'x', input: 'a.pcap', batchSize: 4096, idleTimeoutS: 30 })) …
 */
import type { RecordBatch } from 'apache-arrow';
import { InputError } from '../pipeline/errors.ts';
import type { DeadLetter, ParseOptions, ParseOutput, Parser } from '../pipeline/types.ts';
import { BLE_LINK_TYPES, Decoded, DecodedPacket, SUPPORTED_LINK_TYPES, decodeFrame } from './pcap/decode.ts';
import { FlowAssembler, DEFAULT_ACTIVE_TIMEOUT_S, DEFAULT_IDLE_TIMEOUT_S, type AssemblerOptions } from './pcap/flow-assembler.ts';
import { FlowColumns } from './pcap/flow-columns.ts';
import { CaptureReader } from './pcap/reader.ts';

/** Counters of one parse, for reports and tests. */
export interface PcapStats {
  packets: number;
  /** Frames that were well formed but not IP (ARP, LLDP, 802.3 LLC …). */
  nonIp: number;
  /** Packets on link types that carry no IP (Bluetooth LE) or that this parser does not read. */
  skippedLinkType: number;
  deadLetters: number;
  flows: number;
  bytes: number;
  /** Link types seen (file header or pcapng interfaces). */
  linkTypes: number[];
}

/** Options of `parsePcap`: the parser options plus the assembler's timeouts. */
export type PcapParseOptions = ParseOptions &
  AssemblerOptions & {
    /** Filled while parsing. */
    readonly stats?: PcapStats;
    /**
     * Build only this share of the flow batches (see operators/pcap/sharded.ts): batch b is built
     * when b % count === index; the others are yielded as placeholders marked `elsewhere`, in
     * their place. Everything else (packets, flows, cuts, offsets, dead letters) is as without it.
     */
    readonly shard?: { readonly index: number; readonly count: number };
  };

/** An output of a sharded parse whose flow batch another shard builds (see PcapParseOptions.shard). */
export interface ShardOutput extends ParseOutput {
  readonly elsewhere?: true;
}

/** A fresh counter object. */
export function pcapStats(): PcapStats {
  return { packets: 0, nonIp: 0, skippedLinkType: 0, deadLetters: 0, flows: 0, bytes: 0, linkTypes: [] };
}

const DEAD_PAYLOAD_BYTES = 256;
/** Dead letters are flushed at least this often even when no flows are ready. */
const DEAD_LETTER_BATCH = 1000;

/**
 * Parse a capture into flow batches of `batchSize` flows. Idle timeout defaults to 60 s, active
 * timeout to 300 s. Throws InputError for an empty input, a wrong magic, or a Bluetooth LE capture.
 */
export async function* parsePcap(chunks: AsyncIterable<Uint8Array>, options: PcapParseOptions): AsyncGenerator<ParseOutput> {
  const { site, sensor, input, batchSize, signal } = options;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new RangeError(`invalid batchSize: ${batchSize}`);
  const stats = options.stats ?? pcapStats();
  const shard = options.shard ?? { index: 0, count: 1 };
  if (!Number.isInteger(shard.count) || shard.count < 1 || !Number.isInteger(shard.index) || shard.index < 0 || shard.index >= shard.count) throw new RangeError(`invalid shard: ${shard.index} of ${shard.count}`);
  if (shard.count > 1 && options.maxBatchMs !== undefined) throw new RangeError('a sharded parse cuts batches by count only (no maxBatchMs)');
  // The builder of a finished parse of this thread when there is one: its column bytes and the
  // identity module's memory are in use already (fresh memory costs a page fault per 4 KiB).
  const builder = spareBuilders.pop() ?? new FlowColumns();
  let dead: DeadLetter[] = [];
  /** Full batches waiting to be yielded (cut exactly at batchSize as flows end); null: built by another shard. */
  const ready: (RecordBatch | null)[] = [];
  // Batch number of the rows being gathered, whether this shard builds it, and its row count.
  let batchNo = 0;
  let mine = shard.index === 0;
  let rows = 0;
  const cutBatch = () => {
    ready.push(mine ? builder.build() : null);
    rows = 0;
    batchNo++;
    mine = batchNo % shard.count === shard.index;
  };
  const assembler = new FlowAssembler(
    (flow, reason) => {
      if (mine) builder.appendFlow(flow, reason, site, sensor);
      rows++;
      stats.flows++;
      if (rows >= batchSize) cutBatch();
    },
    {
      idleTimeoutS: options.idleTimeoutS ?? DEFAULT_IDLE_TIMEOUT_S,
      activeTimeoutS: options.activeTimeoutS ?? DEFAULT_ACTIVE_TIMEOUT_S,
      lingerS: options.lingerS,
      maxFlows: options.maxFlows,
      inspectBytes: options.inspectBytes,
    },
  );
  const packet = new DecodedPacket();
  const reportedLinks = new Set<number>();
  const deadLetter = (reason: string, payload: Uint8Array, offset: number) => {
    stats.deadLetters++;
    dead.push({ input, stage: 'parse', reason: `${reason} (offset ${offset})`, payload });
  };
  // The link type of the last packet and whether it is read (a set lookup per packet cost more).
  let link = -1;
  let linkRead = false;
  const reader = new CaptureReader(input, {
    packet(data, start, caplen, _wire, ts, linkType) {
      stats.packets++;
      if (linkType !== link) {
        link = linkType;
        linkRead = SUPPORTED_LINK_TYPES.has(linkType);
      }
      if (!linkRead) {
        stats.skippedLinkType++;
        return;
      }
      const r = decodeFrame(packet, linkType, data, start, caplen);
      if (r === Decoded.IP) {
        packet.ts = ts;
        assembler.addPacket(packet, linkType);
      }
      else if (r === Decoded.NOT_IP) stats.nonIp++;
      else deadLetter(`packet ${stats.packets}: ${packet.reason}`, data.slice(start, start + Math.min(caplen, DEAD_PAYLOAD_BYTES)), reader.consumed);
    },
    bad: deadLetter,
    linkType(linkType) {
      if (!stats.linkTypes.includes(linkType)) stats.linkTypes.push(linkType);
      if (reportedLinks.has(linkType) || SUPPORTED_LINK_TYPES.has(linkType)) return;
      reportedLinks.add(linkType);
      const what = BLE_LINK_TYPES.has(linkType) ? `Bluetooth LE capture (link type ${linkType}): no IP flows` : `unsupported link type ${linkType}: no IP flows`;
      // A whole classic pcap on such a link has nothing for us: say so once, for the file.
      if (reader.format === 'pcap') throw new InputError(input, what);
      deadLetter(`interface with ${what}`, new Uint8Array(0), reader.consumed);
    },
  });

  // Live inputs cut by time too (options.maxBatchMs): the wall clock since the first buffered flow.
  let firstBuffered = 0;
  const cut = function* (final: boolean): Generator<ParseOutput> {
    if (rows === 0) firstBuffered = 0;
    else if (firstBuffered === 0) firstBuffered = Date.now();
    const late = options.maxBatchMs !== undefined && firstBuffered > 0 && Date.now() - firstBuffered >= options.maxBatchMs;
    if ((final || late) && rows > 0) {
      cutBatch();
      firstBuffered = 0;
    }
    while (ready.length > 0) {
      const flows = ready.shift() as RecordBatch | null;
      // The dead letters go with the output, in whichever shard builds it.
      const out: ShardOutput = flows === null ? { offset: reader.consumed, elsewhere: true } : { flows, deadLetters: dead.length > 0 ? dead : undefined, offset: reader.consumed };
      dead = [];
      yield out;
    }
    // Outputs of dead letters alone belong to the first shard.
    if (dead.length >= DEAD_LETTER_BATCH || (final && dead.length > 0)) {
      const out: ShardOutput = shard.index === 0 ? { deadLetters: dead, offset: reader.consumed } : { offset: reader.consumed, elsewhere: true };
      dead = [];
      yield out;
    }
  };

  for await (const chunk of chunks) {
    signal?.throwIfAborted();
    stats.bytes += chunk.length;
    reader.push(chunk);
    yield* cut(false);
  }
  reader.end();
  assembler.flush();
  yield* cut(true);
  lastParse.splice(0, lastParse.length, builder, assembler, reader, packet);
  // Every batch was cut (the builder holds no row): the next parse of this thread may take it.
  if (builder.size === 0 && spareBuilders.length < MAX_SPARE_BUILDERS) spareBuilders.push(builder);
}

/**
 * Builders of finished parses, for the next parses of this thread (a parse that ends early, by an
 * error or a consumer that stops reading, keeps its builder to itself).
 */
const spareBuilders: FlowColumns[] = [];
const MAX_SPARE_BUILDERS = 2;

/**
 * The objects of the last parse on this thread, kept until the next parse ends. V8 drops the hidden
 * class of objects whose last instance died, and with it the optimized code of every function that
 * used it: between the files of `heir ingest a.pcap b.pcap …` (or any parse after a pause) a
 * garbage collection would otherwise send the reader, decoder, assembler and column writers back
 * to the interpreter, to be compiled again on the next file (measured: a parse after a full
 * collection took 2–3× the CPU of one right after another parse).
 */
const lastParse: object[] = [];

/** The pcap/pcapng parser of `heir ingest pcap`. */
export const parser: Parser = {
  descriptor: {
    format: 'pcap',
    version: '1',
    summary: 'pcap/pcapng captures (files or tcpdump -w -) assembled into bidirectional flows with L7 facts',
    // The capture reader copies a record that spans chunks and the assembler copies inspected payload.
    copiesInput: true,
  },
  parse: (chunks, options) => parsePcap(chunks, options),
};
