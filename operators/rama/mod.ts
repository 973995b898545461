/**
 * RAMA's public API (docs/rama.md): the input model, device/site scoring with exact
 * contributions, the peer benchmark and its differentially private release, what-if, the store
 * adapter and the output tables. Other modules of operators/rama are internals.
 */
export {
  RAMA_MODEL_VERSION,
  CRITICALITIES,
  CRITICALITY_WEIGHT,
  SEVERITIES,
  BANDS,
  bandOfCents,
  type AttackInput,
  type AttackVector,
  type Band,
  type Contribution,
  type ControlsInput,
  type Criticality,
  type DeviceRiskInput,
  type DeviceScore,
  type Exploitation,
  type FindingInput,
  type Severity,
  type VulnInput,
} from './model.ts';
export { scoreDevice, type ScoreOptions } from './device.ts';
export { scoreSites, rollup, rollupWeight, VULNERABLE_SHARE_PENALTY, type SiteScore } from './site.ts';
export { whatIf, type WhatIf } from './whatif.ts';
export {
  PEER_LEVELS,
  PEER_DOMAIN,
  OUTLIER_Z,
  OUTLIER_MIN_GROUP,
  benchmarkSites,
  summarizeGroups,
  partitionScores,
  percentileRanks,
  robustZ,
  quantile,
  trend,
  type BenchmarkRow,
  type GroupSummary,
  type PeerDomain,
  type SiteProfile,
  type TrendPoint,
} from './benchmark.ts';
export { PrivacyBudget, cryptoRandom, seededRandom, laplace, noisyPercentiles, releaseGroups, type DpRelease, type DpPercentileOptions, type Random } from './dp.ts';
export { inputsFromRows, readInputRows, inputFingerprint, threatId, THREAT_SEVERITY, INPUT_SQL, type AdaptedInputs, type InputRows, type Query } from './adapter.ts';
export { ramaRun, dayOf, type RamaRun } from './run.ts';
export * from './tables.ts';
