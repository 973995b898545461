/**
 * The DuckDB store: one file per site. Every write is a whole batch in one transaction together
 * with its batch id, so a redelivered batch adds nothing and a crash before the commit loses
 * nothing. Tables are created from the Arrow schemas that arrive (metadata `heir.table`), and
 * grow new columns by migration when a schema version adds some.
 *
 * Sparse columns. DuckDB's append and commit cost is per column, nulls included, and most of a
 * flow's columns are protocol facts that are null unless the flow spoke that protocol. A field
 * whose Arrow metadata names a family (`heir.sparse`, set in flow-schema.ts for the TLS, HTTP,
 * HL7, DICOM, MQTT, login, SMB and DNS facts) is therefore stored apart:
 *   - `_<table>__core` holds the other columns of every row, and `_<table>__<family>` the
 *     family's columns of only the rows that have a value in it; each row carries a hidden key
 *     `_row` that the store assigns (the store is its file's single writer, so a counter that
 *     starts after the largest key at open is safe);
 *   - a view under the table's own name joins them back (LEFT JOIN … USING (_row)) with exactly
 *     the table's columns in their order, so every reader, `heir export` and SQL see one table;
 *   - all parts of a batch are written in the transaction of its batch id;
 *   - a new column goes to its part (a new family gets a new side table) and the view is made
 *     again; a table stored whole by an older store is split when opened for writing.
 * Tables without sparse fields are stored whole under their name.
 */
import { DuckDBConnection, DuckDBInstance, DuckDBTimestampTZValue, type DuckDBAppender, type DuckDBValue } from '@duckdb/node-api';
import type { Field, RecordBatch } from 'apache-arrow';
import { appendBatch, duckTypeName, rowsWithValues, type BatchPart } from './arrow-to-duckdb.ts';
import { SPARSE_METADATA } from './columns.ts';
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

/** The part of a table that holds its non-sparse columns (the whole table when it is not split). */
const CORE = 'core';

/** One stored table: a whole table, the core of a split one, or one of its side tables. */
interface Part {
  readonly table: string;
  /** Its columns, without the row key. */
  readonly columns: string[];
}

/** How one table is stored. */
interface Layout {
  /** Column name → DuckDB type, in the table's order. */
  readonly columns: Map<string, string>;
  /** Column name → the family of the part that holds it (CORE or a sparse family). */
  readonly family: Map<string, string>;
  /** Family → part. A whole table has only its CORE part, under the table's own name. */
  readonly parts: Map<string, Part>;
  /** Split into parts behind a view, joined by the row key. */
  readonly split: boolean;
  /** Row key of the next row written (split tables). */
  nextKey: number;
}

/** Options of `openStore`. */
export interface StoreOptions {
  /** Open without write access (reading commands). */
  readonly readOnly?: boolean;
  /**
   * DuckDB's threads. A store opened for writing uses one unless told otherwise: its work is one
   * connection's appends and commits, which run on the calling thread, and a second DuckDB thread
   * only waited on its task queue's locks (10–15 % more CPU for the same writes). Reading stores
   * keep DuckDB's default (one per core) for their queries.
   */
  readonly threads?: number;
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
  // The layout of every table seen.
  private readonly layouts = new Map<string, Layout>();
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
      const threads = options.threads ?? (options.readOnly ? undefined : 1);
      instance = await DuckDBInstance.create(path, { ...(options.readOnly ? { access_mode: 'READ_ONLY' } : {}), ...(threads ? { threads: String(threads) } : {}) });
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
      await this.inTransaction(async () => {
        await this.connection.run(MIGRATIONS[v]);
        await this.connection.run(`INSERT INTO _heir_migrations (version) VALUES (${v + 1})`);
      });
    }
  }

  /**
   * Create a table from Arrow fields (split when some are sparse), or add the columns a newer
   * schema version brought, each to its part.
   */
  async ensureTable(table: string, fields: readonly Field[]): Promise<void> {
    const layout = this.layouts.get(table) ?? (await this.loadLayout(table, fields));
    let grown = false;
    for (const f of fields) {
      const want = duckTypeName(f);
      const have = layout.columns.get(f.name);
      if (have === undefined) {
        const family = layout.split ? sparseFamily(f) : CORE;
        let part = layout.parts.get(family);
        if (!part) {
          part = { table: partName(table, family), columns: [] };
          await this.connection.run(`CREATE TABLE ${ident(part.table)} (_row BIGINT NOT NULL)`);
          layout.parts.set(family, part);
        }
        await this.connection.run(`ALTER TABLE ${ident(part.table)} ADD COLUMN ${ident(f.name)} ${want}`);
        part.columns.push(f.name);
        layout.columns.set(f.name, want);
        layout.family.set(f.name, family);
        grown = true;
      } else if (have !== want) {
        throw new HeirError(ErrorCode.SCHEMA_MISMATCH, `table ${table} column ${f.name} is ${have} in ${this.path}, the batch has ${want}`);
      }
    }
    if (grown && layout.split) await this.createView(table, layout);
  }

  /** Read how a table is stored, creating it (or splitting a whole one that now has sparse fields). */
  private async loadLayout(table: string, fields: readonly Field[]): Promise<Layout> {
    const sparse = fields.some((f) => sparseFamily(f) !== CORE);
    const kind = (await this.all<{ table_type: string }>(`SELECT table_type FROM information_schema.tables WHERE table_schema = 'main' AND table_name = ${literal(table)}`))[0]?.table_type;
    let layout: Layout;
    if (kind === undefined) {
      layout = sparse ? await this.createSplit(table, fields) : await this.createWhole(table, fields);
    } else if (kind === 'VIEW') {
      layout = await this.readSplit(table);
    } else {
      const columns = await this.columnsOf(table);
      layout = sparse ? await this.splitWhole(table, columns, fields) : wholeLayout(table, columns);
    }
    this.layouts.set(table, layout);
    return layout;
  }

  private async createWhole(table: string, fields: readonly Field[]): Promise<Layout> {
    await this.connection.run(`CREATE TABLE IF NOT EXISTS ${ident(table)} (${fields.map((f) => columnDdl(f)).join(', ')})`);
    return wholeLayout(table, fields.map((f) => ({ name: f.name, type: duckTypeName(f) })));
  }

  /** Run `work` in one transaction: committed when it resolves, rolled back when it throws. */
  private async inTransaction(work: () => Promise<void>): Promise<void> {
    await this.connection.run('BEGIN TRANSACTION');
    try {
      await work();
      await this.connection.run('COMMIT');
    } catch (error) {
      await this.connection.run('ROLLBACK').catch(() => undefined);
      throw error;
    }
  }

  private async createSplit(table: string, fields: readonly Field[]): Promise<Layout> {
    const layout = splitLayout(table, fields.map((f) => ({ name: f.name, type: duckTypeName(f), family: sparseFamily(f) })));
    await this.inTransaction(async () => {
      for (const [family, part] of layout.parts) {
        const ddl = part.columns.map((name) => columnDdl(fields.find((f) => f.name === name)!, family !== CORE));
        await this.connection.run(`CREATE TABLE ${ident(part.table)} (_row BIGINT NOT NULL, ${ddl.join(', ')})`);
      }
      await this.createView(table, layout);
    });
    return layout;
  }

  /**
   * Store migration from the whole layout: a table written by an older store, whose schema now
   * has sparse fields, is split into its parts (row keys from the table's row ids) in one
   * transaction, and the view takes its name.
   */
  private async splitWhole(table: string, columns: readonly StoredColumn[], fields: readonly Field[]): Promise<Layout> {
    const families = new Map(fields.map((f) => [f.name, sparseFamily(f)]));
    const layout = splitLayout(table, columns.map((c) => ({ ...c, family: families.get(c.name) ?? CORE })));
    const byName = new Map(columns.map((c) => [c.name, c]));
    await this.inTransaction(async () => {
      for (const [family, part] of layout.parts) {
        const ddl = part.columns.map((name) => `${ident(name)} ${byName.get(name)!.type}${family === CORE && !byName.get(name)!.nullable ? ' NOT NULL' : ''}`);
        await this.connection.run(`CREATE TABLE ${ident(part.table)} (_row BIGINT NOT NULL, ${ddl.join(', ')})`);
        const list = part.columns.map(ident).join(', ');
        const where = family === CORE ? '' : ` WHERE ${part.columns.map((c) => `${ident(c)} IS NOT NULL`).join(' OR ')}`;
        await this.connection.run(`INSERT INTO ${ident(part.table)} SELECT rowid, ${list} FROM ${ident(table)}${where}`);
      }
      layout.nextKey = Number((await this.all<{ n: number }>(`SELECT coalesce(max(rowid) + 1, 0) AS n FROM ${ident(table)}`))[0].n);
      await this.connection.run(`DROP TABLE ${ident(table)}`);
      await this.createView(table, layout);
    });
    return layout;
  }

  /** The layout of a split table: the column order from its view, the parts from their tables. */
  private async readSplit(table: string): Promise<Layout> {
    const prefix = partName(table, '');
    const stored = await this.all<{ table_name: string; column_name: string; data_type: string; is_nullable: string }>(
      `SELECT table_name, column_name, data_type, is_nullable FROM information_schema.columns WHERE table_schema = 'main' AND (table_name = ${literal(table)} OR starts_with(table_name, ${literal(prefix)})) ORDER BY table_name, ordinal_position`,
    );
    const layout: Layout = { columns: new Map(), family: new Map(), parts: new Map(), split: true, nextKey: 0 };
    for (const c of stored) {
      if (c.table_name === table || c.column_name === '_row') continue;
      const family = c.table_name.slice(prefix.length);
      let part = layout.parts.get(family);
      if (!part) layout.parts.set(family, (part = { table: c.table_name, columns: [] }));
      part.columns.push(c.column_name);
      layout.family.set(c.column_name, family);
    }
    for (const c of stored) if (c.table_name === table) layout.columns.set(c.column_name, storedColumn(c).type);
    const [core] = await this.all<{ n: number }>(`SELECT coalesce(max(_row) + 1, 0) AS n FROM ${ident(partName(table, CORE))}`);
    layout.nextKey = Number(core.n);
    return layout;
  }

  /** True when a table is stored split (a view over its parts), also in a read-only store. */
  private async isSplit(table: string): Promise<boolean> {
    const rows = await this.all<{ n: number }>(`SELECT count(*)::INTEGER AS n FROM information_schema.tables WHERE table_schema = 'main' AND table_name = ${literal(partName(table, CORE))}`);
    return rows[0].n > 0;
  }

  private async columnsOf(table: string): Promise<StoredColumn[]> {
    const rows = await this.all<{ column_name: string; data_type: string; is_nullable: string }>(
      `SELECT column_name, data_type, is_nullable FROM information_schema.columns WHERE table_schema = 'main' AND table_name = ${literal(table)} ORDER BY ordinal_position`,
    );
    return rows.map(storedColumn);
  }

  /** (Re)create the view that joins a split table's parts back, with its columns in order. */
  private async createView(table: string, layout: Layout): Promise<void> {
    await this.connection.run(`CREATE OR REPLACE VIEW ${ident(table)} AS ${joinedSql(layout)}`);
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
      // One turn of the event loop first: writes that arrive together (a pull of messages, the
      // messages queued for the store's thread) join one group instead of the first going alone.
      .then(nextTurn)
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
      // One appender per stored table for the whole group, flushed once before the commit.
      const appenders = new Map<string, DuckDBAppender>();
      try {
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
            await this.appendTable(table, batch, appenders);
            count += batch.numRows;
          }
          rows.push({ id: w.batchId, tables: entries.map(([name, b]) => `${tableName(name, b)}:${b.numRows}`).join(','), rows: count });
          fresh.push(true);
        }
        for (const appender of appenders.values()) appender.flushSync();
      } finally {
        for (const appender of appenders.values()) appender.closeSync();
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
   * Append one batch inside the open transaction, each part to its table: the core gets every
   * row, a side table only the rows with a value in its family, all under the same row keys.
   */
  private async appendTable(table: string, batch: RecordBatch, appenders?: Map<string, DuckDBAppender>): Promise<void> {
    const layout = this.layouts.get(table)!;
    const names = batch.schema.fields.map((f) => f.name);
    const firstKey = layout.split ? layout.nextKey : undefined;
    for (const [family, part] of layout.parts) {
      const columns = names.flatMap((name, i) => (layout.family.get(name) === family ? [i] : []));
      if (family !== CORE && columns.length === 0) continue;
      const rows = family === CORE ? undefined : rowsWithValues(batch, columns);
      if (rows?.length === 0) continue;
      await this.appendPart(part, batch, { columns, rows, firstKey }, appenders);
    }
    if (layout.split) layout.nextKey += batch.numRows;
  }

  /**
   * The appender fills a table's columns in table order; a batch whose columns differ (an older
   * schema version, a table that grew columns) goes through a staging table and an INSERT by
   * column name instead. With `appenders`, a direct append goes to the table's open appender,
   * which the caller flushes; without, it is flushed here.
   */
  private async appendPart(part: Part, batch: RecordBatch, rows: BatchPart & { columns: readonly number[] }, appenders?: Map<string, DuckDBAppender>): Promise<void> {
    const fields = rows.columns.map((i) => batch.schema.fields[i]);
    const direct = part.columns.length === fields.length && part.columns.every((n, i) => n === fields[i].name);
    if (direct && appenders) {
      let appender = appenders.get(part.table);
      if (!appender) appenders.set(part.table, (appender = await this.connection.createAppender(part.table)));
      appendBatch(appender, batch, rows);
      return;
    }
    const keyed = rows.firstKey !== undefined;
    const target = direct ? part.table : `_stage_${part.table}`;
    if (!direct) {
      const ddl = [...(keyed ? ['_row BIGINT'] : []), ...fields.map((f) => columnDdl(f, true))].join(', ');
      await this.connection.run(`CREATE OR REPLACE TEMP TABLE ${ident(target)} (${ddl})`);
    }
    const appender = await this.connection.createAppender(target, direct ? null : 'main', direct ? null : 'temp');
    try {
      appendBatch(appender, batch, rows);
      appender.flushSync();
    } finally {
      appender.closeSync();
    }
    if (!direct) {
      const list = [...(keyed ? ['_row'] : []), ...fields.map((f) => f.name)].map(ident).join(', ');
      await this.connection.run(`INSERT INTO ${ident(part.table)} (${list}) SELECT ${list} FROM ${ident(target)}`);
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
    // A split table has as many rows as its core (the view joins nothing else in).
    const stored = (await this.isSplit(table)) ? partName(table, CORE) : table;
    const rows = await this.all<{ n: number }>(`SELECT count(*)::BIGINT AS n FROM ${ident(stored)}`);
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
      // A split table is exported in the order its rows were written (its view has no order).
      const layout = this.layouts.get(table) ?? (await this.isSplit(table) ? await this.readSplit(table) : undefined);
      const rows = layout?.split ? `(${joinedSql(layout)} ORDER BY _row)` : ident(table);
      await this.connection.run(`COPY ${rows} TO ${literal(file)} (FORMAT parquet, COMPRESSION zstd)`);
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

interface StoredColumn {
  readonly name: string;
  readonly type: string;
  readonly nullable: boolean;
}

/** A column as information_schema describes it (types in the spelling of duckTypeName). */
function storedColumn(row: { column_name: string; data_type: string; is_nullable: string }): StoredColumn {
  const type = row.data_type.toUpperCase();
  return { name: row.column_name, type: type === 'TIMESTAMP WITH TIME ZONE' ? 'TIMESTAMPTZ' : type, nullable: row.is_nullable !== 'NO' };
}

/** Column DDL of an Arrow field; `nullable` drops NOT NULL (side and staging tables). */
function columnDdl(field: Field, nullable = false): string {
  return `${ident(field.name)} ${duckTypeName(field)}${field.nullable || nullable ? '' : ' NOT NULL'}`;
}

/** The family a field's metadata gives it, or CORE. */
function sparseFamily(field: Field): string {
  return field.metadata.get(SPARSE_METADATA) ?? CORE;
}

/** Name of a split table's part: `_flows__core`, `_flows__tls`, … */
function partName(table: string, family: string): string {
  return `_${table}__${family}`;
}

function wholeLayout(table: string, columns: readonly { name: string; type: string }[]): Layout {
  const names = columns.map((c) => c.name);
  return {
    columns: new Map(columns.map((c) => [c.name, c.type])),
    family: new Map(names.map((n) => [n, CORE])),
    parts: new Map([[CORE, { table, columns: names }]]),
    split: false,
    nextKey: 0,
  };
}

/** The layout of a split table whose columns (in order) carry their family; parts in family order of appearance. */
function splitLayout(table: string, columns: readonly { name: string; type: string; family: string }[]): Layout {
  const parts = new Map<string, Part>([[CORE, { table: partName(table, CORE), columns: [] }]]);
  for (const c of columns) {
    let part = parts.get(c.family);
    if (!part) parts.set(c.family, (part = { table: partName(table, c.family), columns: [] }));
    part.columns.push(c.name);
  }
  return { columns: new Map(columns.map((c) => [c.name, c.type])), family: new Map(columns.map((c) => [c.name, c.family])), parts, split: true, nextKey: 0 };
}

/** The rows of a split table: its core joined with every side table on the row key, the table's columns in order. */
function joinedSql(layout: Layout): string {
  const joins = [...layout.parts].filter(([family]) => family !== CORE).map(([, part]) => ` LEFT JOIN ${ident(part.table)} USING (_row)`);
  return `SELECT ${[...layout.columns.keys()].map(ident).join(', ')} FROM ${ident(layout.parts.get(CORE)!.table)}${joins.join('')}`;
}

function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

function literal(text: string): string {
  return `'${text.replaceAll("'", "''")}'`;
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
