/**
 * RAMA's own typed input model and the constants of the formula (docs/rama.md explains every
 * number). The scoring functions read only these types, so the knowledge base, the inventory, the
 * hunt rules and the classifier reach RAMA through one small adapter (operators/rama/adapter.ts).
 */

/** Version of the RAMA formula; bumped whenever a score can change for the same input. */
export const RAMA_MODEL_VERSION = 'rama-1.0';

/** Clinical criticality of a device, worst first. */
export const CRITICALITIES = ['life-sustaining', 'therapy', 'diagnosis', 'monitoring', 'workflow', 'non-clinical'] as const;
export type Criticality = (typeof CRITICALITIES)[number];

/**
 * Weight of a device's weaknesses by its clinical criticality: every hazard is multiplied by it,
 * and the site roll-up weighs devices by it.
 */
export const CRITICALITY_WEIGHT: Readonly<Record<Criticality, number>> = {
  'life-sustaining': 1.0,
  therapy: 0.8,
  diagnosis: 0.6,
  monitoring: 0.5,
  workflow: 0.35,
  'non-clinical': 0.2,
};

/** How far away an attacker may be (CVSS attack vector): Network, Adjacent, Local, Physical. */
export type AttackVector = 'N' | 'A' | 'L' | 'P';

/** Exploitation evidence, as SSVC names it. */
export type Exploitation = 'none' | 'poc' | 'active';

/** Severity words shared by hunt findings and classified attacks. */
export const SEVERITIES = ['info', 'low', 'medium', 'high', 'critical'] as const;
export type Severity = (typeof SEVERITIES)[number];

/** One known vulnerability matched to the device. */
export interface VulnInput {
  readonly cve: string;
  /** CVSS base score 0–10 as published (v3.1 or v4.0 base). */
  readonly cvssBase: number;
  /** Which CVSS the base score is; `headline` = only the advisory's headline score was known. */
  readonly cvssVersion: '3.0' | '3.1' | '4.0' | 'headline';
  /** Base score re-computed with the MITRE medical-device rubric, when its answers are known. */
  readonly rubricAdjustedBase?: number | null;
  /** Attack vector; unknown is treated as Network (the worse value). */
  readonly attackVector?: AttackVector | null;
  /** Listed in CISA's Known Exploited Vulnerabilities catalogue. */
  readonly kev: boolean;
  readonly exploitation: Exploitation;
  /** SSVC "automatable: yes". */
  readonly automatable: boolean;
  readonly fixAvailable: boolean;
  readonly fixApplied: boolean;
}

/** One posture finding of a hunt rule on the device. */
export interface FindingInput {
  readonly rule: string;
  readonly severity: Severity;
}

/** One attack seen against the device by the classifier. */
export interface AttackInput {
  readonly threat: string;
  readonly severity: Severity;
  /** Classifier confidence 0–1. */
  readonly confidence: number;
  /** When it was seen, epoch microseconds. */
  readonly ts: number;
}

/** Compensating controls; unknown is the worse value (not segmented, internet exposed). */
export interface ControlsInput {
  readonly segmented: boolean;
  readonly internetExposed: boolean;
}

/** Everything RAMA knows about one device. */
export interface DeviceRiskInput {
  readonly device: string;
  readonly site: string;
  /** Care unit or network segment, for the per-unit roll-up. */
  readonly unit: string;
  readonly make: string;
  readonly model: string;
  readonly criticality: Criticality;
  readonly vulns: readonly VulnInput[];
  readonly findings: readonly FindingInput[];
  readonly attacks: readonly AttackInput[];
  readonly controls: ControlsInput;
}

/** Scale of a vulnerability's hazard: a CVSS 10 with no other signal costs 1 − e^−K of the score. */
export const K_VULN = 0.55;
/** Exploitation multipliers (KEV counts as active exploitation). */
export const EXPLOITATION_FACTOR: Readonly<Record<Exploitation, number>> = { none: 1, poc: 1.5, active: 2.5 };
/** SSVC automatable: an attack that scales across a fleet. */
export const AUTOMATABLE_FACTOR = 1.25;
/** Share of the remaining score one finding removes on a life-sustaining, exposed device. */
export const FINDING_SHARE: Readonly<Record<Severity, number>> = { info: 0, low: 0.03, medium: 0.08, high: 0.16, critical: 0.3 };
/** Share of the remaining score one fresh, certain attack removes on a life-sustaining device. */
export const ATTACK_SHARE: Readonly<Record<Severity, number>> = { info: 0, low: 0.05, medium: 0.12, high: 0.25, critical: 0.45 };
/** Half-life of an observed attack's weight, in days. */
export const ATTACK_HALF_LIFE_DAYS = 14;
/** Diminishing returns inside a factor class: the k-th worst item counts RHO^(k−1). */
export const RHO = { vuln: 0.6, finding: 0.6, attack: 0.5 } as const;
/** Hazard multiplier of a network-reachable weakness when the device is not internet exposed. */
export const NO_INTERNET_FACTOR = 0.6;
/** Hazard multiplier of a network- or adjacent-reachable weakness on a segmented device. */
export const SEGMENTATION_FACTOR = 0.7;
/** Hazards are summed as integers of this many units per 1.0 (exact, order-independent sums). */
export const HAZARD_UNITS = 1_000_000;

/** Bands with their lower bounds (inclusive), best first. */
export const BANDS = [
  { band: 'secure', min: 85 },
  { band: 'needs-attention', min: 60 },
  { band: 'vulnerable', min: 0 },
] as const;
export type Band = (typeof BANDS)[number]['band'];

/** The band of a score in hundredths of a point (0–10000). */
export function bandOfCents(cents: number): Band {
  for (const b of BANDS) if (cents >= b.min * 100) return b.band;
  return 'vulnerable';
}

/** One factor's share of a score: points are hundredths-exact (`cents / 100`). */
export interface Contribution {
  /** `vuln:CVE-…`, `finding:<rule>`, `attack:<threat>`, `control:no-internet-exposure`, `control:segmentation`. */
  readonly factor: string;
  /** Signed hundredths of a point; 10000 + Σ cents = score cents exactly. */
  readonly cents: number;
  readonly points: number;
}

/** A scored device with its explanation. */
export interface DeviceScore {
  readonly device: string;
  readonly site: string;
  readonly unit: string;
  readonly criticality: Criticality;
  /** Score in hundredths of a point, 0–10000. */
  readonly cents: number;
  /** Score 0–100 with two decimals (`cents / 100`). */
  readonly score: number;
  readonly band: Band;
  /** Ordered: vulnerabilities, findings, attacks (worst first within each), then controls. */
  readonly contributions: readonly Contribution[];
  /** Total hazard (integer units) before and after controls, for audits. */
  readonly hazardRaw: number;
  readonly hazard: number;
}
