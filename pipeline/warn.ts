/**
 * Soft problems (a skipped column, a clamped value) go through one counted `warn()`, so tests can
 * observe them and the CLI can summarise them, in the manner of Observable Plot's warnings.
 */

let count = 0;
const recent: string[] = [];
let sink: ((message: string) => void) | null = (message) => process.stderr.write(`heir: warning: ${message}\n`);

/** Report a soft problem once; it is counted and kept (the last 100) for tests. */
export function warn(message: string): void {
  count++;
  recent.push(message);
  if (recent.length > 100) recent.shift();
  sink?.(message);
}

/** How many warnings were raised since start (or since the last reset). */
export function warningCount(): number {
  return count;
}

/** The most recent warnings, oldest first. */
export function recentWarnings(): readonly string[] {
  return recent;
}

/** Route warnings elsewhere (null silences them); returns the previous sink. Tests use this. */
export function setWarningSink(next: ((message: string) => void) | null): ((message: string) => void) | null {
  const previous = sink;
  sink = next;
  return previous;
}

/** Reset the counter and the kept messages. */
export function resetWarnings(): void {
  count = 0;
  recent.length = 0;
}
