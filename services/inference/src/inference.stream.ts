import { Controller, Inject } from '@nestjs/common';
import { Ctx, Payload } from '@nestjs/microservices';
import { RUNTIME, Runtime, type FeatureVectorRecord, type ModelRegistryRecord, type PredictionRecord } from '@streamloop/runtime';
import { StreamHandler, type StreamBatch, type StreamContext, type StreamRecord } from '@streamloop/stream';
import { InferenceService, NoModelYetError } from './inference.service';

/**
 * P.features → P.predictions with the pipeline's champion (onnxruntime-node), one inference call per consumed batch
 * (the micro-batch), exactly once: predictions and offsets commit in one transaction per batch. The registry topic
 * is followed by every instance (broadcast) to hot-swap newer champions.
 */
@Controller()
export class InferenceStream {
  constructor(
    @Inject(RUNTIME) private readonly runtime: Runtime,
    @Inject(InferenceService) private readonly inference: InferenceService,
  ) {}

  @StreamHandler({ role: 'features', mode: 'exactly-once', stage: 'inference', deadLetterStage: 'inference.decode', fusable: true })
  async predict(@Payload() batch: StreamBatch<FeatureVectorRecord>, @Ctx() context: StreamContext): Promise<void> {
    const arrivedAt = performance.now();
    const { spec } = context.pipeline;
    const model = this.inference.models.get(spec.pipeline);
    // Without a model there is nothing to predict with; the batch waits (uncommitted) for the first one.
    if (!model) throw new NoModelYetError(`pipeline ${spec.pipeline} has no champion model yet`);
    const vectors: Array<{ vector: FeatureVectorRecord; record: StreamRecord }> = [];
    for (const record of batch.records) {
      if (record.error || !record.value) context.deadLetter(record, record.error ?? new Error('record has no value'));
      else vectors.push({ vector: record.value, record });
    }
    const scores = await this.inference.score(model, vectors.map((v) => v.vector.values));
    const latency = performance.now() - arrivedAt;
    const m = model.record;
    for (const [i, { vector, record }] of vectors.entries()) {
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
      context.emit('predictions', vector.entity_key, prediction, record);
    }
    const histogram = this.runtime.metrics.predictionLatency;
    context.onCommitted(() => {
      for (let i = 0; i < vectors.length; i++) histogram.observe({ pipeline: spec.pipeline, model: m.model_name }, latency / 1000);
    });
  }

  /** Offers every champion record of this pipeline to the model store; a refused one leaves the previous champion serving. */
  @StreamHandler({ role: 'models', mode: 'broadcast', stage: 'inference' })
  async follow(@Payload() batch: StreamBatch<ModelRegistryRecord>, @Ctx() context: StreamContext): Promise<void> {
    const pipeline = context.pipeline.spec.pipeline;
    for (const record of batch.records) {
      if (record.error || !record.value) {
        context.deadLetter(record, record.error ?? new Error('record has no value'));
        continue;
      }
      const model = record.value;
      if (model.pipeline !== pipeline) continue;
      try {
        if ((await this.inference.models.offer(model)) === 'swapped') {
          this.runtime.metrics.modelVersion.set({ pipeline, model: model.model_name, role: 'champion' }, model.model_version);
          this.runtime.logger.info({ pipeline, model: model.model_name, version: model.model_version }, 'serving new champion');
        }
      } catch (error) {
        context.deadLetter(record, error);
      }
    }
  }
}
