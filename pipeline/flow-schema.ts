/**
 * Flow schema v1: the one Arrow schema every source is parsed into. Declared once here; the Arrow
 * schema, the TypeScript row type, the DuckDB table and docs/flow-schema.md all derive from it.
 * A change that removes or retypes a column bumps FLOW_SCHEMA_VERSION and adds a store migration.
 */
import type { RecordBatch, Schema } from 'apache-arrow';
import { arrowSchema, batchFromColumns, rowsOf, withSparseFamilies, type ArrowOf, type ColumnSpec, type RowOf } from './columns.ts';

/** Version of the flow schema; carried in the Arrow schema metadata (`heir.version`). */
export const FLOW_SCHEMA_VERSION = 1;

const c = <N extends string, K extends ColumnSpec['kind'], Nl extends boolean>(name: N, kind: K, nullable: Nl, doc: string) =>
  ({ name, kind, nullable, doc }) as const;

/** The columns of flow schema v1, in order. */
export const FLOW_COLUMNS = [
  // identity and time
  c('flow_id', 'utf8', false, 'Deterministic flow id: 16 hex digits of SHA-1 over site, sensor, Community ID and start time (µs). The same flow read twice gets the same id.'),
  c('community_id', 'utf8', true, 'Community ID v1 (seed 0) of the 5-tuple, comparable with Zeek, Suricata and Arkime; null where the source has no 5-tuple.'),
  c('site_id', 'utf8', false, 'Site (hospital) that observed the flow.'),
  c('sensor_id', 'utf8', false, 'Sensor or exporter within the site.'),
  c('source', 'utf8', false, 'Source format: pcap, ipfix, netflow5, netflow9, argus, zeek, eve, cic, wustl, lab.'),
  c('ts_start', 'ts', false, 'First packet of the flow (UTC, µs).'),
  c('ts_end', 'ts', false, 'Last packet of the flow (UTC, µs); equals ts_start for single-packet flows and windows without timing.'),
  c('duration_s', 'f64', false, 'ts_end − ts_start in seconds.'),
  c('end_reason', 'utf8', true, 'Why the record was emitted: fin, rst, idle, active (interim record of a long-lived flow), eof, exporter, dataset.'),
  // 5-tuple
  c('ip_version', 'i32', true, '4 or 6.'),
  c('src_addr', 'utf8', true, 'Initiator address (the side that sent the first packet seen).'),
  c('dst_addr', 'utf8', true, 'Responder address.'),
  c('src_port', 'i32', true, 'Initiator port (TCP/UDP); ICMP type for ICMP.'),
  c('dst_port', 'i32', true, 'Responder port (TCP/UDP); ICMP code for ICMP.'),
  c('ip_proto', 'i32', true, 'IP protocol number (6 TCP, 17 UDP, 1 ICMP, 58 ICMPv6).'),
  c('src_mac', 'utf8', true, 'Initiator MAC address where the link layer shows it.'),
  c('dst_mac', 'utf8', true, 'Responder MAC address where the link layer shows it.'),
  c('vlan_id', 'i32', true, 'Outer 802.1Q VLAN id.'),
  c('l7_proto', 'utf8', true, 'Application protocol detected from payload (not port): hl7-mllp, dicom, mqtt, tls, http, telnet, ftp, dns, dhcp, ssh, smb, …'),
  // volume, each way
  c('fwd_packets', 'f64', false, 'Packets from initiator to responder.'),
  c('bwd_packets', 'f64', false, 'Packets from responder to initiator.'),
  c('fwd_bytes', 'f64', false, 'IP bytes from initiator to responder.'),
  c('bwd_bytes', 'f64', false, 'IP bytes from responder to initiator.'),
  c('fwd_payload_bytes', 'f64', true, 'Transport payload bytes from initiator to responder.'),
  c('bwd_payload_bytes', 'f64', true, 'Transport payload bytes from responder to initiator.'),
  // timing and size statistics
  c('iat_min', 'f64', true, 'Smallest inter-arrival time between packets of the flow, seconds.'),
  c('iat_max', 'f64', true, 'Largest inter-arrival time, seconds.'),
  c('iat_mean', 'f64', true, 'Mean inter-arrival time, seconds.'),
  c('iat_std', 'f64', true, 'Population standard deviation of inter-arrival times, seconds.'),
  c('pkt_len_min', 'f64', true, 'Smallest IP packet length, bytes.'),
  c('pkt_len_max', 'f64', true, 'Largest IP packet length, bytes.'),
  c('pkt_len_mean', 'f64', true, 'Mean IP packet length, bytes.'),
  c('pkt_len_std', 'f64', true, 'Population standard deviation of IP packet lengths, bytes.'),
  c('ttl_min', 'i32', true, 'Smallest IPv4 TTL / IPv6 hop limit seen.'),
  c('ttl_max', 'i32', true, 'Largest IPv4 TTL / IPv6 hop limit seen.'),
  // TCP flags
  c('tcp_flags_fwd', 'i32', true, 'OR of TCP flags sent by the initiator (FIN=1 SYN=2 RST=4 PSH=8 ACK=16 URG=32 ECE=64 CWR=128).'),
  c('tcp_flags_bwd', 'i32', true, 'OR of TCP flags sent by the responder.'),
  c('syn_count', 'i32', true, 'Packets with SYN set.'),
  c('fin_count', 'i32', true, 'Packets with FIN set.'),
  c('rst_count', 'i32', true, 'Packets with RST set.'),
  c('psh_count', 'i32', true, 'Packets with PSH set.'),
  c('ack_count', 'i32', true, 'Packets with ACK set.'),
  c('urg_count', 'i32', true, 'Packets with URG set.'),
  // TLS facts
  c('tls_version', 'utf8', true, 'Negotiated TLS/SSL version (ServerHello, supported_versions honoured): SSLv3, TLS1.0, TLS1.1, TLS1.2, TLS1.3; the ClientHello offer when no ServerHello was seen.'),
  c('tls_cipher', 'utf8', true, 'Negotiated cipher suite as 0xNNNN (IANA code point).'),
  c('tls_sni', 'utf8', true, 'Server name from the ClientHello.'),
  c('tls_ja3', 'utf8', true, 'JA3 fingerprint (MD5) of the ClientHello.'),
  c('tls_ja4', 'utf8', true, 'JA4-style fingerprint of the ClientHello.'),
  c('tls_cert_key', 'utf8', true, "Public key of the server certificate where it crosses in cleartext (TLS 1.2 and older): algorithm and size, e.g. rsa-1024, ec-256."),
  c('tls_cert_key_bits', 'i32', true, "Size of the server certificate's public key in bits (RSA/DSA modulus, EC curve order)."),
  c('tls_cert_self_signed', 'bool', true, 'The server certificate is self-signed (its issuer is its subject and its own key verifies it).'),
  c('tls_cert_not_after', 'ts', true, "End of the server certificate's validity (UTC, µs)."),
  c('tls_cert_expired', 'bool', true, 'The server certificate had expired when the flow started.'),
  // HTTP facts
  c('http_method', 'utf8', true, 'First HTTP request method.'),
  c('http_host', 'utf8', true, 'HTTP Host header.'),
  c('http_path', 'utf8', true, 'HTTP request path (query string removed).'),
  c('http_user_agent', 'utf8', true, 'HTTP User-Agent header.'),
  c('http_basic_auth', 'bool', true, 'True when an Authorization: Basic header crossed in cleartext (the credential itself is never kept).'),
  c('http_server', 'utf8', true, 'HTTP Server response header (software banner).'),
  // clinical protocol facts
  c('hl7_message_type', 'utf8', true, 'HL7 v2 message type (MSH-9), e.g. ORU^R01, from MLLP-framed payload.'),
  c('hl7_sending_app', 'utf8', true, 'HL7 MSH-3 sending application.'),
  c('hl7_sending_facility', 'utf8', true, 'HL7 MSH-4 sending facility.'),
  c('hl7_version', 'utf8', true, 'HL7 MSH-12 version id.'),
  c('dicom_called_ae', 'utf8', true, 'DICOM A-ASSOCIATE-RQ called AE title.'),
  c('dicom_calling_ae', 'utf8', true, 'DICOM A-ASSOCIATE-RQ calling AE title.'),
  c('dicom_impl_class_uid', 'utf8', true, 'DICOM implementation class UID of the requester.'),
  c('dicom_impl_version', 'utf8', true, 'DICOM implementation version name of the requester.'),
  c('mqtt_client_id', 'utf8', true, 'MQTT CONNECT client identifier.'),
  c('mqtt_username', 'bool', true, 'MQTT CONNECT carried a user name.'),
  c('mqtt_password', 'bool', true, 'MQTT CONNECT carried a password (in cleartext unless the flow is TLS).'),
  // cleartext logins and other facts
  c('login_protocol', 'utf8', true, 'Protocol of a login seen in the flow: telnet, ftp, http-basic, mqtt, pop3, imap, vnc (cleartext), smb (NTLM: user and failures only).'),
  c('login_user', 'utf8', true, 'User name of the cleartext login (a user name is not a secret; passwords are never kept).'),
  c('login_secret_sha256', 'utf8', true, 'SHA-256 of the cleartext password, so known default credentials can be recognised without keeping the password.'),
  c('login_failures', 'i32', true, 'Failed login attempts seen in the flow (FTP 530, Telnet "Login incorrect", HTTP 401 after Basic, MQTT CONNACK refused).'),
  c('vnc_security', 'utf8', true, 'VNC (RFB) security types the server offered, e.g. "none" (no authentication at all), "vnc", "vencrypt".'),
  c('smb_dialect', 'utf8', true, 'SMB dialect the server chose: "SMB1 (NT LM 0.12)" (SMBv1), "SMB 2.1", "SMB 3.1.1", …'),
  c('smb_dialects', 'utf8', true, 'SMB dialects the client offered, comma-separated, in order (SMB1 dialect strings as sent, SMB2 revisions as "SMB 3.1.1").'),
  c('smb_server_os', 'utf8', true, 'SMB1 SESSION_SETUP Native OS and Native LAN Manager of the server, joined by " | ".'),
  c('smb_client_os', 'utf8', true, 'SMB1 SESSION_SETUP Native OS and Native LAN Manager of the client, joined by " | ".'),
  c('ntlm_server_version', 'utf8', true, 'NTLMSSP CHALLENGE VERSION of the server as major.minor.build (6.1.7601 is Windows 7 SP1 / Server 2008 R2 SP1).'),
  c('ntlm_client_version', 'utf8', true, 'NTLMSSP NEGOTIATE/AUTHENTICATE VERSION of the client as major.minor.build.'),
  c('ntlm_server_name', 'utf8', true, 'Server names from the NTLMSSP CHALLENGE: NetBIOS domain\\computer, and the DNS name.'),
  c('ntlm_client_name', 'utf8', true, 'Client workstation name from the NTLMSSP AUTHENTICATE.'),
  c('ntlm_auth', 'utf8', true, 'Kind of NTLM response that crossed: NTLMv2, NTLMv1, LM, anonymous (the response, a crackable credential, is never kept).'),
  c('dns_query', 'utf8', true, 'First DNS query name.'),
  c('dhcp_hostname', 'utf8', true, 'DHCP option 12 host name.'),
  c('dhcp_vendor_class', 'utf8', true, 'DHCP option 60 vendor class identifier.'),
  c('banner', 'utf8', true, 'First server banner line (FTP 220, SSH, Telnet prompt, SMTP), trimmed to 200 characters.'),
  c('link_type', 'i32', true, 'pcap link type the flow came from (1 Ethernet, 101 raw IP, 113 SLL, 276 SLL2, 0 null, 272 BLE).'),
  // dataset columns
  c('label', 'utf8', true, 'Ground-truth class where the source is a labelled dataset or a lab run.'),
  c('label_category', 'utf8', true, 'Ground-truth category (e.g. DoS, Recon, Spoofing) where known.'),
  c('features', 'utf8', true, 'Dataset-specific feature columns that have no flow-schema column, as a JSON object {name: number}.'),
] as const;

/** One flow record (timestamps in epoch microseconds). */
export type FlowRow = RowOf<typeof FLOW_COLUMNS>;
/** The Arrow type map of a flow batch: `RecordBatch<FlowArrow>`. */
export type FlowArrow = ArrowOf<typeof FLOW_COLUMNS>;
/** Name of a flow column. */
export type FlowColumn = keyof FlowRow;

/**
 * Protocol facts by family. A flow carries the facts of one protocol at most, so each family is
 * null in most flows; the store keeps every family apart from the flow core (field metadata
 * `heir.sparse`, pipeline/store.ts) and readers still see one `flows` table.
 */
const SPARSE_FAMILIES: readonly (readonly [family: string, columns: RegExp])[] = [
  ['tls', /^tls_/],
  ['http', /^http_/],
  ['hl7', /^hl7_/],
  ['dicom', /^dicom_/],
  ['mqtt', /^mqtt_/],
  ['login', /^(login_|vnc_security$|banner$)/],
  ['smb', /^(smb_|ntlm_)/],
  ['dns', /^(dns_|dhcp_)/],
];

/** The Arrow schema of flow batches. */
export const FLOW_SCHEMA: Schema = withSparseFamilies(arrowSchema('flows', FLOW_SCHEMA_VERSION, FLOW_COLUMNS), (name) => SPARSE_FAMILIES.find(([, columns]) => columns.test(name))?.[0]);

/** Columns a flow record must have; the others may be omitted and become null. */
const REQUIRED = FLOW_COLUMNS.filter((col) => !col.nullable).map((col) => col.name);

/**
 * Accumulates flow records column by column and cuts Arrow batches. Parsers push partial rows;
 * unknown keys are an error (a typo must not silently drop a fact).
 */
export class FlowBatchBuilder {
  private columns: Record<string, unknown[]> = {};
  private length = 0;

  constructor() {
    this.reset();
  }

  /** Rows buffered so far. */
  get size(): number {
    return this.length;
  }

  /** Append one flow. Required columns must be present. */
  push(row: Partial<FlowRow>): void {
    for (const name of REQUIRED) {
      const v = (row as Record<string, unknown>)[name];
      if (v === undefined || v === null) throw new Error(`flow record is missing ${name}`);
    }
    const i = this.length++;
    for (const col of FLOW_COLUMNS) this.columns[col.name][i] = (row as Record<string, unknown>)[col.name] ?? null;
  }

  /** Cut the buffered rows into one record batch and start afresh. */
  build(): RecordBatch<FlowArrow> {
    const batch = batchFromColumns(FLOW_SCHEMA, FLOW_COLUMNS, this.columns, this.length);
    this.reset();
    return batch as RecordBatch<FlowArrow>;
  }

  private reset(): void {
    this.length = 0;
    this.columns = {};
    for (const col of FLOW_COLUMNS) this.columns[col.name] = [];
  }
}

/** Build a flow batch from rows in one call. */
export function flowBatch(rows: readonly Partial<FlowRow>[]): RecordBatch<FlowArrow> {
  const builder = new FlowBatchBuilder();
  for (const row of rows) builder.push(row);
  return builder.build();
}

/** Read a flow batch back as row objects (tests, --json output). */
export function flowRows(batch: RecordBatch): FlowRow[] {
  return rowsOf(batch, FLOW_COLUMNS);
}

/** True when the batch carries flow schema v1 (by metadata, or by having every required column). */
export function isFlowBatch(batch: RecordBatch): boolean {
  const meta = batch.schema.metadata.get('heir.table');
  if (meta !== undefined) return meta === 'flows';
  return REQUIRED.every((name) => batch.schema.fields.some((f) => f.name === name));
}
