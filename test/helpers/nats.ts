/**
 * Starts a real nats-server with JetStream on a free port and a temporary store directory, for
 * one test file, and stops it. `restart()` stops and starts it on the same port and store, as a
 * broker restart does.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, connect as tcpConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A running nats-server. */
export interface NatsServer {
  readonly url: string;
  readonly port: number;
  readonly storeDir: string;
  restart(): Promise<void>;
  stop(): Promise<void>;
}

/** A TCP port nobody listens on right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

function binary(): string {
  const found = spawnSync('sh', ['-c', 'command -v nats-server || ls /usr/sbin/nats-server /usr/bin/nats-server 2>/dev/null | head -1'], { encoding: 'utf8' }).stdout.trim();
  if (!found) throw new Error('nats-server is not installed: install the Debian package (sudo apt-get install nats-server) or run npm test, which installs it');
  return found.split('\n')[0];
}

function waitForPort(port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    const attempt = () => {
      const socket = tcpConnect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve();
      });
      socket.once('error', () => {
        socket.destroy();
        if (Date.now() > deadline) reject(new Error(`nats-server did not listen on ${port} within ${timeoutMs} ms`));
        else setTimeout(attempt, 50);
      });
    };
    attempt();
  });
}

/** Start nats-server -js on a free port with a fresh store directory. */
export async function startNats(): Promise<NatsServer> {
  const bin = binary();
  const port = await freePort();
  const storeDir = mkdtempSync(join(tmpdir(), 'heir-nats-'));
  let child: ChildProcess | undefined;
  // A test process that dies must not leave its server behind.
  const killOnExit = () => child?.kill('SIGKILL');
  process.once('exit', killOnExit);
  const start = async () => {
    child = spawn(bin, ['-js', '-a', '127.0.0.1', '-p', String(port), '-sd', storeDir], { stdio: 'ignore' });
    await waitForPort(port, 10_000);
  };
  const halt = async () => {
    const c = child;
    if (!c || c.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      c.once('exit', () => resolve());
      c.kill('SIGTERM');
      setTimeout(() => c.kill('SIGKILL'), 5000).unref();
    });
  };
  await start();
  return {
    url: `nats://127.0.0.1:${port}`,
    port,
    storeDir,
    async restart() {
      await halt();
      await start();
    },
    async stop() {
      process.off('exit', killOnExit);
      await halt();
      rmSync(storeDir, { recursive: true, force: true });
    },
  };
}
