import { Controller, Inject } from '@nestjs/common';
import { PlatformError } from '@streamloop/errors';
import { Ctx, Payload } from '@nestjs/microservices';
import { DEFAULT_CHALLENGER_SHARE } from '@streamloop/config';
import { challengerServes, pipelineOfMessage, registryMessageOf, type ModelRegistryRecord, type RegistryMessage } from '@streamloop/model-registry';
import { LOGGER, type FeatureVectorRecord, type PredictionRecord } from '@streamloop/runtime';
import { StreamloopMetrics, type Logger } from '@streamloop/observability';
import { StreamHandler, type StreamBatch, type StreamContext, type StreamRecord } from '@streamloop/stream';
import { topContributions } from './explanations';
import { describeModel, scoreWithFallback, type RowScorer, type ScoredRow } from './fallback-scoring';
import { InferenceService, NoModelYetError } from './inference.service';
import { inferenceFetchOf, scoreInChunks, servingBatchOf, sessionOptionsOf } from './micro-batch';
import { ModelDemotion } from './model-demotion';
import type { ServingModel } from './model-store';

/** No model could score the record (the champion failed on it, and the fallback too or there was none): dead-lettered. */
export class ModelFailedError extends PlatformError {
  constructor(message: string) {
    super('INVALID_MODEL', message);
  }
}

/**
 * P.features → P.predictions with the pipeline's champion (onnxruntime-node), one inference call per consumed batch
 * (the micro-batch), exactly once: predictions and offsets commit in one transaction per batch. The registry topic
 * is followed by every instance (broadcast) to hot-swap to the registry's champion.
 */
@Controller()
export class InferenceStream {
  constructor(
    @Inject(StreamloopMetrics) private readonly metrics: StreamloopMetrics,
    @Inject(LOGGER) private readonly logger: Logger,
    @Inject(InferenceService) private readonly inference: InferenceService,
    @Inject(ModelDemotion) private readonly demotion: ModelDemotion,
  ) {}

  @StreamHandler({
    role: 'features', mode: 'exactly-once', stage: 'inference', deadLetterStage: 'inference.decode', fusable: true,
    // serving.batch.max_wait: how long this stage's own fetches wait for feature vectors to gather (not when fused).
    fetch: (pipeline) => inferenceFetchOf(pipeline.spec),
  })
  async predict(@Payload() batch: StreamBatch<FeatureVectorRecord>, @Ctx() context: StreamContext): Promise<void> {
    const arrivedAt = performance.now();
    const { spec } = context.pipeline;
    const models = this.inference.models;
    const champion = models.get(spec.pipeline);
    // Without a model there is nothing to predict with; the batch waits (uncommitted) for the first one.
    if (!champion) throw new NoModelYetError(`pipeline ${spec.pipeline} has no champion model yet`);
    const vectors: Array<{ vector: FeatureVectorRecord; record: StreamRecord }> = [];
    for (const record of batch.records) {
      if (record.error || !record.value) context.deadLetter(record, record.error ?? new Error('record has no value'));
      else vectors.push({ vector: record.value, record });
    }
    const challenger = models.challengerOf(spec.pipeline);
    // The previous champion on a probation scores in shadow whatever serving.challenger.mode says: it is watched, not served.
    const configured = spec.serving?.challenger ?? { mode: 'shadow', share: DEFAULT_CHALLENGER_SHARE };
    const deployment = models.onProbation(spec.pipeline) ? { ...configured, mode: 'shadow' as const } : configured;
    // At most serving.batch.max_rows rows per onnxruntime call, for every model below.
    const { maxRows } = servingBatchOf(spec);
    const score: RowScorer = (m, rows) => scoreInChunks(rows, maxRows, (chunk) => this.inference.score(m, chunk));
    const registry = models.registryOf(spec.pipeline);
    // Each row is served by one model: the challenger for its share of entities in split mode, else the champion.
    // Rows a model fails on are scored by the next one down (challenger → champion → last good champion), or
    // dead-lettered: a model never stalls the batch.
    const split = challenger && deployment.mode === 'split' ? vectors.map((v) => challengerServes(v.vector.entity_key, deployment.share)) : undefined;
    const served = new Array<ScoredRow>(vectors.length);
    const arms: Array<{ model: ServingModel; fallback: ServingModel | undefined; rows: number[] }> = [
      { model: champion, fallback: models.fallbackOf(spec.pipeline), rows: vectors.flatMap((_, i) => (split?.[i] ? [] : [i])) },
    ];
    if (challenger && split) arms.push({ model: challenger, fallback: champion, rows: vectors.flatMap((_, i) => (split[i] ? [i] : [])) });
    for (const arm of arms) {
      if (arm.rows.length === 0) continue;
      const scored = await scoreWithFallback(score, arm.model, arm.fallback, arm.rows.map((i) => vectors[i].vector.values));
      for (const [j, i] of arm.rows.entries()) served[i] = scored.rows[j];
      if (scored.failures.length > 0) await this.demotion.record(context.pipeline, registry, scored.failures, arm.fallback && describeModel(arm.fallback));
    }
    // In shadow mode the challenger scores every row too; nothing falls back for it, since its rows are never served.
    const shadow = challenger && deployment.mode === 'shadow' && vectors.length > 0
      ? await scoreWithFallback(score, challenger, undefined, vectors.map((v) => v.vector.values))
      : undefined;
    if (shadow && shadow.failures.length > 0) await this.demotion.record(context.pipeline, registry, shadow.failures, undefined);
    const scoringSeconds = (performance.now() - arrivedAt) / 1000;
    const predictedAt = Date.now();
    const latencies: Array<{ model: string; latency: number }> = [];
    // serving.explain_top_k > 0: each prediction carries its model's largest contributions (nothing computed at 0).
    const topK = spec.serving?.explainTopK ?? 0;
    for (const [i, { vector, record }] of vectors.entries()) {
      // The event's latency: from its arrival at the platform (the timestamp its P.events.raw record carries, kept by
      // every stage since) to this prediction.
      const latency = Math.max(0, predictedAt - Number(record.source.timestamp));
      const row = served[i];
      if (row.score === undefined) context.deadLetter(record, new ModelFailedError(row.error), 'inference');
      else {
        // A row the champion failed may be served by the fallback, which during a probation is also the shadow model.
        const role = split && row.model === challenger ? 'challenger' : 'champion';
        context.emit('predictions', vector.entity_key, predictionOf(vector, row.model, role, row.score, row.fallback, latency, predictedAt, topK), record);
        latencies.push({ model: row.model.record.model_name, latency });
      }
      const shadowRow = shadow?.rows[i];
      if (challenger && shadowRow?.score !== undefined) {
        context.emit('shadow', vector.entity_key, predictionOf(vector, challenger, 'challenger', shadowRow.score, false, latency, predictedAt, topK), record);
      }
    }
    const { predictionLatency, eventToPrediction } = this.metrics;
    context.onCommitted(() => {
      for (const { model: name, latency } of latencies) {
        const labels = { pipeline: spec.pipeline, model: name };
        predictionLatency.observe(labels, scoringSeconds);
        eventToPrediction.observe(labels, latency / 1000);
      }
    });
  }

  /**
   * Folds this pipeline's registry records into the model store, which serves the champion the registry's rule names
   * (falling back to the newest earlier champion that loads); a refused model is dead-lettered with the reason.
   */
  @StreamHandler({ role: 'models', mode: 'broadcast', stage: 'inference' })
  async follow(@Payload() batch: StreamBatch<ModelRegistryRecord>, @Ctx() context: StreamContext): Promise<void> {
    const pipeline = context.pipeline.spec.pipeline;
    const messages: RegistryMessage[] = [];
    const byOffset = new Map<bigint, StreamRecord<ModelRegistryRecord>>();
    for (const record of batch.records) {
      const message = registryMessageOf(record.source, record.value);
      // A tombstone deletes a version; any other record without a value is refused (its version number stays taken).
      if (!record.value && message?.kind !== 'tombstone') context.deadLetter(record, record.error ?? new Error('record has no value'));
      if (!message || pipelineOfMessage(message) !== pipeline) continue;
      messages.push(message);
      byOffset.set(message.offset, record);
    }
    const outcome = await this.inference.models.follow(pipeline, messages, sessionOptionsOf(context.pipeline.spec));
    for (const { entry, error } of outcome.refused) {
      const record = byOffset.get(entry.offset);
      if (record) context.deadLetter(record, error);
      else this.logger.error({ pipeline, model: entry.record.model_name, version: entry.record.model_version, err: error }, 'earlier champion refused');
    }
    const { change, challengerChange } = outcome;
    if (challengerChange) {
      const labels = (m: ModelRegistryRecord) => ({ pipeline, model: m.model_name, role: 'challenger' });
      if (challengerChange.from) this.metrics.modelVersion.remove(labels(challengerChange.from.record));
      const m = challengerChange.to?.record;
      if (m) this.metrics.modelVersion.set(labels(m), m.model_version);
      const probation = this.inference.models.onProbation(pipeline);
      const mode = probation ? 'shadow' : context.pipeline.spec.serving?.challenger.mode ?? 'shadow';
      const what = probation ? 'the previous champion scores beside the champion on probation' : 'challenger scores beside the champion';
      this.logger.info({ pipeline, model: m?.model_name, version: m?.model_version, mode }, m ? what : 'no challenger now');
    }
    if (!change) return;
    const labels = (m: ModelRegistryRecord) => ({ pipeline, model: m.model_name, role: 'champion' });
    if (change.from) this.metrics.modelVersion.remove(labels(change.from.record));
    if (change.to) {
      const m = change.to.record;
      this.metrics.modelVersion.set(labels(m), m.model_version);
      this.logger.info({ pipeline, model: m.model_name, version: m.model_version }, 'serving new champion');
    } else {
      this.logger.warn({ pipeline }, 'no champion can serve (retired, deleted or refused): predictions wait for one');
    }
  }
}

/** One model's prediction of one event, with its `topK` largest contributions. */
function predictionOf(
  vector: FeatureVectorRecord, model: ServingModel, role: PredictionRecord['role'], score: number, fallback: boolean, latency: number, predictedAt: number,
  topK: number,
): PredictionRecord {
  const m = model.record;
  return {
    event_id: vector.event_id,
    pipeline: vector.pipeline,
    entity_key: vector.entity_key,
    event_time: vector.event_time,
    model_name: m.model_name,
    model_version: m.model_version,
    role,
    score,
    label: score >= m.threshold ? 1 : 0,
    threshold: m.threshold,
    latency_ms: latency,
    predicted_at: predictedAt,
    fallback,
    contributions: topContributions(model, vector.values, topK),
  };
}
