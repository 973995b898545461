/**
 * Where a gateway puts sensor batches: onto the bus (NATS JetStream: the publish acknowledgement is
 * the durable acceptance, and the batch id is the Nats-Msg-Id, so a resend is deduplicated) or
 * through the in-process pipeline into the DuckDB store (the store commit is the acceptance, and
 * the store adds nothing for a batch id it has seen).
 */
import { deadLetterBatch } from '../dead-letters.ts';
import { InputError } from '../errors.ts';
import { encodeTables } from '../ipc.ts';
import type { Runner } from '../runner.ts';
import type { Bus, DeadLetter, Tables } from '../types.ts';
import type { GatewaySink } from './EdgeGateway.ts';

/**
 * Publish batches on `subject`. Refused messages travel the same subject as a `dead_letters`
 * table (as parse dead letters do), so the worker keeps them in the store with the reason.
 * `accept` reports every batch as new: the bus deduplicates and counts duplicates itself.
 */
export function busGatewaySink(bus: Bus, subject: string, options: { maxPayload?: number } = {}): GatewaySink {
  // The server's own limit (nats-server announces max_payload when the client connects).
  const maxPayload = options.maxPayload ?? bus.maxPayload;
  return {
    async accept(id, frame) {
      // The bus would refuse it on every resend: refuse it once, with the remedy.
      if (frame.length > maxPayload) throw new InputError(id, `frame of ${frame.length} bytes exceeds the bus limit of ${maxPayload} bytes (send smaller batches: heir sensor --batch)`);
      await bus.publish(subject, id, frame);
      return true;
    },
    async reject(id: string, entry: DeadLetter) {
      await bus.publish(subject, id, encodeTables({ dead_letters: deadLetterBatch([entry]) }));
    },
  };
}

/** Run the fused operator chain and store each batch in one transaction (the runner's `process`). */
export function storeGatewaySink(runner: Runner): GatewaySink {
  return {
    accept(id: string, _frame: Uint8Array, tables: Tables) {
      return runner.process(id, tables);
    },
    async reject(id: string, entry: DeadLetter) {
      await runner.process(id, { dead_letters: deadLetterBatch([entry]) });
    },
  };
}
