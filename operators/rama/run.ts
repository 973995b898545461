/**
 * One RAMA scoring run, as rows of the output tables: device scores with contributions and input
 * versions, site and unit scores, and the day's snapshot rows. Pure: the command writes the rows
 * through the store under `batchId`, which is derived from the inputs and the time, so the same
 * run stored twice adds nothing.
 */
import { createHash } from 'node:crypto';
import { inputFingerprint } from './adapter.ts';
import { scoreDevice } from './device.ts';
import { RAMA_MODEL_VERSION, type DeviceRiskInput, type DeviceScore } from './model.ts';
import { scoreSites, type SiteScore } from './site.ts';
import type { DeviceScoreRow, SiteScoreRow, SnapshotRow } from './tables.ts';

/** The rows of one run and its batch id. */
export interface RamaRun {
  readonly batchId: string;
  readonly day: string;
  readonly devices: DeviceScore[];
  readonly sites: SiteScore[];
  readonly deviceRows: DeviceScoreRow[];
  readonly siteRows: SiteScoreRow[];
  readonly snapshotRows: SnapshotRow[];
}

/** UTC day of an epoch-microsecond time. */
export function dayOf(micros: number): string {
  return new Date(Math.floor(micros / 1000)).toISOString().slice(0, 10);
}

/** Contributions as the stored JSON: `[{"factor":…,"points":…}]`. */
export function contributionsJson(list: readonly { factor: string; points: number }[]): string {
  return JSON.stringify(list.map((c) => ({ factor: c.factor, points: c.points })));
}

/** Score every device and site of `inputs` at `asOf`; `versions` names the input tables' versions. */
export function ramaRun(inputs: readonly DeviceRiskInput[], asOf: number, versions: Readonly<Record<string, string>>): RamaRun {
  const devices: DeviceScore[] = new Array(inputs.length);
  const deviceRows: DeviceScoreRow[] = new Array(inputs.length);
  const runHash = createHash('sha256').update(`${RAMA_MODEL_VERSION}\u0000${asOf}\u0000${JSON.stringify(versions)}`);
  const day = dayOf(asOf);
  const fingerprints = new Array<string>(inputs.length);
  for (let i = 0; i < inputs.length; i++) {
    fingerprints[i] = inputFingerprint(inputs[i]);
    runHash.update(`${inputs[i].site}\u0000${inputs[i].device}\u0000${fingerprints[i]}\n`);
  }
  const run = `rama:${day}:${runHash.digest('hex').slice(0, 20)}`;
  const versionText = JSON.stringify(versions).slice(1, -1);
  for (let i = 0; i < inputs.length; i++) {
    const s = scoreDevice(inputs[i], { asOf });
    devices[i] = s;
    deviceRows[i] = {
      as_of: asOf,
      run,
      site: s.site,
      device: s.device,
      unit: s.unit,
      criticality: s.criticality,
      score: s.score,
      cents: s.cents,
      band: s.band,
      contributions: contributionsJson(s.contributions),
      hazard_raw: s.hazardRaw,
      hazard: s.hazard,
      model_version: RAMA_MODEL_VERSION,
      input_versions: `{"rama":"${RAMA_MODEL_VERSION}","inputs":"${fingerprints[i]}"${versionText ? ',' + versionText : ''}}`,
    };
  }
  const sites = scoreSites(devices);
  const siteVersions = JSON.stringify({ rama: RAMA_MODEL_VERSION, run, ...versions });
  const siteRows: SiteScoreRow[] = sites.map((s) => ({
    as_of: asOf,
    run,
    site: s.site,
    scope: s.scope,
    unit: s.unit,
    score: s.score,
    cents: s.cents,
    band: s.band,
    devices: s.devices,
    vulnerable: s.vulnerable,
    vulnerable_share: s.vulnerableShare,
    mean_score: s.meanScore,
    contributions: contributionsJson(s.contributions),
    model_version: RAMA_MODEL_VERSION,
    input_versions: siteVersions,
  }));
  const snapshotRows: SnapshotRow[] = sites.map((s) => ({
    day,
    as_of: asOf,
    site: s.site,
    scope: s.scope,
    unit: s.unit,
    score: s.score,
    band: s.band,
    devices: s.devices,
    vulnerable: s.vulnerable,
    vulnerable_share: s.vulnerableShare,
    model_version: RAMA_MODEL_VERSION,
  }));
  return { batchId: run, day, devices, sites, deviceRows, siteRows, snapshotRows };
}
