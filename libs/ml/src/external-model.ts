import { inspectOnnx, OnnxModelError, OnnxScorer, type OnnxIo, type OnnxSessionOptions } from './onnx-scorer';

/**
 * How a classifier trained elsewhere (e.g. scikit-learn through skl2onnx) is fed and read: which tensor takes the
 * rows, which pipeline feature fills each of its columns, where P(positive class) comes out.
 */
export interface ExternalModelMapping {
  /** Name of the graph's single float [N, d] input. */
  input: string;
  /** The input mapping: model column i ← pipeline feature `columns[i]`; d = columns.length. */
  columns: string[];
  /** Name of a float [N, k] output of class probabilities. */
  probabilityOutput: string;
  /** Column of `probabilityOutput` holding the positive class (1 for scikit-learn's classes_ [0, 1]). */
  positiveClassIndex: number;
  /** Optional registration details a mapping file may carry: the model's name and decision threshold. */
  name?: string;
  threshold?: number;
}

export class ExternalModelError extends OnnxModelError {}

const MAPPING_KEYS = ['input', 'columns', 'probability_output', 'positive_class_index', 'name', 'threshold'];

/**
 * Reads a mapping as written in JSON (snake_case keys, as in examples/models/fraud-sklearn/mapping.json).
 * Unknown keys are refused so a misspelt one cannot silently fall back to a default. Errors name the key.
 */
export function parseExternalMapping(json: unknown, where = 'mapping'): ExternalModelMapping {
  if (json === null || typeof json !== 'object' || Array.isArray(json)) throw new ExternalModelError(`${where}: expected a JSON object`);
  const m = json as Record<string, unknown>;
  const unknown = Object.keys(m).filter((k) => !MAPPING_KEYS.includes(k));
  if (unknown.length > 0) throw new ExternalModelError(`${where}: unknown key(s) ${unknown.join(', ')} (expected ${MAPPING_KEYS.join(', ')})`);
  const text = (key: string): string => {
    const v = m[key];
    if (typeof v !== 'string' || v.length === 0) throw new ExternalModelError(`${where}.${key}: expected a non-empty string, got ${JSON.stringify(v)}`);
    return v;
  };
  const columns = m.columns;
  if (!Array.isArray(columns) || columns.length === 0) throw new ExternalModelError(`${where}.columns: expected a non-empty array of feature names`);
  columns.forEach((c, i) => {
    if (typeof c !== 'string' || c.length === 0) throw new ExternalModelError(`${where}.columns[${i}]: expected a feature name, got ${JSON.stringify(c)}`);
    if (columns.indexOf(c) !== i) throw new ExternalModelError(`${where}.columns[${i}]: feature '${c}' already feeds column ${columns.indexOf(c)}`);
  });
  const positive = m.positive_class_index ?? 1;
  if (typeof positive !== 'number' || !Number.isInteger(positive) || positive < 0) {
    throw new ExternalModelError(`${where}.positive_class_index: expected a whole number ≥ 0, got ${JSON.stringify(positive)}`);
  }
  const mapping: ExternalModelMapping = { input: text('input'), columns: columns as string[], probabilityOutput: text('probability_output'), positiveClassIndex: positive };
  if (m.name !== undefined) mapping.name = text('name');
  if (m.threshold !== undefined) {
    if (typeof m.threshold !== 'number' || !(m.threshold >= 0 && m.threshold <= 1)) {
      throw new ExternalModelError(`${where}.threshold: expected a number in [0, 1], got ${JSON.stringify(m.threshold)}`);
    }
    mapping.threshold = m.threshold;
  }
  return mapping;
}

/** The scorer options that make OnnxScorer read the declared tensors. */
export function externalIo(mapping: Pick<ExternalModelMapping, 'input' | 'probabilityOutput' | 'positiveClassIndex'>): OnnxIo {
  return { input: mapping.input, probabilities: mapping.probabilityOutput, positiveClassIndex: mapping.positiveClassIndex };
}

export interface LoadExternalModelOptions {
  /** Every feature the pipeline produces: a mapped column must be one of them. */
  knownFeatures?: readonly string[];
  maxBytes?: number;
  /** onnxruntime session options (OnnxScorerOptions'). */
  session?: OnnxSessionOptions;
}

/**
 * Loads an external classifier with its declared mapping and checks it can serve: the graph matches the declared
 * names, its input width equals the number of mapped columns, and probe rows (all zeros; all missing, which is how
 * the pipeline marks an absent feature) score to probabilities in [0, 1]. Throws ExternalModelError naming what is wrong.
 */
export async function loadExternalModel(bytes: Uint8Array, mapping: ExternalModelMapping, opts: LoadExternalModelOptions = {}): Promise<OnnxScorer> {
  if (opts.knownFeatures) {
    const known = new Set(opts.knownFeatures);
    const unknown = mapping.columns.filter((c) => !known.has(c));
    if (unknown.length > 0) {
      throw new ExternalModelError(`mapping.columns: ${unknown.map((c) => `'${c}'`).join(', ')} not produced by the pipeline (it produces ${opts.knownFeatures.join(', ')})`);
    }
  }
  const io = externalIo(mapping);
  const signature = inspectOnnx(bytes, { io, maxBytes: opts.maxBytes });
  if (signature.featureCount !== mapping.columns.length) {
    throw new ExternalModelError(
      `mapping.columns lists ${mapping.columns.length} features but the model's input '${signature.inputName}' has ${signature.featureCount} columns`,
    );
  }
  const scorer = await OnnxScorer.load(bytes, { io, maxBytes: opts.maxBytes, expectedFeatures: mapping.columns.length, ...opts.session });
  try {
    const d = mapping.columns.length;
    const probes = [{ what: 'a row of zeros', row: new Float32Array(d) }, { what: 'a row of missing values (NaN)', row: new Float32Array(d).fill(Number.NaN) }];
    for (const { what, row } of probes) {
      const p = (await scorer.score(row, 1)).probabilities[0];
      if (!(p >= 0 && p <= 1)) {
        const hint = Number.isNaN(p) && what.includes('NaN') ? ' (the pipeline sends NaN for a missing feature: put an imputer in the model)' : '';
        throw new ExternalModelError(`probe: ${what} scored ${p} from '${mapping.probabilityOutput}'[:, ${mapping.positiveClassIndex}], expected a probability in [0, 1]${hint}`);
      }
    }
    return scorer;
  } catch (error) {
    await scorer.release().catch(() => undefined);
    throw error;
  }
}
