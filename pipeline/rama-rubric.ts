/**
 * The MITRE medical-device rubric in RAMA: where a site has answered the rubric's questions for a
 * model (all its CVEs, or one CVE), each matched vulnerability of that model without a
 * rubric-adjusted score gets one, computed by the knowledge base's rubric
 * (knowledge/mitre-rubric.ts). Unanswered questions resolve to the worse value, as the rubric says.
 */
import { applyRubric, type RubricAnswers } from '../knowledge/mitre-rubric.ts';
import { ErrorCode, UserError, messageOf } from './errors.ts';

type Row = Record<string, unknown>;

const fold = (s: unknown) => String(s ?? '').trim().toLowerCase();

/**
 * Set `rubric_adjusted_base` on the vulnerability rows whose device's make and model have answers
 * (model-wide answers, overridden per question by answers for the CVE). Returns how many were set.
 */
export function applyRubricAnswers(devices: readonly Row[], vulns: Row[], answers: readonly Row[]): number {
  if (answers.length === 0) return 0;
  const byModel = new Map<string, RubricAnswers>();
  const byCve = new Map<string, RubricAnswers>();
  for (const a of answers) {
    let parsed: RubricAnswers;
    try {
      parsed = JSON.parse(String(a.answers)) as RubricAnswers;
      if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('not a JSON object');
    } catch (error) {
      throw new UserError(ErrorCode.INPUT_MALFORMED, `rama_rubric_answers ${String(a.make)} ${String(a.model)} ${String(a.cve ?? '(all CVEs)')}: answers ${messageOf(error)}`, { cause: error });
    }
    const model = `${fold(a.make)}\u0000${fold(a.model)}`;
    if (a.cve === null || a.cve === undefined) byModel.set(model, { ...byModel.get(model), ...parsed });
    else byCve.set(`${model}\u0000${fold(a.cve)}`, { ...byCve.get(`${model}\u0000${fold(a.cve)}`), ...parsed });
  }
  const modelOf = new Map(devices.map((d) => [`${String(d.site)}\u0000${String(d.device)}`, `${fold(d.make)}\u0000${fold(d.model)}`]));
  let applied = 0;
  for (const v of vulns) {
    if (v.rubric_adjusted_base !== null && v.rubric_adjusted_base !== undefined) continue;
    const model = modelOf.get(`${String(v.site)}\u0000${String(v.device)}`);
    if (model === undefined) continue;
    const general = byModel.get(model);
    const specific = byCve.get(`${model}\u0000${fold(v.cve)}`);
    if (!general && !specific) continue;
    try {
      v.rubric_adjusted_base = applyRubric({ ...general, ...specific }).score;
    } catch (error) {
      throw new UserError(ErrorCode.INPUT_MALFORMED, `rama_rubric_answers for ${model.replace('\u0000', ' ')} ${String(v.cve)}: ${messageOf(error)}`, { cause: error });
    }
    applied++;
  }
  return applied;
}
