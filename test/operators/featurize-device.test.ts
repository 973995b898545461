import fc from 'fast-check';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { DEVICE_FEATURES_V1 } from '../../operators/feature-sets.ts';
import { advanceWatermark, createDeviceState, featurizeDeviceOperator, flushDevices, pushFlows, type DeviceWindow } from '../../operators/featurize-device.ts';
import { flowBatch, type FlowRow } from '../../pipeline/flow-schema.ts';

const F = DEVICE_FEATURES_V1.features;
const v = (w: DeviceWindow, name: string) => w.features[F.indexOf(name)];
const SEC = 1_000_000;
// A virtual clock: event times are whole seconds from T0; nothing reads the wall clock.
const T0 = 1_767_225_600 * SEC;

let n = 0;
function flow(at: number, src: string, dst: string, extra: Partial<FlowRow> = {}): Partial<FlowRow> {
  return {
    flow_id: `f${n++}`, site_id: 's', sensor_id: 'x', source: 'pcap', ts_start: T0 + at * SEC, ts_end: T0 + at * SEC, duration_s: 0,
    src_addr: src, dst_addr: dst, ip_proto: 6, dst_port: 2575, fwd_packets: 4, bwd_packets: 3, fwd_bytes: 400, bwd_bytes: 300,
    tcp_flags_fwd: 0x1a, tcp_flags_bwd: 0x12, rst_count: 0, ...extra,
  };
}

test('sliding windows count connections, peers and ports per device, by event time', () => {
  const state = createDeviceState({ paneMicros: SEC, windowPanes: 3, latenessMicros: SEC });
  // 10.0.0.66 probes 10 ports of .10 in second 0 (SYN answered by RST), .21 sends one HL7 flow.
  const probes = Array.from({ length: 10 }, (_, i) => flow(0.1 * i, '10.0.0.66', '10.0.0.10', { dst_port: 100 + i, fwd_packets: 1, bwd_packets: 1, fwd_bytes: 40, bwd_bytes: 40, tcp_flags_fwd: 2, tcp_flags_bwd: 0x14, rst_count: 1 }));
  const step = pushFlows(state, flowBatch([...probes, flow(0.5, '10.0.0.21', '10.0.0.10')]));
  // Watermark = 0.9 s − 1 s: nothing closes yet.
  assert.is(step.windows.length, 0);
  // A flow at 2.5 s moves the watermark to 1.5 s: pane 0 closes, windows ending at 1 s are emitted.
  const next = pushFlows(state, flowBatch([flow(2.5, '10.0.0.21', '10.0.0.10')]));
  const byDevice = new Map(next.windows.map((w) => [w.device, w]));
  assert.equal([...byDevice.keys()].sort(), ['10.0.0.10', '10.0.0.21', '10.0.0.66']);
  const atk = byDevice.get('10.0.0.66')!;
  assert.equal([atk.windowStart, atk.windowEnd], [T0 - 2 * SEC, T0 + SEC]);
  assert.equal([v(atk, 'out_flows'), v(atk, 'out_distinct_peers'), v(atk, 'out_distinct_ports')], [10, 1, 10]);
  assert.is(v(atk, 'out_flows_per_s'), 10 / 3);
  assert.is(v(atk, 'out_syn_ratio'), 1);
  assert.is(v(atk, 'out_rst_ratio'), 1);
  assert.is(v(atk, 'out_bytes_per_s'), 400 / 3);
  const srv = byDevice.get('10.0.0.10')!;
  assert.equal([v(srv, 'in_flows'), v(srv, 'in_distinct_peers'), v(srv, 'in_distinct_ports'), v(srv, 'out_flows')], [11, 2, 11, 0]);
  assert.is(v(srv, 'in_rst_ratio'), 10 / 11);
  const mon = byDevice.get('10.0.0.21')!;
  assert.is(v(mon, 'out_syn_ratio'), 0);
  // The rest comes out at the end of input: windows ending at 2 s, 3 s (with the 2.5 s flow) and 4 s, …
  const rest = flushDevices(state);
  const monLater = rest.filter((w) => w.device === '10.0.0.21').map((w) => [(w.windowEnd - T0) / SEC, v(w, 'out_flows')]);
  assert.equal(monLater, [[2, 1], [3, 2], [4, 1], [5, 1]]);
  assert.is(state.counters.late, 0);
});

test('bounded lateness: late within it is counted, beyond it is refused, counted and reported', () => {
  const state = createDeviceState({ paneMicros: SEC, windowPanes: 2, latenessMicros: 2 * SEC });
  pushFlows(state, flowBatch([flow(10, 'a', 'b'), flow(13.5, 'a', 'b')]));
  // Watermark 11.5 s: panes up to 10 are closed. A flow at 11.2 s is out of order but in time.
  const inTime = pushFlows(state, flowBatch([flow(11.2, 'a', 'c')]));
  assert.is(inTime.late, 0);
  assert.is(state.counters.outOfOrder, 1);
  // A flow at 9.0 s belongs to a closed pane: late.
  const warnings: string[] = [];
  const op = featurizeDeviceOperator(state);
  const out = op.apply({ flows: flowBatch([flow(9, 'a', 'd'), flow(9.5, 'e', 'b')]) }, { site: 's', sensor: 'x', batchId: 'b2', warn: (m) => warnings.push(m) }) as Record<string, { numRows: number }>;
  assert.is(out.device_features.numRows, 0);
  assert.is(state.counters.late, 2);
  assert.is(state.devices.get('a')!.late, 1);
  assert.is(warnings.length, 1);
  assert.match(warnings[0], /2 flow\(s\) arrived later than the 2 s lateness/);
  // The window that ends at 12 s (panes 10 and 11) holds the 10 s flow to b and the in-time flow to c.
  const windows = advanceWatermark(state, T0 + 20 * SEC);
  const w12 = windows.find((w) => w.device === 'a' && w.windowEnd === T0 + 12 * SEC)!;
  assert.equal([v(w12, 'out_flows'), v(w12, 'out_distinct_peers')], [2, 2]);
  assert.ok(!windows.some((w) => w.device === 'd'), 'late flow never made a device');
});

test('bytes/s and connection rate against the device’s own baseline', () => {
  const state = createDeviceState({ paneMicros: SEC, windowPanes: 1, latenessMicros: 0, baselineAlpha: 0.2 });
  const rows: Partial<FlowRow>[] = [];
  // 30 s of one 400-byte flow per second, then a second with 200 flows.
  for (let s = 0; s < 30; s++) rows.push(flow(s + 0.5, 'pump', 'srv'));
  for (let i = 0; i < 200; i++) rows.push(flow(30 + i / 400, 'pump', 'srv'));
  const windows = [...pushFlows(state, flowBatch(rows)).windows, ...flushDevices(state)].filter((w) => w.device === 'pump');
  const steady = windows.find((w) => w.windowEnd === T0 + 20 * SEC)!;
  const burst = windows.find((w) => w.windowEnd === T0 + 31 * SEC)!;
  assert.is(v(steady, 'bytes_per_s_z'), 0);
  assert.ok(v(burst, 'bytes_per_s_z') > 50, `burst z ${v(burst, 'bytes_per_s_z')}`);
  assert.ok(v(burst, 'flows_per_s_z') > 50);
  assert.is(v(burst, 'baseline_windows'), 30);
  assert.is(v(windows[0], 'baseline_windows'), 0);
  assert.throws(() => createDeviceState({ windowPanes: 0 }), /invalid device window panes/);
});

test('property: with one-pane windows every in-time flow is counted once out and once in; late ones never', () => {
  fc.assert(
    fc.property(
      fc.array(fc.record({ at: fc.integer({ min: 0, max: 60_000 }), src: fc.integer({ min: 0, max: 5 }), dst: fc.integer({ min: 0, max: 5 }) }), { minLength: 1, maxLength: 150 }),
      fc.integer({ min: 1, max: 20 }),
      (events, batches) => {
        const state = createDeviceState({ paneMicros: SEC, windowPanes: 1, latenessMicros: 3 * SEC });
        const rows = events.map((e) => flow(e.at / 1000, `d${e.src}`, `d${e.dst}`));
        const per = Math.ceil(rows.length / batches);
        const windows: DeviceWindow[] = [];
        for (let i = 0; i < rows.length; i += per) windows.push(...pushFlows(state, flowBatch(rows.slice(i, i + per))).windows);
        windows.push(...flushDevices(state));
        const out = windows.reduce((n, w) => n + v(w, 'out_flows'), 0);
        const inn = windows.reduce((n, w) => n + v(w, 'in_flows'), 0);
        const accepted = state.counters.flows - state.counters.late;
        assert.is(out, accepted);
        assert.is(inn, accepted);
        for (const w of windows) assert.ok(v(w, 'out_unanswered_ratio') >= 0 && v(w, 'out_unanswered_ratio') <= 1);
      },
    ),
    { numRuns: 150, seed: 7 },
  );
});

test.run();
