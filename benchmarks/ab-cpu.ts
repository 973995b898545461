/**
 * The same-process A/B of the parser tools (ingest-ab.ts, ingest-ids-ab.ts, ingest-tls-ab.ts):
 * `once` on a reference checkout's side ("before") and on this checkout's ("now"), after `warm`
 * rounds of each, then `runs` rounds alternately, so that the machine's swings fall on both alike.
 * `once` returns the CPU milliseconds of one run. Prints median, lower quartile (on a loaded machine
 * it moves less than the median) and best of each side, and the ratios now / before.
 */
export async function abCpu<T>(sides: { before: T; now: T }, once: (side: T) => number | Promise<number>, runs: number, per: string, options: { warm?: number; digits?: number } = {}): Promise<void> {
  const cpu = { before: [] as number[], now: [] as number[] };
  for (let i = 0; i < (options.warm ?? 3); i++) for (const side of [sides.before, sides.now]) await once(side);
  for (let i = 0; i < runs; i++) {
    cpu.before.push(await once(sides.before));
    cpu.now.push(await once(sides.now));
  }
  const sorted = (xs: number[]) => [...xs].sort((a, b) => a - b);
  const figures = (xs: number[]) => ({ median: sorted(xs)[xs.length >> 1], quartile: sorted(xs)[xs.length >> 2], best: Math.min(...xs) });
  const before = figures(cpu.before);
  const now = figures(cpu.now);
  const d = options.digits ?? 1;
  for (const [name, f] of [['before', before], ['now', now]] as const) {
    console.log(`${name.padEnd(7)} CPU ms per ${per}: median ${f.median.toFixed(d)}, lower quartile ${f.quartile.toFixed(d)}, best ${f.best.toFixed(d)}`);
  }
  console.log(`now / before: median ${(now.median / before.median).toFixed(2)}, lower quartile ${(now.quartile / before.quartile).toFixed(2)}, best ${(now.best / before.best).toFixed(2)}`);
}
