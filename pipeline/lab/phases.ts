/**
 * The phases of a lab run: benign clinical traffic and attacks, each run with real Debian tools
 * between lab hosts, with bounded counts. A phase's label is what it ran; the recorder stamps
 * its start and end. Label names follow CICIoMT2024's where the attack is the same kind, so lab
 * windows and CIC rows can train one model.
 */
import { accessSync, constants, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runOn, startOn, type LabHost, type RunResult } from './topology.ts';

/** Counts and pacing of one scale. */
export interface LabScale {
  readonly hl7Messages: number;
  readonly dicomStores: number;
  readonly httpRequests: number;
  readonly scanPorts: number;
  readonly udpScanPorts: number;
  readonly floodPackets: number;
  /** hping3 -i u<N>: microseconds between flood packets. */
  readonly floodIntervalMicros: number;
  readonly mqttConnects: number;
  readonly mqttPublishes: number;
  readonly passwords: number;
  readonly arpSeconds: number;
}

/** Counts per `--scale`. */
export const SCALES: Readonly<Record<'tiny' | 'small' | 'full', LabScale>> = {
  tiny: { hl7Messages: 6, dicomStores: 2, httpRequests: 3, scanPorts: 60, udpScanPorts: 6, floodPackets: 300, floodIntervalMicros: 2000, mqttConnects: 15, mqttPublishes: 300, passwords: 6, arpSeconds: 4 },
  small: { hl7Messages: 20, dicomStores: 5, httpRequests: 8, scanPorts: 200, udpScanPorts: 15, floodPackets: 1000, floodIntervalMicros: 1000, mqttConnects: 50, mqttPublishes: 1000, passwords: 12, arpSeconds: 6 },
  full: { hl7Messages: 200, dicomStores: 40, httpRequests: 60, scanPorts: 1000, udpScanPorts: 60, floodPackets: 10000, floodIntervalMicros: 300, mqttConnects: 400, mqttPublishes: 10000, passwords: 60, arpSeconds: 15 },
};

/** Ports of the lab's services. */
export interface LabPorts {
  readonly hl7: number;
  readonly dicom: number;
  readonly mqtt: number;
  readonly http: number;
  readonly https: number;
  readonly ftp: number;
}

/** Standard ports, used inside namespaces. */
export const STANDARD_PORTS: LabPorts = { hl7: 2575, dicom: 104, mqtt: 1883, http: 80, https: 443, ftp: 21 };
/** Loopback shares the host's port space: the lab's services move up by 30000 there. */
export const LOOPBACK_PORTS: LabPorts = { hl7: 32575, dicom: 30104, mqtt: 31883, http: 30080, https: 30443, ftp: 30021 };

/** The lab's seeded generator: the same seed replays the same run plan. */
export { seededRandom } from '../random.ts';

/** What a phase sees while it runs. */
export interface PhaseContext {
  readonly hosts: ReadonlyMap<string, LabHost>;
  readonly scale: LabScale;
  readonly random: () => number;
  /** Scratch directory of the run (configs, payload files); not part of the output. */
  readonly work: string;
  /** Service ports on the server (standard ports in namespaces; shifted on loopback). */
  readonly ports: LabPorts;
  /**
   * True on loopback: every host shares the machine's stack, so the attacker's tools bind its
   * 127.0.77.x address explicitly (nmap -S -e lo, hping3 -a, mosquitto_pub -A, curl --interface)
   * and benign clients use the default source 127.0.0.1.
   */
  readonly loopback: boolean;
  /** Append a line to the run log. */
  log(line: string): void;
}

/** One phase of the lab. */
export interface PhaseSpec {
  readonly name: string;
  readonly label: string;
  readonly category: string;
  /** Role of the attacking host (null for benign phases). */
  readonly attacker: string | null;
  /** Role of the targeted host (or the server a benign client talks to). */
  readonly victim: string;
  /** Role of the benign client (benign phases). */
  readonly client?: string;
  /** Programs it needs, with their Debian packages. */
  readonly tools: readonly (readonly [program: string, pkg: string])[];
  /** Runs the phase; resolves with a one-line summary of what was sent. */
  run(ctx: PhaseContext): Promise<string>;
}

/** Source-binding options of an attack tool on loopback (none inside namespaces). */
function bind(ctx: PhaseContext, tool: 'nmap' | 'hping3' | 'mosquitto_pub' | 'curl'): string[] {
  if (!ctx.loopback) return [];
  const a = host(ctx, 'attacker').address;
  switch (tool) {
    case 'nmap':
      return ['-S', a, '-e', 'lo'];
    case 'hping3':
      return ['-a', a];
    case 'mosquitto_pub':
      return ['-A', a];
    case 'curl':
      return ['--interface', a];
  }
}

function host(ctx: PhaseContext, role: string): LabHost {
  const h = ctx.hosts.get(role);
  if (!h) throw new Error(`lab host ${role} is missing`);
  return h;
}

const int = (ctx: PhaseContext, lo: number, hi: number) => lo + Math.floor(ctx.random() * (hi - lo + 1));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function check(what: string, r: RunResult, allowFailure = false): RunResult {
  if (r.timedOut) throw new Error(`${what} did not finish in time: ${r.stderr.trim().split('\n').slice(-2).join(' ')}`);
  if (!allowFailure && r.code !== 0) throw new Error(`${what} exited with ${r.code}: ${(r.stderr || r.stdout).trim().split('\n').slice(-3).join(' ')}`);
  return r;
}

/** An HL7 v2.5 ORU^R01 observation message (segments separated by CR). */
export function oruMessage(id: number, heartRate: number, ts: string): string {
  return [
    `MSH|^~\\&|MONITOR|WARD3|HIS|HOSPITAL|${ts}||ORU^R01|MSG${String(id).padStart(5, '0')}|P|2.5`,
    `PID|1||LAB${String(1000 + (id % 7)).padStart(6, '0')}^^^HOSPITAL^MR||PHANTOM^LAB`,
    `OBR|1|||8867-4^Heart rate^LN`,
    `OBX|1|NM|8867-4^Heart rate^LN||${heartRate}|/min|60-100|N|||F`,
  ].join('\r');
}

/** Benign and attack phases, by name. */
export const PHASES: readonly PhaseSpec[] = [
  {
    name: 'benign-hl7',
    label: 'Benign',
    category: 'Benign',
    attacker: null,
    victim: 'server',
    client: 'monitor',
    tools: [['mllp_send', 'python3-hl7']],
    async run(ctx) {
      const n = ctx.scale.hl7Messages;
      let sent = 0;
      for (let batch = 0; sent < n; batch++) {
        const k = Math.min(n - sent, int(ctx, 2, 5));
        const lines: string[] = [];
        for (let i = 0; i < k; i++) lines.push(oruMessage(sent + i, int(ctx, 58, 96), '20260101120000'));
        // mllp_send's standard input mode fails on Python 3 (bytes/str); --loose reads a file of
        // messages that each start with MSH and have CRLF between segments.
        const file = join(ctx.work, `hl7-${batch}.txt`);
        writeFileSync(file, lines.map((m) => m.replaceAll('\r', '\r\n') + '\r\n').join(''));
        check('mllp_send', await runOn(host(ctx, 'monitor'), ['mllp_send', '-q', '--loose', '--file', file, '--port', String(ctx.ports.hl7), host(ctx, 'server').address], { timeoutMs: 15_000 }));
        sent += k;
        await sleep(int(ctx, 50, 250));
      }
      return `${sent} ORU^R01 messages over MLLP`;
    },
  },
  {
    name: 'benign-dicom',
    label: 'Benign',
    category: 'Benign',
    attacker: null,
    victim: 'server',
    client: 'modality',
    tools: [['echoscu', 'dcmtk'], ['storescu', 'dcmtk'], ['storescp', 'dcmtk']],
    async run(ctx) {
      const srv = host(ctx, 'server').address;
      const mod = host(ctx, 'modality');
      check('echoscu', await runOn(mod, ['echoscu', '-aet', 'MODALITY', '-aec', 'PACS', srv, String(ctx.ports.dicom)], { timeoutMs: 15_000 }));
      for (let i = 0; i < ctx.scale.dicomStores; i++) {
        check('storescu', await runOn(mod, ['storescu', '-aet', 'MODALITY', '-aec', 'PACS', srv, String(ctx.ports.dicom), join(ctx.work, 'image.dcm')], { timeoutMs: 15_000 }));
        await sleep(int(ctx, 50, 300));
      }
      return `1 C-ECHO and ${ctx.scale.dicomStores} C-STORE associations`;
    },
  },
  {
    name: 'benign-mqtt',
    label: 'Benign',
    category: 'Benign',
    attacker: null,
    victim: 'server',
    client: 'monitor',
    tools: [['mosquitto_pub', 'mosquitto-clients'], ['mosquitto', 'mosquitto']],
    async run(ctx) {
      const n = Math.max(5, Math.round(ctx.scale.hl7Messages / 2));
      const lines: string[] = [];
      for (let i = 0; i < n; i++) lines.push(JSON.stringify({ hr: int(ctx, 58, 96), spo2: int(ctx, 93, 99), seq: i }));
      // One session publishing at device pace: a line every 100-300 ms.
      const srv = host(ctx, 'server').address;
      const argv = ['mosquitto_pub', '-h', srv, '-p', String(ctx.ports.mqtt), '-i', 'monitor-bed7', '-q', '1', '-t', 'ward3/bed7/vitals', '-l'];
      await paced(host(ctx, 'monitor'), argv, lines, () => int(ctx, 100, 300));
      return `${n} telemetry publishes (QoS 1) on one session`;
    },
  },
  {
    name: 'benign-web',
    label: 'Benign',
    category: 'Benign',
    attacker: null,
    victim: 'server',
    client: 'workstation',
    tools: [['curl', 'curl'], ['openssl', 'openssl']],
    async run(ctx) {
      const srv = host(ctx, 'server').address;
      const ws = host(ctx, 'workstation');
      for (let i = 0; i < ctx.scale.httpRequests; i++) {
        const tls = i % 2 === 1;
        check('curl', await runOn(ws, ['curl', '-sS', '-k', '-o', '/dev/null', tls ? `https://${srv}:${ctx.ports.https}/` : `http://${srv}:${ctx.ports.http}/`], { timeoutMs: 10_000 }));
        await sleep(int(ctx, 50, 300));
      }
      check('openssl s_client', await runOn(ws, ['openssl', 's_client', '-connect', `${srv}:${ctx.ports.https}`, '-servername', 'his.lab'], { timeoutMs: 10_000, input: 'Q\n' }), true);
      return `${ctx.scale.httpRequests} HTTP/HTTPS requests and one openssl s_client handshake`;
    },
  },
  nmapPortScan('recon-syn-scan', '-sS', 1, (ctx) => portList(ctx, ctx.scale.scanPorts)),
  nmapPortScan('recon-connect-scan', '-sT', 1, (ctx) => portList(ctx, ctx.scale.scanPorts)),
  nmapPortScan('recon-udp-scan', '-sU', 0, (ctx) => {
    const lo = int(ctx, 100, 900);
    return `${lo}-${lo + ctx.scale.udpScanPorts - 1}`;
  }),
  {
    name: 'recon-ping-sweep',
    label: 'Recon-Ping_Sweep',
    category: 'Recon',
    attacker: 'attacker',
    victim: 'server',
    tools: [['nmap', 'nmap']],
    async run(ctx) {
      const srv = host(ctx, 'server').address;
      const prefix = srv.slice(0, srv.lastIndexOf('.'));
      check('nmap -sn', await runOn(host(ctx, 'attacker'), ['nmap', ...bind(ctx, 'nmap'), '-sn', '-n', '-PE', '--send-ip', '-T4', `${prefix}.1-40`], { timeoutMs: 60_000 }));
      return `nmap -sn ICMP echo sweep of ${prefix}.1-40`;
    },
  },
  flood('dos-syn-flood', 'TCP_IP-DoS-SYN', (ctx) => ['-S', '-p', String(ctx.ports.mqtt)], 'SYN'),
  flood('dos-udp-flood', 'TCP_IP-DoS-UDP', () => ['--udp', '-p', '5683'], 'UDP'),
  flood('dos-icmp-flood', 'TCP_IP-DoS-ICMP', () => ['--icmp'], 'ICMP echo'),
  {
    name: 'mqtt-connect-flood',
    label: 'MQTT-DoS-Connect_Flood',
    category: 'MQTT',
    attacker: 'attacker',
    victim: 'server',
    tools: [['mosquitto_pub', 'mosquitto-clients']],
    async run(ctx) {
      const n = ctx.scale.mqttConnects;
      const srv = host(ctx, 'server').address;
      const atk = host(ctx, 'attacker');
      let next = 0;
      // Eight concurrent clients, each a fresh CONNECT with a new client id.
      const worker = async () => {
        while (next < n) {
          const i = next++;
          await runOn(atk, ['mosquitto_pub', ...bind(ctx, 'mosquitto_pub'), '-h', srv, '-p', String(ctx.ports.mqtt), '-i', `c${i}-${int(ctx, 1000, 9999)}`, '-t', 'ward3/x', '-m', '1'], { timeoutMs: 10_000 });
        }
      };
      await Promise.all(Array.from({ length: 8 }, worker));
      return `${n} MQTT CONNECTs with fresh client ids`;
    },
  },
  {
    name: 'mqtt-publish-flood',
    label: 'MQTT-DoS-Publish_Flood',
    category: 'MQTT',
    attacker: 'attacker',
    victim: 'server',
    tools: [['mosquitto_pub', 'mosquitto-clients']],
    async run(ctx) {
      const n = ctx.scale.mqttPublishes;
      const lines = Array.from({ length: n }, (_, i) => `{"hr":${(i * 37) % 200},"spo2":0}`);
      check('mosquitto_pub -l', await runOn(host(ctx, 'attacker'), ['mosquitto_pub', ...bind(ctx, 'mosquitto_pub'), '-h', host(ctx, 'server').address, '-p', String(ctx.ports.mqtt), '-i', `pub-${int(ctx, 100, 999)}`, '-t', 'ward3/bed7/vitals', '-l'], { timeoutMs: 60_000, input: lines.join('\n') + '\n' }));
      return `${n} PUBLISHes on one session, unpaced`;
    },
  },
  {
    name: 'bruteforce-ftp',
    label: 'BruteForce-FTP',
    category: 'BruteForce',
    attacker: 'attacker',
    victim: 'server',
    // hydra when installed (Debian package hydra), else real FTP logins with curl.
    tools: [['vsftpd', 'vsftpd'], ['curl', 'curl']],
    async run(ctx) {
      const srv = host(ctx, 'server').address;
      const atk = host(ctx, 'attacker');
      const words = ['admin', '1234', 'password', 'medical', 'hospital', 'changeme', 'letmein', 'welcome', 'service', 'default', 'qwerty', 'root', 'pacs', 'dicom', 'monitor', 'nurse'];
      const list = Array.from({ length: ctx.scale.passwords }, (_, i) => `${words[i % words.length]}${i >= words.length ? i : ''}`);
      const file = join(ctx.work, 'passwords.txt');
      writeFileSync(file, list.join('\n') + '\n');
      // hydra cannot choose its source address, so on loopback the curl logins stand in for it.
      if (haveProgram('hydra') && !ctx.loopback) {
        await runOn(atk, ['hydra', '-l', 'service', '-P', file, '-t', '4', '-W', '1', '-I', `ftp://${srv}:${ctx.ports.ftp}`], { timeoutMs: 90_000 });
        return `hydra: ${list.length} FTP passwords for user service`;
      }
      // Without hydra: the same guesses as real FTP logins with curl, one after the other.
      for (const password of list) await runOn(atk, ['curl', ...bind(ctx, 'curl'), '-sS', '--max-time', '5', `ftp://service:${password}@${srv}:${ctx.ports.ftp}/`], { timeoutMs: 10_000 });
      return `curl: ${list.length} FTP logins for user service (${ctx.loopback ? 'loopback: hydra cannot bind a source address' : 'hydra not installed'})`;
    },
  },
  {
    name: 'arp-spoofing',
    label: 'ARP_Spoofing',
    category: 'Spoofing',
    attacker: 'attacker',
    victim: 'monitor',
    tools: [['arpspoof', 'dsniff']],
    async run(ctx) {
      const child = startOn(host(ctx, 'attacker'), ['arpspoof', '-i', 'eth0', '-t', host(ctx, 'monitor').address, host(ctx, 'server').address], { stdio: 'ignore' });
      await sleep(ctx.scale.arpSeconds * 1000);
      // SIGINT makes arpspoof re-announce the true address before it exits (bounded by stop()).
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          try {
            process.kill(-child.pid!, 'SIGKILL');
          } catch {
            // gone
          }
        }, 8000);
        child.once('close', () => {
          clearTimeout(timer);
          resolve();
        });
        try {
          process.kill(-child.pid!, 'SIGINT');
        } catch {
          clearTimeout(timer);
          resolve();
        }
      });
      return `arpspoof told the monitor the server is at the attacker for ${ctx.scale.arpSeconds} s`;
    },
  },
];

function flood(name: string, label: string, modeOf: (ctx: PhaseContext) => string[], what: string): PhaseSpec {
  return {
    name,
    label,
    category: 'DoS',
    attacker: 'attacker',
    victim: 'server',
    tools: [['hping3', 'hping3']],
    async run(ctx) {
      const n = ctx.scale.floodPackets;
      const mode = modeOf(ctx);
      // Bounded: -c N -i uX instead of --flood; the interval jitters by seed.
      const interval = Math.max(100, Math.round(ctx.scale.floodIntervalMicros * (0.7 + 0.6 * ctx.random())));
      const r = await runOn(host(ctx, 'attacker'), ['hping3', ...bind(ctx, 'hping3'), ...mode, '-c', String(n), '-i', `u${interval}`, host(ctx, 'server').address], { timeoutMs: 120_000 });
      check(`hping3 ${mode.join(' ')}`, r, true);
      return `hping3 ${what}: ${n} packets every ${interval} µs`;
    },
  };
}

/** A port-scan phase: nmap with one scan type from the attacker against the server's `ports`. */
function nmapPortScan(name: string, scan: '-sS' | '-sT' | '-sU', retries: number, ports: (ctx: PhaseContext) => string): PhaseSpec {
  return {
    name,
    label: 'Recon-Port_Scan',
    category: 'Recon',
    attacker: 'attacker',
    victim: 'server',
    tools: [['nmap', 'nmap']],
    async run(ctx) {
      const list = ports(ctx);
      const args = ['nmap', ...bind(ctx, 'nmap'), scan, '-n', '-Pn', '-T4', '--max-retries', String(retries), '-p', list, host(ctx, 'server').address];
      check(`nmap ${scan}`, await runOn(host(ctx, 'attacker'), args, { timeoutMs: 60_000 }));
      return `nmap ${scan} ports ${list}`;
    },
  };
}

/** A seeded range of `count` ports plus the lab's service ports, as an nmap -p list. */
function portList(ctx: PhaseContext, count: number): string {
  const lo = int(ctx, 1, 400);
  const services = Object.values(ctx.ports).filter((p) => p < lo || p > lo + count - 1);
  return [`${lo}-${lo + count - 1}`, ...services].join(',');
}

/** Whether a program is on the PATH. */
export function haveProgram(name: string): boolean {
  const paths = (process.env.PATH ?? '').split(':').concat(['/usr/sbin', '/sbin', '/usr/bin']);
  for (const dir of paths) {
    try {
      accessSync(join(dir, name), constants.X_OK);
      return true;
    } catch {
      // not in this directory
    }
  }
  return false;
}

/** Feed lines to a program's standard input at a pace, then close it and wait (bounded). */
function paced(on: LabHost, argv: readonly string[], lines: readonly string[], gapMs: () => number): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = startOn(on, argv, { stdio: ['pipe', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdin!.on('error', () => undefined);
    const killer = setTimeout(() => {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // gone
      }
    }, 60_000);
    child.on('close', (code) => {
      clearTimeout(killer);
      if (code === 0) resolve();
      else reject(new Error(`${argv.join(' ')} exited with ${code}: ${stderr.trim()}`));
    });
    let i = 0;
    const step = () => {
      if (i >= lines.length) {
        child.stdin!.end();
        return;
      }
      child.stdin!.write(lines[i++] + '\n');
      setTimeout(step, gapMs());
    };
    step();
  });
}
