/**
 * The operators a pipeline config can name, each loaded lazily. `heir operators` lists them.
 */
import { ConfigError } from '../pipeline/errors.ts';
import type { Operator } from '../pipeline/types.ts';

/** What a factory may use: the model file for classify. */
export interface OperatorOptions {
  readonly model?: string;
}

interface Entry {
  readonly summary: string;
  readonly load: (options: OperatorOptions) => Promise<Operator>;
}

const REGISTRY: Readonly<Record<string, Entry>> = {
  'featurize-flow': {
    summary: 'per-flow features (feature set flow@1) from the flow schema into flow_features',
    load: async () => (await import('./featurize-flow.ts')).featurizeFlowOperator,
  },
  'featurize-device': {
    summary: 'per-device behaviour over event-time sliding windows (feature set device@1)',
    load: async () => {
      const m = await import('./featurize-device.ts');
      return m.featurizeDeviceOperator(m.createDeviceState());
    },
  },
  classify: {
    summary: 'random-forest threat classification into the detections table',
    load: async (options) => {
      const { defaultModelPath } = await import('./default-model.ts');
      const path = options.model ?? defaultModelPath();
      if (!path) throw new ConfigError('operator classify needs a model: set model = "FILE" in the config or pass --model FILE');
      const { loadModel } = await import('./forest/model-file.ts');
      const { classifyOperator } = await import('./classify.ts');
      const model = loadModel(path);
      // A model trained on per-flow features reads what featurize-flow wrote; dataset models read
      // their columns from the flows table (and its features JSON).
      return classifyOperator(model, { input: model.meta.featureSet.name === 'flow' ? 'flow_features' : 'flows' });
    },
  },
  hunt: {
    summary: 'hunt rules for EMD weaknesses into the findings table',
    load: async () => (await import('./hunt.ts')).createHunt(),
  },
  inventory: {
    summary: 'devices and their services discovered from traffic',
    load: async () => (await import('./inventory.ts')).createInventory(),
  },
};

/**
 * The chain `heir ingest --db` and `heir demo` run: features, classification (when a model is
 * given or shipped), hunt rules and inventory.
 */
export async function defaultOperators(model?: string): Promise<string[]> {
  const { defaultModelPath } = await import('./default-model.ts');
  const classify = model !== undefined || defaultModelPath() !== undefined;
  return ['featurize-flow', ...(classify ? ['classify'] : []), 'hunt', 'inventory'];
}

/** Names of the operators, in registry order. */
export const OPERATOR_NAMES: readonly string[] = Object.keys(REGISTRY);

/** One-line summaries by name. */
export function operatorSummaries(): { name: string; summary: string }[] {
  return Object.entries(REGISTRY).map(([name, e]) => ({ name, summary: e.summary }));
}

/** Load the named operators in order; an unknown name is a config error listing the known ones. */
export async function loadOperators(names: readonly string[], options: OperatorOptions = {}): Promise<Operator[]> {
  const out: Operator[] = [];
  for (const name of names) {
    const entry = REGISTRY[name];
    if (!entry) throw new ConfigError(`unknown operator '${name}' (operators: ${OPERATOR_NAMES.join(', ')})`);
    out.push(await entry.load(options));
  }
  return out;
}
