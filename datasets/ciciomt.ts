/**
 * CICIoMT2024 (Dadkhah et al., Internet of Things 28:101351, 2024), WiFi and MQTT captures. Rows
 * summarise 10- or 100-packet windows. Two CIC layouts exist (39 and 45 features); columns are read
 * by header name. The label comes from an `attack_type`/`label` column naming the capture or, in the
 * official per-capture files, from the file name (`ARP_Spoofing_train.pcap.csv`).
 */
import { basename } from 'node:path';
import type { DatasetAdapter, RowLabels } from './adapter.ts';

const LABEL_COLUMNS = ['attack_type', 'label', 'Label', 'class'];
const LAYOUT_39 = ['Time_To_Live', 'Header_Length', 'Protocol Type', 'Rate', 'IAT', 'Variance'];
const LAYOUT_45 = ['Duration', 'Srate', 'Drate', 'Header_Length', 'Protocol Type', 'Rate', 'IAT', 'Magnitue', 'Radius', 'Covariance', 'Weight'];

/** The 19 classes and their 6 categories, as the dataset's authors group the captures. */
const CLASS_CATEGORY: Readonly<Record<string, string>> = {
  ARP_Spoofing: 'Spoofing',
  Benign: 'Benign',
  'MQTT-DDoS-Connect_Flood': 'MQTT',
  'MQTT-DDoS-Publish_Flood': 'MQTT',
  'MQTT-DoS-Connect_Flood': 'MQTT',
  'MQTT-DoS-Publish_Flood': 'MQTT',
  'MQTT-Malformed_Data': 'MQTT',
  'Recon-OS_Scan': 'Recon',
  'Recon-Ping_Sweep': 'Recon',
  'Recon-Port_Scan': 'Recon',
  'Recon-VulScan': 'Recon',
  'TCP_IP-DDoS-ICMP': 'DDoS',
  'TCP_IP-DDoS-SYN': 'DDoS',
  'TCP_IP-DDoS-TCP': 'DDoS',
  'TCP_IP-DDoS-UDP': 'DDoS',
  'TCP_IP-DoS-ICMP': 'DoS',
  'TCP_IP-DoS-SYN': 'DoS',
  'TCP_IP-DoS-TCP': 'DoS',
  'TCP_IP-DoS-UDP': 'DoS',
};

/** The 19 class names. */
export const CICIOMT_CLASSES: readonly string[] = Object.keys(CLASS_CATEGORY);

/**
 * The class of a capture name as CIC writes it (`WiFi_and_MQTT_test_TCP_IP-DDoS-UDP2_test.pcap`,
 * `TCP_IP-DDoS-UDP2_train.pcap.csv`, or the class itself), or null if it names no class.
 */
export function ciciomtClassOf(capture: string): string | null {
  let s = basename(capture.trim());
  s = s.replace(/\.gz$/i, '').replace(/\.csv$/i, '').replace(/\.pcap$/i, '');
  s = s.replace(/^WiFi_and_MQTT_(test|train)_/i, '');
  s = s.replace(/_(test|train)$/i, '');
  if (CLASS_CATEGORY[s]) return s;
  const noDigit = s.replace(/\d+$/, '');
  if (CLASS_CATEGORY[noDigit]) return noDigit;
  const byCase = CICIOMT_CLASSES.find((c) => c.toLowerCase() === s.toLowerCase() || c.toLowerCase() === noDigit.toLowerCase());
  return byCase ?? null;
}

function labelsOf(capture: string): RowLabels | { error: string } {
  const cls = ciciomtClassOf(capture);
  if (!cls) return { error: `'${capture}' names no CICIoMT2024 class` };
  const category = CLASS_CATEGORY[cls];
  return { binary: category === 'Benign' ? 'Benign' : 'Attack', category, class: cls };
}

function labelColumn(cell: (c: string) => string | undefined): string | undefined {
  for (const c of LABEL_COLUMNS) {
    const v = cell(c);
    if (v !== undefined) return v;
  }
  return undefined;
}

/** The CICIoMT2024 adapter (WiFi and MQTT). */
export const ciciomt: DatasetAdapter = {
  name: 'ciciomt2024',
  title: 'CICIoMT2024 WiFi and MQTT (packet-window features)',
  citation:
    'S. Dadkhah, E. C. P. Neto, R. Ferreira, R. C. Molokwu, S. Sadeghi, A. A. Ghorbani, "CICIoMT2024: A benchmark dataset for multi-protocol security assessment in IoMT," Internet of Things 28:101351, 2024, doi:10.1016/j.iot.2024.101351',
  file: 'ciciomt2024-sample/ciciomt2024-sample.csv.gz',
  sample: 'ciciomt2024-sample.csv.gz',
  benign: 'Benign',
  layout(header) {
    if (LAYOUT_45.every((c) => header.includes(c))) return { layout: 'cic-45' };
    if (LAYOUT_39.every((c) => header.includes(c))) return { layout: 'cic-39' };
    const missing39 = LAYOUT_39.filter((c) => !header.includes(c));
    return { error: `not a CICIoMT2024 file: missing column(s) ${missing39.join(', ')} of the 39-feature layout (or ${LAYOUT_45.filter((c) => !header.includes(c)).join(', ')} of the 45-feature one)` };
  },
  role(column) {
    if (LABEL_COLUMNS.includes(column)) return { role: 'group' };
    if (column === 'Number') return { role: 'artefact', reason: 'packets per window: 100 in DoS/DDoS captures, 10 in the others' };
    return { role: 'feature' };
  },
  labels(cell, file) {
    const v = labelColumn(cell);
    return labelsOf(v ?? file);
  },
  group(cell, file) {
    return (labelColumn(cell) ?? basename(file)).trim();
  },
};
