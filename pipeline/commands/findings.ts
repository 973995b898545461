import type { Command } from '../command.ts';
import { parseArgs, stringFlag, usageError } from '../command.ts';

const USAGE = `usage: heir findings --db FILE [--json] [--rules FILE] [--severity LEVEL] [--device ADDR]
       heir findings --check-rules FILE

Lists the hunt findings stored in a site's DuckDB file, merged over batches (first/last seen,
flow counts), plus read-time findings: new services (baseline rules) and inventory devices named
in CISA medical advisories (advisory rules).

  --db FILE           the site's DuckDB store
  --json              one finding per line as JSON: rule, severity, device, evidence, taxonomy, …
  --rules FILE        rule file for the read-time rules (default: knowledge/rules.json)
  --severity LEVEL    only findings at this severity or above (info, low, medium, high, critical)
  --device ADDR       only findings about this device
  --check-rules FILE  validate a rule file and exit (0 when valid)`;

/** \`heir findings\`: list findings. */
export const command: Command = {
  name: 'findings',
  summary: 'list hunt findings (cleartext clinical data, weak auth, obsolete crypto, outdated software, exposure)',
  usage: USAGE,
  async run(argv) {
    const args = parseArgs('findings', argv, { db: 'string', json: 'boolean', rules: 'string', severity: 'string', device: 'string', 'check-rules': 'string' });
    const { loadRules, SEVERITIES } = await import('../../knowledge/rules.ts');
    const { loadKnowledgeBase } = await import('../../knowledge/kb.ts');
    const kb = loadKnowledgeBase();
    const check = stringFlag(args, 'check-rules');
    if (check) {
      const set = loadRules(check, kb);
      process.stdout.write(`${check}: ${set.rules.length} rules valid\n`);
      return 0;
    }
    const db = stringFlag(args, 'db') ?? usageError('findings', '--db FILE is required');
    const severity = stringFlag(args, 'severity');
    if (severity !== undefined && !(SEVERITIES as readonly string[]).includes(severity)) usageError('findings', `invalid --severity: ${severity} (expected ${SEVERITIES.join(', ')})`);
    const rules = loadRules(stringFlag(args, 'rules'), kb);
    const { openStore } = await import('../store.ts');
    const { readFindings } = await import('./_device-report.ts');
    const { existsSync } = await import('node:fs');
    const { UserError, ErrorCode } = await import('../errors.ts');
    if (!existsSync(db)) throw new UserError(ErrorCode.STORE_OPEN, `no such DuckDB file: ${db}`);
    const store = await openStore(db, { readOnly: true });
    try {
      let findings = await readFindings(store, kb, rules);
      if (severity) findings = findings.filter((f) => SEVERITIES.indexOf(f.severity as never) >= SEVERITIES.indexOf(severity as never));
      const device = stringFlag(args, 'device');
      if (device) findings = findings.filter((f) => f.device === device);
      if (args.flags.json) {
        for (const f of findings) process.stdout.write(JSON.stringify(f) + '\n');
        return 0;
      }
      if (findings.length === 0) {
        process.stdout.write('no findings\n');
        return 0;
      }
      for (const f of findings) {
        process.stdout.write(`${f.severity.toUpperCase().padEnd(8)} ${f.device.padEnd(16)} ${f.rule.padEnd(28)} ${f.subject ?? ''}\n`);
        process.stdout.write(`         ${f.evidence}\n`);
        process.stdout.write(`         seen ${f.first_seen ?? '-'} .. ${f.last_seen ?? '-'}; ENISA ${f.taxonomy.enisa.join(',') || '-'}; OWASP ${f.taxonomy.owasp.join(',') || '-'}; IoT ${f.taxonomy.owasp_iot.join(',') || '-'}; ATT&CK ICS ${f.taxonomy.attack_ics.join(',') || '-'}\n`);
      }
      process.stdout.write(`${findings.length} findings\n`);
      return 0;
    } finally {
      await store.close();
    }
  },
};
