/**
 * The classify operator: scores every row of the `flows` table with a random-forest model and
 * writes one `detections` row per flow: label, probability, the label's threat taxonomy and the
 * features that drove the decision. The model's features are looked up as columns of the batch
 * (a featurize operator adds them) or inside the `features` JSON column that dataset parsers
 * fill; a feature found in neither is an error naming it.
 */
import { createHash } from 'node:crypto';
import { DataType, Precision, type Float, type Int, type RecordBatch, type Vector } from 'apache-arrow';
import { batchFromColumns } from '../pipeline/columns.ts';
import { ErrorCode, HeirError } from '../pipeline/errors.ts';
import type { Operator, OperatorContext, Tables } from '../pipeline/types.ts';
import { DETECTION_COLUMNS, DETECTIONS_SCHEMA } from './detections-schema.ts';
import { loadModel, modelId, type Model } from './forest/model-file.ts';
import { threatOf, type ThreatTags } from './threat-map.ts';

/** Options of the classify operator. */
export interface ClassifyOptions {
  /** Table to read (default `flows`). */
  readonly input?: string;
  /** Features named in `features_top` (default 3). */
  readonly topFeatures?: number;
  /** Trees whose paths explain a detection (default 16; fewer is faster). */
  readonly explainTrees?: number;
}

/** The features of a batch as a row-major matrix, or the names of the features it lacks. */
export function featureMatrix(batch: RecordBatch, names: readonly string[]): { x: Float64Array } | { missing: string[] } {
  const rows = batch.numRows;
  const d = names.length;
  const x = new Float64Array(rows * d);
  const fromJson: number[] = [];
  for (let f = 0; f < d; f++) {
    const column = batch.getChild(names[f]);
    if (column && isPlainNumber(column)) copyColumn(column, x, f, d, rows);
    else fromJson.push(f);
  }
  if (fromJson.length === 0) return { x };
  const json = batch.getChild('features');
  if (!json) return { missing: fromJson.map((f) => names[f]) };
  // Each feature must appear in at least one row's JSON; absent or null values become NaN.
  const seen = new Uint8Array(d);
  for (let r = 0; r < rows; r++) {
    const text = json.get(r) as string | null;
    const values = text ? (JSON.parse(text) as Record<string, number | null>) : {};
    for (const f of fromJson) {
      const v = values[names[f]];
      if (v !== undefined) seen[f] = 1;
      x[r * d + f] = typeof v === 'number' ? v : NaN;
    }
  }
  const missing = fromJson.filter((f) => !seen[f]).map((f) => names[f]);
  return missing.length > 0 && rows > 0 ? { missing } : { x };
}

/** Float32/64 and integers up to 32 bits: their values are plain numbers. */
function isPlainNumber(column: Vector): boolean {
  const type = column.type;
  if (DataType.isFloat(type)) return (type as Float).precision !== Precision.HALF;
  if (DataType.isInt(type)) return (type as Int).bitWidth <= 32;
  return false;
}

function copyColumn(column: Vector, x: Float64Array, f: number, d: number, rows: number): void {
  if (column.nullCount === 0) {
    const values = column.toArray() as ArrayLike<number>;
    for (let r = 0; r < rows; r++) x[r * d + f] = values[r];
  } else {
    for (let r = 0; r < rows; r++) {
      const v = column.get(r) as number | null;
      x[r * d + f] = v === null ? NaN : v;
    }
  }
}

function joined(list: readonly string[]): string | null {
  return list.length > 0 ? list.join(',') : null;
}

/** A classify operator for a loaded model. */
export function classifyOperator(model: Model, options: ClassifyOptions = {}): Operator {
  const input = options.input ?? 'flows';
  const top = options.topFeatures ?? 3;
  const id = modelId(model);
  const { forest, meta } = model;
  const K = forest.classes;
  const tags: ThreatTags[] = meta.classes.map((c) => meta.threatMap[c] ?? threatOf(c));
  const benignIndex = meta.benign === null ? -1 : meta.classes.indexOf(meta.benign);
  const explainTrees = Math.min(forest.trees, options.explainTrees ?? 16);
  return {
    descriptor: {
      name: 'classify',
      version: '1',
      summary: `random-forest classification of ${input} with model ${id}`,
      reads: [input],
      writes: ['detections'],
    },
    apply(tables: Tables, context: OperatorContext): Tables {
      const batch = tables[input];
      if (!batch) throw new HeirError(ErrorCode.SCHEMA_MISMATCH, `classify: no ${input} table in the batch`);
      const rows = batch.numRows;
      const m = featureMatrix(batch, meta.features);
      if ('missing' in m) {
        throw new HeirError(ErrorCode.FEATURES_MISSING, `classify: the ${input} batch lacks the model's feature column(s) ${m.missing.join(', ')} (feature set ${meta.featureSet.name}@${meta.featureSet.version}); add them with a featurize operator or a parser that fills the features column`);
      }
      const x = m.x;
      const proba = forest.predictProba(x, rows);
      const flowIds = batch.getChild('flow_id');
      const sites = batch.getChild('site_id');
      const deviceCol = batch.getChild('device') ?? batch.getChild('src_addr');
      const tsCol = batch.getChild('ts_start') ?? batch.getChild('ts');
      const cols = {
        detection_id: new Array<string>(rows),
        flow_id: new Array<string>(rows),
        site_id: new Array<string>(rows),
        device: new Array<string | null>(rows),
        ts: new Float64Array(rows),
        model: new Array<string>(rows).fill(id),
        label: new Array<string>(rows),
        confidence: new Float64Array(rows),
        threat: new Array<string | null>(rows),
        owasp: new Array<string | null>(rows),
        owasp_iot: new Array<string | null>(rows),
        attack_ics: new Array<string | null>(rows),
        features_top: new Array<string | null>(rows),
        benign: new Array<boolean>(rows),
      };
      const counts = new Float64Array(meta.features.length);
      for (let r = 0; r < rows; r++) {
        let best = 0;
        for (let k = 1; k < K; k++) if (proba[r * K + k] > proba[r * K + best]) best = k;
        const flowId = flowIds ? String(flowIds.get(r)) : `${context.batchId}:${r}`;
        cols.detection_id[r] = createHash('sha1').update(flowId).update('\0').update(id).digest('hex').slice(0, 16);
        cols.flow_id[r] = flowId;
        cols.site_id[r] = sites ? String(sites.get(r)) : context.site;
        const dev = deviceCol?.get(r);
        cols.device[r] = dev === null || dev === undefined ? null : String(dev);
        // Arrow returns timestamps in milliseconds; the table keeps microseconds.
        const t = tsCol?.get(r) as number | bigint | null | undefined;
        cols.ts[r] = t === null || t === undefined ? 0 : Math.round(Number(t) * 1000);
        cols.label[r] = meta.classes[best];
        cols.confidence[r] = proba[r * K + best];
        const benign = best === benignIndex;
        cols.benign[r] = benign;
        const tag = tags[best];
        cols.threat[r] = benign ? null : (tag.enisa[0] ?? null);
        cols.owasp[r] = benign ? null : joined(tag.owasp);
        cols.owasp_iot[r] = benign ? null : joined(tag.owaspIot);
        cols.attack_ics[r] = benign ? null : joined(tag.attackIcs);
        cols.features_top[r] = benign ? null : explain(r, best);
      }
      const detections = batchFromColumns(DETECTIONS_SCHEMA, DETECTION_COLUMNS, cols as unknown as Record<string, ArrayLike<unknown>>, rows);
      return { ...tables, detections };

      // The features that decided most splits on the paths of the trees voting for the label.
      function explain(r: number, label: number): string {
        counts.fill(0);
        let total = 0;
        const one = new Float64Array(K);
        for (let t = 0; t < explainTrees; t++) {
          one.fill(0);
          forest.accumulate(x.subarray(r * forest.features, (r + 1) * forest.features), 1, one, t, t + 1);
          if (one[label] < 0.5) continue;
          forest.path(x, r, t, (f) => {
            counts[f]++;
            total++;
          });
        }
        const order = Array.from(counts.keys()).filter((f) => counts[f] > 0).sort((a, b) => counts[b] - counts[a] || a - b).slice(0, top);
        return JSON.stringify(order.map((f) => ({ feature: meta.features[f], value: x[r * forest.features + f], share: Number((counts[f] / total).toFixed(3)) })));
      }
    },
  };
}

/** A classify operator for a model file. */
export function classifyFromFile(path: string, options: ClassifyOptions = {}): Operator {
  return classifyOperator(loadModel(path), options);
}
