import { explainerFromOnnx, NoExplainerError, topContributions as largest, type ExplainMethod, type ModelExplainer } from '@streamloop/ml';
import type { PredictionRecord } from '@streamloop/runtime';
import type { ServingModel } from './model-store';

/** A model's explainer, or why it has none. */
type Built = { explainer: ModelExplainer } | { reason: string };

/**
 * One explainer per loaded model (a ServingModel is one registry record at one offset, key@offset), built from its
 * ONNX bytes the first time that model explains anything and kept with it; dropped when the store drops the model.
 */
const built = new WeakMap<ServingModel, Built>();

/** The REST answer's `explanation` (see README, "Explanations"). */
export type PredictionExplanation =
  | {
    method: ExplainMethod;
    /** The margin (log-odds of the positive class) with no feature known. */
    expected_value: number;
    /** This row's log-odds; sigmoid(margin) is the score (up to float32 rounding). */
    margin: number;
    /** Feature → contribution to the margin, largest |value| first; they sum to margin − expected_value. */
    contributions: Record<string, number>;
  }
  | { method: 'none'; reason: string };

export function explainerOf(model: ServingModel): Built {
  let b = built.get(model);
  if (!b) {
    b = build(model);
    built.set(model, b);
  }
  return b;
}

function build(model: ServingModel): Built {
  const m = model.record;
  if (m.signature) {
    return { reason: `no explainer for external ONNX models: ${m.model_name} v${m.model_version} was trained elsewhere (registered with a signature), and its graph is not one Streamloop can read contributions from` };
  }
  try {
    return { explainer: explainerFromOnnx(m.onnx, { featureNames: m.feature_names, reference: m.reference }) };
  } catch (error) {
    if (error instanceof NoExplainerError || error instanceof RangeError) return { reason: `no explainer for ${m.model_name} v${m.model_version}: ${error.message}` };
    throw error;
  }
}

function rowOf(model: ServingModel, values: Record<string, number>): Float64Array {
  return Float64Array.from(model.record.feature_names, (name) => (typeof values[name] === 'number' ? values[name] : Number.NaN));
}

/** The explanation of one feature vector by the model that scores it (REST predict with `"explain": true`). */
export function explainPrediction(model: ServingModel, values: Record<string, number>): PredictionExplanation {
  const b = explainerOf(model);
  if ('reason' in b) return { method: 'none', reason: b.reason };
  const { explainer } = b;
  const { margin, contributions } = explainer.explainRow(rowOf(model, values));
  const ordered = largest(explainer.featureNames, contributions, contributions.length);
  return {
    method: explainer.method, expected_value: explainer.expectedValue, margin,
    contributions: Object.fromEntries(ordered.map((c) => [c.feature, c.value])),
  };
}

/**
 * The k largest contributions (by |value|) of one feature vector, for its prediction record; empty when k is 0 (no
 * work then) or the model has no explainer.
 */
export function topContributions(model: ServingModel, values: Record<string, number>, k: number): PredictionRecord['contributions'] {
  if (!(k > 0)) return [];
  const b = explainerOf(model);
  if ('reason' in b) return [];
  try {
    return largest(b.explainer.featureNames, b.explainer.explainRow(rowOf(model, values)).contributions, k);
  } catch {
    // An explanation is an extra: it never costs the record its prediction.
    return [];
  }
}
