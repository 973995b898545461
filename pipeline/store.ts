/**
 * The DuckDB store: one file per site. Every write is a whole batch in one transaction together
 * with its batch id, so a redelivered batch adds nothing and a crash before the commit loses
 * nothing. Tables are created from the Arrow schemas that arrive (metadata `heir.table`), and
 * grow new columns by migration when a schema version adds some.
 */
import { DuckDBConnection, DuckDBInstance, DuckDBTimestampTZValue, type DuckDBValue } from '@duckdb/node-api';
import type { Field, RecordBatch } from 'apache-arrow';
import { appendBatch, duckTypeName } from './arrow-to-duckdb.ts';
import { ErrorCode, HeirError, UserError, messageOf } from './errors.ts';
import { DEAD_LETTER_SCHEMA, deadLetterBatch } from './dead-letters.ts';
import { FLOW_SCHEMA } from './flow-schema.ts';
import type { BatchSink, DeadLetter, Tables } from './types.ts';

/** Version of the store's own bookkeeping tables. */
export const STORE_VERSION = 1;

/** Most batches committed in one transaction. */
const MAX_GROUP = 32;

interface PendingWrite {
  readonly batchId: string;
  readonly tables: Tables;
  resolve(fresh: boolean): void;
  reject(error: unknown): void;
}

/** Options of `openStore`. */
export interface StoreOptions {
  /** Open without write access (reading commands). */
  readonly readOnly?: boolean;
}

// Each entry migrates the bookkeeping schema from version i to i+1. Append; never edit one.
const MIGRATIONS: readonly string[] = [
  `CREATE TABLE IF NOT EXISTS _batches (batch_id VARCHAR PRIMARY KEY, tables VARCHAR NOT NULL, row_count BIGINT NOT NULL, stored_at TIMESTAMPTZ NOT NULL DEFAULT now())`,
];

/** Quote an SQL identifier. */
export function ident(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/** Translate DuckDB's open errors into the user's words. */
function openError(path: string, error: unknown): HeirError {
  const text = messageOf(error);
  if (/lock/i.test(text)) return new UserError(ErrorCode.STORE_LOCKED, `DuckDB file ${path} is locked by another process (${firstLine(text)}); stop that process or use another --db file`, { cause: error });
  if (/read-only|readonly|permission denied|EACCES|EROFS/i.test(text)) return new UserError(ErrorCode.STORE_READ_ONLY, `DuckDB file ${path} cannot be written (${firstLine(text)}); check its permissions or choose a writable --db path`, { cause: error });
  return new UserError(ErrorCode.STORE_OPEN, `cannot open DuckDB file ${path}: ${firstLine(text)}`, { cause: error });
}

function firstLine(text: string): string {
  return text.split('\n')[0];
}

/** A DuckDB store of one site (or of the observatory). */
export class Store implements BatchSink {
  readonly path: string;
  readonly readOnly: boolean;
  private readonly instance: DuckDBInstance;
  /** The connection, for queries by reading commands and notebooks. */
  readonly connection: DuckDBConnection;
  // Column name → DuckDB type of every table seen, in table order.
  private readonly known = new Map<string, Map<string, string>>();
  private queue: Promise<unknown> = Promise.resolve();
  private readonly pending: PendingWrite[] = [];
  private scheduled = false;
  /** Rows written per table since open. */
  readonly counters = { batches: 0, duplicates: 0, rows: 0, deadLetters: 0 };

  private constructor(path: string, readOnly: boolean, instance: DuckDBInstance, connection: DuckDBConnection) {
    this.path = path;
    this.readOnly = readOnly;
    this.instance = instance;
    this.connection = connection;
  }

  /** Open (and migrate) a store. Locked or read-only files give one clear UserError. */
  static async open(path: string, options: StoreOptions = {}): Promise<Store> {
    let instance: DuckDBInstance;
    let connection: DuckDBConnection;
    try {
      instance = await DuckDBInstance.create(path, options.readOnly ? { access_mode: 'READ_ONLY' } : {});
      connection = await instance.connect();
    } catch (error) {
      throw openError(path, error);
    }
    const store = new Store(path, options.readOnly === true, instance, connection);
    if (!store.readOnly) {
      try {
        await store.migrate();
        await store.ensureTable('flows', FLOW_SCHEMA.fields);
        await store.ensureTable('dead_letters', DEAD_LETTER_SCHEMA.fields);
      } catch (error) {
        store.closeSync();
        throw openError(path, error);
      }
    }
    return store;
  }

  private async migrate(): Promise<void> {
    await this.connection.run('CREATE TABLE IF NOT EXISTS _heir_migrations (version INTEGER PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())');
    const rows = await this.all<{ v: number | null }>('SELECT max(version) AS v FROM _heir_migrations');
    const current = rows[0]?.v ?? 0;
    for (let v = current; v < MIGRATIONS.length; v++) {
      await this.connection.run('BEGIN TRANSACTION');
      await this.connection.run(MIGRATIONS[v]);
      await this.connection.run(`INSERT INTO _heir_migrations (version) VALUES (${v + 1})`);
      await this.connection.run('COMMIT');
    }
  }

  /** Create a table from Arrow fields, or add the columns a newer schema version brought. */
  async ensureTable(table: string, fields: readonly Field[]): Promise<void> {
    let columns = this.known.get(table);
    if (!columns) {
      const existing = await this.all<{ column_name: string; data_type: string }>(
        `SELECT column_name, data_type FROM information_schema.columns WHERE table_name = '${table.replaceAll("'", "''")}' ORDER BY ordinal_position`,
      );
      if (existing.length === 0) {
        const ddl = fields.map((f) => `${ident(f.name)} ${duckTypeName(f)}${f.nullable ? '' : ' NOT NULL'}`).join(', ');
        await this.connection.run(`CREATE TABLE IF NOT EXISTS ${ident(table)} (${ddl})`);
        columns = new Map(fields.map((f) => [f.name, duckTypeName(f)]));
      } else {
        columns = new Map(existing.map((r) => [r.column_name, r.data_type.toUpperCase() === 'TIMESTAMP WITH TIME ZONE' ? 'TIMESTAMPTZ' : r.data_type.toUpperCase()]));
      }
      this.known.set(table, columns);
    }
    for (const f of fields) {
      const want = duckTypeName(f);
      const have = columns.get(f.name);
      if (have === undefined) {
        await this.connection.run(`ALTER TABLE ${ident(table)} ADD COLUMN ${ident(f.name)} ${want}`);
        columns.set(f.name, want);
      } else if (have !== want) {
        throw new HeirError(ErrorCode.SCHEMA_MISMATCH, `table ${table} column ${f.name} is ${have} in ${this.path}, the batch has ${want}`);
      }
    }
  }

  /**
   * Write all tables of one batch atomically with its id. Resolves false (and writes nothing)
   * when the id is already stored: a redelivery. Writes that arrive while a commit is running are
   * committed together in the next transaction (group commit): each still succeeds or fails alone,
   * and each resolves only after its rows are durable.
   */
  write(batchId: string, tables: Tables): Promise<boolean> {
    if (this.readOnly) return Promise.reject(new UserError(ErrorCode.STORE_READ_ONLY, `DuckDB file ${this.path} was opened read-only`));
    return new Promise((resolve, reject) => {
      this.pending.push({ batchId, tables, resolve, reject });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    this.queue = this.queue
      .then(async () => {
        this.scheduled = false;
        const group = this.pending.splice(0, MAX_GROUP);
        if (this.pending.length > 0) this.schedule();
        await this.commitGroup(group);
      })
      .catch(() => undefined);
  }

  private async commitGroup(group: PendingWrite[]): Promise<void> {
    try {
      const fresh = await this.commit(group);
      group.forEach((w, i) => w.resolve(fresh[i]));
    } catch (error) {
      // One bad batch must not fail the others: retry them one by one to find it.
      if (group.length === 1) group[0].reject(error);
      else for (const w of group) await this.commitGroup([w]);
    }
  }

  /** One transaction for a group of batches; returns which of them were new. */
  private async commit(group: readonly PendingWrite[]): Promise<boolean[]> {
    for (const w of group) for (const [name, batch] of Object.entries(w.tables)) if (batch.numRows > 0) await this.ensureTable(tableName(name, batch), batch.schema.fields);
    await this.connection.run('BEGIN TRANSACTION');
    try {
      const ids = group.map((w) => w.batchId);
      const list = ids.map((id) => `'${id.replaceAll("'", "''")}'`).join(', ');
      const stored = new Set((await this.all<{ batch_id: string }>(`SELECT batch_id FROM _batches WHERE batch_id IN (${list})`)).map((r) => r.batch_id));
      const fresh: boolean[] = [];
      const rows: { id: string; tables: string; rows: number }[] = [];
      let deadLetters = 0;
      for (const w of group) {
        if (stored.has(w.batchId)) {
          fresh.push(false);
          continue;
        }
        stored.add(w.batchId);
        const entries = Object.entries(w.tables).filter(([, batch]) => batch.numRows > 0);
        let count = 0;
        for (const [name, batch] of entries) {
          const table = tableName(name, batch);
          if (table === 'dead_letters') deadLetters += batch.numRows;
          await this.appendTable(table, batch);
          count += batch.numRows;
        }
        rows.push({ id: w.batchId, tables: entries.map(([name, b]) => `${tableName(name, b)}:${b.numRows}`).join(','), rows: count });
        fresh.push(true);
      }
      if (rows.length > 0) {
        const appender = await this.connection.createAppender('_batches');
        try {
          const now = new DuckDBTimestampTZValue(BigInt(Date.now()) * 1000n);
          for (const r of rows) {
            appender.appendVarchar(r.id);
            appender.appendVarchar(r.tables);
            appender.appendBigInt(BigInt(r.rows));
            appender.appendTimestampTZ(now);
            appender.endRow();
          }
          appender.flushSync();
        } finally {
          appender.closeSync();
        }
      }
      await this.connection.run('COMMIT');
      this.counters.batches += rows.length;
      this.counters.duplicates += fresh.filter((f) => !f).length;
      this.counters.rows += rows.reduce((n, r) => n + r.rows, 0);
      this.counters.deadLetters += deadLetters;
      return fresh;
    } catch (error) {
      await this.connection.run('ROLLBACK').catch(() => undefined);
      throw error;
    }
  }

  /**
   * Append one batch inside the open transaction. The appender fills a table's columns in table
   * order; a batch whose columns differ (an older schema version, a table that grew columns) goes
   * through a staging table and an INSERT by column name instead.
   */
  private async appendTable(table: string, batch: RecordBatch): Promise<void> {
    const names = batch.schema.fields.map((f) => f.name);
    const columns = [...this.known.get(table)!.keys()];
    const direct = columns.length === names.length && columns.every((n, i) => n === names[i]);
    const target = direct ? table : `_stage_${table}`;
    if (!direct) {
      const ddl = batch.schema.fields.map((f) => `${ident(f.name)} ${duckTypeName(f)}`).join(', ');
      await this.connection.run(`CREATE OR REPLACE TEMP TABLE ${ident(target)} (${ddl})`);
    }
    const appender = await this.connection.createAppender(target, direct ? null : 'main', direct ? null : 'temp');
    try {
      appendBatch(appender, batch);
      appender.flushSync();
    } finally {
      appender.closeSync();
    }
    if (!direct) {
      const list = names.map(ident).join(', ');
      await this.connection.run(`INSERT INTO ${ident(table)} (${list}) SELECT ${list} FROM ${ident(target)}`);
      await this.connection.run(`DROP TABLE ${ident(target)}`);
    }
  }

  /** Keep records that could not be processed, with their reasons (not tied to a batch id). */
  deadLetter(...entries: DeadLetter[]): Promise<void> {
    const next = this.queue.then(async () => {
      if (entries.length === 0) return;
      const batch = deadLetterBatch(entries);
      await this.ensureTable('dead_letters', batch.schema.fields);
      await this.appendTable('dead_letters', batch);
      this.counters.deadLetters += entries.length;
    });
    this.queue = next.catch(() => undefined);
    return next;
  }

  /** Run a query and return rows as plain objects (BIGINT becomes number where it is safe). */
  async all<T = Record<string, unknown>>(sql: string, params?: Record<string, DuckDBValue>): Promise<T[]> {
    const reader = await this.connection.runAndReadAll(sql, params as never);
    return reader.getRowObjectsJS().map(normaliseRow) as T[];
  }

  /** Row count of a table (0 when it does not exist yet). */
  async count(table: string): Promise<number> {
    const exists = await this.all<{ n: number }>(`SELECT count(*)::INTEGER AS n FROM information_schema.tables WHERE table_name = '${table.replaceAll("'", "''")}'`);
    if (exists[0].n === 0) return 0;
    const rows = await this.all<{ n: number }>(`SELECT count(*)::BIGINT AS n FROM ${ident(table)}`);
    return Number(rows[0].n);
  }

  /** Names of the user tables (not the bookkeeping ones). */
  async tables(): Promise<string[]> {
    const rows = await this.all<{ table_name: string }>("SELECT table_name FROM information_schema.tables WHERE table_schema = 'main' ORDER BY table_name");
    return rows.map((r) => r.table_name).filter((t) => !t.startsWith('_'));
  }

  /** Export each table to `<dir>/<table>.parquet` (ZSTD); returns the files written. */
  async exportParquet(dir: string, tables?: readonly string[]): Promise<{ table: string; file: string; rows: number }[]> {
    const names = tables ?? (await this.tables());
    const out: { table: string; file: string; rows: number }[] = [];
    for (const table of names) {
      const file = `${dir}/${table}.parquet`;
      await this.connection.run(`COPY ${ident(table)} TO '${file.replaceAll("'", "''")}' (FORMAT parquet, COMPRESSION zstd)`);
      out.push({ table, file, rows: await this.count(table) });
    }
    return out;
  }

  /** Wait for pending writes, checkpoint and close. */
  async close(): Promise<void> {
    await this.queue;
    if (!this.readOnly) await this.connection.run('CHECKPOINT').catch(() => undefined);
    this.closeSync();
  }

  private closeSync(): void {
    this.connection.closeSync();
    this.instance.closeSync();
  }
}

/** Open a store: `const store = await openStore('site.duckdb')`. */
export function openStore(path: string, options?: StoreOptions): Promise<Store> {
  return Store.open(path, options);
}

function tableName(key: string, batch: RecordBatch): string {
  return batch.schema.metadata.get('heir.table') ?? key;
}

function normaliseRow(row: Record<string, unknown>): Record<string, unknown> {
  for (const key of Object.keys(row)) {
    const v = row[key];
    if (typeof v === 'bigint' && v <= BigInt(Number.MAX_SAFE_INTEGER) && v >= BigInt(Number.MIN_SAFE_INTEGER)) row[key] = Number(v);
  }
  return row;
}
