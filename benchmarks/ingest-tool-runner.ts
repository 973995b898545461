/**
 * External tools of the ingest benchmarks (softflowd, argus, the heir command), run by one small
 * helper process started with the benchmark, so the benchmark process itself never forks while it holds
 * its parsed data: after a fork every page the parent writes takes a copy-on-write fault, and
 * the in-process parse timed next pays for them (on this machine a parse after `spawnSync` of a
 * tool took 3,600 minor faults and 60 % more CPU than one after the same tool run by the helper).
 *
 * The helper is benchmarks/ingest-tool-runner.py: it starts each tool with posix_spawn and awaits it
 * with wait4, so wall time is spawn to exit (no round trip through this process counted) and CPU
 * is the kernel's exact user + system time of the tool from its rusage (a shell's `times` rounds
 * to 10 ms steps, a tenth of a softflowd run on the benchmark's capture).
 *
 * @example
 * const tools = ToolRunner.start(); // first thing, while the process is small
 * const r = await tools.run('softflowd', ['-r', file, '-n', '127.0.0.1:9']);
 * tools.close();
 */
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';

/** One tool run: wall and CPU ms, its output (stdout and stderr), its exit status. */
export interface ToolRun {
  wall: number;
  cpu: number;
  out: string;
  status: number;
}

export class ToolRunner {
  private readonly runner: ChildProcessByStdio<Writable, Readable, null>;
  private readonly outFile = join(tmpdir(), `heir-bench-tool-${process.pid}.out`);
  private received = '';
  private waiting: (() => void) | null = null;
  private closed = false;

  private constructor() {
    const script = fileURLToPath(new URL('./ingest-tool-runner.py', import.meta.url));
    this.runner = spawn('/usr/bin/python3', [script], { stdio: ['pipe', 'pipe', 'inherit'] });
    this.runner.stdout.setEncoding('utf8');
    this.runner.stdout.on('data', (d: string) => {
      this.received += d;
      this.waiting?.();
    });
    this.runner.on('exit', (code) => {
      if (!this.closed) throw new Error(`the benchmark's tool runner exited (${code})`);
    });
  }

  /** Start the helper process: call before the benchmark reads or parses anything large. */
  static start(): ToolRunner {
    return new ToolRunner();
  }

  /** Run `cmd args…`; throws when it exits non-zero. */
  async run(cmd: string, args: readonly string[]): Promise<ToolRun> {
    this.runner.stdin.write(JSON.stringify([this.outFile, cmd, ...args]) + '\n');
    let end: number;
    while ((end = this.received.indexOf('\n')) < 0) await new Promise<void>((resolve) => (this.waiting = resolve));
    this.waiting = null;
    const reply = JSON.parse(this.received.slice(0, end)) as { wall: number; cpu: number; status: number; error?: string };
    this.received = this.received.slice(end + 1);
    const out = reply.error ?? readFileSync(this.outFile, 'utf8');
    if (reply.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${reply.status}): ${out.slice(-2000)}`);
    return { wall: reply.wall, cpu: reply.cpu, out, status: reply.status };
  }

  /** Stop the helper process. */
  close(): void {
    this.closed = true;
    this.runner.stdin.end();
    rmSync(this.outFile, { force: true });
  }
}
