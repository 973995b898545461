/**
 * The hunt on real, benign medical-device captures (../shared/datasets/pcaps: Mashnoor & Charyyev,
 * "Network Traffic Analysis of Medical Devices", SmartNets 2024; nDPI MQTT samples). Every finding
 * must be explainable by its evidence: each fact it shows comes from a flow of that device, each
 * peer is really on the other side, and re-checking the rule's own conditions on those flows holds.
 * With HEIR_VERBOSE=1 the findings per device are printed.
 */
import { existsSync } from 'node:fs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { AddressClassifier } from '../../knowledge/networks.ts';
import { loadRules } from '../../knowledge/rules.ts';
import { createHunt } from '../../operators/hunt.ts';
import { findingRows, type FindingRow } from '../../operators/findings-schema.ts';
import { flowBatch, type FlowRow } from '../../pipeline/flow-schema.ts';
import { parseCaptureFile } from '../helpers/pcap.ts';
import { pcapFilesUnder } from '../../datasets/device-benign.ts';

const ROOT = '../shared/datasets/pcaps';

test('benign medical-device captures: every finding is explained by the flows it cites', async () => {
  assert.ok(existsSync(ROOT), `${ROOT} is missing (the shared datasets)`);
  const rules = new Map(loadRules().rules.map((r) => [r.id, r]));
  const addresses = new AddressClassifier();
  const perDevice = new Map<string, Map<string, { findings: number; flows: number; example: string }>>();
  let files = 0;
  let flows = 0;
  let findings = 0;
  for (const file of pcapFilesUnder(ROOT)) {
    let rows: FlowRow[];
    try {
      rows = (await parseCaptureFile(file)).rows;
    } catch {
      continue; // Empty, truncated or non-IP (BLE) captures are the parser's tests' business.
    }
    const ip = rows.filter((r) => r.src_addr !== null);
    if (ip.length === 0) continue;
    files++;
    flows += ip.length;
    // Each capture is its own stream: a fresh operator, so one file's windows do not meet another's.
    const out = findingRows((createHunt().apply({ flows: flowBatch(ip) }, { site: 'benign', sensor: 'pcap', batchId: file, warn() {} }) as { findings: never }).findings);
    for (const f of out) {
      findings++;
      const rule = rules.get(f.rule_id)!;
      assert.ok(addresses.isInternal(f.device), `${file}: ${f.rule_id} names ${f.device}, which is not a hospital address`);
      // The device is the rule's side, or the inside party when that side is on the internet.
      const mine = ip.filter((r) => r.src_addr === f.device || r.dst_addr === f.device);
      assert.ok(mine.length >= f.flow_count, `${file}: ${f.rule_id} cites ${f.flow_count} flows of ${f.device}, found ${mine.length}`);
      const ev = JSON.parse(f.evidence_json) as { facts: Record<string, string[]>; peers: string[] };
      for (const [field, values] of Object.entries(ev.facts)) {
        for (const v of values) assert.ok(mine.some((r) => String((r as Record<string, unknown>)[field]) === v), `${file}: ${f.rule_id} shows ${field}=${v}, which no flow of ${f.device} has`);
      }
      for (const p of ev.peers) assert.ok(mine.some((r) => (r.src_addr === f.device ? r.dst_addr : r.src_addr) === p), `${file}: peer ${p}`);
      assert.ok(rule.kind === 'flow' || rule.kind === 'aggregate');
      explain(f, mine, addresses);
      const device = `${file.replace(`${ROOT}/`, '').split('/').slice(0, 2).join('/')} ${f.device}`;
      const m = perDevice.get(device) ?? new Map();
      perDevice.set(device, m);
      const e = m.get(f.rule_id) ?? { findings: 0, flows: 0, example: f.evidence };
      e.findings++;
      e.flows += f.flow_count;
      m.set(f.rule_id, e);
    }
  }
  assert.ok(files >= 150, `${files} captures with IP flows`);
  assert.ok(findings > 0);
  // Benign traffic: no attack or credential rule fires on the medical devices themselves.
  const fired = new Set([...perDevice].filter(([d]) => d.startsWith('medical-devices')).flatMap(([, m]) => [...m.keys()]));
  for (const r of fired) assert.ok(['internet-communication', 'cleartext-http-internet'].includes(r), `unexpected ${r} on benign medical traffic`);
  if (process.env.HEIR_VERBOSE) {
    process.stdout.write(`\n${files} captures, ${flows} flows, ${findings} findings (one per finding id and capture)\n`);
    for (const [device, m] of [...perDevice].sort()) {
      process.stdout.write(`${device}\n`);
      for (const [rule, e] of m) process.stdout.write(`  ${rule}: ${e.findings} captures, ${e.flows} flows — e.g. ${e.example.slice(0, 220)}\n`);
    }
  }
});

/** Re-check why each rule fired, from the device's flows alone. */
function explain(f: FindingRow, mine: FlowRow[], addresses: AddressClassifier): void {
  switch (f.rule_id) {
    case 'internet-communication':
      assert.ok(addresses.isInternal(f.device) && mine.some((r) => !addresses.isInternal(r.dst_addr!)), `${f.device} has an internet peer`);
      break;
    case 'cleartext-http-internet':
      assert.ok(mine.some((r) => r.l7_proto === 'http' && r.tls_version === null && !addresses.isInternal(r.dst_addr!)), `${f.device} sent cleartext HTTP to the internet`);
      break;
    case 'mqtt-cleartext-password':
      assert.ok(mine.some((r) => r.l7_proto === 'mqtt' && r.mqtt_password === true && r.tls_version === null));
      break;
    case 'cleartext-credentials':
      assert.ok(mine.some((r) => r.login_secret_sha256 !== null && r.tls_version === null));
      assert.match(f.evidence, /not kept/);
      break;
    default:
      assert.unreachable(`no explanation check for ${f.rule_id}`);
  }
}

test.run();
