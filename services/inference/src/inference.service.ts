import { Inject, Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import { deadLetter, type ConsumedRecord, type DeadLetter, type Message } from '@streamloop/kafka';
import {
  followModelRegistry, isOutage, RUNTIME, Runtime, startPipelineConsumer,
  type FeatureVectorRecord, type PipelineContext, type PredictionRecord,
} from '@streamloop/runtime';
import { ModelStore, type ServingModel } from './model-store';

const SERVICE = 'inference';

export class NoModelYetError extends Error {
  override name = 'NoModelYetError';
}

export interface PredictResult {
  pipeline: string;
  model_name: string;
  model_version: number;
  score: number;
  label: number;
  threshold: number;
  features: Record<string, number>;
}

/**
 * Scores P.features with the pipeline's champion model (onnxruntime-node), one consumed batch per
 * inference call (the micro-batch), and follows the model registry topic to hot-swap newer versions.
 */
@Injectable()
export class InferenceService implements OnApplicationBootstrap {
  readonly models = new ModelStore();

  constructor(@Inject(RUNTIME) private readonly runtime: Runtime) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.followRegistry();
    for (const ctx of this.runtime.pipelines.values()) {
      await startPipelineConsumer(this.runtime, {
        service: SERVICE,
        pipeline: ctx.spec.pipeline,
        topic: ctx.topics.features,
        handle: (records) => this.scoreBatch(ctx, records),
      });
    }
  }

  /** Offers every champion record to the model store; a refused one leaves the previous champion serving. */
  private async followRegistry(): Promise<void> {
    const log = this.runtime.logger.child({ service: SERVICE });
    await followModelRegistry(this.runtime, SERVICE, async (record) => {
      if ((await this.models.offer(record)) === 'swapped') {
        this.runtime.metrics.modelVersion.set({ pipeline: record.pipeline, model: record.model_name, role: 'champion' }, record.model_version);
        log.info({ pipeline: record.pipeline, model: record.model_name, version: record.model_version }, 'serving new champion');
      }
    });
  }

  async scoreBatch(ctx: PipelineContext, records: ConsumedRecord[]): Promise<void> {
    const arrivedAt = performance.now();
    const { spec, topics } = ctx;
    const model = this.models.get(spec.pipeline);
    // Without a model there is nothing to predict with; the batch waits (uncommitted) for the first one.
    if (!model) throw new NoModelYetError(`pipeline ${spec.pipeline} has no champion model yet`);
    const vectors: Array<{ vector: FeatureVectorRecord; record: ConsumedRecord }> = [];
    const letters: DeadLetter[] = [];
    for (const r of records) {
      try {
        if (!r.value) throw new Error('record has no value');
        const { value } = await this.runtime.serde.decode(r.value, this.runtime.types.featureVector);
        vectors.push({ vector: value as FeatureVectorRecord, record: r });
      } catch (error) {
        if (isOutage(error)) throw error;
        letters.push(deadLetter(spec.pipeline, 'inference.decode', error, { topic: r.topic, partition: r.partition, offset: r.offset, key: r.key, value: r.value }));
      }
    }
    const scores = await this.score(model, vectors.map((v) => v.vector.values));
    const done = performance.now();
    const latency = done - arrivedAt;
    const { record: m } = model;
    const outputs: Message[] = [];
    for (const [i, { vector }] of vectors.entries()) {
      const prediction: PredictionRecord = {
        event_id: vector.event_id,
        pipeline: spec.pipeline,
        entity_key: vector.entity_key,
        event_time: vector.event_time,
        model_name: m.model_name,
        model_version: m.model_version,
        role: 'champion',
        score: scores[i],
        label: scores[i] >= m.threshold ? 1 : 0,
        threshold: m.threshold,
        latency_ms: latency,
        predicted_at: Date.now(),
      };
      this.runtime.metrics.predictionLatency.observe({ pipeline: spec.pipeline, model: m.model_name }, latency / 1000);
      outputs.push({ key: vector.entity_key, value: await this.runtime.serde.encode(`${topics.predictions}-value`, this.runtime.types.prediction, prediction) });
    }
    await this.runtime.publishWithDeadLetters(ctx, SERVICE, topics.predictions, outputs, letters);
  }

  /** REST predict: a ready feature vector, or an event whose features are computed without changing any state. */
  async predict(pipeline: string, body: { features?: Record<string, unknown>; event?: Record<string, unknown> }): Promise<PredictResult> {
    const ctx = this.runtime.pipeline(pipeline);
    const model = this.models.get(pipeline);
    if (!model) throw new NoModelYetError(`pipeline ${pipeline} has no champion model yet`);
    let features: Record<string, number>;
    if (body.event) features = this.runtime.peekFeatures(pipeline, body.event).values;
    else if (body.features) features = numericFeatures(body.features, model.record.feature_names);
    else throw new BadPredictRequestError('expected a body with "event" (the event\'s fields) or "features" (name → number)');
    const [score] = await this.score(model, [features]);
    const m = model.record;
    return { pipeline: ctx.spec.pipeline, model_name: m.model_name, model_version: m.model_version, score, label: score >= m.threshold ? 1 : 0, threshold: m.threshold, features };
  }

  private async score(model: ServingModel, rows: Array<Record<string, number>>): Promise<number[]> {
    if (rows.length === 0) return [];
    const names = model.record.feature_names;
    const d = names.length;
    const matrix = new Float32Array(rows.length * d);
    for (const [i, values] of rows.entries()) {
      for (let j = 0; j < d; j++) {
        const v = values[names[j]];
        matrix[i * d + j] = typeof v === 'number' ? v : Number.NaN;
      }
    }
    const { probabilities } = await model.scorer.score(matrix, rows.length);
    return Array.from(probabilities);
  }
}

export class BadPredictRequestError extends Error {
  override name = 'BadPredictRequestError';
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
