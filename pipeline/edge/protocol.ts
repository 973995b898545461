/**
 * The wire protocol between an edge sensor and a site gateway over ZeroMQ (DEALER → ROUTER on one
 * TCP connection). See docs/edge.md.
 *
 *   batch: [ "heir-edge/1", batch id (UTF-8), frame (pipeline/ipc.ts encodeTables) ]
 *   ack:   [ "heir-ack/1",  batch id (UTF-8), status ("stored" | "duplicate" | "dead-letter") ]
 *
 * The ROUTER sees each message with the sender's routing id in front and answers to it.
 */

/** First part of a batch message. */
export const BATCH_MAGIC = 'heir-edge/1';
/** First part of an acknowledgement. */
export const ACK_MAGIC = 'heir-ack/1';
/** Longest batch id accepted, in bytes. */
export const MAX_ID_BYTES = 1024;

/** What the gateway did with a batch once the bus or store had durably accepted it. */
export type AckStatus = 'stored' | 'duplicate' | 'dead-letter';
const STATUSES: readonly string[] = ['stored', 'duplicate', 'dead-letter'];

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

/** The parts of a batch message. */
export function batchMessage(id: string, frame: Uint8Array): Uint8Array[] {
  return [encoder.encode(BATCH_MAGIC), encoder.encode(id), frame];
}

/** The parts of an acknowledgement. */
export function ackMessage(id: string, status: AckStatus): Uint8Array[] {
  return [encoder.encode(ACK_MAGIC), encoder.encode(id), encoder.encode(status)];
}

/** A batch message as read by the gateway, or why it is not one. */
export type ReadBatch = { ok: true; id: string; frame: Uint8Array } | { ok: false; id?: string; reason: string };

/** Read the parts of a batch message (without the ROUTER's routing id). */
export function readBatch(parts: readonly Uint8Array[]): ReadBatch {
  if (parts.length === 0) return { ok: false, reason: 'empty message' };
  const magic = text(parts[0], 64);
  if (magic !== BATCH_MAGIC) {
    return { ok: false, reason: `not a batch message: first part is ${magic === undefined ? `${parts[0].length} bytes that are not a protocol tag` : JSON.stringify(magic)}, expected "${BATCH_MAGIC}" (${parts.length} part${parts.length === 1 ? '' : 's'})` };
  }
  const id = parts.length >= 2 ? text(parts[1], MAX_ID_BYTES) : undefined;
  if (parts.length !== 3) return { ok: false, id, reason: `batch message has ${parts.length} parts, expected 3 (tag, batch id, frame)` };
  if (id === undefined || id.length === 0) return { ok: false, reason: `batch id is not UTF-8 text of 1 to ${MAX_ID_BYTES} bytes (${parts[1].length} bytes)` };
  return { ok: true, id, frame: parts[2] };
}

/** An acknowledgement as read by the sensor; undefined when the message is not one. */
export function readAck(parts: readonly Uint8Array[]): { id: string; status: AckStatus } | undefined {
  if (parts.length !== 3 || text(parts[0], 64) !== ACK_MAGIC) return undefined;
  const id = text(parts[1], MAX_ID_BYTES);
  const status = text(parts[2], 32);
  if (id === undefined || status === undefined || !STATUSES.includes(status)) return undefined;
  return { id, status: status as AckStatus };
}

function text(bytes: Uint8Array, max: number): string | undefined {
  if (bytes.length > max) return undefined;
  try {
    return decoder.decode(bytes);
  } catch {
    return undefined;
  }
}
