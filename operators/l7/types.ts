/**
 * Application-layer (L7) inspection: each protocol is one dissector that recognises its protocol
 * from the first payload bytes of a flow (never from the port alone) and fills flow-schema facts.
 */
import type { FlowRow } from '../../pipeline/flow-schema.ts';

/** The first payload bytes of a flow, each way, as seen in order (TCP) or the first datagram (UDP). */
export interface L7Streams {
  /** Initiator to responder. */
  readonly fwd: Uint8Array;
  /** Responder to initiator. */
  readonly bwd: Uint8Array;
  /** IP protocol: 6 or 17. */
  readonly proto: number;
  readonly srcPort: number;
  readonly dstPort: number;
}

/** Facts a dissector may set: any nullable flow column. */
export type L7Facts = { -readonly [K in keyof FlowRow]?: FlowRow[K] };

/** One protocol. `match` must be cheap and reject foreign payloads; `facts` must never throw on garbage. */
export interface L7Dissector {
  /** Value of `l7_proto`. */
  readonly name: string;
  /** IP protocols it runs over. */
  readonly transports: readonly number[];
  match(streams: L7Streams): boolean;
  facts(streams: L7Streams, out: L7Facts): void;
}
