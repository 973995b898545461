/**
 * The internal entry, for tests, benchmarks and notebooks: the public API plus the building
 * blocks behind it (as nats.js keeps `internal_mod.ts` beside `mod.ts`). Nothing here is promised
 * to stay.
 */
export * from './mod.ts';
export * from './internal-forest.ts';
export { batchFromColumns, batchFromRows, rowsOf, arrowSchema, type ColumnSpec } from './columns.ts';
export { encodeTables, decodeTables } from './ipc.ts';
export { appendBatch } from './arrow-to-duckdb.ts';
export { syntheticSource } from './synthetic-source.ts';
export { seededRandom, type Random } from './random.ts';
export { incidents } from './incidents.ts';
export { warn, warningCount, recentWarnings, setWarningSink, resetWarnings } from './warn.ts';
