import type { Command } from '../command.ts';
import { parseArgs, stringFlag, usageError } from '../command.ts';

const USAGE = `usage: heir devices --db FILE [--json] [--rules FILE]

Lists the devices of a site: discovered from traffic (address, MAC maker, protocols, services,
HL7 applications, DICOM AE titles, DHCP names, user agents, TLS server names, banners) merged with
the imported inventory (heir inventory import), each with its findings and the CISA medical
advisories and CVEs its make, model and version match (with confidence and evidence).

  --db FILE     the site's DuckDB store
  --json        one device per line as JSON
  --rules FILE  rule file for read-time findings (default: knowledge/rules.json)`;

/** \`heir devices\`: list devices. */
export const command: Command = {
  name: 'devices',
  summary: 'list devices (traffic + inventory) with their findings and matched advisories/CVEs',
  usage: USAGE,
  async run(argv) {
    const args = parseArgs('devices', argv, { db: 'string', json: 'boolean', rules: 'string' });
    const db = stringFlag(args, 'db') ?? usageError('devices', '--db FILE is required');
    const { existsSync } = await import('node:fs');
    const { UserError, ErrorCode } = await import('../errors.ts');
    if (!existsSync(db)) throw new UserError(ErrorCode.STORE_OPEN, `no such DuckDB file: ${db}`);
    const { loadRules } = await import('../../knowledge/rules.ts');
    const { loadKnowledgeBase } = await import('../../knowledge/kb.ts');
    const { openStore } = await import('../store.ts');
    const { readDevices } = await import('./_device-report.ts');
    const kb = loadKnowledgeBase();
    const rules = loadRules(stringFlag(args, 'rules'), kb);
    const store = await openStore(db, { readOnly: true });
    try {
      const devices = await readDevices(store, kb, rules);
      if (args.flags.json) {
        for (const d of devices) {
          const compact = { ...d, advisories: d.advisories.map((a) => ({ advisory: a.advisory, title: a.title, product: a.product, versions: a.versions, confidence: a.confidence, score: a.score, evidence: a.evidence, cves: a.cves.map((c) => ({ cve: c.cve, cvss3: c.cvss3_vector, cvss3_score: c.cvss3_score, cvss4: c.cvss4_vector, cvss4_score: c.cvss4_score, kev: c.kev !== null, ssvc: c.ssvc, fix_available: c.fix_available })) })) };
          process.stdout.write(JSON.stringify(compact) + '\n');
        }
        return 0;
      }
      if (devices.length === 0) {
        process.stdout.write('no devices\n');
        return 0;
      }
      for (const d of devices) {
        const inv = d.inventory;
        const name = inv ? [inv.make, inv.model, inv.version].filter(Boolean).join(' ') : d.mac_vendor ?? '';
        process.stdout.write(`${(d.address ?? inv?.asset_id ?? '?').padEnd(16)} ${(d.mac ?? '').padEnd(17)} ${name}${inv?.criticality ? ` [${inv.criticality}]` : ''}${inv?.location ? ` @ ${inv.location}` : ''}\n`);
        if (d.flows > 0) process.stdout.write(`    ${d.flows} flows ${d.first_seen} .. ${d.last_seen}; protocols ${d.protocols.join(',') || '-'}; services ${d.services.join(',') || '-'}; internet peers ${d.external_peers}\n`);
        for (const [k, v] of Object.entries(d.identities)) process.stdout.write(`    ${k}: ${v.join(' | ')}\n`);
        const bySeverity = new Map<string, number>();
        for (const f of d.findings) bySeverity.set(f.severity, (bySeverity.get(f.severity) ?? 0) + 1);
        if (d.findings.length > 0) process.stdout.write(`    findings: ${[...new Set(d.findings.map((f) => `${f.rule}(${f.severity})`))].join(', ')}\n`);
        for (const a of d.advisories) process.stdout.write(`    advisory ${a.advisory} [${a.confidence}] ${a.title}: ${a.cves.map((c) => c.cve + (c.kev ? ' (KEV)' : '')).join(', ')}\n`);
      }
      process.stdout.write(`${devices.length} devices\n`);
      return 0;
    } finally {
      await store.close();
    }
  },
};
