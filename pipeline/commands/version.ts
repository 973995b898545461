import { readFileSync } from 'node:fs';
import type { Command } from '../command.ts';
import { FLOW_SCHEMA_VERSION } from '../flow-schema.ts';

function versionOf(path: string): string {
  return (JSON.parse(readFileSync(new URL(path, import.meta.url), 'utf8')) as { version: string }).version;
}

/** `heir version`: product, schema and component versions. */
export const command: Command = {
  name: 'version',
  summary: 'print the versions of HEIR, its flow schema and its components',
  usage: 'usage: heir version\n\nPrints the HEIR version, the flow schema version and the versions of Node.js, Arrow and DuckDB.',
  async run() {
    const lines = [
      `heir ${versionOf('../../package.json')}`,
      `flow schema v${FLOW_SCHEMA_VERSION}`,
      `node ${process.version}`,
      `apache-arrow ${versionOf('../../node_modules/apache-arrow/package.json')}`,
      `@duckdb/node-api ${versionOf('../../node_modules/@duckdb/node-api/package.json')}`,
    ];
    process.stdout.write(lines.join('\n') + '\n');
    return 0;
  },
};
