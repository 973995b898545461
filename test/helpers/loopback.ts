/**
 * Real traffic on loopback for ingest tests: free ports, waiting for a server to listen, running a
 * client to completion, and recording with tcpdump (started, awaited until it listens, stopped with
 * SIGINT and awaited so the file is complete).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createConnection, createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

/** Throws a message naming the Debian package when `tool` is not installed. */
export function requireTool(tool: string, debianPackage: string): void {
  const r = spawnSync('sh', ['-c', `command -v ${tool}`]);
  if (r.status !== 0) throw new Error(`${tool} is not installed: apt-get install ${debianPackage}`);
}

/** A TCP port nobody listens on right now. */
export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as { port: number }).port;
  server.close();
  await once(server, 'close');
  return port;
}

/**
 * Resolves once something accepts TCP connections on 127.0.0.1:`port`. The probe connection is
 * closed from both sides before this resolves (its end is sent at once, whatever the server says is
 * read and dropped, and the server's own close is awaited for up to a second), so a capture started
 * next does not record the tail of the probe: a server that greets every connection, as vsftpd
 * does, could otherwise send its banner to the probe after the capture began, and the recording
 * would hold a second, login-less session.
 */
export async function waitForPort(port: number, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      let connected = false;
      const s = createConnection({ host: '127.0.0.1', port }, () => {
        connected = true;
        s.end();
      });
      s.resume();
      const giveUp = setTimeout(() => s.destroy(), 1_000);
      s.on('error', () => {});
      s.on('close', () => {
        clearTimeout(giveUp);
        resolve(connected);
      });
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`nothing listens on port ${port} after ${timeoutMs} ms`);
    await sleep(50);
  }
}

/** Result of a finished process. */
export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Run a program to completion (killed after `timeoutMs`), optionally feeding `input`. */
export async function run(cmd: string, args: readonly string[], options: { input?: string; timeoutMs?: number; cwd?: string } = {}): Promise<RunResult> {
  const child = spawn(cmd, args, { cwd: options.cwd, stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  child.stdin.on('error', () => {});
  child.stdin.end(options.input ?? '');
  const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 15_000);
  const [code] = (await once(child, 'exit')) as [number | null];
  clearTimeout(timer);
  return { code, stdout, stderr };
}

/** A background server process; `stop()` sends SIGTERM and waits for it. */
export interface Background {
  readonly child: ChildProcess;
  output(): string;
  stop(): Promise<void>;
}

/** Start a long-running program. */
export function background(cmd: string, args: readonly string[], options: { cwd?: string } = {}): Background {
  // stdin stays an open pipe: some servers (openssl s_server) end a session on stdin EOF.
  const child = spawn(cmd, args, { cwd: options.cwd, stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  child.stdout?.on('data', (d) => (out += d));
  child.stderr?.on('data', (d) => (out += d));
  return {
    child,
    output: () => out,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** A running tcpdump; `stop()` ends it with SIGINT and resolves once the file is written. */
export interface Capture {
  readonly file: string;
  stop(): Promise<void>;
}

/** Record loopback traffic matching `filter` (e.g. `tcp port 4000`) into `file`; `iface` 'any' records Linux cooked (SLL/SLL2) frames. */
export async function captureLoopback(file: string, filter: string, iface = 'lo'): Promise<Capture> {
  requireTool('tcpdump', 'tcpdump');
  // As root, tcpdump would drop to its own user and could not write into a private temp dir.
  const asRoot = process.getuid?.() === 0 ? ['-Z', 'root'] : [];
  const child = spawn('tcpdump', ['-i', iface, '-U', '--immediate-mode', '-n', ...asRoot, '-w', file, filter], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  const listening = new Promise<void>((resolve, reject) => {
    child.stderr.on('data', (d) => {
      err += d;
      if (err.includes('listening on')) resolve();
    });
    child.on('exit', (code) => reject(new Error(`tcpdump exited (${code}) before listening: ${err.trim()}`)));
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  await listening;
  return {
    file,
    async stop() {
      // Let the last segments of the exchange reach the capture before stopping it.
      await sleep(200);
      const exited = once(child, 'exit');
      child.kill('SIGINT');
      await exited;
      clearTimeout(timer);
    },
  };
}
