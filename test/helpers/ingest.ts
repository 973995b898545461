/**
 * Helpers for the text-format parser tests: run a parser over bytes or a file and collect its
 * rows and dead letters, and a fast-check fuzz harness shared by every line format.
 */
import { createReadStream } from 'node:fs';
import fc from 'fast-check';
import * as assert from 'uvu/assert';
import { InputError } from '../../pipeline/errors.ts';
import { flowRows, type FlowRow } from '../../pipeline/flow-schema.ts';
import type { DeadLetter, ParseOutput, Parser } from '../../pipeline/types.ts';
import { setWarningSink } from '../../pipeline/warn.ts';
import { maybeGunzip } from '../../operators/ingest-text.ts';

/** Everything one parse produced. */
export interface Parsed {
  readonly rows: FlowRow[];
  readonly deadLetters: DeadLetter[];
  readonly outputs: ParseOutput[];
}

/** Chunks of `bytes`, `size` bytes each (to cross line boundaries on purpose). */
export async function* chunked(bytes: Uint8Array, size = 7): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < bytes.length; i += size) yield bytes.subarray(i, i + size);
}

/** Parse an in-memory input. */
export async function parseBytes(parser: Parser, bytes: Uint8Array | string, options: { input?: string; batchSize?: number; chunk?: number } = {}): Promise<Parsed> {
  const data = typeof bytes === 'string' ? new TextEncoder().encode(bytes) : bytes;
  return collect(parser.parse(chunked(data, options.chunk ?? 4096), { site: 'test-site', sensor: 'test-sensor', input: options.input ?? 'test-input', batchSize: options.batchSize ?? 1000 }));
}

/** Parse a file (gzip detected) as the command layer does; `rows: false` skips the row objects (big files). */
export async function parseFile(parser: Parser, path: string, options: { batchSize?: number; rows?: boolean } = {}): Promise<Parsed> {
  return collect(parser.parse(maybeGunzip(createReadStream(path), path), { site: 'test-site', sensor: 'test-sensor', input: path, batchSize: options.batchSize ?? 2048 }), options.rows ?? true);
}

async function collect(outputs: AsyncIterable<ParseOutput>, withRows = true): Promise<Parsed> {
  const rows: FlowRow[] = [];
  const deadLetters: DeadLetter[] = [];
  const all: ParseOutput[] = [];
  for await (const out of outputs) {
    all.push(out);
    if (out.flows && withRows) rows.push(...flowRows(out.flows));
    if (out.deadLetters) deadLetters.push(...out.deadLetters);
  }
  return { rows, deadLetters, outputs: all };
}

/** Sum of a numeric column over every output batch. */
export function columnSum(parsed: Parsed, name: string): number {
  let sum = 0;
  for (const out of parsed.outputs) {
    const column = out.flows?.getChild(name);
    if (!column) continue;
    for (const v of column.toArray() as Float64Array) sum += v;
  }
  return sum;
}

/** Rows `from`..`to` (exclusive) across the output batches, as row objects. */
export function rowsBetween(parsed: Parsed, from: number, to: number): FlowRow[] {
  const out: FlowRow[] = [];
  let base = 0;
  for (const o of parsed.outputs) {
    if (!o.flows) continue;
    const n = o.flows.numRows;
    if (base + n > from && base < to) out.push(...flowRows(o.flows.slice(Math.max(0, from - base), Math.min(n, to - base))));
    base += n;
  }
  return out;
}

/** Runs of each fuzz property (HEIR_FUZZ_RUNS, default 10,000). */
export const FUZZ_RUNS = Number(process.env.HEIR_FUZZ_RUNS ?? 10_000);

/** Silence warnings for the duration of `fn` (fuzzing raises many) and return how many were raised. */
export async function quietly<T>(fn: () => Promise<T>): Promise<T> {
  const previous = setWarningSink(null);
  try {
    return await fn();
  } finally {
    setWarningSink(previous);
  }
}

/**
 * Fuzz a line parser: (1) random bytes, (2) a valid header followed by valid lines that are
 * mutated (bytes flipped, cut, duplicated separators, huge numbers, garbage), (3) a valid header and
 * an over-long line. The parser must never throw anything but an InputError, never hang, and every
 * line that does not become a flow must be dead-lettered with its line number (or be a skipped
 * comment/non-flow line).
 */
export async function fuzzLineParser(parser: Parser, header: string, lines: readonly string[], options: { seed?: number; runs?: number } = {}): Promise<void> {
  const encoder = new TextEncoder();
  const mutation = fc.oneof(
    fc.constant((l: string) => l),
    fc.nat().map((i) => (l: string) => l.slice(0, i % (l.length + 1))),
    fc.tuple(fc.nat(), fc.string({ maxLength: 8 })).map(([i, s]) => (l: string) => l.slice(0, i % (l.length + 1)) + s + l.slice(i % (l.length + 1))),
    fc.tuple(fc.nat(), fc.nat()).map(([i, j]) => (l: string) => l.slice(0, i % (l.length + 1)) + l.slice((i % (l.length + 1)) + (j % 6))),
    fc.constantFrom('1e309', '-1', 'NaN', '99999999999999999999999', '', '"', '\u0000', '0x10', '-').map((v) => (l: string) => l.replace(/\d+(\.\d+)?/, v)),
    fc.constant((l: string) => l.replaceAll(',', ',,')),
    fc.constant((l: string) => l.replaceAll('\t', '\t\t')),
  );
  const body = fc.array(fc.tuple(fc.constantFrom(...lines), mutation), { maxLength: 6 }).map((pairs) => pairs.map(([l, m]) => m(l)).join('\n'));
  const input = fc.oneof(
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 200 }) },
    { weight: 1, arbitrary: fc.tuple(fc.uint8Array({ maxLength: 60 }), body).map(([junk, b]) => concat(encoder.encode(header + '\n'), junk, encoder.encode('\n' + b))) },
    { weight: 4, arbitrary: body.map((b) => encoder.encode(header + '\n' + b + '\n')) },
  );
  await quietly(() =>
    fc.assert(
      fc.asyncProperty(input, fc.integer({ min: 1, max: 64 }), async (bytes, chunk) => {
        let parsed: Parsed;
        try {
          parsed = await parseBytes(parser, bytes, { chunk, batchSize: 3 });
        } catch (error) {
          if (error instanceof InputError) return;
          throw error;
        }
        for (const d of parsed.deadLetters) assert.match(d.reason, /^line \d+: /);
        for (const out of parsed.outputs) if (out.flows) assert.ok(out.flows.numRows <= 3, 'batch larger than batchSize');
        for (const r of parsed.rows) {
          assert.ok(Number.isFinite(r.ts_start) && Number.isFinite(r.fwd_bytes) && r.fwd_packets >= 0);
          assert.is(r.flow_id.length, 16);
        }
      }),
      { numRuns: options.runs ?? FUZZ_RUNS, seed: options.seed ?? 20240301, endOnFailure: true },
    ),
  );
  // An over-long line is dead-lettered and the line after it still parses.
  const long = encoder.encode(header + '\n' + lines[0].slice(0, 10) + 'x'.repeat((1 << 20) + 10) + '\n' + lines[0] + '\n');
  const parsed = await quietly(() => parseBytes(parser, long, { chunk: 65536 }));
  const longLine = header.split('\n').length + 1;
  assert.is(parsed.deadLetters.length, 1);
  assert.is(parsed.deadLetters[0].reason, `line ${longLine}: line longer than 1048576 bytes`);
  assert.ok(parsed.rows.length >= 1, 'the line after the over-long one is read');
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** Asserts that `fn` rejects with an InputError whose message matches `pattern`. */
export async function rejectsInput(fn: () => Promise<unknown>, pattern: RegExp): Promise<void> {
  try {
    await fn();
  } catch (error) {
    assert.instance(error, InputError);
    assert.match((error as Error).message, pattern);
    return;
  }
  assert.unreachable('expected an InputError');
}
