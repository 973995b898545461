/**
 * WUSTL-EHMS-2020 CSV: Argus flow features of a healthcare monitoring testbed plus patient vitals.
 * Rows carry no timestamps: ts_start is 0, ts_end is the flow duration, and the flow id keys on the
 * input name and line number.
 *
 * Mapped where the meaning matches: SrcAddr/DstAddr/Sport/Dport, SrcBytes/DstBytes (bytes each way),
 * Dur, SrcMac/DstMac, packet sizes (min/max over both directions), Label → label, Attack Category →
 * label_category. The dataset has only TotPkts, not packets per direction: fwd_packets holds the
 * total and bwd_packets 0. No protocol column exists, so ip_proto and the Community ID stay null.
 * Every other numeric column (loads, gaps, jitter, vitals, TotPkts, Packet_num, …) goes into
 * `features` under its dataset name; the text columns Dir and Flgs have no number form and are not
 * kept (see the dataset README's label-leak notes on Flgs and SrcMac).
 */
import { InputError } from '../pipeline/errors.ts';
import type { Parser } from '../pipeline/types.ts';
import { FeatureWriter, headerIndex, ipVersionOf, parseLines, requireNumber, requirePort, RowError, splitCsv, type LineReader, type TextRow } from './ingest-text.ts';

/** Columns a WUSTL-EHMS header must have. */
const REQUIRED = ['SrcAddr', 'DstAddr', 'Sport', 'Dport', 'SrcBytes', 'DstBytes', 'Dur', 'TotPkts', 'Label'] as const;

/** Columns mapped to flow-schema columns (or dropped as text) and so not repeated in `features`. */
const NOT_FEATURES = new Set(['SrcAddr', 'DstAddr', 'Sport', 'Dport', 'SrcBytes', 'DstBytes', 'Dur', 'SrcMac', 'DstMac', 'Label', 'Attack Category', 'Dir', 'Flgs']);

class WustlReader implements LineReader {
  readonly source = 'wustl';
  private index: Map<string, number> | null = null;
  private width = 0;
  private features = new FeatureWriter([], []);

  constructor(private readonly input: string) {}

  line(text: string): TextRow | null {
    const fields = splitCsv(text);
    if (fields === null) throw new RowError('unterminated quote');
    if (this.index === null) {
      const index = headerIndex(fields);
      const missing = REQUIRED.filter((n) => !index.has(n));
      if (missing.length) {
        throw new InputError(this.input, `not a WUSTL-EHMS-2020 CSV header (expected columns ${REQUIRED.join(', ')}, …; missing ${missing.join(', ')}): ${JSON.stringify(text.slice(0, 120))}`);
      }
      this.index = index;
      this.width = fields.length;
      const kept = [...index].filter(([name]) => !NOT_FEATURES.has(name));
      this.features = new FeatureWriter(kept.map(([name]) => name), kept.map(([, i]) => i));
      return null;
    }
    if (fields.length !== this.width) throw new RowError(`expected ${this.width} fields, found ${fields.length}`);
    const at = (name: string) => fields[this.index!.get(name)!];
    const has = (name: string) => this.index!.has(name);
    const src = at('SrcAddr').trim();
    const dst = at('DstAddr').trim();
    if (!src || !dst) throw new RowError('missing SrcAddr or DstAddr');
    const nonNegative = (name: string) => {
      const v = requireNumber(name, at(name));
      if (v < 0) throw new RowError(`${name} is negative: ${v}`);
      return v;
    };
    const dur = nonNegative('Dur');
    const srcBytes = nonNegative('SrcBytes');
    const dstBytes = nonNegative('DstBytes');
    const totPkts = nonNegative('TotPkts');
    let lenMin: number | null = null;
    let lenMax: number | null = null;
    if (has('sMinPktSz') && has('sMaxPktSz')) {
      lenMin = nonNegative('sMinPktSz');
      lenMax = nonNegative('sMaxPktSz');
      // The responder's sizes count only when it sent anything (Argus writes 0 otherwise).
      if (dstBytes > 0 && has('dMinPktSz') && has('dMaxPktSz')) {
        lenMin = Math.min(lenMin, nonNegative('dMinPktSz'));
        lenMax = Math.max(lenMax, nonNegative('dMaxPktSz'));
      }
    }
    const label = at('Label').trim();
    if (label === '') throw new RowError('missing Label');
    const category = has('Attack Category') ? at('Attack Category').trim() : '';
    const smac = has('SrcMac') ? at('SrcMac').trim().toLowerCase() : '';
    const dmac = has('DstMac') ? at('DstMac').trim().toLowerCase() : '';
    return {
      row: {
        ts_start: 0,
        ts_end: Math.round(dur * 1e6),
        duration_s: dur,
        end_reason: 'dataset',
        ip_version: ipVersionOf(src),
        src_addr: src,
        dst_addr: dst,
        src_port: requirePort('Sport', at('Sport')),
        dst_port: requirePort('Dport', at('Dport')),
        src_mac: smac || null,
        dst_mac: dmac || null,
        fwd_packets: totPkts,
        bwd_packets: 0,
        fwd_bytes: srcBytes,
        bwd_bytes: dstBytes,
        pkt_len_min: lenMin,
        pkt_len_max: lenMax,
        label,
        label_category: category || null,
        features: this.features.json(fields),
      },
    };
  }

  finish(lines: number): void {
    if (this.index === null) throw new InputError(this.input, lines === 0 ? 'empty input: expected a WUSTL-EHMS-2020 CSV header' : 'no WUSTL-EHMS-2020 CSV header found');
  }
}

/** The WUSTL-EHMS-2020 CSV parser (`heir ingest wustl`). */
export const parser: Parser = {
  descriptor: { format: 'wustl', version: '1', summary: 'WUSTL-EHMS-2020 CSV (Argus flow features + patient vitals, labelled)' },
  parse(chunks, options) {
    return parseLines(chunks, options, new WustlReader(options.input), 'ingest-wustl');
  },
};
