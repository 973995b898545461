/**
 * Turns an assembled flow into a flow-schema row of the column builder: textual addresses,
 * Community ID, HEIR flow id, statistics, and the L7 facts of its first payload bytes.
 */
import { COMMUNITY_ID_TEXT_LENGTH, FLOW_ID_TEXT_LENGTH } from '../../pipeline/flow-id.ts';
import { inspectL7Into } from '../l7/inspect.ts';
import { emptyFacts, writeFacts } from './fact-columns.ts';
import type { EndReason, Flow } from './flow-assembler.ts';
import type { FlowColumns } from './flow-columns.ts';

const EMPTY = new Uint8Array(0);
/** The facts of the flow being written (one object, cleared by `writeFacts`). */
const facts = emptyFacts();
/** The kept payload of the flow being inspected (one object, refilled per flow: the dissectors read it during the call only). */
const streams: { fwd: Uint8Array; bwd: Uint8Array; proto: number; srcPort: number; dstPort: number } = { fwd: EMPTY, bwd: EMPTY, proto: 0, srcPort: 0, dstPort: 0 };

/**
 * Append the flow-schema row of `flow`, emitted for `reason`, to the column builder: each column
 * by name in code, nulls left unset. Number columns are set with `putNum`/`putInt` (the row is
 * opened by `b.row()`, which makes room in every number column).
 */
export function writeFlowRecord(b: FlowColumns, flow: Flow, reason: EndReason, site: string, sensor: string): void {
  const f = flow;
  const c = b.col;
  const i = b.row();
  const tcp = f.proto === 6;
  const hasPorts = tcp || f.proto === 17 || f.proto === 1 || f.proto === 58 || f.proto === 132;
  const packets = f.packets;
  // The ids' text is written when the batch is cut (both hashed for all its flows at once).
  const fidAt = c.flow_id.beginText(i, FLOW_ID_TEXT_LENGTH);
  c.flow_id.endText(i, fidAt + FLOW_ID_TEXT_LENGTH);
  const cidAt = c.community_id.beginText(i, COMMUNITY_ID_TEXT_LENGTH);
  c.community_id.endText(i, cidAt + COMMUNITY_ID_TEXT_LENGTH);
  b.ids.add(f.srcAddr, f.dstAddr, f.srcAddr.length, f.proto, f.srcPort, f.dstPort, f.tsStart, site, sensor, cidAt, fidAt);
  c.site_id.setSame(i, site);
  c.sensor_id.setSame(i, sensor);
  c.source.setSame(i, 'pcap');
  c.ts_start.putNum(i, f.tsStart);
  c.ts_end.putNum(i, f.tsEnd);
  c.duration_s.putNum(i, (f.tsEnd - f.tsStart) / 1e6);
  c.end_reason.setStr(i, reason);
  c.ip_version.putInt(i, f.ipVersion);
  c.src_addr.setAddress(i, f.srcAddr, f.srcAddr.length);
  c.dst_addr.setAddress(i, f.dstAddr, f.dstAddr.length);
  if (hasPorts) {
    c.src_port.putInt(i, f.srcPort);
    c.dst_port.putInt(i, f.dstPort);
  }
  c.ip_proto.putInt(i, f.proto);
  if (f.srcMac >= 0) c.src_mac.setMac(i, f.srcMac);
  if (f.dstMac >= 0) c.dst_mac.setMac(i, f.dstMac);
  if (f.vlan >= 0) c.vlan_id.putInt(i, f.vlan);
  c.fwd_packets.putNum(i, f.fwdPackets);
  c.bwd_packets.putNum(i, f.bwdPackets);
  c.fwd_bytes.putNum(i, f.fwdBytes);
  c.bwd_bytes.putNum(i, f.bwdBytes);
  c.fwd_payload_bytes.putNum(i, f.fwdPayload);
  c.bwd_payload_bytes.putNum(i, f.bwdPayload);
  if (f.iatN > 0) {
    c.iat_min.putNum(i, f.iatMin);
    c.iat_max.putNum(i, f.iatMax);
    c.iat_mean.putNum(i, f.iatMean);
    c.iat_std.putNum(i, Math.sqrt(f.iatM2 / f.iatN));
  }
  c.pkt_len_min.putNum(i, f.lenMin);
  c.pkt_len_max.putNum(i, f.lenMax);
  c.pkt_len_mean.putNum(i, f.lenMean);
  c.pkt_len_std.putNum(i, Math.sqrt(f.lenM2 / packets));
  c.ttl_min.putInt(i, f.ttlMin);
  c.ttl_max.putInt(i, f.ttlMax);
  if (tcp) {
    c.tcp_flags_fwd.putInt(i, f.flagsFwd);
    c.tcp_flags_bwd.putInt(i, f.flagsBwd);
    c.syn_count.putInt(i, f.syn);
    c.fin_count.putInt(i, f.fin);
    c.rst_count.putInt(i, f.rst);
    c.psh_count.putInt(i, f.psh);
    c.ack_count.putInt(i, f.ack);
    c.urg_count.putInt(i, f.urg);
  }
  if ((tcp || f.proto === 17) && (f.fwdLen > 0 || f.bwdLen > 0)) {
    streams.fwd = f.fwdBuf !== null && f.fwdLen > 0 ? f.fwdBuf.subarray(0, f.fwdLen) : EMPTY;
    streams.bwd = f.bwdBuf !== null && f.bwdLen > 0 ? f.bwdBuf.subarray(0, f.bwdLen) : EMPTY;
    streams.proto = f.proto;
    streams.srcPort = f.srcPort;
    streams.dstPort = f.dstPort;
    inspectL7Into(streams, facts);
    // The views are not kept past the call (the buffers go back to the pool with the flow).
    streams.fwd = streams.bwd = EMPTY;
    // No dissector recognised the payload: no fact was set (a match names the protocol first).
    if (facts.l7_proto !== undefined) {
      const notAfter = facts.tls_cert_not_after;
      if (notAfter !== null && notAfter !== undefined) c.tls_cert_expired.setBool(i, notAfter < f.tsStart);
      writeFacts(c, i, facts);
    }
  }
  c.link_type.putInt(i, f.linkType);
  b.commit();
}
