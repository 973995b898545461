/**
 * Turns an assembled flow into a flow-schema row: textual addresses, Community ID, HEIR flow id,
 * statistics, and the L7 facts of its first payload bytes.
 */
import { communityIdBytes, flowId } from '../../pipeline/flow-id.ts';
import type { FlowRow } from '../../pipeline/flow-schema.ts';
import { inspectL7 } from '../l7/inspect.ts';
import type { L7Facts } from '../l7/types.ts';
import type { EndReason, Flow } from './flow-assembler.ts';

/** Dotted IPv4 or RFC 5952 IPv6 text of address bytes. */
export function addressText(a: ArrayLike<number>): string {
  if (a.length === 4) return `${a[0]}.${a[1]}.${a[2]}.${a[3]}`;
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((a[i] << 8) | a[i + 1]);
  // Longest run (length ≥ 2) of zero groups becomes "::".
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (g: number[]) => g.map((v) => v.toString(16)).join(':');
  if (best < 0) return hex(groups);
  // IPv4-mapped addresses keep their dotted tail.
  if (best === 0 && bestLen === 5 && groups[5] === 0xffff) return `::ffff:${a[12]}.${a[13]}.${a[14]}.${a[15]}`;
  return `${hex(groups.slice(0, best))}::${hex(groups.slice(best + bestLen))}`;
}

/** `aa:bb:cc:dd:ee:ff` of a 48-bit MAC number; null when absent. */
export function macText(mac: number): string | null {
  if (mac < 0) return null;
  let s = '';
  for (let i = 5; i >= 0; i--) {
    const b = Math.floor(mac / 2 ** (8 * i)) & 0xff;
    s += (i < 5 ? ':' : '') + b.toString(16).padStart(2, '0');
  }
  return s;
}

const EMPTY = new Uint8Array(0);

/** The flow-schema row of `flow`, emitted for `reason`. */
export function flowRecord(flow: Flow, reason: EndReason, site: string, sensor: string): FlowRow {
  const f = flow;
  const tcp = f.proto === 6;
  const hasPorts = tcp || f.proto === 17 || f.proto === 1 || f.proto === 58 || f.proto === 132;
  const cid = communityIdBytes(f.srcAddr, f.dstAddr, f.proto, f.srcPort, f.dstPort);
  const packets = f.packets;
  const facts: L7Facts =
    (tcp || f.proto === 17) && (f.fwdLen > 0 || f.bwdLen > 0)
      ? inspectL7({
          fwd: f.fwdBuf ? f.fwdBuf.subarray(0, f.fwdLen) : EMPTY,
          bwd: f.bwdBuf ? f.bwdBuf.subarray(0, f.bwdLen) : EMPTY,
          proto: f.proto,
          srcPort: f.srcPort,
          dstPort: f.dstPort,
        })
      : {};
  // Every column in schema order, so all rows share one object shape (fast to read back column by column).
  return {
    flow_id: flowId(site, sensor, cid, f.tsStart),
    community_id: cid,
    site_id: site,
    sensor_id: sensor,
    source: 'pcap',
    ts_start: f.tsStart,
    ts_end: f.tsEnd,
    duration_s: (f.tsEnd - f.tsStart) / 1e6,
    end_reason: reason,
    ip_version: f.ipVersion,
    src_addr: addressText(f.srcAddr),
    dst_addr: addressText(f.dstAddr),
    src_port: hasPorts ? f.srcPort : null,
    dst_port: hasPorts ? f.dstPort : null,
    ip_proto: f.proto,
    src_mac: macText(f.srcMac),
    dst_mac: macText(f.dstMac),
    vlan_id: f.vlan >= 0 ? f.vlan : null,
    l7_proto: facts.l7_proto ?? null,
    fwd_packets: f.fwdPackets,
    bwd_packets: f.bwdPackets,
    fwd_bytes: f.fwdBytes,
    bwd_bytes: f.bwdBytes,
    fwd_payload_bytes: f.fwdPayload,
    bwd_payload_bytes: f.bwdPayload,
    iat_min: f.iatN > 0 ? f.iatMin : null,
    iat_max: f.iatN > 0 ? f.iatMax : null,
    iat_mean: f.iatN > 0 ? f.iatMean : null,
    iat_std: f.iatN > 0 ? Math.sqrt(f.iatM2 / f.iatN) : null,
    pkt_len_min: f.lenMin,
    pkt_len_max: f.lenMax,
    pkt_len_mean: f.lenMean,
    pkt_len_std: Math.sqrt(f.lenM2 / packets),
    ttl_min: f.ttlMin,
    ttl_max: f.ttlMax,
    tcp_flags_fwd: tcp ? f.flagsFwd : null,
    tcp_flags_bwd: tcp ? f.flagsBwd : null,
    syn_count: tcp ? f.syn : null,
    fin_count: tcp ? f.fin : null,
    rst_count: tcp ? f.rst : null,
    psh_count: tcp ? f.psh : null,
    ack_count: tcp ? f.ack : null,
    urg_count: tcp ? f.urg : null,
    tls_version: facts.tls_version ?? null,
    tls_cipher: facts.tls_cipher ?? null,
    tls_sni: facts.tls_sni ?? null,
    tls_ja3: facts.tls_ja3 ?? null,
    tls_ja4: facts.tls_ja4 ?? null,
    http_method: facts.http_method ?? null,
    http_host: facts.http_host ?? null,
    http_path: facts.http_path ?? null,
    http_user_agent: facts.http_user_agent ?? null,
    http_basic_auth: facts.http_basic_auth ?? null,
    http_server: facts.http_server ?? null,
    hl7_message_type: facts.hl7_message_type ?? null,
    hl7_sending_app: facts.hl7_sending_app ?? null,
    hl7_sending_facility: facts.hl7_sending_facility ?? null,
    hl7_version: facts.hl7_version ?? null,
    dicom_called_ae: facts.dicom_called_ae ?? null,
    dicom_calling_ae: facts.dicom_calling_ae ?? null,
    dicom_impl_class_uid: facts.dicom_impl_class_uid ?? null,
    dicom_impl_version: facts.dicom_impl_version ?? null,
    mqtt_client_id: facts.mqtt_client_id ?? null,
    mqtt_username: facts.mqtt_username ?? null,
    mqtt_password: facts.mqtt_password ?? null,
    login_protocol: facts.login_protocol ?? null,
    login_user: facts.login_user ?? null,
    login_secret_sha256: facts.login_secret_sha256 ?? null,
    login_failures: facts.login_failures ?? null,
    dns_query: facts.dns_query ?? null,
    dhcp_hostname: facts.dhcp_hostname ?? null,
    dhcp_vendor_class: facts.dhcp_vendor_class ?? null,
    banner: facts.banner ?? null,
    link_type: f.linkType,
    label: null,
    label_category: null,
    features: null,
  };
}
