/**
 * Flow rows accumulated column by column for Arrow: each column is appended by name in code
 * (static property access, no row object), not by looping over the schema with dynamic keys,
 * which made the generic builder a visible share of pcap ingest time.
 */
import type { RecordBatch } from 'apache-arrow';
import { batchFromColumns } from '../../pipeline/columns.ts';
import { FLOW_COLUMNS, FLOW_SCHEMA, type FlowArrow, type FlowColumn, type FlowRow } from '../../pipeline/flow-schema.ts';
import type { EndReason, Flow } from './flow-assembler.ts';
import { writeFlowRecord } from './flow-record.ts';

/** One array per flow-schema column. */
export type FlowColumnArrays = { [K in FlowColumn]: FlowRow[K][] };

function emptyColumns(): FlowColumnArrays {
  const c: Record<string, unknown[]> = {};
  for (const col of FLOW_COLUMNS) c[col.name] = [];
  return c as FlowColumnArrays;
}

/** Accumulates complete flow rows and cuts flow-schema record batches. */
export class FlowColumns {
  private c: FlowColumnArrays = emptyColumns();
  private n = 0;

  /** Rows held. */
  get size(): number {
    return this.n;
  }

  /** Append the row of an assembled flow ended for `reason`. */
  appendFlow(flow: Flow, reason: EndReason, site: string, sensor: string): void {
    writeFlowRecord(this.c, flow, reason, site, sensor);
    this.n++;
  }

  /** The held rows as one batch; the builder starts afresh. */
  build(): RecordBatch<FlowArrow> {
    const batch = batchFromColumns(FLOW_SCHEMA, FLOW_COLUMNS, this.c, this.n) as RecordBatch<FlowArrow>;
    this.c = emptyColumns();
    this.n = 0;
    return batch;
  }
}
