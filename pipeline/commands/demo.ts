import type { Command } from '../command.ts';
import { parseArgs, stringFlag, usageError } from '../command.ts';

const USAGE = `usage: heir demo [--data-dir DIR] [--nats URL]

Replays the committed samples through a whole site pipeline — real medical-device captures,
clinical protocols captured on loopback (HL7/MLLP, DICOM, MQTT, Telnet, FTP, HTTP Basic, TLS 1.0)
and a labelled attack-lab run — on the in-process bus into DuckDB files in DIR (a temporary
directory by default), then prints what HEIR found: flows, detections grouped into incidents,
hunt findings, devices, and the RAMA scores of the devices and the site.

  --data-dir DIR   where the DuckDB files go (kept after the demo); default: a temporary directory
  --nats URL       run the same pipeline over NATS JetStream instead of the in-process bus`;

/** The committed inputs of the demo, relative to the project root. */
export const DEMO_INPUTS: readonly { readonly dir: string; readonly what: string }[] = [
  { dir: 'datasets/samples/medical-devices', what: 'real medical-device captures (Mashnoor & Charyyev, SmartNets 2024)' },
  { dir: 'test/fixtures/pcaps', what: 'clinical and remote-access protocols captured on loopback (synthetic)' },
  { dir: 'datasets/lab/small-seed2', what: 'attack-lab run with labelled attack phases (synthetic)' },
];

/** `heir demo`: the whole site pipeline on committed samples. */
export const command: Command = {
  name: 'demo',
  summary: 'replay committed samples through the whole site pipeline into DuckDB and print what HEIR found',
  usage: USAGE,
  async run(argv) {
    const args = parseArgs('demo', argv, { 'data-dir': 'string', nats: 'string' });
    if (args.positionals.length > 0) usageError('demo', `unexpected argument ${args.positionals[0]}`);
    const { runDemo } = await import('../demo.ts');
    await runDemo({ dataDir: stringFlag(args, 'data-dir'), nats: stringFlag(args, 'nats'), inputs: DEMO_INPUTS, out: (line) => process.stdout.write(line + '\n') });
    return 0;
  },
};
