/** Reading captures through the real pcap parser in tests. */
import { copyFileSync, createReadStream, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { parsePcap, pcapStats, type PcapStats } from '../../operators/ingest-pcap.ts';
import { flowRows, type FlowRow } from '../../pipeline/flow-schema.ts';
import type { DeadLetter } from '../../pipeline/types.ts';

/** Everything one parse of a file produced. */
export interface ParsedCapture {
  rows: FlowRow[];
  deadLetters: DeadLetter[];
  stats: PcapStats;
  offsets: number[];
}

/** Parse a capture file with the pcap parser (streamed in `chunkSize` pieces). */
export async function parseCaptureFile(file: string, options: { chunkSize?: number; batchSize?: number; idleTimeoutS?: number; activeTimeoutS?: number } = {}): Promise<ParsedCapture> {
  const stats = pcapStats();
  const rows: FlowRow[] = [];
  const deadLetters: DeadLetter[] = [];
  const offsets: number[] = [];
  const chunks = createReadStream(file, { highWaterMark: options.chunkSize ?? 65536 });
  for await (const out of parsePcap(chunks, { site: 'test-site', sensor: 'lo', input: file, batchSize: options.batchSize ?? 512, stats, idleTimeoutS: options.idleTimeoutS, activeTimeoutS: options.activeTimeoutS })) {
    if (out.flows) rows.push(...flowRows(out.flows));
    if (out.deadLetters) deadLetters.push(...out.deadLetters);
    offsets.push(out.offset);
  }
  return { rows, deadLetters, stats, offsets };
}

/** With HEIR_SAVE_PCAPS=<dir>, keep a copy of a capture made by a test (to refresh test/fixtures/pcaps). */
export function keepCapture(file: string, name: string): void {
  const dir = process.env.HEIR_SAVE_PCAPS;
  if (!dir) return;
  mkdirSync(dir, { recursive: true });
  copyFileSync(file, join(dir, name));
}
