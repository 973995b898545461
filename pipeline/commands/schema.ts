import type { Command } from '../command.ts';
import { parseArgs } from '../command.ts';

/** `heir schema`: the flow schema, as Markdown or JSON. */
export const command: Command = {
  name: 'schema',
  summary: 'print flow schema v1 (Markdown with --markdown, JSON otherwise)',
  usage: 'usage: heir schema [--markdown]\n\nPrints the flow schema every source is parsed into: column, type, nullability and meaning.\nWithout --markdown: one JSON object per column.',
  async run(argv) {
    const args = parseArgs('schema', argv, { markdown: 'boolean' });
    if (args.flags.markdown) {
      const { flowSchemaMarkdown } = await import('../schema-doc.ts');
      process.stdout.write(flowSchemaMarkdown());
    } else {
      const { FLOW_COLUMNS } = await import('../flow-schema.ts');
      for (const c of FLOW_COLUMNS) process.stdout.write(JSON.stringify(c) + '\n');
    }
    return 0;
  },
};
