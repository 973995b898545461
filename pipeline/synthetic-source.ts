/**
 * Generated flow records, clearly synthetic: deterministic from a seed, for the fault test, the
 * pipeline benchmark and load tests. Shapes follow medical-device traffic loosely (HL7, DICOM,
 * MQTT, HTTPS ports among hospital addresses); nothing here is a measurement.
 */
import { flowId, communityId } from './flow-id.ts';
import { seededRandom } from './random.ts';
import { FlowBatchBuilder } from './flow-schema.ts';
import type { BatchSource, SourceBatch } from './types.ts';


const SERVICES = [
  { port: 2575, l7: 'hl7-mllp', proto: 6 },
  { port: 104, l7: 'dicom', proto: 6 },
  { port: 1883, l7: 'mqtt', proto: 6 },
  { port: 443, l7: 'tls', proto: 6 },
  { port: 53, l7: 'dns', proto: 17 },
] as const;

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
        const service = SERVICES[Math.floor(random() * SERVICES.length)];
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
        });
        if (builder.size === batchSize || i === count - 1) {
          yield { id: `synthetic:${site}:${sensor}:${seed}:${i + 1}`, tables: { flows: builder.build() } };
        }
      }
    },
  };
}
