/**
 * The detections table: one row per classified flow (or feature row), with the model's label and
 * probability, the threat taxonomy of the label and what drove the decision. Written by the
 * classify operator; read by the store, incidents, RAMA and the dashboards.
 */
import { arrowSchema, type ColumnSpec, type RowOf } from '../pipeline/columns.ts';

/** Version of the detections table; bumped when a column is removed or retyped. */
export const DETECTIONS_VERSION = 1;

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
  c('features_top', 'utf8', true, 'JSON [{feature, value, share}] of the features that decided most splits on the paths to the label (null for benign rows).'),
  c('benign', 'bool', false, 'True when the label is the benign class.'),
] as const;

/** One detection. */
export type DetectionRow = RowOf<typeof DETECTION_COLUMNS>;

/** The Arrow schema of the detections table. */
export const DETECTIONS_SCHEMA = arrowSchema('detections', DETECTIONS_VERSION, DETECTION_COLUMNS);
