import type { Command } from '../command.ts';
import { parseArgs, stringFlag, usageError } from '../command.ts';

const USAGE = `usage: heir export --db FILE --out DIR [--tables a,b,...]

Exports the tables of a site (or observatory) DuckDB file to Parquet files (ZSTD), one per
table, for notebooks and data-science tools: DIR/flows.parquet, DIR/detections.parquet, ...
The file is opened read-only. DuckDB lets one process write a file: while a pipeline holds it,
export its Parquet from that process or stop the pipeline first.`;

/** `heir export`: tables to Parquet. */
export const command: Command = {
  name: 'export',
  summary: 'export the tables of a DuckDB store to Parquet files',
  usage: USAGE,
  async run(argv) {
    const args = parseArgs('export', argv, { db: 'string', out: 'string', tables: 'string' });
    const db = stringFlag(args, 'db');
    const out = stringFlag(args, 'out');
    if (!db) usageError('export', '--db FILE is required');
    if (!out) usageError('export', '--out DIR is required');
    const { existsSync, mkdirSync } = await import('node:fs');
    const { ErrorCode, UserError } = await import('../errors.ts');
    if (!existsSync(db)) throw new UserError(ErrorCode.STORE_OPEN, `no DuckDB file at ${db}`);
    mkdirSync(out, { recursive: true });
    const { openStore } = await import('../store.ts');
    const store = await openStore(db, { readOnly: true });
    try {
      const all = await store.tables();
      const wanted = stringFlag(args, 'tables')?.split(',').map((t) => t.trim()).filter(Boolean);
      const unknown = wanted?.filter((t) => !all.includes(t)) ?? [];
      if (unknown.length > 0) usageError('export', `no table ${unknown.join(', ')} in ${db} (tables: ${all.join(', ')})`);
      for (const r of await store.exportParquet(out, wanted ?? all)) process.stdout.write(`${r.file}\t${r.rows} rows\n`);
    } finally {
      await store.close();
    }
    return 0;
  },
};
