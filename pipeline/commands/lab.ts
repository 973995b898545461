import type { Command } from '../command.ts';
import { numberFlag, parseArgs, stringFlag, usageError } from '../command.ts';

const USAGE = `usage: heir lab record --out DIR [--seed N] [--scale tiny|small|full] [--phases a,b,…] [--loopback]
       heir lab phases

record   Records a labelled capture with real tools: benign clinical traffic (HL7 over MLLP with
         python3-hl7, DICOM C-ECHO/C-STORE with dcmtk, MQTT telemetry with mosquitto, HTTP/TLS with
         curl and openssl) and attacks (nmap scans, bounded hping3 SYN/UDP/ICMP floods, MQTT
         connect/publish floods, hydra FTP brute force, arpspoof). Traffic runs only inside network
         namespaces the lab creates (or on loopback with 127.0.77.x addresses where namespaces are
         not permitted; the output says so) and every count is bounded.
         Writes DIR/capture.pcap and DIR/labels.json (phases with name, label, category, start,
         end, attacker, victim). Needs root (namespaces, raw sockets).
  --out DIR     output folder (created)
  --seed N      seed of the run plan: phase order, port ranges, pacing, attacker address (default 1)
  --scale S     tiny (seconds), small (about a minute, default) or full (several minutes)
  --phases L    comma-separated phase names (default: all; see heir lab phases)
  --loopback    record on loopback even where namespaces work
phases   Lists the phases with their labels and tools.`;

/** `heir lab`: the attack lab. */
export const command: Command = {
  name: 'lab',
  summary: 'record labelled benign and attack traffic with real tools in network namespaces',
  usage: USAGE,
  async run(argv) {
    const [sub, ...rest] = argv;
    if (sub === 'phases') {
      const { PHASES } = await import('../lab/phases.ts');
      for (const p of PHASES) process.stdout.write(`${p.name.padEnd(20)} ${p.label.padEnd(24)} ${p.category.padEnd(11)} ${p.tools.map(([t]) => t).join(', ')}\n`);
      return 0;
    }
    if (sub !== 'record') usageError('lab', sub === undefined ? 'missing sub-command (record or phases)' : `unknown sub-command ${sub}`);
    const args = parseArgs('lab', rest, { out: 'string', seed: 'string', scale: 'string', phases: 'string', loopback: 'boolean' });
    if (args.positionals.length) usageError('lab', `unexpected argument ${args.positionals[0]}`);
    const out = stringFlag(args, 'out');
    if (!out) usageError('lab', '--out DIR is required');
    const seed = numberFlag('lab', args, 'seed', 1, 0, 2 ** 31 - 1);
    if (!Number.isInteger(seed)) usageError('lab', `invalid --seed: ${seed} (an integer)`);
    const scale = stringFlag(args, 'scale', 'small')!;
    if (scale !== 'tiny' && scale !== 'small' && scale !== 'full') usageError('lab', `invalid --scale: ${scale} (tiny, small or full)`);
    const phases = stringFlag(args, 'phases')?.split(',').map((s) => s.trim()).filter(Boolean);
    const { recordLab } = await import('../lab/record.ts');
    const started = Date.now();
    const labels = await recordLab({ out, seed, scale, phases, forceLoopback: args.flags.loopback === true, log: (line) => process.stdout.write(`${line}\n`) });
    const { statSync } = await import('node:fs');
    const { join } = await import('node:path');
    const size = statSync(join(out, labels.capture)).size;
    process.stdout.write(`recorded ${labels.phases.length} phases in ${((Date.now() - started) / 1000).toFixed(1)} s (${labels.mode}${labels.mode === 'loopback' ? `: ${labels.fallback_reason}` : ''}): ${join(out, labels.capture)} (${(size / 1024).toFixed(0)} KiB), ${join(out, 'labels.json')}\n`);
    for (const s of labels.skipped) process.stdout.write(`skipped ${s.name}: ${s.reason}\n`);
    return 0;
  },
};
