/**
 * The L7 facts of a flow into the flow columns of the same name. The dissectors fill one facts
 * object per thread, every fact column present from the start (undefined until set), so the object
 * keeps one shape from flow to flow; a writer generated once from the flow schema reads each fact
 * by name in code, sets its column when it holds a value, and clears it for the next flow. No key
 * enumeration, no column looked up by name, no facts object per flow.
 */
import { FLOW_COLUMNS } from '../../pipeline/flow-schema.ts';
import type { L7Facts } from '../l7/types.ts';
import type { ColumnStore } from './flow-columns.ts';

/** Columns the flow writer fills from the flow itself; every other column is an L7 fact column. */
export const FLOW_OWN: ReadonlySet<string> = new Set([
  'flow_id', 'community_id', 'site_id', 'sensor_id', 'source', 'ts_start', 'ts_end', 'duration_s', 'end_reason',
  'ip_version', 'src_addr', 'dst_addr', 'src_port', 'dst_port', 'ip_proto', 'src_mac', 'dst_mac', 'vlan_id',
  'fwd_packets', 'bwd_packets', 'fwd_bytes', 'bwd_bytes', 'fwd_payload_bytes', 'bwd_payload_bytes',
  'iat_min', 'iat_max', 'iat_mean', 'iat_std', 'pkt_len_min', 'pkt_len_max', 'pkt_len_mean', 'pkt_len_std',
  'ttl_min', 'ttl_max', 'tcp_flags_fwd', 'tcp_flags_bwd', 'syn_count', 'fin_count', 'rst_count', 'psh_count',
  'ack_count', 'urg_count', 'tls_cert_expired', 'link_type', 'label', 'label_category', 'features',
]);

/** The fact columns (l7_proto, tls_*, http_*, hl7_*, …) in schema order. */
export const FACT_SPECS = FLOW_COLUMNS.filter((c) => !FLOW_OWN.has(c.name));
/** Their names. */
export const FACT_COLUMNS: ReadonlySet<string> = new Set(FACT_SPECS.map((c) => c.name as string));

const IDENTIFIER = /^[a-z_][a-z0-9_]*$/;

/**
 * A maker of objects with the given keys, in that order, from their values: one object literal,
 * so V8 keeps the objects' properties in fast mode (an object given this many keys one by one
 * becomes a dictionary, and every property access a hash lookup), and every object it makes has
 * the same hidden class (make the maker once: each maker's objects have their own).
 */
export function literalMaker<T>(keys: readonly string[]): (values: readonly unknown[]) => T {
  for (const k of keys) if (!IDENTIFIER.test(k)) throw new Error(`${k} is not an identifier`);
  return new Function('v', `return { ${keys.map((k, i) => `${k}: v[${i}]`).join(', ')} };`) as (values: readonly unknown[]) => T;
}

const makeFacts = literalMaker<L7Facts>(FACT_SPECS.map((c) => c.name));

/** A facts object with every fact column present and undefined. */
export function emptyFacts(): L7Facts {
  return makeFacts(FACT_SPECS.map(() => undefined));
}

/**
 * `write(columns, row, facts)`: set each fact column of `row` whose fact holds a value (null and
 * undefined leave it null; text as `String(v)`, booleans as `Boolean(v)`, as `ColumnStore.setAny`
 * does) and set every fact back to undefined.
 */
function compileWriter(): (columns: Readonly<Record<string, ColumnStore>>, row: number, facts: L7Facts) => void {
  const lines = ['let v;'];
  for (const c of FACT_SPECS) {
    if (!IDENTIFIER.test(c.name)) throw new Error(`fact column name ${c.name} is not an identifier`);
    const set =
      c.kind === 'utf8'
        ? `c.${c.name}.setStr(i, typeof v === 'string' ? v : String(v))`
        : c.kind === 'bool'
          ? `c.${c.name}.setBool(i, Boolean(v))`
          : c.kind === 'i32'
            ? `c.${c.name}.setInt(i, v)`
            : `c.${c.name}.setNum(i, v)`;
    lines.push(`v = f.${c.name};`, `if (v !== undefined) { if (v !== null) ${set}; f.${c.name} = undefined; }`);
  }
  return new Function('c', 'i', 'f', lines.join('\n')) as (columns: Readonly<Record<string, ColumnStore>>, row: number, facts: L7Facts) => void;
}

export const writeFacts = compileWriter();
