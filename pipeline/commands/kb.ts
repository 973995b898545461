import type { Command } from '../command.ts';
import { parseArgs, stringFlag, usageError } from '../command.ts';

const USAGE = `usage: heir kb update --from DIR [--out FILE] [--manuf FILE]
       heir kb show [ADVISORY | --cve CVE | --vendor NAME | --technique ID]
       heir kb cvss VECTOR
       heir kb rubric ANSWERS.json | --questions
       heir kb match --vendor MAKE --model MODEL [--version V]

update   rebuild the knowledge base from the public sources (the layout of ../shared/knowledge:
         CISA ICS medical advisories CSV + CSAF, KEV, vulnrichment SSVC, ATT&CK for ICS STIX) into
         FILE (default: the shipped knowledge/kb.json.gz); --manuf is a Wireshark manuf file for MAC makers
show     summary counts, or one advisory, the advisories of a CVE or vendor, or an ATT&CK for ICS technique
cvss     base score of a CVSS v3.0/v3.1 or v4.0 vector
rubric   apply the MITRE medical-device CVSS rubric to answers {question id: answer} (missing = unknown,
         which resolves to the worse value); --questions lists the questionnaire
match    advisories matching a make, model and version`;

/** \`heir kb\`: build and query the knowledge base. */
export const command: Command = {
  name: 'kb',
  summary: 'build and query the medical-device knowledge base (advisories, CVSS, rubric, ATT&CK for ICS)',
  usage: USAGE,
  async run(argv) {
    const [verb, ...rest] = argv;
    const out = (s: string) => process.stdout.write(s + '\n');
    const kbm = await import('../../knowledge/kb.ts');
    switch (verb) {
      case 'update': {
        const args = parseArgs('kb', rest, { from: 'string', out: 'string', manuf: 'string' });
        const from = stringFlag(args, 'from') ?? usageError('kb', 'update needs --from DIR');
        const { buildKnowledgeBase } = await import('../../knowledge/build.ts');
        const kb = buildKnowledgeBase(from, { manuf: stringFlag(args, 'manuf') });
        const path = stringFlag(args, 'out') ?? kbm.SHIPPED_KB_PATH;
        const bytes = kbm.saveKnowledgeBase(kb, path);
        out(`wrote ${path} (${bytes} bytes): ${Object.entries(kb.counts).map(([k, v]) => `${k} ${v}`).join(', ')}; ${Object.keys(kb.oui).length} MAC prefixes`);
        if (kb.unmapped_vendors.length > 0) out(`vendors without an entry in knowledge/vendors.json (kept as written): ${kb.unmapped_vendors.length}`);
        return 0;
      }
      case 'show': {
        const args = parseArgs('kb', rest, { cve: 'string', vendor: 'string', technique: 'string' });
        const kb = kbm.loadKnowledgeBase();
        const cve = stringFlag(args, 'cve');
        const vendor = stringFlag(args, 'vendor');
        const technique = stringFlag(args, 'technique');
        if (cve) {
          const entries = kbm.cveEntries(kb, cve);
          if (entries.length === 0) out(`${cve}: not in any medical advisory`);
          for (const { advisory, entry } of entries) out(JSON.stringify({ advisory: advisory.id, title: advisory.title, ...entry }));
          return entries.length > 0 ? 0 : 1;
        }
        if (vendor) {
          const { advisoriesOfVendor } = await import('../../knowledge/match.ts');
          for (const a of advisoriesOfVendor(kb, vendor)) out(`${a.id}  ${a.updated ?? ''}  ${a.title}  (${a.cves.length} CVEs)`);
          return 0;
        }
        if (technique) {
          const t = kbm.attackTechnique(kb, technique);
          if (!t) usageError('kb', `no ATT&CK for ICS technique ${technique}`);
          out(JSON.stringify(t, null, 2));
          return 0;
        }
        if (args.positionals.length > 0) {
          const a = kbm.advisoryById(kb, args.positionals[0]);
          if (!a) usageError('kb', `no advisory ${args.positionals[0]}`);
          out(JSON.stringify(a, null, 2));
          return 0;
        }
        out(`knowledge base: ${Object.entries(kb.counts).map(([k, v]) => `${k} ${v}`).join(', ')}`);
        for (const s of kb.sources) out(`  ${s.name} (${s.origin}) — ${s.licence}`);
        return 0;
      }
      case 'cvss': {
        const vector = rest[0] ?? usageError('kb', 'cvss needs a vector');
        if (vector.startsWith('CVSS:4.0/')) {
          const { cvss40Score } = await import('../../knowledge/cvss40.ts');
          const { severityOf } = await import('../../knowledge/cvss31.ts');
          const s = cvss40Score(vector);
          out(`${s.toFixed(1)} ${severityOf(s)}`);
        } else {
          const { cvss31BaseScore, severityOf } = await import('../../knowledge/cvss31.ts');
          const s = cvss31BaseScore(vector);
          out(`${s.toFixed(1)} ${severityOf(s)}`);
        }
        return 0;
      }
      case 'rubric': {
        const { readFileSync } = await import('node:fs');
        const { applyRubric, RUBRIC_QUESTIONS } = await import('../../knowledge/mitre-rubric.ts');
        if (rest[0] === '--questions') {
          for (const q of RUBRIC_QUESTIONS) out(`${q.id.padEnd(6)} ${q.metric}  ${q.text}  [${q.kind === 'yes-no' ? 'yes | no | unknown' : 'high | low | none | unknown'}]`);
          return 0;
        }
        const file = rest[0] ?? usageError('kb', 'rubric needs an answers file (or --questions)');
        const { UserError, ErrorCode } = await import('../errors.ts');
        let answers: Record<string, never>;
        try {
          answers = JSON.parse(readFileSync(file, 'utf8'));
        } catch (error) {
          throw new UserError(ErrorCode.INPUT_MALFORMED, `${file}: ${(error as Error).message}`);
        }
        const r = applyRubric(answers);
        out(`${r.vector}  ${r.score.toFixed(1)}`);
        for (const [m, why] of Object.entries(r.reasons)) out(`  ${m}: ${why}`);
        return 0;
      }
      case 'match': {
        const args = parseArgs('kb', rest, { vendor: 'string', model: 'string', version: 'string' });
        const { matchAdvisories } = await import('../../knowledge/match.ts');
        const kb = kbm.loadKnowledgeBase();
        const m = matchAdvisories(kb, { vendor: stringFlag(args, 'vendor') ?? usageError('kb', 'match needs --vendor'), model: stringFlag(args, 'model') ?? usageError('kb', 'match needs --model'), version: stringFlag(args, 'version') ?? null });
        for (const a of m) out(`${a.advisory} [${a.confidence} ${a.score}] ${a.product} (${a.versions}): ${a.cves.map((c) => c.cve).join(', ')}\n    ${a.evidence.join('; ')}`);
        if (m.length === 0) out('no matching advisories');
        return 0;
      }
      default:
        return usageError('kb', verb === undefined ? 'missing sub-command' : `unknown sub-command ${verb}`);
    }
  },
};
