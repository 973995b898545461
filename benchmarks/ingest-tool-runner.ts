/**
 * External tools of the ingest benchmarks (softflowd, argus, the heir command), run by one small
 * shell started with the benchmark, so the benchmark process itself never forks while it holds
 * its parsed data: after a fork every page the parent writes takes a copy-on-write fault, and
 * the in-process parse timed next pays for them (on this machine a parse after `spawnSync` of a
 * tool took 3,600 minor faults and 60 % more CPU than one after the same tool run by the helper).
 *
 * Each run is `sh -c 'cmd args > out 2>&1; times'` forked by the helper: wall time around the
 * request, CPU from that shell's `times` (user + system of the tool, in the kernel's 10 ms steps).
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

/** One tool run: wall and CPU ms, its output (stdout and stderr), its exit status. */
export interface ToolRun {
  wall: number;
  cpu: number;
  out: string;
  status: number;
}

const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

export class ToolRunner {
  private readonly sh: ChildProcessByStdio<Writable, Readable, null>;
  private readonly outFile = join(tmpdir(), `heir-bench-tool-${process.pid}.out`);
  private received = '';
  private waiting: (() => void) | null = null;
  private closed = false;

  private constructor() {
    this.sh = spawn('sh', [], { stdio: ['pipe', 'pipe', 'inherit'] });
    this.sh.stdout.setEncoding('utf8');
    this.sh.stdout.on('data', (d: string) => {
      this.received += d;
      this.waiting?.();
    });
    this.sh.on('exit', (code) => {
      if (!this.closed) throw new Error(`the benchmark's tool shell exited (${code})`);
    });
  }

  /** Start the helper shell: call before the benchmark reads or parses anything large. */
  static start(): ToolRunner {
    return new ToolRunner();
  }

  /** Run `cmd args…`; throws when it exits non-zero. */
  async run(cmd: string, args: readonly string[]): Promise<ToolRun> {
    const line = `sh -c '"$@" > ${quote(this.outFile)} 2>&1; s=$?; times; exit $s' sh ${[cmd, ...args].map(quote).join(' ')}; echo "@@EXIT $?"\n`;
    const t0 = performance.now();
    this.sh.stdin.write(line);
    let m: RegExpExecArray | null;
    while ((m = /@@EXIT (\d+)\n/.exec(this.received)) === null) await new Promise<void>((resolve) => (this.waiting = resolve));
    const wall = performance.now() - t0;
    this.waiting = null;
    const reply = this.received.slice(0, m.index);
    this.received = this.received.slice(m.index + m[0].length);
    // `times` prints the shell's own times, then its children's: the tool's.
    const child = reply.trim().split('\n').pop() ?? '';
    const secs = [...child.matchAll(/(\d+)m([\d.]+)s/g)].reduce((sum, t) => sum + Number(t[1]) * 60 + Number(t[2]), 0);
    const out = readFileSync(this.outFile, 'utf8');
    const status = Number(m[1]);
    if (status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${status}): ${out.slice(-2000)}`);
    return { wall, cpu: secs * 1000, out, status };
  }

  /** Stop the helper shell. */
  close(): void {
    this.closed = true;
    this.sh.stdin.end();
    rmSync(this.outFile, { force: true });
  }
}
