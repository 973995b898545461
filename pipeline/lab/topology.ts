/**
 * The attack lab's network: network namespaces it creates itself, joined by veth pairs to a
 * bridge in a switch namespace where tcpdump records every frame, so lab traffic never touches a
 * real interface. Where namespaces are not permitted (no CAP_SYS_ADMIN, a container without
 * them), the lab falls back to loopback with distinct 127.x addresses and says so.
 */
import { spawn, spawnSync, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { ErrorCode, HeirError } from '../errors.ts';

/** A host of the lab: its role name, address and (in namespace mode) namespace and MAC. */
export interface LabHost {
  readonly role: string;
  readonly address: string;
  readonly mac: string | null;
  readonly namespace: string | null;
}

/** The running lab network. */
export interface Topology {
  readonly mode: 'netns' | 'loopback';
  /** Why namespace mode was not used (loopback mode only). */
  readonly fallbackReason: string | null;
  readonly hosts: ReadonlyMap<string, LabHost>;
  /** Namespace holding the bridge, where the capture runs (netns mode). */
  readonly switchNamespace: string | null;
  /** Interface tcpdump records on: the bridge, or lo. */
  readonly captureInterface: string;
}

/** A host to create: role and last octet of its address. */
export interface HostSpec {
  readonly role: string;
  readonly octet: number;
  /**
   * On loopback, a client whose tools cannot choose a source address: it is 127.0.0.1, the
   * machine's own loopback source (labels then tell it apart from the attacker by address).
   */
  readonly loopbackDefaultSource?: boolean;
}

/** Subnet of the namespace lab (a /24 that only exists inside its namespaces). */
export const LAB_SUBNET = '10.77.0';

function run(args: readonly string[]): { ok: boolean; output: string } {
  const r = spawnSync(args[0], args.slice(1), { encoding: 'utf8', timeout: 10_000 });
  return { ok: r.status === 0, output: `${r.stdout ?? ''}${r.stderr ?? ''}`.trim() || (r.error ? r.error.message : '') };
}

function must(args: readonly string[]): void {
  const r = run(args);
  if (!r.ok) throw new HeirError(ErrorCode.LAB_FAILED, `lab: \`${args.join(' ')}\` failed: ${r.output}`);
}

/** Whether this process may create network namespaces; the reason when it may not. */
export function probeNetns(): { ok: boolean; reason: string } {
  const name = `heir-probe-${process.pid}`;
  const r = run(['ip', 'netns', 'add', name]);
  if (!r.ok) return { ok: false, reason: `ip netns add failed: ${r.output || 'ip not installed'}` };
  run(['ip', 'netns', 'del', name]);
  return { ok: true, reason: '' };
}

/**
 * Create the lab network. `prefix` names the namespaces (`<prefix>-sw`, `<prefix>-<role>`) and
 * must be unique per run; `forceLoopback` skips namespaces (tests of the fallback).
 */
export function createTopology(prefix: string, specs: readonly HostSpec[], forceLoopback = false): Topology {
  const probe = forceLoopback ? { ok: false, reason: 'loopback mode requested' } : probeNetns();
  if (!probe.ok) {
    const hosts = new Map<string, LabHost>();
    for (const s of specs) hosts.set(s.role, { role: s.role, address: s.loopbackDefaultSource ? '127.0.0.1' : `127.0.77.${s.octet}`, mac: null, namespace: null });
    return { mode: 'loopback', fallbackReason: probe.reason, hosts, switchNamespace: null, captureInterface: 'lo' };
  }
  const sw = `${prefix}-sw`;
  const hosts = new Map<string, LabHost>();
  const created: string[] = [];
  try {
    must(['ip', 'netns', 'add', sw]);
    created.push(sw);
    must(['ip', 'netns', 'exec', sw, 'sysctl', '-qw', 'net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1']);
    must(['ip', '-n', sw, 'link', 'add', 'br0', 'type', 'bridge']);
    must(['ip', '-n', sw, 'link', 'set', 'br0', 'up']);
    for (const s of specs) {
      const ns = `${prefix}-${s.role}`;
      must(['ip', 'netns', 'add', ns]);
      created.push(ns);
      // IPv6 off: its autoconfiguration chatter is not part of any lab phase.
      must(['ip', 'netns', 'exec', ns, 'sysctl', '-qw', 'net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1']);
      const port = `p-${s.role}`.slice(0, 15);
      const mac = `02:48:45:49:52:${s.octet.toString(16).padStart(2, '0')}`;
      must(['ip', '-n', sw, 'link', 'add', port, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns]);
      must(['ip', '-n', sw, 'link', 'set', port, 'master', 'br0']);
      must(['ip', '-n', sw, 'link', 'set', port, 'up']);
      must(['ip', '-n', ns, 'link', 'set', 'eth0', 'address', mac]);
      must(['ip', '-n', ns, 'addr', 'add', `${LAB_SUBNET}.${s.octet}/24`, 'dev', 'eth0']);
      must(['ip', '-n', ns, 'link', 'set', 'lo', 'up']);
      must(['ip', '-n', ns, 'link', 'set', 'eth0', 'up']);
      hosts.set(s.role, { role: s.role, address: `${LAB_SUBNET}.${s.octet}`, mac, namespace: ns });
    }
  } catch (error) {
    for (const ns of created.reverse()) run(['ip', 'netns', 'del', ns]);
    throw error;
  }
  return { mode: 'netns', fallbackReason: null, hosts, switchNamespace: sw, captureInterface: 'br0' };
}

/** Delete the namespaces of a topology (their veths and processes' sockets go with them). */
export function destroyTopology(topology: Topology): void {
  if (topology.mode !== 'netns') return;
  for (const h of topology.hosts.values()) if (h.namespace) run(['ip', 'netns', 'del', h.namespace]);
  if (topology.switchNamespace) run(['ip', 'netns', 'del', topology.switchNamespace]);
}

/** The argv that runs `argv` on a host (inside its namespace, or as is on loopback). */
export function onHost(host: LabHost | null, argv: readonly string[]): string[] {
  return host?.namespace ? ['ip', 'netns', 'exec', host.namespace, ...argv] : [...argv];
}

// Every program the lab started and that is still running, so an interrupt can stop them all.
const live = new Set<ChildProcess>();

function track(child: ChildProcess): ChildProcess {
  live.add(child);
  child.once('close', () => live.delete(child));
  child.once('error', () => live.delete(child));
  return child;
}

/** Kill every program the lab started that still runs (their process groups only). */
export function killAllStarted(): void {
  for (const child of live) killGroup(child, 'SIGKILL');
}

/** Start a long-running program on a host (a server, tcpdump); it is its own process group. */
export function startOn(host: LabHost | null, argv: readonly string[], options: SpawnOptions = {}): ChildProcess {
  const full = onHost(host, argv);
  return track(spawn(full[0], full.slice(1), { stdio: ['ignore', 'pipe', 'pipe'], detached: true, ...options }));
}

/** Result of a program the lab ran to completion. */
export interface RunResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly timedOut: boolean;
}

/**
 * Run a program on a host to completion, with a hard time limit (the whole process group is
 * killed at the limit) and optional standard input.
 */
export function runOn(host: LabHost | null, argv: readonly string[], options: { timeoutMs: number; input?: string; cwd?: string }): Promise<RunResult> {
  const full = onHost(host, argv);
  return new Promise((resolve) => {
    const child = track(spawn(full[0], full.slice(1), { stdio: ['pipe', 'pipe', 'pipe'], detached: true, cwd: options.cwd }));
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout!.on('data', (d: Buffer) => {
      if (stdout.length < 65536) stdout += d.toString();
    });
    child.stderr!.on('data', (d: Buffer) => {
      if (stderr.length < 65536) stderr += d.toString();
    });
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup(child, 'SIGKILL');
    }, options.timeoutMs);
    child.on('error', (error) => {
      clearTimeout(timer);
      resolve({ code: null, stdout, stderr: stderr + error.message, timedOut });
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, timedOut });
    });
    child.stdin!.on('error', () => undefined);
    child.stdin!.end(options.input ?? '');
  });
}

/** Signal a process group the lab started (never anything else). */
export function killGroup(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // already gone
  }
}

/** Stop a started program: the signal, then SIGKILL after `graceMs`; resolves when it has exited. */
export function stop(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM', graceMs = 2000): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    const timer = setTimeout(() => killGroup(child, 'SIGKILL'), graceMs);
    child.once('close', () => {
      clearTimeout(timer);
      resolve();
    });
    killGroup(child, signal);
  });
}
