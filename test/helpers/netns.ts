/**
 * Two network namespaces joined by a veth pair, made by a test and removed after it: "hospital"
 * (10.77.0.5) and "internet" (198.51.100.7, a documentation range HEIR treats as external). Real
 * programs run inside either; tcpdump records on the hospital side. Needs root and iproute2.
 */
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { background, requireTool, run, type Background, type RunResult } from './loopback.ts';

/** The two namespaces and how to run programs in them. */
export interface NamespacePair {
  readonly hospital: string;
  readonly internet: string;
  readonly hospitalAddr: string;
  readonly internetAddr: string;
  /** Run a program to completion inside a namespace. */
  run(ns: string, cmd: string, args: readonly string[], options?: { input?: string; timeoutMs?: number }): Promise<RunResult>;
  /** Start a server inside a namespace. */
  background(ns: string, cmd: string, args: readonly string[]): Background;
  /** Record the hospital side of the link into `file`; resolves to a stop function. */
  capture(file: string, filter: string): Promise<() => Promise<void>>;
  close(): Promise<void>;
}

function ip(args: string[]): void {
  const r = spawnSync('ip', args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ip ${args.join(' ')} failed: ${r.stderr.trim()}`);
}

/** Create the pair (names carry the process id so parallel test files do not collide). */
export async function namespacePair(tag: string): Promise<NamespacePair> {
  requireTool('ip', 'iproute2');
  requireTool('tcpdump', 'tcpdump');
  if (process.getuid?.() !== 0) throw new Error('network namespaces need root');
  const id = `${tag}${process.pid % 100000}`;
  const hospital = `hh-${id}`;
  const internet = `hi-${id}`;
  const a = `va${id}`.slice(0, 15);
  const b = `vb${id}`.slice(0, 15);
  ip(['netns', 'add', hospital]);
  ip(['netns', 'add', internet]);
  try {
    ip(['link', 'add', a, 'type', 'veth', 'peer', 'name', b]);
    ip(['link', 'set', a, 'netns', internet]);
    ip(['link', 'set', b, 'netns', hospital]);
    ip(['-n', internet, 'addr', 'add', '198.51.100.7/32', 'dev', a]);
    ip(['-n', hospital, 'addr', 'add', '10.77.0.5/32', 'dev', b]);
    for (const [ns, dev] of [[internet, a], [hospital, b]]) {
      ip(['-n', ns, 'link', 'set', 'lo', 'up']);
      ip(['-n', ns, 'link', 'set', dev, 'up']);
    }
    ip(['-n', internet, 'route', 'add', '10.77.0.5/32', 'dev', a]);
    ip(['-n', hospital, 'route', 'add', '198.51.100.7/32', 'dev', b]);
  } catch (error) {
    spawnSync('ip', ['netns', 'del', hospital]);
    spawnSync('ip', ['netns', 'del', internet]);
    throw error;
  }
  const started: Background[] = [];
  return {
    hospital,
    internet,
    hospitalAddr: '10.77.0.5',
    internetAddr: '198.51.100.7',
    run: (ns, cmd, args, options) => run('ip', ['netns', 'exec', ns, cmd, ...args], options),
    background(ns, cmd, args) {
      const bg = background('ip', ['netns', 'exec', ns, cmd, ...args]);
      started.push(bg);
      return bg;
    },
    async capture(file, filter) {
      const child = spawn('ip', ['netns', 'exec', hospital, 'tcpdump', '-i', b, '-U', '--immediate-mode', '-B', '8192', '-n', '-Z', 'root', '-w', file, filter], { stdio: ['ignore', 'ignore', 'pipe'] });
      let err = '';
      await new Promise<void>((resolve, reject) => {
        child.stderr.on('data', (d) => {
          err += d;
          if (err.includes('listening on')) resolve();
        });
        child.on('exit', (code) => reject(new Error(`tcpdump exited (${code}): ${err.trim()}`)));
      });
      return async () => {
        await sleep(200);
        const exited = once(child, 'exit');
        child.kill('SIGINT');
        await exited;
      };
    },
    async close() {
      for (const bg of started) await bg.stop();
      spawnSync('ip', ['netns', 'del', hospital]);
      spawnSync('ip', ['netns', 'del', internet]);
    },
  };
}

/** Resolves once something accepts TCP connections on addr:port inside a namespace. */
export async function waitForPortIn(pair: NamespacePair, ns: string, addr: string, port: number, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const r = await pair.run(ns, 'bash', ['-c', `exec 3<>/dev/tcp/${addr}/${port}`], { timeoutMs: 2000 });
    if (r.code === 0) return;
    if (Date.now() > deadline) throw new Error(`nothing listens on ${addr}:${port} in ${ns}`);
    await sleep(100);
  }
}
