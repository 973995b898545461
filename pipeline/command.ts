/**
 * The shape of a `heir` sub-command and the one flag parser they all share. Each command lives in
 * `pipeline/commands/<name>.ts` and exports `command`; the CLI discovers them, so adding a command
 * touches no other file. Commands import heavy modules (DuckDB, NATS, models) inside `run`, so
 * `heir --help` stays fast.
 */
import { ErrorCode, UserError } from './errors.ts';

/** A sub-command of `heir`. */
export interface Command {
  /** The word after `heir`. */
  readonly name: string;
  /** One line for `heir --help`. */
  readonly summary: string;
  /** Full usage text for `heir <name> --help`. */
  readonly usage: string;
  /** Runs the command; resolves to the process exit code. */
  run(argv: readonly string[]): Promise<number>;
}

/** How a flag is read: a boolean switch, one string value, or a value that may repeat. */
export type FlagKind = 'boolean' | 'string' | 'multiple';

/** Parsed flags and the positional arguments. */
export interface ParsedArgs {
  readonly flags: Readonly<Record<string, string | boolean | string[] | undefined>>;
  readonly positionals: readonly string[];
}

/**
 * Parse `argv` against the flags a command declares. Unknown flags and missing values are user
 * errors naming the flag, never silently ignored. `-` alone is a positional (standard input).
 */
export function parseArgs(command: string, argv: readonly string[], spec: Readonly<Record<string, FlagKind>>): ParsedArgs {
  const flags: Record<string, string | boolean | string[] | undefined> = {};
  const positionals: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (!arg.startsWith('--') || arg === '-') {
      positionals.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = arg.slice(2, eq === -1 ? undefined : eq);
    const kind = spec[name];
    if (kind === undefined) throw new UserError(ErrorCode.USAGE, `heir ${command}: unknown option --${name} (see heir ${command} --help)`);
    if (kind === 'boolean') {
      if (eq !== -1) throw new UserError(ErrorCode.USAGE, `heir ${command}: --${name} takes no value`);
      flags[name] = true;
      continue;
    }
    let value: string;
    if (eq !== -1) value = arg.slice(eq + 1);
    else {
      if (i + 1 >= argv.length) throw new UserError(ErrorCode.USAGE, `heir ${command}: --${name} needs a value`);
      value = argv[++i];
    }
    if (kind === 'multiple') ((flags[name] as string[] | undefined) ?? (flags[name] = [])).push(value);
    else flags[name] = value;
  }
  return { flags, positionals };
}

/** A flag's string value, or a default. */
export function stringFlag(args: ParsedArgs, name: string, fallback?: string): string | undefined {
  const v = args.flags[name];
  return typeof v === 'string' ? v : fallback;
}

/** A flag's value as a number within bounds, with a clear error otherwise. */
export function numberFlag(command: string, args: ParsedArgs, name: string, fallback: number, min = -Infinity, max = Infinity): number {
  const v = args.flags[name];
  if (v === undefined) return fallback;
  const n = Number(v);
  if (typeof v !== 'string' || v.trim() === '' || !Number.isFinite(n) || n < min || n > max) {
    throw new UserError(ErrorCode.USAGE, `heir ${command}: invalid --${name}: ${String(v)} (expected a number${min > -Infinity ? ` ≥ ${min}` : ''}${max < Infinity ? ` ≤ ${max}` : ''})`);
  }
  return n;
}

/** Fail with a usage error. */
export function usageError(command: string, message: string): never {
  throw new UserError(ErrorCode.USAGE, `heir ${command}: ${message} (see heir ${command} --help)`);
}
