/**
 * Turns an assembled flow into a flow-schema row (appended to column arrays): textual addresses,
 * Community ID, HEIR flow id, statistics, and the L7 facts of its first payload bytes.
 */
import { communityIdBytes, flowId } from '../../pipeline/flow-id.ts';
import { inspectL7 } from '../l7/inspect.ts';
import type { L7Facts } from '../l7/types.ts';
import { addressText } from '../../pipeline/flow-id.ts';
import type { EndReason, Flow } from './flow-assembler.ts';
import type { FlowColumnArrays } from './flow-columns.ts';


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

/**
 * Append the flow-schema row of `flow`, emitted for `reason`, to column arrays: each column by name
 * in code, so no row object is built per flow.
 */
export function writeFlowRecord(c: FlowColumnArrays, flow: Flow, reason: EndReason, site: string, sensor: string): void {
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
  // Every column of the schema, in order.
  c.flow_id.push(flowId(site, sensor, cid, f.tsStart));
  c.community_id.push(cid);
  c.site_id.push(site);
  c.sensor_id.push(sensor);
  c.source.push('pcap');
  c.ts_start.push(f.tsStart);
  c.ts_end.push(f.tsEnd);
  c.duration_s.push((f.tsEnd - f.tsStart) / 1e6);
  c.end_reason.push(reason);
  c.ip_version.push(f.ipVersion);
  c.src_addr.push(addressText(f.srcAddr));
  c.dst_addr.push(addressText(f.dstAddr));
  c.src_port.push(hasPorts ? f.srcPort : null);
  c.dst_port.push(hasPorts ? f.dstPort : null);
  c.ip_proto.push(f.proto);
  c.src_mac.push(macText(f.srcMac));
  c.dst_mac.push(macText(f.dstMac));
  c.vlan_id.push(f.vlan >= 0 ? f.vlan : null);
  c.l7_proto.push(facts.l7_proto ?? null);
  c.fwd_packets.push(f.fwdPackets);
  c.bwd_packets.push(f.bwdPackets);
  c.fwd_bytes.push(f.fwdBytes);
  c.bwd_bytes.push(f.bwdBytes);
  c.fwd_payload_bytes.push(f.fwdPayload);
  c.bwd_payload_bytes.push(f.bwdPayload);
  c.iat_min.push(f.iatN > 0 ? f.iatMin : null);
  c.iat_max.push(f.iatN > 0 ? f.iatMax : null);
  c.iat_mean.push(f.iatN > 0 ? f.iatMean : null);
  c.iat_std.push(f.iatN > 0 ? Math.sqrt(f.iatM2 / f.iatN) : null);
  c.pkt_len_min.push(f.lenMin);
  c.pkt_len_max.push(f.lenMax);
  c.pkt_len_mean.push(f.lenMean);
  c.pkt_len_std.push(Math.sqrt(f.lenM2 / packets));
  c.ttl_min.push(f.ttlMin);
  c.ttl_max.push(f.ttlMax);
  c.tcp_flags_fwd.push(tcp ? f.flagsFwd : null);
  c.tcp_flags_bwd.push(tcp ? f.flagsBwd : null);
  c.syn_count.push(tcp ? f.syn : null);
  c.fin_count.push(tcp ? f.fin : null);
  c.rst_count.push(tcp ? f.rst : null);
  c.psh_count.push(tcp ? f.psh : null);
  c.ack_count.push(tcp ? f.ack : null);
  c.urg_count.push(tcp ? f.urg : null);
  c.tls_version.push(facts.tls_version ?? null);
  c.tls_cipher.push(facts.tls_cipher ?? null);
  c.tls_sni.push(facts.tls_sni ?? null);
  c.tls_ja3.push(facts.tls_ja3 ?? null);
  c.tls_ja4.push(facts.tls_ja4 ?? null);
  c.tls_cert_key.push(facts.tls_cert_key ?? null);
  c.tls_cert_key_bits.push(facts.tls_cert_key_bits ?? null);
  c.tls_cert_self_signed.push(facts.tls_cert_self_signed ?? null);
  const notAfter = facts.tls_cert_not_after ?? null;
  c.tls_cert_not_after.push(notAfter);
  c.tls_cert_expired.push(notAfter === null ? null : notAfter < f.tsStart);
  c.http_method.push(facts.http_method ?? null);
  c.http_host.push(facts.http_host ?? null);
  c.http_path.push(facts.http_path ?? null);
  c.http_user_agent.push(facts.http_user_agent ?? null);
  c.http_basic_auth.push(facts.http_basic_auth ?? null);
  c.http_server.push(facts.http_server ?? null);
  c.hl7_message_type.push(facts.hl7_message_type ?? null);
  c.hl7_sending_app.push(facts.hl7_sending_app ?? null);
  c.hl7_sending_facility.push(facts.hl7_sending_facility ?? null);
  c.hl7_version.push(facts.hl7_version ?? null);
  c.dicom_called_ae.push(facts.dicom_called_ae ?? null);
  c.dicom_calling_ae.push(facts.dicom_calling_ae ?? null);
  c.dicom_impl_class_uid.push(facts.dicom_impl_class_uid ?? null);
  c.dicom_impl_version.push(facts.dicom_impl_version ?? null);
  c.mqtt_client_id.push(facts.mqtt_client_id ?? null);
  c.mqtt_username.push(facts.mqtt_username ?? null);
  c.mqtt_password.push(facts.mqtt_password ?? null);
  c.login_protocol.push(facts.login_protocol ?? null);
  c.login_user.push(facts.login_user ?? null);
  c.login_secret_sha256.push(facts.login_secret_sha256 ?? null);
  c.login_failures.push(facts.login_failures ?? null);
  c.vnc_security.push(facts.vnc_security ?? null);
  c.dns_query.push(facts.dns_query ?? null);
  c.dhcp_hostname.push(facts.dhcp_hostname ?? null);
  c.dhcp_vendor_class.push(facts.dhcp_vendor_class ?? null);
  c.banner.push(facts.banner ?? null);
  c.link_type.push(f.linkType);
  c.label.push(null);
  c.label_category.push(null);
  c.features.push(null);
}
