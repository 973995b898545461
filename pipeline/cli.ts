/**
 * `heir`: the command line. Sub-commands are discovered in `pipeline/commands/`; user errors are
 * printed as one line without a stack, and set a non-zero exit code.
 */
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Command } from './command.ts';
import { isUserError, messageOf } from './errors.ts';

const COMMANDS_DIR = join(dirname(fileURLToPath(import.meta.url)), 'commands');

/** Every command, sorted by name. */
export async function loadCommands(): Promise<Command[]> {
  const files = readdirSync(COMMANDS_DIR).filter((f) => f.endsWith('.ts') && !f.startsWith('_'));
  const modules = await Promise.all(files.map((f) => import(pathToFileURL(join(COMMANDS_DIR, f)).href) as Promise<{ command?: Command }>));
  const commands = modules.map((m) => m.command).filter((c): c is Command => c !== undefined);
  return commands.sort((a, b) => a.name.localeCompare(b.name));
}

function helpText(commands: readonly Command[]): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  const lines = commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`);
  return [
    'heir: threat hunting, RAMA scoring and privacy-aware sharing for medical devices',
    '',
    'usage: heir <command> [options]     (heir <command> --help for its options)',
    '',
    'commands:',
    ...lines,
    '',
  ].join('\n');
}

/** Run the CLI with the given arguments; resolves to the exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  const commands = await loadCommands();
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(helpText(commands));
    return name === undefined ? 2 : 0;
  }
  const command = commands.find((c) => c.name === name);
  if (!command) {
    process.stderr.write(`heir: unknown command '${name}' (heir --help lists them)\n`);
    return 2;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(command.usage.endsWith('\n') ? command.usage : command.usage + '\n');
    return 0;
  }
  try {
    return await command.run(rest);
  } catch (error) {
    if (isUserError(error)) {
      process.stderr.write(`heir ${name}: ${error.message.replace(new RegExp(`^heir ${name}: `), '')}\n`);
      return error.code === 'HEIR_USAGE' ? 2 : 1;
    }
    process.stderr.write(`heir ${name}: internal error: ${messageOf(error)}\n${error instanceof Error ? error.stack ?? '' : ''}\n`);
    return 70;
  }
}
