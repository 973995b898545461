/**
 * The model artefact: one gzip-compressed JSON file holding the forest's flat arrays (base64 of
 * their little-endian bytes) and everything needed to use and audit it: feature names and the
 * feature-set version, classes and their threat mapping, the dataset adapter, cleaning and target
 * it was trained with, the training data hash, the split, metrics, seed and hyper-parameters.
 * The file holds no timestamp, so the same data and seed give the same bytes.
 */
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { gunzipSync, gzipSync } from 'node:zlib';
import { ErrorCode, UserError } from '../../pipeline/errors.ts';
import type { ThreatTags } from '../threat-map.ts';
import { FlatForest } from './flat-forest.ts';
import type { EvalReport } from './metrics.ts';
import type { ForestOptions } from './train-forest.ts';

/** Format name and version written into every model file. */
export const MODEL_FORMAT = 'heir-forest';
export const MODEL_FORMAT_VERSION = 1;

/** How the training data was read, so `heir eval --csv` reads a new file the same way. */
export interface ModelDataset {
  /** Dataset adapter name (wustl-ehms-2020, ciciomt2024), or null for imported models. */
  readonly name: string | null;
  readonly layout: string | null;
  readonly target: string;
  /** Identifier/artefact columns kept on request. */
  readonly keep: readonly string[];
  readonly dropDuplicates: boolean;
  readonly encodings: Readonly<Record<string, readonly string[]>>;
  /** Cleaning report of the training file. */
  readonly cleaning?: unknown;
  /** Columns dropped by the leakage guard: name, role, reason. */
  readonly dropped?: readonly { name: string; role: string; reason?: string }[];
  readonly file?: string;
}

/** Metadata of a model. */
export interface ModelMeta {
  readonly source: 'heir' | 'ml-random-forest';
  readonly features: readonly string[];
  readonly featureSet: { readonly name: string; readonly version: number };
  readonly classes: readonly string[];
  readonly benign: string | null;
  readonly threatMap: Readonly<Record<string, ThreatTags>>;
  readonly dataset: ModelDataset;
  /** sha256 over the training matrix and labels (hex), or null. */
  readonly trainingDataHash: string | null;
  readonly split: { readonly kind: string; readonly testFraction: number; readonly seed: number; readonly trainRows: number; readonly testRows: number } | null;
  readonly metrics: { readonly test?: EvalReport; readonly oobScore?: number | null; readonly trainSeconds?: number } | null;
  readonly seed: number | null;
  readonly options: Partial<ForestOptions> | null;
  /** Mean decrease in impurity per feature name. */
  readonly importance: Readonly<Record<string, number>> | null;
}

/** A model: the forest and its metadata. */
export interface Model {
  readonly meta: ModelMeta;
  readonly forest: FlatForest;
}

interface ModelJson {
  format: string;
  formatVersion: number;
  meta: ModelMeta;
  forest: { classes: number; features: number; roots: string; feature: string; threshold: string; right: string; proba: string };
}

function b64(a: ArrayBufferView): string {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('base64');
}

function fromB64<T>(s: string, make: (buffer: ArrayBuffer) => T, what: string, width: number): T {
  const bytes = Buffer.from(s, 'base64');
  if (bytes.length % width !== 0) throw new Error(`${what} has ${bytes.length} bytes, not a multiple of ${width}`);
  const copy = new ArrayBuffer(bytes.length);
  new Uint8Array(copy).set(bytes);
  return make(copy);
}

/** The model as file bytes (gzip JSON). */
export function serializeModel(model: Model): Buffer {
  const f = model.forest;
  const json: ModelJson = {
    format: MODEL_FORMAT,
    formatVersion: MODEL_FORMAT_VERSION,
    meta: model.meta,
    forest: { classes: f.classes, features: f.features, roots: b64(f.roots), feature: b64(f.feature), threshold: b64(f.threshold), right: b64(f.right), proba: b64(f.proba) },
  };
  return gzipSync(Buffer.from(JSON.stringify(json)), { level: 9 });
}

/** Read a model from file bytes; a damaged or foreign file is a MODEL_INVALID error naming the input. */
export function deserializeModel(bytes: Uint8Array, input = '<model>'): Model {
  let json: ModelJson;
  try {
    const text = bytes[0] === 0x1f && bytes[1] === 0x8b ? gunzipSync(bytes).toString('utf8') : Buffer.from(bytes).toString('utf8');
    json = JSON.parse(text) as ModelJson;
  } catch (error) {
    throw new UserError(ErrorCode.MODEL_INVALID, `${input}: not a HEIR model file (${(error as Error).message})`, { cause: error });
  }
  if (json?.format !== MODEL_FORMAT) throw new UserError(ErrorCode.MODEL_INVALID, `${input}: not a HEIR model file (format ${String(json?.format)})`);
  if (json.formatVersion !== MODEL_FORMAT_VERSION) throw new UserError(ErrorCode.MODEL_INVALID, `${input}: model format version ${json.formatVersion} is not supported (expected ${MODEL_FORMAT_VERSION})`);
  try {
    const a = json.forest;
    const forest = new FlatForest({
      classes: a.classes,
      features: a.features,
      roots: fromB64(a.roots, (b) => new Int32Array(b), 'roots', 4),
      feature: fromB64(a.feature, (b) => new Int32Array(b), 'feature', 4),
      threshold: fromB64(a.threshold, (b) => new Float64Array(b), 'threshold', 8),
      right: fromB64(a.right, (b) => new Int32Array(b), 'right', 4),
      proba: fromB64(a.proba, (b) => new Float64Array(b), 'proba', 8),
    });
    const meta = json.meta;
    if (meta.features.length !== forest.features) throw new Error(`${meta.features.length} feature names for ${forest.features} features`);
    if (meta.classes.length !== forest.classes) throw new Error(`${meta.classes.length} class names for ${forest.classes} classes`);
    return { meta, forest };
  } catch (error) {
    if (error instanceof UserError) throw error;
    throw new UserError(ErrorCode.MODEL_INVALID, `${input}: damaged model: ${(error as Error).message}`, { cause: error });
  }
}

/** Write a model file. */
export function saveModel(path: string, model: Model): void {
  writeFileSync(path, serializeModel(model));
}

/** Read a model file. */
export function loadModel(path: string): Model {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (error) {
    throw new UserError(ErrorCode.MODEL_INVALID, `cannot read model ${path}: ${(error as Error).message}`, { cause: error });
  }
  return deserializeModel(bytes, path);
}

/** sha256 (hex) of a training matrix and its labels. */
export function trainingHash(x: Float64Array, y: Uint8Array): string {
  return createHash('sha256').update(new Uint8Array(x.buffer, x.byteOffset, x.byteLength)).update(y).digest('hex');
}

/** A short stable id of a model: feature set, target and 12 hex digits of sha256 over the forest and classes. */
export function modelId(model: Model): string {
  const f = model.forest;
  const h = createHash('sha256');
  for (const a of [f.roots, f.feature, f.threshold, f.right, f.proba]) h.update(new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
  h.update(JSON.stringify(model.meta.classes));
  h.update(JSON.stringify(model.meta.features));
  return `${model.meta.featureSet.name}@${model.meta.featureSet.version}:${model.meta.dataset.target}:${h.digest('hex').slice(0, 12)}`;
}
