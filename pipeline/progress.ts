/**
 * A progress bar for long CLI work (training trees, permutation importance) on standard error:
 * redrawn in place on a terminal, a line per quarter otherwise, silent when disabled.
 */

/** Report progress as (done, total). */
export type ProgressFn = (done: number, total: number) => void;

/** A progress reporter labelled `what` (for example `trees`). */
export function progressBar(what: string, options: { enabled?: boolean; stream?: NodeJS.WriteStream } = {}): ProgressFn & { finish(): void } {
  const stream = options.stream ?? process.stderr;
  const enabled = options.enabled ?? true;
  const tty = Boolean(stream.isTTY);
  const started = performance.now();
  let lastQuarter = -1;
  let drawn = false;
  const fn = ((done: number, total: number) => {
    if (!enabled || total <= 0) return;
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    if (tty) {
      const width = 30;
      const filled = Math.round((done / total) * width);
      stream.write(`\r[${'#'.repeat(filled)}${' '.repeat(width - filled)}] ${done}/${total} ${what} ${seconds}s`);
      drawn = true;
    } else {
      const quarter = Math.floor((done / total) * 4);
      if (quarter > lastQuarter) {
        lastQuarter = quarter;
        stream.write(`${what}: ${done}/${total} (${seconds}s)\n`);
      }
    }
  }) as ProgressFn & { finish(): void };
  fn.finish = () => {
    if (tty && drawn) stream.write('\n');
    drawn = false;
  };
  return fn;
}
