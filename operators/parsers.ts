/**
 * The ingest parsers by format. Modules load lazily so a command pays only for the parser it uses.
 */
import { ErrorCode, UserError } from '../pipeline/errors.ts';
import type { Parser } from '../pipeline/types.ts';

const LOADERS: Readonly<Record<string, () => Promise<{ parser: Parser }>>> = {
  pcap: () => import('./ingest-pcap.ts'),
  argus: () => import('./ingest-argus.ts'),
  zeek: () => import('./ingest-zeek.ts'),
  eve: () => import('./ingest-eve.ts'),
  cic: () => import('./ingest-cic.ts'),
  wustl: () => import('./ingest-wustl.ts'),
};

/** The formats `heir ingest` accepts. */
export const FORMATS: readonly string[] = Object.keys(LOADERS);

/** The parser of a format, or a user error listing the formats there are. */
export async function parserFor(format: string): Promise<Parser> {
  const load = LOADERS[format];
  if (!load) throw new UserError(ErrorCode.USAGE, `unknown format '${format}' (formats: ${FORMATS.join(', ')})`);
  return (await load()).parser;
}
