/**
 * `heir lab record`: build the lab network, start real clinical servers on the server host, record
 * one pcap with tcpdump while benign and attack phases run with real tools, and write the labels
 * (what ran, from where, against whom, and when). Everything the lab starts is stopped and its
 * namespaces deleted, also when a phase fails.
 */
import { spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { ErrorCode, HeirError, UserError, messageOf } from '../errors.ts';
import { LOOPBACK_PORTS, PHASES, SCALES, STANDARD_PORTS, haveProgram, seededRandom, type LabPorts, type PhaseContext, type PhaseSpec } from './phases.ts';
import { createTopology, destroyTopology, killAllStarted, runOn, startOn, stop, type LabHost, type Topology } from './topology.ts';

/** Roles of the lab hosts and their address octets (the attacker's moves with the seed). */
export const LAB_ROLES = ['server', 'monitor', 'modality', 'workstation', 'attacker'] as const;

/** One labelled phase in labels.json. */
export interface LabPhase {
  readonly name: string;
  readonly label: string;
  readonly category: string;
  /** ISO 8601 UTC, millisecond precision. */
  readonly start: string;
  readonly end: string;
  /** Attacker address (null for benign phases). */
  readonly attacker: string | null;
  readonly attacker_mac: string | null;
  /** Target address (the server a benign client talks to). */
  readonly victim: string;
  /** Benign client address. */
  readonly client: string | null;
  readonly summary: string;
}

/** The labels.json of a lab run. */
export interface LabLabels {
  readonly format: 'heir-lab';
  readonly version: 1;
  readonly seed: number;
  readonly scale: string;
  readonly mode: 'netns' | 'loopback';
  readonly fallback_reason: string | null;
  readonly capture: string;
  readonly hosts: Record<string, { address: string; mac: string | null }>;
  readonly ports: LabPorts;
  readonly phases: LabPhase[];
  readonly skipped: { name: string; reason: string }[];
}

/** Options of a recording. */
export interface RecordOptions {
  readonly out: string;
  readonly seed?: number;
  readonly scale?: keyof typeof SCALES;
  /** Run only these phases (by name); default all. */
  readonly phases?: readonly string[];
  /** Use loopback even where namespaces work. */
  readonly forceLoopback?: boolean;
  /** Progress lines (the CLI prints them). */
  readonly log?: (line: string) => void;
}

const BASE_TOOLS: readonly (readonly [string, string])[] = [
  ['tcpdump', 'tcpdump'], ['ip', 'iproute2'], ['mosquitto', 'mosquitto'], ['storescp', 'dcmtk'], ['openssl', 'openssl'], ['vsftpd', 'vsftpd'], ['python3', 'python3'],
];

/** Programs the chosen phases need that are not installed, as "program (Debian package)". */
export function missingTools(phases: readonly PhaseSpec[]): string[] {
  const need = new Map<string, string>(BASE_TOOLS.map(([p, k]) => [p, k]));
  for (const phase of phases) {
    // The brute-force phase falls back to curl without hydra; arpspoof is optional (skipped).
    if (phase.name === 'arp-spoofing') continue;
    for (const [p, k] of phase.tools) need.set(p, k);
  }
  return [...need].filter(([p]) => !haveProgram(p)).map(([p, k]) => `${p} (Debian package ${k})`);
}

/** Record a lab run into `options.out`; resolves to its labels. */
export async function recordLab(options: RecordOptions): Promise<LabLabels> {
  const seed = options.seed ?? 1;
  const scaleName = options.scale ?? 'small';
  const scale = SCALES[scaleName];
  if (!scale) throw new UserError(ErrorCode.USAGE, `unknown lab scale ${scaleName} (tiny, small, full)`);
  const log = options.log ?? (() => undefined);
  const random = seededRandom(seed);
  let chosen = PHASES;
  if (options.phases) {
    const unknown = options.phases.filter((n) => !PHASES.some((p) => p.name === n));
    if (unknown.length) throw new UserError(ErrorCode.USAGE, `unknown lab phase(s) ${unknown.join(', ')} (known: ${PHASES.map((p) => p.name).join(', ')})`);
    chosen = PHASES.filter((p) => options.phases!.includes(p.name));
  }
  const missing = missingTools(chosen);
  if (missing.length) throw new UserError(ErrorCode.LAB_TOOL_MISSING, `the lab needs ${missing.join(', ')}; install with apt-get install -y ${[...new Set(missing.map((m) => m.replace(/.*package (\S+)\)/, '$1')))].join(' ')}`);
  const skipped: { name: string; reason: string }[] = [];

  const out = resolve(options.out);
  mkdirSync(out, { recursive: true });
  const work = mkdtempSync(join(tmpdir(), 'heir-lab-'));
  const prefix = `heir${process.pid % 100000}${Math.floor(random() * 100)}`;
  const attackerOctet = 60 + Math.floor(random() * 60);
  const specs = [
    { role: 'server', octet: 10 },
    { role: 'monitor', octet: 21, loopbackDefaultSource: true },
    { role: 'modality', octet: 22, loopbackDefaultSource: true },
    { role: 'workstation', octet: 23, loopbackDefaultSource: true },
    { role: 'attacker', octet: attackerOctet },
  ];
  const topology = createTopology(prefix, specs, options.forceLoopback === true);
  if (topology.mode === 'loopback') log(`network namespaces are not available (${topology.fallbackReason}); recording on loopback: server and attacker on 127.0.77.x, benign clients from 127.0.0.1, service ports shifted by 30000`);
  else log(`lab network: namespaces ${prefix}-* on bridge br0 in ${topology.switchNamespace}`);
  const ports = topology.mode === 'netns' ? STANDARD_PORTS : LOOPBACK_PORTS;
  if (chosen.some((p) => p.name === 'arp-spoofing')) {
    const reason = topology.mode === 'loopback' ? 'ARP spoofing needs hosts on a shared link (network namespaces); loopback has no ARP' : !haveProgram('arpspoof') ? 'arpspoof not installed (Debian package dsniff)' : null;
    if (reason) {
      skipped.push({ name: 'arp-spoofing', reason });
      chosen = chosen.filter((p) => p.name !== 'arp-spoofing');
      log(`skipping arp-spoofing: ${reason}`);
    }
  }
  const started: ChildProcess[] = [];
  const capture = join(out, 'capture.pcap');
  let tcpdump: ChildProcess | null = null;
  // An interrupted or crashing recording must not leave namespaces or servers behind. The
  // cleanup is synchronous so it also runs from the 'exit' event (an uncaught error, EPIPE).
  let cleaned = false;
  const cleanupSync = () => {
    if (cleaned) return;
    cleaned = true;
    killAllStarted();
    destroyTopology(topology);
    rmSync(work, { recursive: true, force: true });
  };
  const interrupted = (signal: NodeJS.Signals) => {
    cleanupSync();
    process.stderr.write(`heir lab: ${signal}: stopped the lab's programs and deleted its namespaces\n`);
    process.exit(signal === 'SIGINT' ? 130 : 143);
  };
  process.once('SIGINT', interrupted);
  process.once('SIGTERM', interrupted);
  process.once('exit', cleanupSync);
  try {
    const server = topology.hosts.get('server')!;
    writeServerFiles(work, server, ports);
    started.push(...startServers(topology, work, ports));
    await waitForPorts(server, Object.values(ports), 10_000);
    tcpdump = await startCapture(topology, capture);
    const telemetry = startTelemetry(topology, ports, seededRandom(seed ^ 0x5eed));
    started.push(telemetry.child);
    const ctx: PhaseContext = { hosts: topology.hosts, scale, random, work, ports, loopback: topology.mode === 'loopback', log };
    const benign = chosen.filter((p) => p.attacker === null);
    const attacks = shuffle(chosen.filter((p) => p.attacker !== null), random);
    const phases: LabPhase[] = [];
    // Benign traffic before and after the attacks (the second round named `<phase>-2`).
    const plan = [...benign, ...attacks, ...benign.map((p) => ({ ...p, name: `${p.name}-2` }))];
    for (const phase of plan) {
      await sleep(300 + Math.floor(random() * 600));
      const start = Date.now();
      let summary: string;
      try {
        summary = await phase.run(ctx);
      } catch (error) {
        throw new HeirError(ErrorCode.LAB_FAILED, `lab phase ${phase.name} failed: ${messageOf(error)}`, { cause: error });
      }
      // Replies and retransmissions trail the last packet sent a little.
      await sleep(200);
      const end = Date.now();
      const attacker = phase.attacker ? topology.hosts.get(phase.attacker)! : null;
      phases.push({
        name: phase.name,
        label: phase.label,
        category: phase.category,
        start: new Date(start).toISOString(),
        end: new Date(end).toISOString(),
        attacker: attacker?.address ?? null,
        attacker_mac: attacker?.mac ?? null,
        victim: topology.hosts.get(phase.victim)!.address,
        client: phase.client ? topology.hosts.get(phase.client)!.address : null,
        summary,
      });
      log(`${phase.name.padEnd(20)} ${((end - start) / 1000).toFixed(1).padStart(5)} s  ${summary}`);
    }
    await telemetry.end();
    await sleep(500);
    await stop(tcpdump, 'SIGINT', 3000);
    tcpdump = null;
    const labels: LabLabels = {
      format: 'heir-lab',
      version: 1,
      seed,
      scale: scaleName,
      mode: topology.mode,
      fallback_reason: topology.fallbackReason,
      capture: 'capture.pcap',
      hosts: Object.fromEntries([...topology.hosts].map(([role, h]) => [role, { address: h.address, mac: h.mac }])),
      ports,
      phases,
      skipped,
    };
    writeFileSync(join(out, 'labels.json'), JSON.stringify(labels, null, 2) + '\n');
    return labels;
  } finally {
    process.off('SIGINT', interrupted);
    process.off('SIGTERM', interrupted);
    process.off('exit', cleanupSync);
    if (tcpdump) await stop(tcpdump, 'SIGINT', 2000);
    await Promise.all(started.map((child) => stop(child, 'SIGTERM', 2000)));
    cleanupSync();
  }
}

/**
 * Background benign telemetry for the whole run: the monitor keeps one MQTT session and publishes
 * its vitals about once a second, as a bedside monitor does, also while attacks run.
 */
function startTelemetry(topology: Topology, ports: LabPorts, random: () => number): { child: ChildProcess; end(): Promise<void> } {
  const server = topology.hosts.get('server')!;
  const child = startOn(topology.hosts.get('monitor')!, ['mosquitto_pub', '-h', server.address, '-p', String(ports.mqtt), '-i', 'monitor-bed7-telemetry', '-q', '0', '-t', 'ward3/bed7/telemetry', '-l'], { stdio: ['pipe', 'ignore', 'pipe'] });
  child.stdin!.on('error', () => undefined);
  let seq = 0;
  let timer: NodeJS.Timeout | null = null;
  const tick = () => {
    child.stdin!.write(`{"seq":${seq++},"hr":${60 + Math.floor(random() * 30)},"spo2":${94 + Math.floor(random() * 5)}}\n`);
    timer = setTimeout(tick, 800 + Math.floor(random() * 400));
  };
  tick();
  return {
    child,
    end() {
      if (timer) clearTimeout(timer);
      child.stdin!.end();
      return stop(child, 'SIGTERM', 2000);
    },
  };
}

function shuffle<T>(items: T[], random: () => number): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [items[i], items[j]] = [items[j], items[i]];
  }
  return items;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Configs and payloads of the lab's servers, in the run's scratch directory. */
function writeServerFiles(work: string, server: LabHost, ports: LabPorts): void {
  const a = server.address;
  writeFileSync(
    join(work, 'hl7_server.py'),
    [
      '# HL7 v2 listener over MLLP: acknowledges every message (python3-hl7).',
      'import asyncio, sys',
      'import hl7',
      'from hl7.mllp import start_hl7_server',
      'async def handle(reader, writer):',
      '    try:',
      '        while not writer.is_closing():',
      '            message = await reader.readmessage()',
      '            writer.writemessage(message.create_ack())',
      '            await writer.drain()',
      '    except (asyncio.IncompleteReadError, ConnectionError):',
      '        pass',
      '    finally:',
      '        writer.close()',
      'async def main():',
      '    server = await start_hl7_server(handle, host=sys.argv[1], port=int(sys.argv[2]))',
      '    async with server:',
      '        await server.serve_forever()',
      'asyncio.run(main())',
      '',
    ].join('\n'),
  );
  writeFileSync(join(work, 'mosquitto.conf'), `listener ${ports.mqtt} ${a}\nallow_anonymous true\npersistence false\nlog_dest none\n`);
  mkdirSync(join(work, 'empty'), { mode: 0o755 });
  mkdirSync(join(work, 'dicom'));
  mkdirSync(join(work, 'www'));
  writeFileSync(join(work, 'www', 'index.html'), '<!doctype html><title>Ward 3 HIS</title><p>Ward 3 clinical portal</p>\n');
  writeFileSync(
    join(work, 'vsftpd.conf'),
    [
      'listen=YES', 'listen_ipv6=NO', `listen_address=${a}`, `listen_port=${ports.ftp}`, 'background=NO', 'anonymous_enable=NO', 'local_enable=YES',
      'pam_service_name=vsftpd', `secure_chroot_dir=${join(work, 'empty')}`, 'seccomp_sandbox=NO', 'isolate=NO', 'isolate_network=NO', 'pasv_enable=NO',
      'max_per_ip=0', 'max_clients=0', 'delay_failed_login=1', 'ftpd_banner=Ward 3 modality file service', '',
    ].join('\n'),
  );
  writeFileSync(
    join(work, 'image.dump'),
    [
      '(0002,0002) UI =SecondaryCaptureImageStorage', '(0002,0003) UI [1.2.826.0.1.3680043.10.1.1]', '(0002,0010) UI =LittleEndianExplicit',
      '(0008,0016) UI =SecondaryCaptureImageStorage', '(0008,0018) UI [1.2.826.0.1.3680043.10.1.1]', '(0008,0060) CS [OT]',
      '(0010,0010) PN [PHANTOM^LAB]', '(0010,0020) LO [LAB0001]', '(0020,000d) UI [1.2.826.0.1.3680043.10.1.2]', '(0020,000e) UI [1.2.826.0.1.3680043.10.1.3]', '',
    ].join('\n'),
  );
}

function startServers(topology: Topology, work: string, ports: LabPorts): ChildProcess[] {
  const server = topology.hosts.get('server')!;
  const a = server.address;
  const sync = (argv: string[]) => {
    if (!runQuiet(argv)) throw new HeirError(ErrorCode.LAB_FAILED, `lab: ${argv.join(' ')} failed`);
  };
  sync(['dump2dcm', join(work, 'image.dump'), join(work, 'image.dcm')]);
  sync(['openssl', 'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', join(work, 'key.pem'), '-out', join(work, 'cert.pem'), '-days', '2', '-subj', '/CN=his.lab']);
  return [
    startOn(server, ['/usr/bin/python3', join(work, 'hl7_server.py'), a, String(ports.hl7)]),
    // storescp listens on every address of its host (its namespace, or the machine on loopback).
    startOn(server, ['storescp', '-aet', 'PACS', '-od', join(work, 'dicom'), String(ports.dicom)]),
    startOn(server, ['mosquitto', '-c', join(work, 'mosquitto.conf')]),
    startOn(server, ['/usr/bin/python3', '-m', 'http.server', String(ports.http), '--bind', a, '--directory', join(work, 'www')]),
    startOn(server, ['openssl', 's_server', '-accept', `${a}:${ports.https}`, '-cert', join(work, 'cert.pem'), '-key', join(work, 'key.pem'), '-www', '-quiet']),
    startOn(server, ['vsftpd', join(work, 'vsftpd.conf')]),
  ];
}

function runQuiet(argv: string[]): boolean {
  const r = spawnSync(argv[0], argv.slice(1), { stdio: 'ignore', timeout: 20_000 });
  return r.status === 0;
}

async function waitForPorts(server: LabHost, ports: readonly number[], timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let missing: number[] = [...ports];
  while (Date.now() < deadline) {
    const r = await runOn(server, ['ss', '-ltnH'], { timeoutMs: 5000 });
    const listening = new Set([...r.stdout.matchAll(/:(\d+)\s/g)].map((m) => Number(m[1])));
    missing = ports.filter((p) => !listening.has(p));
    if (missing.length === 0) return;
    await sleep(100);
  }
  throw new HeirError(ErrorCode.LAB_FAILED, `lab servers did not start listening on port(s) ${missing.join(', ')} within ${timeoutMs / 1000} s`);
}

async function startCapture(topology: Topology, file: string): Promise<ChildProcess> {
  const sw: LabHost | null = topology.switchNamespace ? { role: 'switch', address: '', mac: null, namespace: topology.switchNamespace } : null;
  const filter = topology.mode === 'loopback' ? ['net', '127.0.77.0/24'] : [];
  // Immediate mode: without it the ring buffer hands packets over in blocks and a stop loses the last block.
  const child = startOn(sw, ['tcpdump', '-i', topology.captureInterface, '-w', file, '-U', '--immediate-mode', '-Z', 'root', '-n', '-s', '256', ...filter]);
  await new Promise<void>((resolveReady, reject) => {
    let err = '';
    const timer = setTimeout(() => reject(new HeirError(ErrorCode.LAB_FAILED, `tcpdump did not start: ${err.trim()}`)), 10_000);
    child.stderr!.on('data', (d: Buffer) => {
      err += d.toString();
      if (/listening on/.test(err)) {
        clearTimeout(timer);
        resolveReady();
      }
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      reject(new HeirError(ErrorCode.LAB_FAILED, `tcpdump exited with ${code}: ${err.trim()}`));
    });
  });
  return child;
}
