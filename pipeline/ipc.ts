/**
 * The bytes on the bus: named Arrow record batches as IPC streams in one frame
 * (`u32 count`, then per table `u16 name length, name, u32 IPC length, IPC stream`).
 */
import { RecordBatch, Table, tableFromIPC, tableToIPC } from 'apache-arrow';
import { InputError } from './errors.ts';
import type { Tables } from './types.ts';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Encode named batches as one message body. */
export function encodeTables(tables: Tables): Uint8Array {
  const parts: { name: Uint8Array; ipc: Uint8Array }[] = [];
  for (const [name, batch] of Object.entries(tables)) parts.push({ name: encoder.encode(name), ipc: tableToIPC(new Table(batch), 'stream') });
  const size = 4 + parts.reduce((n, p) => n + 2 + p.name.length + 4 + p.ipc.length, 0);
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  view.setUint32(0, parts.length);
  let o = 4;
  for (const p of parts) {
    view.setUint16(o, p.name.length);
    out.set(p.name, o + 2);
    o += 2 + p.name.length;
    view.setUint32(o, p.ipc.length);
    out.set(p.ipc, o + 4);
    o += 4 + p.ipc.length;
  }
  return out;
}

/** Decode a message body; a malformed frame is an InputError naming the message. */
export function decodeTables(data: Uint8Array, input: string): Tables {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const fail = (why: string): never => {
    throw new InputError(input, `malformed batch frame: ${why}`);
  };
  if (data.length < 4) fail('shorter than its header');
  const count = view.getUint32(0);
  if (count > 64) fail(`claims ${count} tables`);
  const tables: Record<string, RecordBatch> = {};
  let o = 4;
  for (let i = 0; i < count; i++) {
    if (o + 2 > data.length) fail('truncated table name');
    const nameLength = view.getUint16(o);
    if (o + 2 + nameLength + 4 > data.length) fail('truncated table name');
    const name = decoder.decode(data.subarray(o + 2, o + 2 + nameLength));
    o += 2 + nameLength;
    const length = view.getUint32(o);
    if (o + 4 + length > data.length) fail(`table ${name} claims ${length} bytes, ${data.length - o - 4} remain`);
    let table: Table;
    try {
      table = tableFromIPC(data.subarray(o + 4, o + 4 + length));
    } catch (error) {
      throw new InputError(input, `table ${name} is not an Arrow IPC stream`, { cause: error });
    }
    // encodeTables writes exactly one batch per table; an empty table has none.
    if (table.batches.length > 1) fail(`table ${name} holds ${table.batches.length} record batches, expected one`);
    tables[name] = table.batches[0] ?? new RecordBatch(table.schema);
    o += 4 + length;
  }
  return tables;
}
