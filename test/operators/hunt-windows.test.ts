/**
 * Aggregate hunt rules over event time across batches: the same attack (a burst of failed logins,
 * a port scan) fed as one batch and as many small batches gives the same merged findings (as
 * `heir findings` merges rows by finding id), fires once per window, and a slow trickle never
 * fires however many batches it spans. Redelivered batches give their rows again without counting
 * twice; flows older than window plus lateness are reported late.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { AddressClassifier } from '../../knowledge/networks.ts';
import { loadRules } from '../../knowledge/rules.ts';
import { createHunt, createHuntState, huntBatch, type HuntState } from '../../operators/hunt.ts';
import { findingRows, type FindingRow } from '../../operators/findings-schema.ts';
import { flowBatch, type FlowRow } from '../../pipeline/flow-schema.ts';

const rules = loadRules();
const addresses = new AddressClassifier();
const T0 = Date.UTC(2026, 0, 5, 8) * 1000;
let n = 0;

function flow(atS: number, extra: Partial<FlowRow>): Partial<FlowRow> {
  n++;
  const ts = T0 + Math.round(atS * 1e6);
  return {
    flow_id: `w${n}`, site_id: 'h1', sensor_id: 's1', source: 'lab', ts_start: ts, ts_end: ts + 400_000, duration_s: 0.4,
    ip_version: 4, ip_proto: 6, src_addr: '10.1.0.5', dst_addr: '10.1.0.9', src_port: 40000 + (n % 20000), dst_port: 2575,
    fwd_packets: 6, bwd_packets: 5, fwd_bytes: 900, bwd_bytes: 400, fwd_payload_bytes: 500, bwd_payload_bytes: 100, ...extra,
  };
}

const failedFtp = (atS: number, from = '10.1.0.66') => flow(atS, { l7_proto: 'ftp', dst_port: 21, src_addr: from, login_protocol: 'ftp', login_user: 'admin', login_failures: 1 });
const probe = (atS: number, k: number) => flow(atS, { src_addr: '10.1.0.99', dst_addr: `10.1.1.${k % 8}`, dst_port: 1 + k, fwd_packets: 1, bwd_packets: 1, fwd_payload_bytes: 0, bwd_payload_bytes: 0 });
const hl7 = (atS: number) => flow(atS, { l7_proto: 'hl7-mllp', hl7_message_type: 'ORU^R01' });

/** Run rows through one stateful hunt in batches of `size` (in event-time order, as a sensor emits them). */
function huntInBatches(rows: readonly Partial<FlowRow>[], size: number, state: HuntState = createHuntState()): FindingRow[][] {
  const sorted = [...rows].sort((a, b) => a.ts_start! - b.ts_start!);
  const out: FindingRow[][] = [];
  for (let i = 0, k = 0; i < sorted.length; i += size, k++) out.push(huntBatch(flowBatch(sorted.slice(i, i + size)), rules, addresses, `batch-${k}`, state));
  return out;
}

/** Findings merged over batches as the store reads them: flows summed, first/last seen, the latest evidence. */
function merged(rows: readonly FindingRow[]) {
  const byId = new Map<string, { rule: string; device: string | null; subject: string | null; peer: string | null; flows: number; first: number; last: number; evidence: string }>();
  for (const r of rows) {
    const m = byId.get(r.finding_id);
    if (!m) byId.set(r.finding_id, { rule: r.rule_id, device: r.device, subject: r.subject, peer: r.peer, flows: r.flow_count, first: r.first_seen, last: r.last_seen, evidence: r.evidence });
    else {
      m.flows += r.flow_count;
      m.first = Math.min(m.first, r.first_seen);
      if (r.last_seen >= m.last) m.evidence = r.evidence;
      m.last = Math.max(m.last, r.last_seen);
    }
  }
  return [...byId.entries()].sort((a, b) => (a[0] < b[0] ? -1 : 1)).map(([id, m]) => ({ id, ...m }));
}

const aggregateOnly = (rows: readonly FindingRow[]) => rows.filter((r) => r.rule_id === 'brute-force' || r.rule_id === 'port-scan');

test('a burst and a scan split over many small batches give the same findings as one batch, fired once', () => {
  const rows = [
    ...Array.from({ length: 8 }, (_, i) => failedFtp(10 + i * 1.5)),
    ...Array.from({ length: 80 }, (_, k) => probe(30 + k * 0.25, k)),
    ...Array.from({ length: 40 }, (_, i) => hl7(i * 2)),
  ];
  const oneState = createHuntState();
  const one = huntInBatches(rows, rows.length, oneState).flat();
  assert.equal(aggregateOnly(one).map((r) => r.rule_id).sort(), ['brute-force', 'port-scan']);
  const bf = one.find((r) => r.rule_id === 'brute-force')!;
  assert.match(bf.evidence, /sum of login_failures reached 8 within 60 s \(threshold 5\)/);
  assert.is(bf.flow_count, 8);
  const scan = one.find((r) => r.rule_id === 'port-scan')!;
  assert.match(scan.evidence, /distinct \(dst_addr, dst_port\) reached 80 within 60 s/);
  for (const size of [1, 3, 7]) {
    const state = createHuntState();
    const batches = huntInBatches(rows, size, state);
    const split = batches.flat();
    assert.equal(merged(aggregateOnly(split)), merged(aggregateOnly(one)), `batches of ${size}`);
    // Fired once per window: one episode per rule, and the first row of each comes with the flow that crossed the threshold.
    assert.is(state.counters.episodes, 2, `batches of ${size}`);
    assert.is(state.counters.episodes, oneState.counters.episodes);
    const firstBf = batches.findIndex((b) => b.some((r) => r.rule_id === 'brute-force'));
    const sorted = [...rows].sort((a, b) => a.ts_start! - b.ts_start!);
    const fifthFailure = sorted.filter((r) => r.login_failures).map((r) => sorted.indexOf(r))[4];
    assert.is(firstBf, Math.floor(fifthFailure / size), `brute-force fires in the batch of the 5th failure (batches of ${size})`);
  }
});

test('a slow trickle of failures never fires, in one batch or in many; a second burst later is a second episode of the same finding', () => {
  const trickle = Array.from({ length: 24 }, (_, i) => failedFtp(i * 30, '10.1.0.70'));
  assert.not.ok(huntInBatches(trickle, trickle.length).flat().some((r) => r.rule_id === 'brute-force'));
  assert.not.ok(huntInBatches(trickle, 1).flat().some((r) => r.rule_id === 'brute-force'));
  assert.not.ok(huntInBatches(trickle, 5).flat().some((r) => r.rule_id === 'brute-force'));
  // Two bursts ten minutes apart: two windows, two firings, one finding id (merged by the store).
  const twice = [...Array.from({ length: 6 }, (_, i) => failedFtp(i, '10.1.0.71')), ...Array.from({ length: 6 }, (_, i) => failedFtp(600 + i, '10.1.0.71'))];
  const a = createHuntState();
  const b = createHuntState();
  const whole = merged(aggregateOnly(huntInBatches(twice, twice.length, a).flat()));
  const parts = merged(aggregateOnly(huntInBatches(twice, 2, b).flat()));
  assert.equal(parts, whole);
  assert.is(whole.length, 1);
  assert.is(whole[0].flows, 12);
  assert.is(a.counters.episodes, 2);
  assert.is(b.counters.episodes, 2);
});

test('the operator keeps its windows across apply() calls; a redelivered batch gives the same rows; late flows are warned about', () => {
  const hunt = createHunt();
  const warnings: string[] = [];
  const ctx = (batchId: string) => ({ site: 'h1', sensor: 's1', batchId, warn: (m: string) => warnings.push(m) });
  const burst = Array.from({ length: 6 }, (_, i) => failedFtp(1000 + i, '10.1.0.72'));
  const apply = (rows: Partial<FlowRow>[], id: string) => aggregateOnly(findingRows((hunt.apply({ flows: flowBatch(rows) }, ctx(id)) as { findings: never }).findings));
  assert.equal(apply(burst.slice(0, 3), 'p1'), []);
  const second = apply(burst.slice(3), 'p2');
  assert.equal(second.map((r) => [r.rule_id, r.flow_count]), [['brute-force', 6]]);
  // The same batch delivered again (its first write failed): the same rows, nothing counted twice.
  assert.equal(apply(burst.slice(3), 'p2'), second);
  assert.equal(apply([failedFtp(1007, '10.1.0.72')], 'p3').map((r) => [r.rule_id, r.flow_count]), [['brute-force', 1]]);
  // A flow from an hour before: outside window and lateness, not counted, reported.
  assert.equal(apply([failedFtp(1000 - 3600, '10.1.0.72')], 'p4'), []);
  assert.equal(warnings.length, 1);
  assert.match(warnings[0], /1 flow\(s\) started more than a rule window plus 120 s before the newest flow/);
});

test('state stays bounded: idle groups are evicted by event time, and the group count is capped', () => {
  const state = createHuntState({ maxGroups: 50 });
  // 400 sources each failing once: 400 groups would wait; the cap keeps 50.
  huntInBatches(Array.from({ length: 400 }, (_, i) => failedFtp(i * 0.01, `10.2.${i >> 8}.${i & 255}`)), 100, state);
  assert.is(state.rules.get('brute-force')!.groups.size, 50);
  assert.is(state.counters.evictedGroups, 350);
  // An hour later, one more flow: every old group is past window and lateness and goes.
  huntInBatches([failedFtp(3600, '10.3.0.1')], 1, state);
  assert.is(state.rules.get('brute-force')!.groups.size, 1);
  assert.throws(() => createHuntState({ maxGroups: 0 }), /invalid hunt group limit/);
});

test.run();
