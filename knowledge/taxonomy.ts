/**
 * The threat taxonomy every detection and finding carries: ENISA Threat Landscape 2018 top 15,
 * OWASP Top 10 (2021), OWASP IoT Top 10 (2018) and ATT&CK for ICS (techniques and mitigations from
 * the STIX bundle, in the knowledge base), cross-linked through HEIR's threat classes. Names and ids
 * are the publishers'; descriptions and mitigations are HEIR's summaries for medical devices.
 */
import type { KnowledgeBase } from './kb-types.ts';

/** One category of a taxonomy. */
export interface TaxonomyEntry {
  readonly id: string;
  readonly name: string;
  readonly description: string;
  readonly mitigations: readonly string[];
}

const e = (id: string, name: string, description: string, mitigations: string[]): TaxonomyEntry => ({ id, name, description, mitigations });

/** ENISA Threat Landscape 2018, the top 15 threats, in ENISA's rank order. */
export const ENISA_2018: readonly TaxonomyEntry[] = [
  e('malware', 'Malware', 'Malicious software (worms, trojans, wipers) reaching device operating systems, often unpatched Windows or embedded Linux in modalities and workstations.', ['Patch or isolate unsupported systems', 'Application allow-listing on device workstations', 'Segment EMDs from user networks']),
  e('web-based-attacks', 'Web-based attacks', 'Attacks that use web systems and services (drive-by downloads, malicious sites, browser exploits) to compromise clients such as device consoles with browsers.', ['Block direct internet browsing from clinical devices', 'Keep embedded browsers and web servers up to date']),
  e('web-application-attacks', 'Web application attacks', 'Attacks on web applications and APIs (injection, broken authentication) such as device management portals and FHIR endpoints.', ['Authenticate and encrypt every web interface', 'Put management portals behind a VPN or jump host']),
  e('phishing', 'Phishing', 'Deceptive messages that lure staff into giving credentials or running malware.', ['Staff awareness', 'Multi-factor authentication for remote and vendor access']),
  e('denial-of-service', 'Denial of service', 'Flooding or crashing a device or service so that it stops serving clinicians; for EMDs a loss of monitoring or therapy.', ['Rate limiting and segmentation', 'Vendor-validated network stacks', 'Clinical fallback procedures']),
  e('spam', 'Spam', 'Unsolicited bulk messages, a carrier for phishing and malware.', ['Mail filtering', 'No mail clients on clinical devices']),
  e('botnets', 'Botnets', 'Networks of compromised devices under remote control; IoT devices with default passwords are recruited at scale (Mirai).', ['Change default passwords', 'Block outbound connections the device does not need']),
  e('data-breaches', 'Data breaches', 'Disclosure of patient data (PHI) to unauthorised parties.', ['Encrypt clinical data in transit and at rest', 'Least privilege for data access']),
  e('insider-threat', 'Insider threat', 'Harm by staff, contractors or vendors with legitimate access, deliberate or accidental.', ['Individual accounts and audit logs', 'Least privilege for vendor remote access']),
  e('physical-manipulation', 'Physical manipulation, damage, theft and loss', 'Tampering with, stealing or losing devices and their storage.', ['Physical hardening and asset tracking', 'Encrypt device storage']),
  e('information-leakage', 'Information leakage', 'Unintended disclosure of information, such as credentials or PHI in cleartext protocols.', ['Use TLS for HL7, DICOM, FHIR and management protocols', 'Disable cleartext services']),
  e('identity-theft', 'Identity theft', 'Theft and misuse of credentials or identities, for example passwords sniffed from Telnet or FTP.', ['Encrypted logins', 'Unique strong passwords; no shared default accounts']),
  e('cryptojacking', 'Cryptojacking', 'Unauthorised use of device computing power to mine cryptocurrency.', ['Monitor unexpected outbound traffic', 'Patch exposed services']),
  e('ransomware', 'Ransomware', 'Malware that encrypts data and systems for ransom; hospitals and imaging systems are frequent victims.', ['Offline backups', 'Patch or isolate unsupported systems', 'Segment clinical networks']),
  e('cyber-espionage', 'Cyber espionage', 'Covert, usually state-sponsored, collection of sensitive information.', ['Monitor for exfiltration', 'Restrict internet exposure']),
];

/** OWASP Top 10 (2021). */
export const OWASP_2021: readonly TaxonomyEntry[] = [
  e('A01:2021', 'Broken Access Control', 'Users or systems act outside their intended permissions.', ['Deny by default', 'Enforce authorisation server-side']),
  e('A02:2021', 'Cryptographic Failures', 'Sensitive data exposed by missing or weak cryptography (cleartext protocols, obsolete TLS, weak ciphers).', ['TLS 1.2+ with strong ciphers everywhere', 'Encrypt sensitive data at rest']),
  e('A03:2021', 'Injection', 'Untrusted data interpreted as commands or queries (SQL, OS command, HL7 field injection).', ['Parameterised queries', 'Input validation']),
  e('A04:2021', 'Insecure Design', 'Missing or ineffective security controls by design.', ['Threat modelling', 'Secure design patterns']),
  e('A05:2021', 'Security Misconfiguration', 'Insecure defaults, unnecessary services, open exposure.', ['Hardened configurations', 'Disable unused services and ports']),
  e('A06:2021', 'Vulnerable and Outdated Components', 'Unsupported or unpatched operating systems, libraries and firmware.', ['Track software inventory (SBOM)', 'Patch or compensate per vendor advice']),
  e('A07:2021', 'Identification and Authentication Failures', 'Weak, default or missing authentication; credential stuffing and brute force.', ['No default credentials', 'Lockout and rate limiting', 'Multi-factor authentication']),
  e('A08:2021', 'Software and Data Integrity Failures', 'Code and data updates without integrity verification.', ['Signed firmware and updates']),
  e('A09:2021', 'Security Logging and Monitoring Failures', 'Attacks go unnoticed for lack of logs and monitoring.', ['Central logging', 'Network monitoring of EMD segments']),
  e('A10:2021', 'Server-Side Request Forgery', 'A server fetches attacker-chosen URLs.', ['Allow-list outbound destinations']),
];

/** OWASP IoT Top 10 (2018). */
export const OWASP_IOT_2018: readonly TaxonomyEntry[] = [
  e('I1', 'Weak, Guessable, or Hardcoded Passwords', 'Publicly known, easily brute-forced or unchangeable credentials.', ['Unique per-device credentials', 'Force change at first use']),
  e('I2', 'Insecure Network Services', 'Unneeded or insecure services exposed on the network (Telnet, FTP, VNC).', ['Disable unneeded services', 'Restrict services to management networks']),
  e('I3', 'Insecure Ecosystem Interfaces', 'Insecure web, API, cloud or mobile interfaces in the ecosystem around the device.', ['Authenticate and encrypt cloud and mobile interfaces']),
  e('I4', 'Lack of Secure Update Mechanism', 'No secure way to update the device (no signing, no rollback protection, no notifications).', ['Signed, verified updates', 'Vendor update programme']),
  e('I5', 'Use of Insecure or Outdated Components', 'Deprecated or insecure software components and libraries, unsupported operating systems.', ['Component inventory', 'Replace end-of-support components']),
  e('I6', 'Insufficient Privacy Protection', "Personal (patient) information stored or used insecurely or without permission.", ['Minimise and encrypt patient data']),
  e('I7', 'Insecure Data Transfer and Storage', 'No or weak encryption of sensitive data in transit or at rest.', ['TLS for all clinical protocols', 'Encrypt storage']),
  e('I8', 'Lack of Device Management', 'No asset management, update management, decommissioning or monitoring.', ['Maintain a device inventory with versions', 'Monitor device behaviour']),
  e('I9', 'Insecure Default Settings', 'Devices shipped with insecure defaults or settings the operator cannot harden.', ['Harden before deployment', 'Demand secure defaults (MDS2)']),
  e('I10', 'Lack of Physical Hardening', 'Physical access allows taking over or extracting data from the device.', ['Disable debug ports', 'Tamper evidence']),
];

/** The taxonomy tags of a finding or detection. */
export interface TaxonomyTags {
  readonly enisa: readonly string[];
  readonly owasp: readonly string[];
  readonly owasp_iot: readonly string[];
  readonly attack_ics: readonly string[];
}

/**
 * HEIR's threat classes (attack families the classifier reports, weakness families the hunt rules
 * report) with their cross-links into the four taxonomies.
 */
export const THREAT_CLASSES: Readonly<Record<string, TaxonomyTags & { readonly name: string }>> = {
  benign: { name: 'Benign traffic', enisa: [], owasp: [], owasp_iot: [], attack_ics: [] },
  dos: { name: 'Denial of service / DDoS', enisa: ['denial-of-service', 'botnets'], owasp: [], owasp_iot: ['I2'], attack_ics: ['T0814'] },
  recon: { name: 'Reconnaissance and scanning', enisa: ['cyber-espionage'], owasp: ['A05:2021'], owasp_iot: ['I2'], attack_ics: ['T0846', 'T0840', 'T0888'] },
  spoofing: { name: 'Spoofing and man-in-the-middle', enisa: ['information-leakage', 'identity-theft'], owasp: ['A02:2021', 'A07:2021'], owasp_iot: ['I7'], attack_ics: ['T0830', 'T0856'] },
  'data-alteration': { name: 'Data alteration', enisa: ['data-breaches'], owasp: ['A08:2021'], owasp_iot: ['I7'], attack_ics: ['T0830', 'T0832', 'T0856'] },
  'brute-force': { name: 'Brute force and credential attacks', enisa: ['identity-theft'], owasp: ['A07:2021'], owasp_iot: ['I1'], attack_ics: ['T0859', 'T0812'] },
  malware: { name: 'Malware', enisa: ['malware', 'ransomware', 'botnets'], owasp: ['A06:2021'], owasp_iot: ['I5'], attack_ics: ['T0866', 'T0867'] },
  'mqtt-abuse': { name: 'MQTT abuse (malformed packets, publish/connect floods)', enisa: ['denial-of-service'], owasp: ['A05:2021'], owasp_iot: ['I2', 'I3'], attack_ics: ['T0814', 'T0869'] },
  'cleartext-clinical-data': { name: 'Clinical data in cleartext', enisa: ['information-leakage', 'data-breaches'], owasp: ['A02:2021'], owasp_iot: ['I7', 'I6'], attack_ics: ['T0842', 'T0830', 'T0882'] },
  'weak-authentication': { name: 'Cleartext remote access and weak authentication', enisa: ['identity-theft', 'information-leakage'], owasp: ['A07:2021', 'A02:2021'], owasp_iot: ['I1', 'I2'], attack_ics: ['T0886', 'T0859', 'T0812'] },
  'obsolete-crypto': { name: 'Obsolete cryptography', enisa: ['information-leakage'], owasp: ['A02:2021'], owasp_iot: ['I7', 'I5'], attack_ics: ['T0830'] },
  'outdated-software': { name: 'Unsupported or vulnerable software', enisa: ['malware', 'ransomware'], owasp: ['A06:2021'], owasp_iot: ['I5', 'I4'], attack_ics: ['T0866', 'T0819'] },
  exposure: { name: 'Exposure and unusual behaviour', enisa: ['cyber-espionage', 'data-breaches'], owasp: ['A05:2021'], owasp_iot: ['I3', 'I9'], attack_ics: ['T0883', 'T0822', 'T0869'] },
};

/** Look up a tag of any taxonomy; ATT&CK for ICS ids resolve through the knowledge base. */
export function describeTag(kb: KnowledgeBase | null, taxonomy: keyof TaxonomyTags, id: string): TaxonomyEntry | undefined {
  if (taxonomy === 'attack_ics') {
    const t = kb?.attack_ics.find((x) => x.id === id);
    return t ? { id: t.id, name: t.name, description: t.description, mitigations: t.mitigations.map((m) => `${m.id} ${m.name}`) } : undefined;
  }
  const list = taxonomy === 'enisa' ? ENISA_2018 : taxonomy === 'owasp' ? OWASP_2021 : OWASP_IOT_2018;
  return list.find((x) => x.id === id);
}

/** Tags that name no entry of their taxonomy (for validating rule files and class maps). */
export function unknownTags(kb: KnowledgeBase | null, tags: TaxonomyTags): string[] {
  const out: string[] = [];
  for (const key of ['enisa', 'owasp', 'owasp_iot', 'attack_ics'] as const) for (const id of tags[key]) if (!describeTag(kb, key, id)) out.push(`${key}:${id}`);
  return out;
}
