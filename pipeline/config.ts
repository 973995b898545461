/**
 * The site pipeline's configuration: a JSON or TOML file, checked key by key against one schema,
 * then overridden by environment variables (HEIR_*) and command-line flags. Every bad key gets a
 * clear error that names the file, the key and what was expected.
 */
import { readFileSync } from 'node:fs';
import { parse as parseToml } from 'smol-toml';
import { ConfigError, ErrorCode, UserError, messageOf } from './errors.ts';

/** One input of the pipeline. */
export interface SourceConfig {
  /** pcap, argus, zeek, eve, cic, wustl, or synthetic (generated flows, for tests and benchmarks). */
  readonly format: string;
  /** File path, or `-` for standard input. */
  readonly path?: string;
  /** synthetic only: how many flows. */
  readonly count?: number;
  /** synthetic only: generator seed. */
  readonly seed?: number;
  /** pcap only: flow idle timeout in seconds (default 5 s for standard input, 60 s for files). */
  readonly idleTimeoutS?: number;
  /** pcap only: flow active timeout in seconds (default 30 s for standard input, 300 s for files). */
  readonly activeTimeoutS?: number;
}

/** The whole configuration after defaults and overrides. */
export interface PipelineConfig {
  readonly site: string;
  readonly sensor: string;
  /** DuckDB file. */
  readonly store: string;
  /** Run the store (appends and commits) on a thread of its own (pipeline/store-worker.ts). */
  readonly storeThread: boolean;
  /**
   * Operators fused after parsing, in order. Absent (no `operators` key): the default chain of
   * `heir ingest --db` and `heir demo` (`defaultOperators()`), resolved when the site opens; `[]`: none.
   */
  readonly operators?: readonly string[];
  /** Model file for the classify operator (the shipped default when absent). */
  readonly model?: string;
  readonly bus: {
    readonly kind: 'memory' | 'nats';
    readonly url?: string;
    readonly stream: string;
    readonly maxInFlight: number;
    readonly maxDeliver: number;
    readonly ackWaitMs: number;
  };
  readonly batch: { readonly maxRows: number; readonly maxMs: number };
  readonly sources: readonly SourceConfig[];
}

type Check = (value: unknown, where: string) => unknown;

const str: Check = (v, where) => {
  if (typeof v !== 'string' || v.length === 0) throw new ConfigError(`${where}: expected a non-empty string, got ${JSON.stringify(v)}`);
  return v;
};
const bool: Check = (v, where) => {
  if (typeof v !== 'boolean') throw new ConfigError(`${where}: expected true or false, got ${JSON.stringify(v)}`);
  return v;
};
const int = (min: number, max: number): Check => (v, where) => {
  if (typeof v === 'bigint') v = Number(v);
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) throw new ConfigError(`${where}: expected an integer from ${min} to ${max}, got ${JSON.stringify(typeof v === 'bigint' ? String(v) : v)}`);
  return v;
};
const seconds: Check = (v, where) => {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0.001 || v > 86_400) throw new ConfigError(`${where}: expected seconds from 0.001 to 86400, got ${JSON.stringify(v)}`);
  return v;
};
const oneOf = (...values: string[]): Check => (v, where) => {
  if (typeof v !== 'string' || !values.includes(v)) throw new ConfigError(`${where}: expected one of ${values.join(', ')}, got ${JSON.stringify(v)}`);
  return v;
};
const list = (item: Check): Check => (v, where) => {
  if (!Array.isArray(v)) throw new ConfigError(`${where}: expected a list, got ${JSON.stringify(v)}`);
  return v.map((x, i) => item(x, `${where}[${i}]`));
};
const table = (shape: Record<string, Check>): Check => (v, where) => {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new ConfigError(`${where === '' ? 'the top level' : where}: expected a table/object, got ${JSON.stringify(v)}`);
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(v)) {
    const check = shape[key];
    if (!check) throw new ConfigError(`${where === '' ? '' : `${where}: `}unknown key '${key}' (known keys: ${Object.keys(shape).join(', ')})`);
    out[key] = check(value, where === '' ? key : `${where}.${key}`);
  }
  return out;
};

const SCHEMA = table({
  site: str,
  sensor: str,
  store: str,
  store_thread: bool,
  model: str,
  operators: list(str),
  bus: table({ kind: oneOf('memory', 'nats'), url: str, stream: str, max_in_flight: int(1, 1024), max_deliver: int(1, 100), ack_wait_ms: int(1000, 3_600_000) }),
  batch: table({ max_rows: int(1, 1_000_000), max_ms: int(1, 3_600_000) }),
  sources: list(table({ format: oneOf('pcap', 'argus', 'zeek', 'eve', 'cic', 'wustl', 'synthetic'), path: str, count: int(0, 1e9), seed: int(0, 2 ** 31), idle_timeout_s: seconds, active_timeout_s: seconds })),
});

/** Overrides from flags, applied last. */
export interface ConfigOverrides {
  readonly site?: string;
  readonly sensor?: string;
  readonly store?: string;
  readonly nats?: string;
  readonly model?: string;
}

/** Read, check and complete a configuration file (`.json` or `.toml`). */
export function loadConfig(path: string | undefined, overrides: ConfigOverrides = {}, env: NodeJS.ProcessEnv = process.env): PipelineConfig {
  let raw: unknown = {};
  if (path !== undefined) {
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (error) {
      throw new UserError(ErrorCode.CONFIG_UNREADABLE, `cannot read config ${path}: ${messageOf(error)}`, { cause: error });
    }
    try {
      raw = path.endsWith('.toml') ? parseToml(text) : JSON.parse(text);
    } catch (error) {
      throw new ConfigError(`${path}: not valid ${path.endsWith('.toml') ? 'TOML' : 'JSON'}: ${messageOf(error).split('\n')[0]}`, { cause: error });
    }
  }
  let checked: Record<string, any>;
  try {
    checked = SCHEMA(raw, '') as Record<string, any>;
  } catch (error) {
    if (error instanceof ConfigError && path !== undefined) throw new ConfigError(`${path}: ${error.message}`, { cause: error });
    throw error;
  }
  const bus = checked.bus ?? {};
  const natsUrl = overrides.nats ?? env.HEIR_NATS_URL ?? bus.url;
  const kind = overrides.nats || env.HEIR_NATS_URL ? 'nats' : (bus.kind ?? (bus.url ? 'nats' : 'memory'));
  if (kind === 'nats' && !natsUrl) throw new ConfigError(`${path ?? 'config'}: bus.kind is nats but no bus.url (or --nats URL, HEIR_NATS_URL) is given`);
  const sources = ((checked.sources ?? []) as Record<string, any>[]).map((s, i): SourceConfig => {
    const where = `${path ?? 'config'}: sources[${i}]`;
    if (s.format === 'synthetic' ? s.count === undefined : s.path === undefined) {
      throw new ConfigError(`${where}: ${s.format === 'synthetic' ? 'count' : 'path'} is required for format ${s.format}`);
    }
    for (const key of ['idle_timeout_s', 'active_timeout_s']) {
      if (s[key] !== undefined && s.format !== 'pcap') throw new ConfigError(`${where}: ${key} applies to format pcap only, not ${s.format}`);
    }
    if (s.idle_timeout_s !== undefined && s.active_timeout_s !== undefined && s.active_timeout_s < s.idle_timeout_s) {
      throw new ConfigError(`${where}: active_timeout_s (${s.active_timeout_s}) is shorter than idle_timeout_s (${s.idle_timeout_s})`);
    }
    return { format: s.format, path: s.path, count: s.count, seed: s.seed, idleTimeoutS: s.idle_timeout_s, activeTimeoutS: s.active_timeout_s };
  });
  return {
    site: overrides.site ?? env.HEIR_SITE ?? checked.site ?? 'site-1',
    sensor: overrides.sensor ?? env.HEIR_SENSOR ?? checked.sensor ?? 'sensor-1',
    store: overrides.store ?? env.HEIR_DB ?? checked.store ?? 'heir.duckdb',
    storeThread: checked.store_thread ?? false,
    operators: checked.operators,
    model: overrides.model ?? checked.model,
    bus: {
      kind,
      url: natsUrl,
      stream: bus.stream ?? 'HEIR',
      maxInFlight: bus.max_in_flight ?? 32,
      maxDeliver: bus.max_deliver ?? 5,
      ackWaitMs: bus.ack_wait_ms ?? 30_000,
    },
    batch: { maxRows: checked.batch?.max_rows ?? 2000, maxMs: checked.batch?.max_ms ?? 1000 },
    sources,
  };
}
