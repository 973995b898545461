/**
 * The detections table: one row per classified flow (or feature row), with the model's label and
 * probability, the threat taxonomy of the label and what drove the decision. Written by the
 * classify operator; read by the store, incidents, RAMA and the dashboards.
 */
import { arrowSchema, type ColumnSpec, type RowOf } from '../pipeline/columns.ts';

/**
 * Version of the detections table; bumped when a column is removed or retyped. Version 2 carries
 * the explanation as typed columns (top1_feature … top3_share) instead of the JSON text of
 * version 1's `features_top`.
 */
export const DETECTIONS_VERSION = 2;

/** Features an explanation names at most (the top1…top3 column triples). */
export const EXPLANATION_SLOTS = 3;

const c = <N extends string, K extends ColumnSpec['kind'], Nl extends boolean>(name: N, kind: K, nullable: Nl, doc: string) =>
  ({ name, kind, nullable, doc }) as const;

/** The columns of the detections table. */
export const DETECTION_COLUMNS = [
  c('detection_id', 'utf8', false, 'Deterministic id: 16 hex digits of a 64-bit FNV-1a hash over the model id and flow_id, so a replayed batch yields the same ids.'),
  c('flow_id', 'utf8', false, 'The classified flow (or feature row).'),
  c('site_id', 'utf8', false, 'Site that observed the flow.'),
  c('device', 'utf8', true, "The device concerned: the row's device column where the feature set names one, else the flow's source address."),
  c('ts', 'ts', false, 'Start of the flow (UTC, µs).'),
  c('model', 'utf8', false, 'Model id: feature set, target and a hash of the forest.'),
  c('label', 'utf8', false, 'Predicted class.'),
  c('confidence', 'f64', false, 'Probability of the predicted class (mean over trees), 0–1.'),
  c('threat', 'utf8', true, 'ENISA Threat Landscape top-15 threat id of the label (null for benign).'),
  c('owasp', 'utf8', true, 'OWASP Top 10 (2021) categories, comma-separated.'),
  c('owasp_iot', 'utf8', true, 'OWASP IoT Top 10 (2018) categories, comma-separated.'),
  c('attack_ics', 'utf8', true, 'ATT&CK for ICS technique ids, comma-separated.'),
  c('top1_feature', 'utf8', true, 'The feature that decided most splits on the paths, in the first explanation trees, whose leaf votes for the label (null for benign rows).'),
  c('top1_value', 'f64', true, "The flow's value of top1_feature (null when the flow has none)."),
  c('top1_share', 'f64', true, 'Share of those splits that test top1_feature, 0–1 in thousandths.'),
  c('top2_feature', 'utf8', true, 'The feature deciding the next most splits (ties by feature order; null when the paths split on fewer features).'),
  c('top2_value', 'f64', true, "The flow's value of top2_feature."),
  c('top2_share', 'f64', true, 'Share of the splits that test top2_feature.'),
  c('top3_feature', 'utf8', true, 'The feature deciding the third most splits.'),
  c('top3_value', 'f64', true, "The flow's value of top3_feature."),
  c('top3_share', 'f64', true, 'Share of the splits that test top3_feature.'),
  c('benign', 'bool', false, 'True when the label is the benign class.'),
] as const;

/** One detection. */
export type DetectionRow = RowOf<typeof DETECTION_COLUMNS>;

/** The Arrow schema of the detections table. */
export const DETECTIONS_SCHEMA = arrowSchema('detections', DETECTIONS_VERSION, DETECTION_COLUMNS);
