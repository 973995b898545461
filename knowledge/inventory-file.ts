/**
 * Imported device inventories (CSV or JSON: make, model, firmware/software version, clinical
 * function and criticality, location/segment) and MDS2 answers (question id → answer). Every
 * problem is reported with the file, the line (CSV) or item (JSON), and the field.
 */
import { readFileSync } from 'node:fs';
import { ErrorCode, UserError } from '../pipeline/errors.ts';
import { csvObjects } from './csv.ts';
import { parseCidr } from './networks.ts';
import { canonicalVendor } from './vendors.ts';

/** Clinical criticality classes, most critical first (as RAMA weighs them). */
export const CRITICALITIES = ['life-sustaining', 'therapy', 'diagnosis', 'monitoring', 'workflow', 'non-clinical'] as const;
export type Criticality = (typeof CRITICALITIES)[number];

/** One imported device. */
export interface InventoryDevice {
  readonly asset_id: string;
  readonly address: string | null;
  readonly mac: string | null;
  readonly make: string | null;
  readonly vendor: string | null;
  readonly model: string | null;
  readonly version: string | null;
  readonly clinical_function: string | null;
  readonly criticality: Criticality | null;
  readonly location: string | null;
  readonly segment: string | null;
  readonly mds2: Record<string, string>;
  /** CSV line or JSON item number (1-based). */
  readonly line: number;
}

/** Accepted column names → field. */
const COLUMN_ALIASES: Readonly<Record<string, keyof InventoryDevice>> = {
  asset_id: 'asset_id', asset: 'asset_id', id: 'asset_id', serial: 'asset_id', asset_tag: 'asset_id',
  address: 'address', ip: 'address', ip_address: 'address',
  mac: 'mac', mac_address: 'mac',
  make: 'make', manufacturer: 'make', vendor: 'make',
  model: 'model', product: 'model',
  version: 'version', firmware: 'version', firmware_version: 'version', software_version: 'version', sw_version: 'version',
  clinical_function: 'clinical_function', function: 'clinical_function',
  criticality: 'criticality',
  location: 'location', ward: 'location',
  segment: 'segment', vlan: 'segment', network_segment: 'segment',
};

const MAC = /^[0-9a-f]{2}([:-])[0-9a-f]{2}(\1[0-9a-f]{2}){4}$/i;
/** MDS2 (2019 form) question ids: section letters, a number and optional sub-numbers, e.g. AUTH-1, MPII-2.1. */
export const MDS2_ID = /^[A-Z]{3,4}-\d+(\.\d+)*$/;
const MDS2_ANSWERS = new Set(['yes', 'no', 'n/a', 'see note', 'see notes']);

function fail(file: string, where: string, field: string, message: string): never {
  throw new UserError(ErrorCode.INPUT_MALFORMED, `${file}: ${where}, field ${field}: ${message}`);
}

function clean(v: unknown): string | null {
  if (v === null || v === undefined) return null;
  const s = String(v).trim();
  return s === '' ? null : s;
}

function device(file: string, where: string, line: number, raw: Record<string, unknown>): InventoryDevice {
  const fields: Partial<Record<keyof InventoryDevice, string | null>> = {};
  for (const [key, value] of Object.entries(raw)) {
    if (key === 'mds2') continue;
    const field = COLUMN_ALIASES[key.trim().toLowerCase().replace(/[\s-]+/g, '_')];
    if (!field) fail(file, where, key, `unknown field (known: ${[...new Set(Object.values(COLUMN_ALIASES))].join(', ')}, mds2)`);
    if (value !== null && value !== undefined && typeof value === 'object') fail(file, where, key, 'must be text, not a list or object');
    fields[field] = clean(value);
  }
  const address = fields.address ?? null;
  if (address !== null) {
    try {
      const c = parseCidr(address);
      if (c.prefix !== (c.v6 ? 128 : 32)) throw new Error('range');
    } catch {
      fail(file, where, 'address', `"${address}" is not an IP address`);
    }
  }
  const mac = fields.mac ?? null;
  if (mac !== null && !MAC.test(mac)) fail(file, where, 'mac', `"${mac}" is not a MAC address (aa:bb:cc:dd:ee:ff)`);
  const crit = fields.criticality?.toLowerCase().replace(/[\s_]+/g, '-') ?? null;
  if (crit !== null && !(CRITICALITIES as readonly string[]).includes(crit)) fail(file, where, 'criticality', `"${fields.criticality}" is not one of ${CRITICALITIES.join(', ')}`);
  const asset = fields.asset_id ?? address ?? mac?.toLowerCase() ?? null;
  if (asset === null) fail(file, where, 'asset_id', 'a device needs an asset_id, an address or a MAC address');
  const mds2 = raw.mds2 === undefined || raw.mds2 === null ? {} : mds2Object(file, where, raw.mds2);
  return {
    asset_id: asset,
    address,
    mac: mac?.toLowerCase().replace(/-/g, ':') ?? null,
    make: fields.make ?? null,
    vendor: fields.make ? canonicalVendor(fields.make) : null,
    model: fields.model ?? null,
    version: fields.version ?? null,
    clinical_function: fields.clinical_function ?? null,
    criticality: crit as Criticality | null,
    location: fields.location ?? null,
    segment: fields.segment ?? null,
    mds2,
    line,
  };
}

function mds2Answer(file: string, where: string, id: string, answer: unknown): string {
  if (!MDS2_ID.test(id)) fail(file, where, 'question_id', `"${id}" is not an MDS2 question id (like AUTH-1 or MPII-2.1)`);
  const a = clean(answer);
  if (a === null) fail(file, where, 'answer', `question ${id} has no answer`);
  // Documentation questions (DOC-*) take free text; the others are Yes/No/N/A/See Note.
  if (!id.startsWith('DOC-') && !MDS2_ANSWERS.has(a.toLowerCase())) fail(file, where, 'answer', `"${a}" for ${id} is not Yes, No, N/A or See Note`);
  return a;
}

function mds2Object(file: string, where: string, raw: unknown): Record<string, string> {
  if (typeof raw !== 'object' || Array.isArray(raw) || raw === null) fail(file, where, 'mds2', 'must be an object {question id: answer}');
  const out: Record<string, string> = {};
  for (const [id, answer] of Object.entries(raw as Record<string, unknown>)) out[id] = mds2Answer(file, where, id, answer);
  return out;
}

/** Parse inventory text (CSV or JSON, chosen by the content). */
export function parseInventory(text: string, file: string): InventoryDevice[] {
  const trimmed = text.trimStart();
  const devices: InventoryDevice[] = [];
  if (trimmed.startsWith('[') || trimmed.startsWith('{')) {
    let data: unknown;
    try {
      data = JSON.parse(text);
    } catch (error) {
      throw new UserError(ErrorCode.INPUT_MALFORMED, `${file}: not valid JSON: ${(error as Error).message}`);
    }
    const list = Array.isArray(data) ? data : (data as { devices?: unknown }).devices;
    if (!Array.isArray(list)) throw new UserError(ErrorCode.INPUT_MALFORMED, `${file}: expected a JSON list of devices or {"devices": [...]}`);
    list.forEach((item, i) => {
      if (typeof item !== 'object' || item === null || Array.isArray(item)) throw new UserError(ErrorCode.INPUT_MALFORMED, `${file}: item ${i + 1}: a device must be a JSON object`);
      devices.push(device(file, `item ${i + 1}`, i + 1, item as Record<string, unknown>));
    });
  } else {
    let parsed: ReturnType<typeof csvObjects>;
    try {
      parsed = csvObjects(text);
    } catch (error) {
      throw new UserError(ErrorCode.INPUT_MALFORMED, `${file}: ${(error as Error).message}`);
    }
    if (parsed.header.length === 0) throw new UserError(ErrorCode.INPUT_MALFORMED, `${file}: empty inventory (expected a header line)`);
    for (const row of parsed.rows) devices.push(device(file, `line ${row.line}`, row.line, row.values));
  }
  const seen = new Map<string, number>();
  for (const d of devices) {
    const prev = seen.get(d.asset_id);
    if (prev !== undefined) throw new UserError(ErrorCode.INPUT_MALFORMED, `${file}: ${text.trimStart().startsWith('[') || text.trimStart().startsWith('{') ? 'item' : 'line'} ${d.line}, field asset_id: "${d.asset_id}" already appears at ${prev}`);
    seen.set(d.asset_id, d.line);
  }
  return devices;
}

/**
 * Parse MDS2 answers: CSV with columns asset_id, question_id, answer (and optional note), or JSON
 * {asset_id: {question id: answer}}. Returns answers per asset.
 */
export function parseMds2(text: string, file: string): Map<string, Record<string, string>> {
  const out = new Map<string, Record<string, string>>();
  const trimmed = text.trimStart();
  if (trimmed.startsWith('{')) {
    let data: unknown;
    try {
      data = JSON.parse(text);
    } catch (error) {
      throw new UserError(ErrorCode.INPUT_MALFORMED, `${file}: not valid JSON: ${(error as Error).message}`);
    }
    for (const [asset, answers] of Object.entries(data as Record<string, unknown>)) out.set(asset, mds2Object(file, `asset ${asset}`, answers));
    return out;
  }
  let parsed: ReturnType<typeof csvObjects>;
  try {
    parsed = csvObjects(text);
  } catch (error) {
    throw new UserError(ErrorCode.INPUT_MALFORMED, `${file}: ${(error as Error).message}`);
  }
  for (const need of ['asset_id', 'question_id', 'answer']) if (!parsed.header.includes(need)) throw new UserError(ErrorCode.INPUT_MALFORMED, `${file}: line 1, field ${need}: missing column (expected asset_id,question_id,answer[,note])`);
  for (const extra of parsed.header) if (!['asset_id', 'question_id', 'answer', 'note'].includes(extra)) throw new UserError(ErrorCode.INPUT_MALFORMED, `${file}: line 1, field ${extra}: unknown column (expected asset_id,question_id,answer[,note])`);
  for (const { line, values } of parsed.rows) {
    const asset = clean(values.asset_id);
    if (asset === null) fail(file, `line ${line}`, 'asset_id', 'empty');
    const id = clean(values.question_id) ?? '';
    const answers = out.get(asset) ?? {};
    if (id in answers) fail(file, `line ${line}`, 'question_id', `${id} answered twice for ${asset}`);
    answers[id] = mds2Answer(file, `line ${line}`, id, values.answer);
    out.set(asset, answers);
  }
  return out;
}

/** Read an inventory file and, optionally, an MDS2 file whose assets must be in the inventory. */
export function readInventory(path: string, mds2Path?: string): InventoryDevice[] {
  const read = (p: string) => {
    try {
      return readFileSync(p, 'utf8');
    } catch (error) {
      throw new UserError(ErrorCode.INPUT_UNREADABLE, `cannot read ${p}: ${(error as Error).message}`);
    }
  };
  const devices = parseInventory(read(path), path);
  if (!mds2Path) return devices;
  const answers = parseMds2(read(mds2Path), mds2Path);
  const byAsset = new Map(devices.map((d) => [d.asset_id, d]));
  for (const [asset, a] of answers) {
    const d = byAsset.get(asset);
    if (!d) throw new UserError(ErrorCode.INPUT_MALFORMED, `${mds2Path}: asset_id ${asset} is not in ${path}`);
    Object.assign(d.mds2, a);
  }
  return devices;
}
