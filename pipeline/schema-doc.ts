/** docs/flow-schema.md, generated from the one declaration of the flow schema. */
import { DUCK_TYPE } from './columns.ts';
import { FLOW_COLUMNS, FLOW_SCHEMA_VERSION } from './flow-schema.ts';

const ARROW_TYPE = { utf8: 'Utf8', f64: 'Float64', i32: 'Int32', bool: 'Bool', ts: 'Timestamp(µs, UTC)' } as const;

/** The flow schema as a Markdown document. */
export function flowSchemaMarkdown(): string {
  const rows = FLOW_COLUMNS.map((c) => `| \`${c.name}\` | ${ARROW_TYPE[c.kind]} | ${DUCK_TYPE[c.kind]} | ${c.nullable ? 'yes' : 'no'} | ${c.doc.replaceAll('|', '\\|')} |`);
  return [
    `# Flow schema v${FLOW_SCHEMA_VERSION}`,
    '',
    'Every source HEIR reads (pcap and pcapng through its own flow assembler, IPFIX / NetFlow v5 / v9,',
    'Argus, Zeek, Suricata EVE, CICIoMT2024 and WUSTL-EHMS CSV) is parsed into Apache Arrow record batches',
    'of this one schema. It is declared once, in `pipeline/flow-schema.ts`; this page is generated from it',
    '(`npx heir schema --markdown > docs/flow-schema.md`, and a test checks that the two agree).',
    '',
    '- The Arrow schema carries `heir.table = flows` and `heir.version` in its metadata; the DuckDB table',
    '  `flows` has the same columns. A version that removes or retypes a column bumps the version and adds',
    '  a store migration; new nullable columns are added to existing stores automatically.',
    '- Timestamps are UTC with microsecond precision. In TypeScript rows and in `--json` output they are',
    '  epoch microseconds (numbers); Arrow\'s `Vector.get()` returns epoch milliseconds.',
    '- Direction: the initiator (`src_*`, `fwd_*`) is the side that sent the first packet seen (the SYN',
    '  sender for TCP where the handshake was captured); `bwd_*` is the responder.',
    '- Counts are Float64 so that long-lived flows (PACS links, monitors) never overflow; they hold integers.',
    '- Secrets never enter the schema: a cleartext password is kept only as its SHA-256',
    '  (`login_secret_sha256`), which lets the hunt rules recognise known default credentials.',
    '- Dataset feature columns that have no column here ride along in `features` (a JSON object).',
    '',
    '| column | Arrow | DuckDB | nullable | meaning |',
    '|---|---|---|---|---|',
    ...rows,
    '',
  ].join('\n');
}
