/**
 * A directory of Parquet files (`heir export --out DIR`: one `<table>.parquet` per table) read as a
 * store: an in-memory DuckDB with one view per file, so a notebook's SQL runs unchanged on a
 * site's DuckDB file or on its export.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { ErrorCode, UserError, messageOf } from '../pipeline/errors.ts';
import type { NotebookStore } from './notebook.ts';

function ident(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/** Open every `*.parquet` of `dir` as a view named after the file. */
export async function openParquetDir(dir: string): Promise<NotebookStore & { close(): Promise<void> }> {
  const files = readdirSync(dir).filter((f) => f.endsWith('.parquet')).sort();
  if (files.length === 0) throw new UserError(ErrorCode.STORE_OPEN, `${dir} has no .parquet files (write them with heir export --db FILE --out ${dir})`);
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  const names = files.map((f) => f.slice(0, -'.parquet'.length));
  try {
    for (let i = 0; i < files.length; i++) {
      await connection.run(`CREATE VIEW ${ident(names[i])} AS SELECT * FROM read_parquet('${join(dir, files[i]).replaceAll("'", "''")}')`);
    }
  } catch (error) {
    connection.closeSync();
    instance.closeSync();
    throw new UserError(ErrorCode.STORE_OPEN, `cannot read the Parquet files of ${dir}: ${messageOf(error).split('\n')[0]}`, { cause: error });
  }
  const all = async <T = Record<string, unknown>>(sql: string): Promise<T[]> => {
    const reader = await connection.runAndReadAll(sql);
    return reader.getRowObjectsJS().map((row) => {
      for (const k of Object.keys(row)) {
        const v = row[k];
        if (typeof v === 'bigint' && v <= BigInt(Number.MAX_SAFE_INTEGER) && v >= BigInt(Number.MIN_SAFE_INTEGER)) row[k] = Number(v);
      }
      return row;
    }) as T[];
  };
  return {
    path: dir,
    all,
    async tables() {
      return [...names];
    },
    async count(table: string) {
      if (!names.includes(table)) return 0;
      const rows = await all<{ n: number }>(`SELECT count(*)::BIGINT AS n FROM ${ident(table)}`);
      return Number(rows[0].n);
    },
    async close() {
      connection.closeSync();
      instance.closeSync();
    },
  };
}
