/**
 * The threat mapping of classifier classes: every class a model can report (CICIoMT2024's 19
 * classes and 6 categories, WUSTL-EHMS-2020's categories, the binary labels) maps to a HEIR threat
 * class and through it to ENISA Threat Landscape top-15 threats, OWASP Top 10 (2021), OWASP IoT
 * Top 10 (2018) and ATT&CK for ICS techniques, refined per class where a technique fits better
 * (a port scan is T0846 Remote System Discovery, an ARP spoof T0830 Adversary-in-the-Middle).
 */
import { THREAT_CLASSES } from '../knowledge/taxonomy.ts';

/** The taxonomy tags a detection of one class carries. */
export interface ThreatTags {
  /** HEIR threat class (a key of THREAT_CLASSES). */
  readonly threatClass: string;
  /** ENISA top-15 threat ids, the most fitting first. */
  readonly enisa: readonly string[];
  readonly owasp: readonly string[];
  readonly owaspIot: readonly string[];
  readonly attackIcs: readonly string[];
}

function tags(threatClass: keyof typeof THREAT_CLASSES, attackIcs?: readonly string[]): ThreatTags {
  const t = THREAT_CLASSES[threatClass];
  return { threatClass, enisa: t.enisa, owasp: t.owasp, owaspIot: t.owasp_iot, attackIcs: attackIcs ?? t.attack_ics };
}

// ATT&CK for ICS: T0814 Denial of Service, T0846 Remote System Discovery, T0840 Network Connection
// Enumeration, T0888 Remote System Information Discovery, T0830 Adversary-in-the-Middle, T0856 Spoof
// Reporting Message, T0832 Manipulation of View, T0869 Standard Application Layer Protocol,
// T0866 Exploitation of Remote Services, T0819 Exploit Public-Facing Application.

/** Class name → tags, for every class the shipped datasets define (names are matched case-insensitively). */
export const THREAT_MAP: Readonly<Record<string, ThreatTags>> = {
  // binary and benign
  Benign: tags('benign'),
  Attack: { threatClass: 'attack', enisa: ['denial-of-service', 'information-leakage'], owasp: ['A05:2021'], owaspIot: ['I2'], attackIcs: [] },
  // CICIoMT2024 categories
  DDoS: tags('dos', ['T0814']),
  DoS: tags('dos', ['T0814']),
  Recon: tags('recon', ['T0846', 'T0840', 'T0888']),
  MQTT: tags('mqtt-abuse', ['T0814', 'T0869']),
  Spoofing: tags('spoofing', ['T0830', 'T0856']),
  // CICIoMT2024 classes
  ARP_Spoofing: tags('spoofing', ['T0830', 'T0842']),
  'MQTT-DDoS-Connect_Flood': tags('mqtt-abuse', ['T0814', 'T0869']),
  'MQTT-DDoS-Publish_Flood': tags('mqtt-abuse', ['T0814', 'T0869']),
  'MQTT-DoS-Connect_Flood': tags('mqtt-abuse', ['T0814', 'T0869']),
  'MQTT-DoS-Publish_Flood': tags('mqtt-abuse', ['T0814', 'T0869']),
  'MQTT-Malformed_Data': tags('mqtt-abuse', ['T0869', 'T0814', 'T0866']),
  'Recon-OS_Scan': tags('recon', ['T0888', 'T0846']),
  'Recon-Ping_Sweep': tags('recon', ['T0846']),
  'Recon-Port_Scan': tags('recon', ['T0846', 'T0840']),
  'Recon-VulScan': tags('recon', ['T0846', 'T0888', 'T0819']),
  'TCP_IP-DDoS-ICMP': tags('dos', ['T0814']),
  'TCP_IP-DDoS-SYN': tags('dos', ['T0814']),
  'TCP_IP-DDoS-TCP': tags('dos', ['T0814']),
  'TCP_IP-DDoS-UDP': tags('dos', ['T0814']),
  'TCP_IP-DoS-ICMP': tags('dos', ['T0814']),
  'TCP_IP-DoS-SYN': tags('dos', ['T0814']),
  'TCP_IP-DoS-TCP': tags('dos', ['T0814']),
  'TCP_IP-DoS-UDP': tags('dos', ['T0814']),
  // WUSTL-EHMS-2020 categories (its spoofing is ARP-based man-in-the-middle)
  'Data Alteration': tags('data-alteration', ['T0830', 'T0832', 'T0856']),
};

const byLower = new Map(Object.entries(THREAT_MAP).map(([k, v]) => [k.toLowerCase(), v]));

/**
 * The tags of a class name; an unknown class falls back by keyword (flood → DoS, scan → recon,
 * spoof → spoofing) and otherwise to the generic attack tags, never to none.
 */
export function threatOf(className: string): ThreatTags {
  const exact = byLower.get(className.toLowerCase());
  if (exact) return exact;
  const s = className.toLowerCase();
  if (s === 'normal' || s === 'benign' || s === '0') return THREAT_MAP.Benign;
  if (/ddos|dos|flood/.test(s)) return s.includes('mqtt') ? THREAT_MAP.MQTT : THREAT_MAP.DoS;
  if (/recon|scan|sweep|discover/.test(s)) return THREAT_MAP.Recon;
  if (/spoof|mitm|arp/.test(s)) return THREAT_MAP.Spoofing;
  if (/alter|tamper|inject/.test(s)) return THREAT_MAP['Data Alteration'];
  if (/brute|password|credential/.test(s)) return tags('brute-force');
  if (/malware|botnet|ransom/.test(s)) return tags('malware');
  return THREAT_MAP.Attack;
}

/** The tags of every class of a model, in class order. */
export function threatMapFor(classes: readonly string[]): Record<string, ThreatTags> {
  const out: Record<string, ThreatTags> = {};
  for (const c of classes) out[c] = threatOf(c);
  return out;
}
