/**
 * The dead-letter table: every record or batch that could not be processed, with the input it
 * came from, the stage that refused it, the reason, and the offending bytes, so nothing is lost
 * and everything can be inspected or replayed.
 */
import type { RecordBatch } from 'apache-arrow';
import { arrowSchema, batchFromRows } from './columns.ts';
import type { DeadLetter } from './types.ts';

const c = <N extends string, K extends 'utf8' | 'ts', Nl extends boolean>(name: N, kind: K, nullable: Nl, doc: string) => ({ name, kind, nullable, doc }) as const;

/** Columns of `dead_letters`. */
export const DEAD_LETTER_COLUMNS = [
  c('input', 'utf8', false, 'File, stream, exporter or subject the record came from.'),
  c('stage', 'utf8', false, 'Stage that refused it: parse, decode, operator name, store.'),
  c('reason', 'utf8', false, 'Why, in words.'),
  c('batch_id', 'utf8', true, 'Batch the record belonged to, where known.'),
  c('payload', 'utf8', true, 'The offending record: text as is, bytes as "base64:" + Base64.'),
  c('at', 'ts', false, 'When it was refused (UTC, µs).'),
] as const;

/** Arrow schema of `dead_letters`. */
export const DEAD_LETTER_SCHEMA = arrowSchema('dead_letters', 1, DEAD_LETTER_COLUMNS);

/** Largest payload kept per dead letter, in bytes (a whole bus message fits). */
export const MAX_PAYLOAD = 64 * 1024 * 1024;

/** Dead letters as one Arrow batch for the store. */
export function deadLetterBatch(entries: readonly DeadLetter[], now = Date.now()): RecordBatch {
  return batchFromRows(
    DEAD_LETTER_SCHEMA,
    DEAD_LETTER_COLUMNS,
    entries.map((e) => ({
      input: e.input,
      stage: e.stage,
      reason: e.reason,
      batch_id: e.batchId ?? null,
      payload: e.payload === undefined ? null : typeof e.payload === 'string' ? e.payload.slice(0, MAX_PAYLOAD) : 'base64:' + Buffer.from(e.payload.subarray(0, MAX_PAYLOAD)).toString('base64'),
      at: now * 1000,
    })),
  );
}
