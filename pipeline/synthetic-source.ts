/**
 * Generated flow records, clearly synthetic: deterministic from a seed, for the fault test, the
 * pipeline benchmark and load tests. Shapes follow medical-device traffic loosely (HL7, DICOM,
 * MQTT, HTTPS ports among hospital addresses); nothing here is a measurement.
 *
 * Protocol facts are as sparse as a capture's: 72 % of the flows carry the facts of their
 * protocol (TLS handshake, DNS query, HTTP request, HL7 header, DICOM association, MQTT CONNECT),
 * the rest none (NTP, syslog, unrecognised payload). The share follows `heir ingest pcap` over the
 * 126 WiFi captures of real medical devices in the shared datasets: 1,349 flows, 73 % with at least
 * one fact (TLS 29 %, DNS 25 %, HTTP 19 %).
 */
import { flowId, communityId } from './flow-id.ts';
import { seededRandom, type Random } from './random.ts';
import { FlowBatchBuilder, type FlowRow } from './flow-schema.ts';
import type { BatchSource, SourceBatch } from './types.ts';

type Facts = Partial<FlowRow>;
const pick = <T>(random: Random, xs: readonly T[]): T => xs[Math.floor(random() * xs.length)];
const hex = (random: Random, digits: number) => Array.from({ length: digits }, () => Math.floor(random() * 16).toString(16)).join('');

/** Services by share of flows, with the facts a dissector reads from each. */
const SERVICES: readonly { share: number; port: number; l7: string | null; proto: number; facts?: (random: Random, ts: number) => Facts }[] = [
  {
    share: 0.25, port: 443, l7: 'tls', proto: 6,
    facts: (random, ts) => ({
      tls_version: pick(random, ['TLS1.2', 'TLS1.3', 'TLS1.3', 'TLS1.0']),
      tls_cipher: pick(random, ['0x1301', '0x1302', '0xc02f', '0x002f']),
      tls_sni: `${pick(random, ['pacs', 'emr', 'pump-mgr', 'cloud'])}.hospital.example`,
      tls_ja3: hex(random, 32),
      tls_ja4: `t13d${hex(random, 4)}_${hex(random, 12)}`,
      // The certificate crosses in cleartext in half of the handshakes (TLS 1.2 and older).
      ...(random() < 0.5 ? { tls_cert_key: 'rsa-2048', tls_cert_key_bits: 2048, tls_cert_self_signed: random() < 0.2, tls_cert_not_after: ts + 3e13, tls_cert_expired: false } : {}),
    }),
  },
  { share: 0.2, port: 53, l7: 'dns', proto: 17, facts: (random) => ({ dns_query: `${pick(random, ['pacs', 'ntp', 'emr', 'update'])}${Math.floor(random() * 50)}.hospital.example` }) },
  {
    share: 0.1, port: 80, l7: 'http', proto: 6,
    facts: (random) => ({ http_method: pick(random, ['GET', 'POST']), http_host: '10.30.0.7', http_path: `/api/v1/${pick(random, ['status', 'vitals', 'config'])}`, http_user_agent: 'DeviceAgent/2.1', http_server: 'lighttpd/1.4.35' }),
  },
  { share: 0.07, port: 2575, l7: 'hl7-mllp', proto: 6, facts: (random) => ({ hl7_message_type: pick(random, ['ORU^R01', 'ADT^A01']), hl7_sending_app: 'MONITOR', hl7_sending_facility: 'ICU', hl7_version: '2.5' }) },
  { share: 0.05, port: 104, l7: 'dicom', proto: 6, facts: (random) => ({ dicom_called_ae: 'PACS', dicom_calling_ae: pick(random, ['CT01', 'MR02', 'US03']), dicom_impl_class_uid: '1.2.276.0.7230010.3.0.3.6.4', dicom_impl_version: 'OFFIS_DCMTK_364' }) },
  { share: 0.05, port: 1883, l7: 'mqtt', proto: 6, facts: (random) => ({ mqtt_client_id: `sensor-${Math.floor(random() * 100)}`, mqtt_username: random() < 0.5, mqtt_password: random() < 0.5 }) },
  { share: 0.28, port: 123, l7: null, proto: 17 },
];

/** Options of the synthetic source. */
export interface SyntheticOptions {
  readonly site: string;
  readonly sensor: string;
  readonly count: number;
  readonly seed?: number;
  readonly batchSize?: number;
  /** First flow's start, epoch µs. */
  readonly startMicros?: number;
}

/** A source of `count` synthetic flows in batches with deterministic ids. */
export function syntheticSource(options: SyntheticOptions): BatchSource {
  const { site, sensor, count } = options;
  const seed = options.seed ?? 1;
  const batchSize = options.batchSize ?? 2000;
  const start = options.startMicros ?? Date.UTC(2026, 0, 1) * 1000;
  return {
    name: `synthetic:${seed}`,
    async *batches(signal?: AbortSignal): AsyncIterable<SourceBatch> {
      const random = seededRandom(seed);
      const builder = new FlowBatchBuilder();
      for (let i = 0; i < count; i++) {
        if (signal?.aborted) return;
        let draw = random();
        const service = SERVICES.find((x) => (draw -= x.share) < 0) ?? SERVICES[SERVICES.length - 1];
        const src = `10.20.${Math.floor(random() * 8)}.${1 + Math.floor(random() * 250)}`;
        const dst = `10.30.0.${1 + Math.floor(random() * 20)}`;
        const sport = 32768 + Math.floor(random() * 28000);
        const ts = start + i * 1000;
        const duration = random() * 5;
        const fwdPackets = 1 + Math.floor(random() * 40);
        const bwdPackets = Math.floor(random() * 40);
        const cid = communityId(src, dst, service.proto, sport, service.port);
        builder.push({
          flow_id: flowId(site, sensor, `${cid}:${i}`, ts),
          community_id: cid,
          site_id: site,
          sensor_id: sensor,
          source: 'synthetic',
          ts_start: ts,
          ts_end: ts + Math.round(duration * 1e6),
          duration_s: duration,
          end_reason: 'fin',
          ip_version: 4,
          src_addr: src,
          dst_addr: dst,
          src_port: sport,
          dst_port: service.port,
          ip_proto: service.proto,
          l7_proto: service.l7,
          fwd_packets: fwdPackets,
          bwd_packets: bwdPackets,
          fwd_bytes: fwdPackets * (60 + Math.floor(random() * 1400)),
          bwd_bytes: bwdPackets * (60 + Math.floor(random() * 1400)),
          label: 'synthetic',
          ...service.facts?.(random, ts),
        });
        if (builder.size === batchSize || i === count - 1) {
          yield { id: `synthetic:${site}:${sensor}:${seed}:${i + 1}`, tables: { flows: builder.build() } };
        }
      }
    },
  };
}
