/**
 * The datasets HEIR knows, and where their files are: `--data-dir`, else `HEIR_DATA_DIR`, else
 * `../shared/datasets` beside the repository; the committed samples under `datasets/samples/`
 * stand in when the full files are absent, so tests and the demo run on a fresh clone.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ErrorCode, UserError } from '../pipeline/errors.ts';
import type { DatasetAdapter } from './adapter.ts';
import { ciciomt } from './ciciomt.ts';
import { wustl } from './wustl.ts';

/** Every dataset adapter by name. */
export const ADAPTERS: readonly DatasetAdapter[] = [wustl, ciciomt];

/** The directory of committed samples. */
export const SAMPLES_DIR = fileURLToPath(new URL('./samples/', import.meta.url));

/** The default data directory (`../shared/datasets` from the repository root). */
export function defaultDataDir(): string {
  return process.env.HEIR_DATA_DIR ?? resolve(fileURLToPath(new URL('../../shared/datasets', import.meta.url)));
}

/** An adapter by name, or a user error listing the names. */
export function adapterFor(name: string): DatasetAdapter {
  const adapter = ADAPTERS.find((a) => a.name === name);
  if (!adapter) throw new UserError(ErrorCode.DATASET_NOT_FOUND, `unknown dataset '${name}' (datasets: ${ADAPTERS.map((a) => a.name).join(', ')})`);
  return adapter;
}

/** Where a dataset's file was found. */
export interface DatasetLocation {
  readonly adapter: DatasetAdapter;
  readonly path: string;
  /** True when only the committed sample was found. */
  readonly sample: boolean;
}

/** Find a dataset's full file, else its sample; `sampleOnly` picks the sample. */
export function locateDataset(name: string, dataDir = defaultDataDir(), sampleOnly = false): DatasetLocation {
  const adapter = adapterFor(name);
  const full = join(dataDir, adapter.file);
  if (!sampleOnly && existsSync(full)) return { adapter, path: full, sample: false };
  const sample = join(SAMPLES_DIR, adapter.sample);
  if (existsSync(sample)) return { adapter, path: sample, sample: true };
  throw new UserError(ErrorCode.DATASET_NOT_FOUND, `dataset ${name}: neither ${full} nor the sample ${sample} exists (give --data-dir)`);
}
