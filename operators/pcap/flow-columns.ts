/**
 * Flow rows accumulated column by column for Arrow: each column is appended by name in code
 * (static property access), not by looping over the schema with dynamic keys, which made the
 * generic builder a visible share of pcap ingest time.
 */
import type { RecordBatch } from 'apache-arrow';
import { batchFromColumns } from '../../pipeline/columns.ts';
import { FLOW_COLUMNS, FLOW_SCHEMA, type FlowArrow, type FlowColumn, type FlowRow } from '../../pipeline/flow-schema.ts';

type Columns = { [K in FlowColumn]: FlowRow[K][] };

function emptyColumns(): Columns {
  const c: Record<string, unknown[]> = {};
  for (const col of FLOW_COLUMNS) c[col.name] = [];
  return c as Columns;
}

/** Accumulates complete flow rows and cuts flow-schema record batches. */
export class FlowColumns {
  private c: Columns = emptyColumns();
  private n = 0;

  /** Rows held. */
  get size(): number {
    return this.n;
  }

  /** Append one complete row (every column present, nulls as null). */
  append(r: FlowRow): void {
    const c = this.c;
    c.flow_id.push(r.flow_id);
    c.community_id.push(r.community_id);
    c.site_id.push(r.site_id);
    c.sensor_id.push(r.sensor_id);
    c.source.push(r.source);
    c.ts_start.push(r.ts_start);
    c.ts_end.push(r.ts_end);
    c.duration_s.push(r.duration_s);
    c.end_reason.push(r.end_reason);
    c.ip_version.push(r.ip_version);
    c.src_addr.push(r.src_addr);
    c.dst_addr.push(r.dst_addr);
    c.src_port.push(r.src_port);
    c.dst_port.push(r.dst_port);
    c.ip_proto.push(r.ip_proto);
    c.src_mac.push(r.src_mac);
    c.dst_mac.push(r.dst_mac);
    c.vlan_id.push(r.vlan_id);
    c.l7_proto.push(r.l7_proto);
    c.fwd_packets.push(r.fwd_packets);
    c.bwd_packets.push(r.bwd_packets);
    c.fwd_bytes.push(r.fwd_bytes);
    c.bwd_bytes.push(r.bwd_bytes);
    c.fwd_payload_bytes.push(r.fwd_payload_bytes);
    c.bwd_payload_bytes.push(r.bwd_payload_bytes);
    c.iat_min.push(r.iat_min);
    c.iat_max.push(r.iat_max);
    c.iat_mean.push(r.iat_mean);
    c.iat_std.push(r.iat_std);
    c.pkt_len_min.push(r.pkt_len_min);
    c.pkt_len_max.push(r.pkt_len_max);
    c.pkt_len_mean.push(r.pkt_len_mean);
    c.pkt_len_std.push(r.pkt_len_std);
    c.ttl_min.push(r.ttl_min);
    c.ttl_max.push(r.ttl_max);
    c.tcp_flags_fwd.push(r.tcp_flags_fwd);
    c.tcp_flags_bwd.push(r.tcp_flags_bwd);
    c.syn_count.push(r.syn_count);
    c.fin_count.push(r.fin_count);
    c.rst_count.push(r.rst_count);
    c.psh_count.push(r.psh_count);
    c.ack_count.push(r.ack_count);
    c.urg_count.push(r.urg_count);
    c.tls_version.push(r.tls_version);
    c.tls_cipher.push(r.tls_cipher);
    c.tls_sni.push(r.tls_sni);
    c.tls_ja3.push(r.tls_ja3);
    c.tls_ja4.push(r.tls_ja4);
    c.http_method.push(r.http_method);
    c.http_host.push(r.http_host);
    c.http_path.push(r.http_path);
    c.http_user_agent.push(r.http_user_agent);
    c.http_basic_auth.push(r.http_basic_auth);
    c.http_server.push(r.http_server);
    c.hl7_message_type.push(r.hl7_message_type);
    c.hl7_sending_app.push(r.hl7_sending_app);
    c.hl7_sending_facility.push(r.hl7_sending_facility);
    c.hl7_version.push(r.hl7_version);
    c.dicom_called_ae.push(r.dicom_called_ae);
    c.dicom_calling_ae.push(r.dicom_calling_ae);
    c.dicom_impl_class_uid.push(r.dicom_impl_class_uid);
    c.dicom_impl_version.push(r.dicom_impl_version);
    c.mqtt_client_id.push(r.mqtt_client_id);
    c.mqtt_username.push(r.mqtt_username);
    c.mqtt_password.push(r.mqtt_password);
    c.login_protocol.push(r.login_protocol);
    c.login_user.push(r.login_user);
    c.login_secret_sha256.push(r.login_secret_sha256);
    c.login_failures.push(r.login_failures);
    c.dns_query.push(r.dns_query);
    c.dhcp_hostname.push(r.dhcp_hostname);
    c.dhcp_vendor_class.push(r.dhcp_vendor_class);
    c.banner.push(r.banner);
    c.link_type.push(r.link_type);
    c.label.push(r.label);
    c.label_category.push(r.label_category);
    c.features.push(r.features);
    this.n++;
  }

  /** The held rows as one batch; the builder starts afresh. */
  build(): RecordBatch<FlowArrow> {
    const batch = batchFromColumns(FLOW_SCHEMA, FLOW_COLUMNS, this.c, this.n) as RecordBatch<FlowArrow>;
    this.c = emptyColumns();
    this.n = 0;
    return batch;
  }
}
