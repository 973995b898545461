/**
 * The MITRE "Rubric for Applying CVSS to Medical Devices" (2019; FDA-qualified MDDT, 2020) as a
 * questionnaire. Answers (yes / no / unknown, or high / low / none / unknown for impacts) produce an
 * adjusted CVSS v3 base vector with the reason for each metric. As the rubric prescribes, an
 * "unknown" answer resolves to the worse value. Question ids are the rubric's extended vector
 * element names (XAVN, XPRZ, XCPM, …); the wording is HEIR's paraphrase of its decision flows.
 */
import { formatCvss3, cvss3Scores, type Cvss3Base } from './cvss31.ts';
import { ErrorCode, UserError } from '../pipeline/errors.ts';

/** A yes/no answer; `unknown` resolves to the answer giving the worse score. */
export type YesNo = 'yes' | 'no' | 'unknown';
/** An impact answer for one data category and one security property. */
export type ImpactLevel = 'high' | 'low' | 'none' | 'unknown';

/** One question of the questionnaire. */
export interface RubricQuestion {
  readonly id: string;
  readonly metric: keyof Cvss3Base;
  readonly text: string;
  readonly kind: 'yes-no' | 'impact';
}

/** Data categories the rubric asks impact questions for (worst one wins). */
export const IMPACT_CATEGORIES = [
  { key: 'P', name: 'patient data (PHI/PII)' },
  { key: 'D', name: 'data or functions for diagnosis or monitoring' },
  { key: 'T', name: 'data or functions for delivering therapy' },
  { key: 'W', name: 'data or functions of clinical workflow' },
  { key: 'S', name: 'system secrets and system-user data (passwords, keys)' },
  { key: 'O', name: 'other critical or sensitive data or functions' },
] as const;

/** The questions, in the order an analyst answers them. */
export const RUBRIC_QUESTIONS: readonly RubricQuestion[] = [
  { id: 'XAVN', metric: 'AV', kind: 'yes-no', text: 'Can the vulnerability be exploited across a routed network or the internet (beyond the local segment)?' },
  { id: 'XAVT', metric: 'AV', kind: 'yes-no', text: 'Can it be exploited from the same local network segment (wired LAN, broadcast domain)?' },
  { id: 'XAVW', metric: 'AV', kind: 'yes-no', text: 'Can it be exploited over a wireless link (Wi-Fi, Bluetooth, RF telemetry) by an attacker within radio range?' },
  { id: 'XAVR', metric: 'AV', kind: 'yes-no', text: 'Is the wireless range long enough to reach the device from outside the room or the building?' },
  { id: 'XAVP', metric: 'AV', kind: 'yes-no', text: 'Does exploitation require physically touching or connecting to the device (USB, serial, removable media, opening the case)?' },
  { id: 'XACL', metric: 'AC', kind: 'yes-no', text: 'Can the attacker exploit it at will, without conditions outside their control (timing, device-specific secrets, a particular clinical state)?' },
  { id: 'XPRL', metric: 'PR', kind: 'yes-no', text: 'Does exploitation require the attacker to be authenticated or to hold privileges on the device?' },
  { id: 'XPRZ', metric: 'PR', kind: 'yes-no', text: 'Are those privileges trivially obtained (default, shared or hard-coded credentials)?' },
  { id: 'XPRS', metric: 'PR', kind: 'yes-no', text: 'Are administrative, service or manufacturer-level privileges required?' },
  { id: 'XUI', metric: 'UI', kind: 'yes-no', text: 'Does exploitation require an action by a clinician, patient or other user (opening a file, pairing, clicking)?' },
  { id: 'XS', metric: 'S', kind: 'yes-no', text: 'Can exploitation affect components beyond the vulnerable one (other systems, or the patient through the therapy the device delivers)?' },
  { id: 'XCPM', metric: 'C', kind: 'yes-no', text: 'Could patient data of more than 500 patients be disclosed?' },
  ...(['C', 'I', 'A'] as const).flatMap((m) =>
    IMPACT_CATEGORIES.map((c) => ({
      id: `X${m}${c.key}`,
      metric: m,
      kind: 'impact' as const,
      text: `${m === 'C' ? 'Confidentiality' : m === 'I' ? 'Integrity' : 'Availability'} impact on ${c.name}: high, low, none or unknown?`,
    })),
  ),
];

/** Answers by question id. Missing answers count as `unknown`. */
export type RubricAnswers = Readonly<Record<string, YesNo | ImpactLevel>>;

/** The adjusted vector, its score and the reason for each metric. */
export interface RubricResult {
  readonly vector: string;
  readonly score: number;
  readonly base: Cvss3Base;
  readonly reasons: Readonly<Record<keyof Cvss3Base, string>>;
  /** The answers as the rubric's extended vector elements, e.g. `XAVN:Y/XAVW:U/...`. */
  readonly extended: string;
}

const QUESTION_IDS = new Set(RUBRIC_QUESTIONS.map((q) => q.id));

function yn(answers: RubricAnswers, id: string): YesNo {
  const a = answers[id] ?? 'unknown';
  if (a !== 'yes' && a !== 'no' && a !== 'unknown') throw new UserError(ErrorCode.INPUT_MALFORMED, `rubric answer ${id}: "${a}" is not yes, no or unknown`);
  return a;
}

function impact(answers: RubricAnswers, id: string): ImpactLevel {
  const a = answers[id] ?? 'unknown';
  if (a !== 'high' && a !== 'low' && a !== 'none' && a !== 'unknown') throw new UserError(ErrorCode.INPUT_MALFORMED, `rubric answer ${id}: "${a}" is not high, low, none or unknown`);
  return a;
}

/**
 * Apply the rubric to a set of answers.
 * @example applyRubric({ XAVN: 'no', XAVT: 'no', XAVW: 'yes', XAVR: 'no', ... }).vector
 */
export function applyRubric(answers: RubricAnswers): RubricResult {
  for (const id of Object.keys(answers)) if (!QUESTION_IDS.has(id)) throw new UserError(ErrorCode.INPUT_MALFORMED, `unknown rubric question id ${id}`);
  const reasons: Partial<Record<keyof Cvss3Base, string>> = {};
  const u = (a: YesNo) => (a === 'unknown' ? ' (unknown: the worse value)' : '');

  // Attack vector: the farthest position from which the attack works.
  let AV: Cvss3Base['AV'];
  const avn = yn(answers, 'XAVN');
  const avt = yn(answers, 'XAVT');
  const avw = yn(answers, 'XAVW');
  const avr = yn(answers, 'XAVR');
  const avp = yn(answers, 'XAVP');
  if (avn !== 'no') {
    AV = 'N';
    reasons.AV = `exploitable across a routed network${u(avn)}`;
  } else if (avw !== 'no' && avr !== 'no') {
    AV = 'N';
    reasons.AV = `wireless with a range reaching beyond the room/building, treated as network${avw === 'unknown' || avr === 'unknown' ? ' (unknown: the worse value)' : ''}`;
  } else if (avt !== 'no' || avw !== 'no') {
    AV = 'A';
    reasons.AV = avt !== 'no' ? `exploitable from the local segment${u(avt)}` : `wireless within radio range${u(avw)}`;
  } else if (avp === 'yes') {
    AV = 'P';
    reasons.AV = 'requires physical contact with the device';
  } else {
    AV = 'L';
    reasons.AV = `requires local access (console, installed software)${avp === 'unknown' ? '; physical contact not established, local is worse' : ''}`;
  }

  const acl = yn(answers, 'XACL');
  const AC: Cvss3Base['AC'] = acl === 'no' ? 'H' : 'L';
  reasons.AC = acl === 'no' ? 'needs conditions outside the attacker’s control' : `exploitable at will${u(acl)}`;

  let PR: Cvss3Base['PR'];
  const prl = yn(answers, 'XPRL');
  const prz = yn(answers, 'XPRZ');
  const prs = yn(answers, 'XPRS');
  if (prl !== 'yes') {
    PR = 'N';
    reasons.PR = `no authentication needed${u(prl)}`;
  } else if (prz !== 'no') {
    PR = 'N';
    reasons.PR = `privileges come from default, shared or hard-coded credentials${u(prz)}`;
  } else if (prs === 'yes') {
    PR = 'H';
    reasons.PR = 'administrative or service privileges required';
  } else {
    PR = 'L';
    reasons.PR = `ordinary user privileges required${prs === 'unknown' ? ' (unknown: low is worse than high)' : ''}`;
  }

  const ui = yn(answers, 'XUI');
  const UI: Cvss3Base['UI'] = ui === 'yes' ? 'R' : 'N';
  reasons.UI = ui === 'yes' ? 'a user must act' : `no user action needed${u(ui)}`;

  const xs = yn(answers, 'XS');
  const S: Cvss3Base['S'] = xs === 'no' ? 'U' : 'C';
  reasons.S = xs === 'no' ? 'impact stays within the vulnerable component' : `impact reaches beyond the vulnerable component${u(xs)}`;

  // Impacts: the worst category wins; PHI confidentiality is high only above 500 patients.
  const rank = { none: 0, low: 1, high: 2 } as const;
  const cia: Record<'C' | 'I' | 'A', Cvss3Base['C']> = { C: 'N', I: 'N', A: 'N' };
  for (const m of ['C', 'I', 'A'] as const) {
    let worst: 'none' | 'low' | 'high' = 'none';
    let why = 'no impact on any data category';
    for (const c of IMPACT_CATEGORIES) {
      const id = `X${m}${c.key}`;
      let level = impact(answers, id);
      let note = level === 'unknown' ? ' (unknown: high)' : '';
      if (level === 'unknown') level = 'high';
      if (m === 'C' && c.key === 'P' && level === 'high') {
        const many = yn(answers, 'XCPM');
        if (many === 'no') {
          level = 'low';
          note += '; 500 patients or fewer';
        } else note += many === 'unknown' ? '; patient count unknown: more than 500 assumed' : '; more than 500 patients';
      }
      if (rank[level] > rank[worst]) {
        worst = level;
        why = `${level} impact on ${c.name}${note}`;
      }
    }
    cia[m] = worst === 'high' ? 'H' : worst === 'low' ? 'L' : 'N';
    reasons[m] = why;
  }

  const base: Cvss3Base = { AV, AC, PR, UI, S, C: cia.C, I: cia.I, A: cia.A };
  const vector = formatCvss3(base, '3.1');
  const code = (a: string) => (a === 'yes' ? 'Y' : a === 'no' ? 'N' : a === 'high' ? 'H' : a === 'low' ? 'L' : a === 'none' ? 'X' : 'U');
  const extended = RUBRIC_QUESTIONS.map((q) => `${q.id}:${code(answers[q.id] ?? 'unknown')}`).join('/');
  return { vector, score: cvss3Scores({ version: '3.1', base }).base, base, reasons: reasons as Record<keyof Cvss3Base, string>, extended };
}
