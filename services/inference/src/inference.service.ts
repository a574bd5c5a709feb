import { Inject, Injectable } from '@nestjs/common';
import { PlatformError } from '@streamloop/errors';
import { OwnedFeatureState } from '@streamloop/features';
import { PipelineRegistry, PredictRouter, type PredictRouting } from '@streamloop/runtime';
import { NotReadyError } from '@streamloop/stream';
import { explainPrediction, type PredictionExplanation } from './explanations';
import { ModelStore, type ServingModel } from './model-store';

/** No champion has been published for the pipeline yet: streaming waits for one, REST predict answers 503. */
export class NoModelYetError extends NotReadyError {
  constructor(message: string) {
    super(message, 'NO_MODEL_YET');
  }
}

export interface PredictResult {
  pipeline: string;
  model_name: string;
  model_version: number;
  score: number;
  label: number;
  threshold: number;
  features: Record<string, number>;
  /** With `"explain": true`: the score's per-feature contributions, or why the model has none. */
  explanation?: PredictionExplanation;
}

/**
 * The champion model per pipeline (followed on the model registry topic, hot-swapped) and REST predict.
 * Streaming predictions are InferenceStream's; both score through `score`.
 */
@Injectable()
export class InferenceService {
  readonly models = new ModelStore();

  constructor(
    @Inject(PipelineRegistry) private readonly pipelines: PipelineRegistry,
    @Inject(OwnedFeatureState) private readonly featureState: OwnedFeatureState,
    @Inject(PredictRouter) private readonly router: PredictRouter,
  ) {}

  /** REST predict: a ready feature vector, or an event whose features are computed without changing any state. */
  async predict(
    pipeline: string, body: { features?: Record<string, unknown>; event?: Record<string, unknown>; explain?: unknown }, routing: PredictRouting = {},
  ): Promise<PredictResult> {
    if (body.explain !== undefined && typeof body.explain !== 'boolean') throw new BadPredictRequestError(`explain: expected true or false, got ${JSON.stringify(body.explain)}`);
    const ctx = this.pipelines.pipeline(pipeline);
    const model = this.models.get(pipeline);
    if (!model) throw new NoModelYetError(`pipeline ${pipeline} has no champion model yet`);
    let features: Record<string, number>;
    if (body.event) {
      const view = this.featureState.peek(ctx.spec, body.event);
      // Features computed without an entity's history would score a different event than the stream does: the instance
      // that owns the state answers (forwarded), or OWNER_UNAVAILABLE says why no one can.
      if (!view.stateOwned) return this.router.answerElsewhere(ctx, body.event, body, routing) as Promise<PredictResult>;
      features = view.values;
    }
    else if (body.features) features = numericFeatures(body.features, model.record.feature_names);
    else throw new BadPredictRequestError('expected a body with "event" (the event\'s fields) or "features" (name → number)');
    const [score] = await this.score(model, [features]);
    const m = model.record;
    const result: PredictResult = { pipeline: ctx.spec.pipeline, model_name: m.model_name, model_version: m.model_version, score, label: score >= m.threshold ? 1 : 0, threshold: m.threshold, features };
    if (body.explain === true) result.explanation = explainPrediction(model, features);
    return result;
  }

  async score(model: ServingModel, rows: Array<Record<string, number>>): Promise<number[]> {
    if (rows.length === 0) return [];
    const names = model.record.feature_names;
    const d = names.length;
    const matrix = new Float32Array(rows.length * d);
    // Indexed loops, no iterator: this runs for every row the stage scores (bench/serving).
    for (let i = 0, o = 0; i < rows.length; i++, o += d) {
      const values = rows[i];
      for (let j = 0; j < d; j++) {
        const v = values[names[j]];
        matrix[o + j] = typeof v === 'number' ? v : Number.NaN;
      }
    }
    const { probabilities } = await model.scorer.score(matrix, rows.length);
    return Array.from(probabilities);
  }
}

export class BadPredictRequestError extends PlatformError {
  constructor(message: string) {
    super('INVALID_INPUT', message);
  }
}

function numericFeatures(input: Record<string, unknown>, expected: string[]): Record<string, number> {
  const out: Record<string, number> = {};
  const errors: string[] = [];
  for (const [k, v] of Object.entries(input)) {
    if (v === null) out[k] = Number.NaN;
    else if (typeof v === 'number') out[k] = v;
    else errors.push(`features.${k}: expected a number or null, got ${JSON.stringify(v)}`);
  }
  const unknown = Object.keys(input).filter((k) => !expected.includes(k));
  for (const k of unknown) errors.push(`features.${k}: not a feature of the serving model (expected some of: ${expected.join(', ')})`);
  if (errors.length > 0) throw new BadPredictRequestError(errors.join('; '));
  return out;
}
