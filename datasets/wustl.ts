/**
 * WUSTL-EHMS-2020 (Hady et al., IEEE Access 8:106576, 2020): Argus flow features and patient
 * vitals from a healthcare monitoring testbed, labelled normal / Spoofing / Data Alteration.
 * Its traps: `SrcMac` alone separates attack from normal, `Packet_num` and `Sport` are row ids,
 * addresses name the testbed's hosts.
 */
import type { DatasetAdapter } from './adapter.ts';

const IDENTIFIERS: Readonly<Record<string, string>> = {
  SrcAddr: 'host address of the testbed',
  DstAddr: 'host address of the testbed',
  SrcMac: "hardware address: the attacker's MAC marks every attack row",
  DstMac: 'hardware address of the testbed',
  Sport: 'ephemeral source port: a row id',
  Packet_num: 'running packet number: a row id',
};

const REQUIRED = ['Attack Category', 'Label', 'SrcBytes', 'DstBytes', 'Dur'];

/** Map the published category names to ours. */
function category(raw: string): string {
  const t = raw.trim();
  if (t.toLowerCase() === 'normal') return 'Benign';
  return t;
}

/** The WUSTL-EHMS-2020 adapter. */
export const wustl: DatasetAdapter = {
  name: 'wustl-ehms-2020',
  title: 'WUSTL Enhanced Healthcare Monitoring System 2020 (Argus flows + patient vitals)',
  citation:
    'A. A. Hady, A. Ghubaish, T. Salman, D. Unal, R. Jain, "Intrusion Detection System for Healthcare Systems Using Medical and Network Data: A Comparison Study," IEEE Access 8:106576-106584, 2020, doi:10.1109/ACCESS.2020.3000421',
  file: 'wustl-ehms-2020/wustl-ehms-2020.csv',
  sample: 'wustl-ehms-2020-sample.csv',
  benign: 'Benign',
  layout(header) {
    const missing = REQUIRED.filter((c) => !header.includes(c));
    if (missing.length > 0) return { error: `not a WUSTL-EHMS-2020 file: missing column(s) ${missing.join(', ')}` };
    return { layout: `wustl-${header.length}` };
  },
  role(column) {
    if (column === 'Attack Category' || column === 'Label') return { role: 'label' };
    const why = IDENTIFIERS[column];
    if (why) return { role: 'identifier', reason: why };
    return { role: 'feature' };
  },
  labels(cell) {
    const label = cell('Label')?.trim();
    const cat = cell('Attack Category');
    if (label !== '0' && label !== '1') return { error: `Label is '${label ?? ''}', expected 0 or 1` };
    if (cat === undefined || cat.trim() === '') return { error: 'Attack Category is empty' };
    const c = category(cat);
    if ((label === '0') !== (c === 'Benign')) return { error: `Label ${label} contradicts Attack Category '${cat.trim()}'` };
    return { binary: label === '0' ? 'Benign' : 'Attack', category: c, class: c };
  },
  group() {
    return null;
  },
};
