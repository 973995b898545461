/**
 * CICIoMT2024 CSV, in both published layouts (39 and 45 features), told apart by the header.
 * Rows are summaries of 10- or 100-packet windows, not 5-tuple flows: there are no addresses, no
 * ports and no timestamps, so the Community ID is null, ts_start = ts_end = 0 and the flow id keys
 * on the input name and line number.
 *
 * Mapped where the meaning matches (choices):
 * - `Number` (packets in the window) → fwd_packets; `Tot sum` (sum of packet lengths) → fwd_bytes.
 *   A window has no direction, so bwd_packets = bwd_bytes = 0.
 * - `Min`/`Max`/`AVG`/`Std` (packet lengths) → pkt_len_min/max/mean/std; `IAT` (mean gap to the
 *   previous packet, seconds) → iat_mean.
 * - `Protocol Type` → ip_proto when it is a whole number 1..255 (0 marks non-IP windows: null).
 * - `syn_count`/`fin_count`/`rst_count`/`ack_count` → the flag counts when whole numbers.
 * - `Rate`, TTL (`Time_To_Live`; `Duration` in the 45-feature layout is the TTL too) and the
 *   protocol indicator columns have no flow-schema column.
 * Every feature column, mapped or not, is also written to `features` under its dataset name, so a
 * model sees exactly the published features; `inf` becomes null there.
 *
 * Labels: a label column (`label`, `Label`, `attack_type`, `class`) gives label and label_category.
 * The capture-name form (`WiFi_and_MQTT_test_TCP_IP-DDoS-ICMP1_test.pcap`) is reduced to the
 * 19-class name (`TCP_IP-DDoS-ICMP`) and its category (`DDoS`) by the dataset's naming rule.
 */
import { InputError } from '../pipeline/errors.ts';
import type { FlowRow } from '../pipeline/flow-schema.ts';
import type { Parser } from '../pipeline/types.ts';
import { warn } from '../pipeline/warn.ts';
import { FeatureWriter, headerIndex, parseLines, parseNumber, RowError, splitCsv, type LineReader, type TextRow } from './ingest-text.ts';

const PROTOCOLS = ['HTTP', 'HTTPS', 'DNS', 'Telnet', 'SMTP', 'SSH', 'IRC', 'TCP', 'UDP', 'DHCP', 'ARP', 'ICMP', 'IGMP', 'IPv', 'LLC'];
const FLAGS = ['fin_flag_number', 'syn_flag_number', 'rst_flag_number', 'psh_flag_number', 'ack_flag_number', 'ece_flag_number', 'cwr_flag_number'];
const COUNTS = ['ack_count', 'syn_count', 'fin_count', 'rst_count'];

/** The 39-feature layout (CICIoMT2024 WiFi/MQTT CSVs). */
export const CIC_39 = ['Header_Length', 'Protocol Type', 'Time_To_Live', 'Rate', ...FLAGS, ...COUNTS, ...PROTOCOLS, 'Tot sum', 'Min', 'Max', 'AVG', 'Std', 'Tot size', 'IAT', 'Number', 'Variance'] as const;
/** The 45-feature layout (the CICIoT2023 feature set CIC also published CICIoMT2024 in). */
export const CIC_45 = ['Header_Length', 'Protocol Type', 'Duration', 'Rate', 'Srate', 'Drate', ...FLAGS, ...COUNTS, ...PROTOCOLS, 'Tot sum', 'Min', 'Max', 'AVG', 'Std', 'Tot size', 'IAT', 'Number', 'Magnitue', 'Radius', 'Covariance', 'Variance', 'Weight'] as const;

const LABEL_COLUMNS = ['label', 'Label', 'attack_type', 'class', 'Class'];

/**
 * The 19-class name and 6-class category of a CICIoMT2024 label, from a capture name
 * (`WiFi_and_MQTT_test_MQTT-DDoS-Connect_Flood_test.pcap`) or a class name (`Recon-Port_Scan`).
 */
export function cicClass(value: string): { label: string; category: string } {
  let name = value.trim().replace(/^.*[/\\]/, '');
  name = name.replace(/(?:\.pcap)?(?:\.csv)?$/i, '').replace(/^(?:WiFi_and_MQTT|Bluetooth)_(?:test|train)_/i, '').replace(/_(?:test|train)$/i, '');
  // Captures split into parts carry a digit (ICMP1, UDP2); the class does not.
  name = name.replace(/(?<=[A-Za-z])\d+$/, '');
  let category: string;
  if (/^benign/i.test(name)) category = 'Benign';
  else if (/spoof/i.test(name)) category = 'Spoofing';
  else if (/^TCP_IP-/i.test(name)) category = name.split('-')[1] ?? 'unknown';
  else category = name.split('-')[0];
  return { label: name, category };
}

class CicReader implements LineReader {
  readonly source = 'cic';
  private index: Map<string, number> | null = null;
  private width = 0;
  private layout: readonly string[] = [];
  private features = new FeatureWriter([], []);
  private labelAt = -1;

  constructor(private readonly input: string) {}

  line(text: string): TextRow | null {
    const fields = splitCsv(text);
    if (fields === null) throw new RowError('unterminated quote');
    if (this.index === null) return this.header(fields, text);
    if (fields.length !== this.width) throw new RowError(`expected ${this.width} fields, found ${fields.length}`);
    const value = (name: string): number => {
      const text = fields[this.index!.get(name)!];
      // Empty cells are missing values (Std/Variance of one-packet windows).
      const v = text.trim() === '' ? NaN : parseNumber(text, true);
      if (v === null) throw new RowError(`${name} is not a number: ${JSON.stringify(text.slice(0, 40))}`);
      return v;
    };
    const finite = (name: string): number | null => {
      const v = value(name);
      return Number.isFinite(v) ? v : null;
    };
    const whole = (name: string, max: number): number | null => {
      const v = value(name);
      return Number.isInteger(v) && v >= 0 && v <= max ? v : null;
    };
    const packets = finite('Number');
    const bytes = finite('Tot sum');
    if (packets === null || packets < 0) throw new RowError(`Number is not a packet count: ${fields[this.index.get('Number')!]}`);
    if (bytes === null || bytes < 0) throw new RowError(`Tot sum is not a byte count: ${fields[this.index.get('Tot sum')!]}`);
    const proto = whole('Protocol Type', 255);
    const row: Partial<FlowRow> = {
      ts_start: 0,
      ts_end: 0,
      duration_s: 0,
      end_reason: 'dataset',
      ip_proto: proto === 0 ? null : proto,
      fwd_packets: packets,
      bwd_packets: 0,
      fwd_bytes: bytes,
      bwd_bytes: 0,
      pkt_len_min: finite('Min'),
      pkt_len_max: finite('Max'),
      pkt_len_mean: finite('AVG'),
      pkt_len_std: finite('Std'),
      iat_mean: finite('IAT'),
      syn_count: whole('syn_count', 2147483647),
      fin_count: whole('fin_count', 2147483647),
      rst_count: whole('rst_count', 2147483647),
      ack_count: whole('ack_count', 2147483647),
      features: this.features.json(fields),
    };
    if (this.labelAt >= 0) {
      const raw = fields[this.labelAt].trim();
      if (raw === '') throw new RowError('empty label');
      const { label, category } = cicClass(raw);
      row.label = label;
      row.label_category = category;
    }
    return { row };
  }

  private header(fields: string[], text: string): null {
    const index = headerIndex(fields);
    const missing39 = CIC_39.filter((n) => !index.has(n));
    const missing45 = CIC_45.filter((n) => !index.has(n));
    if (missing39.length && missing45.length) {
      const closer = missing39.length <= missing45.length ? { n: 39, missing: missing39 } : { n: 45, missing: missing45 };
      throw new InputError(
        this.input,
        `not a CICIoMT2024 CSV header (expected the 39- or 45-feature layout: ${CIC_39.slice(0, 6).join(', ')}, …; closest is the ${closer.n}-feature layout, missing ${closer.missing.slice(0, 8).join(', ')}): ${JSON.stringify(text.slice(0, 120))}`,
      );
    }
    this.layout = missing45.length === 0 ? CIC_45 : CIC_39;
    this.features = new FeatureWriter(this.layout, this.layout.map((n) => index.get(n)!));
    this.labelAt = LABEL_COLUMNS.map((n) => index.get(n)).find((i) => i !== undefined) ?? -1;
    const known = new Set<string>([...this.layout, ...LABEL_COLUMNS]);
    const extra = [...index.keys()].filter((n) => !known.has(n));
    if (extra.length) warn(`${this.input}: CICIoMT2024 columns outside the ${this.layout.length}-feature layout are not read: ${extra.join(', ')}`);
    this.index = index;
    this.width = fields.length;
    return null;
  }

  finish(lines: number): void {
    if (this.index === null) throw new InputError(this.input, lines === 0 ? 'empty input: expected a CICIoMT2024 CSV header' : 'no CICIoMT2024 CSV header found');
  }
}

/** The CICIoMT2024 CSV parser (`heir ingest cic`). */
export const parser: Parser = {
  descriptor: { format: 'cic', version: '1', summary: 'CICIoMT2024 packet-window CSV (39- or 45-feature layout), labelled' },
  parse(chunks, options) {
    return parseLines(chunks, options, new CicReader(options.input), 'ingest-cic');
  },
};
