import type { Command } from '../command.ts';
import { parseArgs, stringFlag, usageError } from '../command.ts';

const USAGE = `usage: heir inventory import --db FILE [--site SITE] [--mds2 FILE] INVENTORY

Imports a device inventory (CSV with a header line, or JSON: a list of devices) into the site's
DuckDB store. Fields: asset_id, address, mac, make, model, version (firmware/software), clinical_function,
criticality (life-sustaining, therapy, diagnosis, monitoring, workflow, non-clinical), location, segment,
and in JSON an "mds2" object {question id: answer}. --mds2 adds MDS2 answers from a CSV
(asset_id,question_id,answer[,note]) or JSON ({asset_id: {question id: answer}}).
Re-importing the same file adds nothing; a changed file replaces each asset's entry.
Errors name the file, the line (or JSON item) and the field.`;

/** \`heir inventory import\`: import a device inventory and MDS2 answers. */
export const command: Command = {
  name: 'inventory',
  summary: 'import a device inventory (CSV/JSON) and MDS2 answers into a site store',
  usage: USAGE,
  async run(argv) {
    const [verb, ...rest] = argv;
    if (verb !== 'import') usageError('inventory', verb === undefined ? 'missing sub-command (import)' : `unknown sub-command ${verb}`);
    const args = parseArgs('inventory', rest, { db: 'string', site: 'string', mds2: 'string' });
    const db = stringFlag(args, 'db') ?? usageError('inventory', '--db FILE is required');
    if (args.positionals.length !== 1) usageError('inventory', 'give exactly one inventory file');
    const file = args.positionals[0];
    const site = stringFlag(args, 'site', 'site')!;
    const { readInventory } = await import('../../knowledge/inventory-file.ts');
    const devices = readInventory(file, stringFlag(args, 'mds2'));
    const { createHash } = await import('node:crypto');
    const { readFileSync } = await import('node:fs');
    const { inventoryBatch } = await import('../../operators/devices-schema.ts');
    const hash = createHash('sha1').update(readFileSync(file));
    const mds2 = stringFlag(args, 'mds2');
    if (mds2) hash.update(readFileSync(mds2));
    const digest = hash.digest('hex').slice(0, 16);
    const now = Date.now() * 1000;
    const batch = inventoryBatch(devices.map((d) => ({
      asset_id: d.asset_id, site_id: site, address: d.address, mac: d.mac, make: d.make, vendor: d.vendor, model: d.model, version: d.version,
      clinical_function: d.clinical_function, criticality: d.criticality, location: d.location, segment: d.segment,
      mds2: Object.keys(d.mds2).length > 0 ? JSON.stringify(d.mds2) : null, source_file: file, source_line: d.line, imported_at: now,
    })));
    const { openStore } = await import('../store.ts');
    const store = await openStore(db);
    try {
      const fresh = await store.write(`inventory:${site}:${digest}`, { inventory: batch });
      process.stdout.write(fresh ? `imported ${devices.length} devices from ${file}${mds2 ? ` with MDS2 answers from ${mds2}` : ''}\n` : `${file} was already imported (no change)\n`);
      return 0;
    } finally {
      await store.close();
    }
  },
};
