import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadLabDataset, readLabels } from '../../pipeline/lab/dataset.ts';
import { PHASES } from '../../pipeline/lab/phases.ts';
import { missingTools, recordLab } from '../../pipeline/lab/record.ts';

const CHOSEN = ['benign-hl7', 'benign-mqtt', 'dos-syn-flood', 'recon-syn-scan'];

test('a tiny lab run records real traffic with labels that the featurizers can learn from', async () => {
  // No silent pass: a machine without the tools fails here, naming the Debian packages.
  const missing = missingTools(PHASES.filter((p) => CHOSEN.includes(p.name)));
  assert.equal(missing, [], `install the lab's tools first: ${missing.join(', ')}`);
  assert.is(process.getuid?.(), 0, 'the lab needs root (network namespaces, raw sockets for nmap -sS and hping3)');
  const out = mkdtempSync(join(tmpdir(), 'heir-lab-test-'));
  try {
    const log: string[] = [];
    const labels = await recordLab({ out, seed: 7, scale: 'tiny', phases: CHOSEN, log: (l) => log.push(l) });
    assert.ok(existsSync(join(out, 'capture.pcap')));
    assert.ok(statSync(join(out, 'capture.pcap')).size > 10_000, 'capture holds traffic');
    assert.equal(readLabels(out), labels);
    assert.equal(JSON.parse(readFileSync(join(out, 'labels.json'), 'utf8')).phases.length, 6);
    // Benign phases run before and after the attacks; phases never overlap.
    assert.equal(labels.phases.map((p) => p.name).filter((n) => n.startsWith('benign')), ['benign-hl7', 'benign-mqtt', 'benign-hl7-2', 'benign-mqtt-2']);
    for (let i = 1; i < labels.phases.length; i++) assert.ok(labels.phases[i].start >= labels.phases[i - 1].end, 'phases are sequential');
    const flood = labels.phases.find((p) => p.name === 'dos-syn-flood')!;
    assert.equal([flood.label, flood.category, flood.victim], ['TCP_IP-DoS-SYN', 'DoS', labels.hosts.server.address]);
    assert.is(flood.attacker, labels.hosts.attacker.address);
    if (labels.mode === 'loopback') log.forEach((l) => console.log(l));

    // Packet windows: the flood's windows carry its label, benign windows stay benign.
    const windows = await loadLabDataset(out);
    const count = (label: string) => windows.y.filter((y) => y === label).length;
    assert.ok(count('TCP_IP-DoS-SYN') >= 300 / 10, `SYN flood windows: ${count('TCP_IP-DoS-SYN')}`);
    assert.ok(count('Recon-Port_Scan') >= 5, `scan windows: ${count('Recon-Port_Scan')}`);
    assert.ok(count('Benign') >= 5, `benign windows: ${count('Benign')}`);
    const syn = windows.featureNames.indexOf('syn_flag_number');
    const width = windows.featureNames.length;
    const floodRows = windows.y.map((y, i) => [y, i] as const).filter(([y]) => y === 'TCP_IP-DoS-SYN');
    const meanSyn = floodRows.reduce((s, [, i]) => s + windows.X[i * width + syn], 0) / floodRows.length;
    assert.ok(meanSyn > 0.4, `SYN share of flood windows ${meanSyn}`);

    // Flows: the HL7 phase's flows were recognised as HL7 over MLLP by the pcap ingest and are benign.
    const flows = await loadLabDataset(out, { featureSet: 'flow' });
    const hl7 = flows.featureNames.indexOf('l7_hl7');
    const hl7Rows = flows.y.filter((_, i) => flows.X[i * flows.featureNames.length + hl7] === 1);
    assert.ok(hl7Rows.length >= 2, `HL7 flows: ${hl7Rows.length}`);
    assert.ok(hl7Rows.every((y) => y === 'Benign'));
    assert.ok(flows.y.filter((y) => y === 'TCP_IP-DoS-SYN').length >= 100);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});

test('without namespaces the lab records on loopback, says so, and still labels the attacker', async () => {
  const out = mkdtempSync(join(tmpdir(), 'heir-lab-lo-'));
  try {
    const log: string[] = [];
    const labels = await recordLab({ out, seed: 9, scale: 'tiny', phases: ['benign-hl7', 'dos-syn-flood', 'arp-spoofing'], forceLoopback: true, log: (l) => log.push(l) });
    assert.is(labels.mode, 'loopback');
    assert.match(log[0], /recording on loopback/);
    assert.equal(labels.skipped.map((s) => s.name), ['arp-spoofing']);
    assert.match(labels.hosts.attacker.address, /^127\.0\.77\.\d+$/);
    assert.is(labels.hosts.monitor.address, '127.0.0.1');
    const windows = await loadLabDataset(out);
    assert.ok(windows.y.filter((y) => y === 'TCP_IP-DoS-SYN').length >= 30, 'flood windows from the bound attacker address');
    assert.ok(windows.y.filter((y) => y === 'Benign').length >= 2, 'benign HL7 windows');
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});

test('unknown phases and scales are user errors', async () => {
  await recordLab({ out: join(tmpdir(), 'never'), phases: ['nope'] }).then(() => assert.unreachable(), (e: Error) => assert.match(e.message, /unknown lab phase\(s\) nope/));
  await recordLab({ out: join(tmpdir(), 'never'), scale: 'huge' as never }).then(() => assert.unreachable(), (e: Error) => assert.match(e.message, /unknown lab scale huge/));
});

test.run();
