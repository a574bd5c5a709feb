import { Inject, Injectable } from '@nestjs/common';
import { AvroSerde } from '@streamloop/avro';
import { DEFAULT_MAX_MODEL_FAILURES } from '@streamloop/config';
import type { Kafka } from '@streamloop/kafka';
import {
  planTransition, publishModelVersion, TransitionRefusedError, type RegistryIo, type RegistryState,
} from '@streamloop/model-registry';
import { StreamloopMetrics, type Logger } from '@streamloop/observability';
import { KAFKA, LOGGER, PLATFORM_TYPES, SharedProducer, type PlatformTypes } from '@streamloop/runtime';
import type { StreamPipeline } from '@streamloop/stream';
import { describeModel, ModelFailureLedger, type ModelFailure } from './fallback-scoring';

/**
 * Records serve-time failures of models (metric, log line) and demotes a model once its failed rows reach the
 * pipeline's `serving.max_model_failures`: its registry record is republished with stage 'rejected', decided by
 * 'policy', and every inference instance then serves the previous champion (the registry's champion rule).
 */
@Injectable()
export class ModelDemotion {
  private readonly io: RegistryIo;
  private readonly ledgers = new Map<string, ModelFailureLedger>();

  constructor(
    @Inject(KAFKA) kafka: Kafka,
    @Inject(AvroSerde) serde: AvroSerde,
    @Inject(SharedProducer) producer: SharedProducer,
    @Inject(PLATFORM_TYPES) types: PlatformTypes,
    @Inject(StreamloopMetrics) private readonly metrics: StreamloopMetrics,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {
    this.io = { kafka, serde, types, producer: () => producer.producer() };
  }

  /**
   * Counts a scoring call's failures and demotes the models that reached the limit. A demotion that cannot be
   * published (an outage) is logged and tried again on the model's next failure; it never fails the batch, whose
   * rows were already scored by the fallback or dead-lettered.
   */
  async record(pipeline: StreamPipeline, registry: RegistryState, failures: ModelFailure[], fallbackModel: string | undefined): Promise<void> {
    const name = pipeline.spec.pipeline;
    const limit = pipeline.spec.serving?.maxModelFailures ?? DEFAULT_MAX_MODEL_FAILURES;
    let ledger = this.ledgers.get(name);
    if (!ledger) this.ledgers.set(name, (ledger = new ModelFailureLedger(limit)));
    const due: ModelFailure[] = [];
    for (const failure of failures) {
      const m = failure.model.record;
      this.metrics.modelFallbacks.inc({ pipeline: name, model: m.model_name, version: String(m.model_version), reason: failure.reason }, failure.rows);
      this.logger.warn({
        pipeline: name, model: m.model_name, version: m.model_version, reason: failure.reason, rows: failure.rows, detail: failure.detail,
        as_fallback: failure.asFallback, scored_by: failure.asFallback ? undefined : fallbackModel ?? 'nothing (dead-lettered)',
      }, 'model failed at serve time');
      if (ledger.add(failure)) due.push(failure);
    }
    for (const failure of due) await this.demote(pipeline, registry, failure, ledger, limit);
  }

  private async demote(pipeline: StreamPipeline, registry: RegistryState, failure: ModelFailure, ledger: ModelFailureLedger, limit: number): Promise<void> {
    const name = pipeline.spec.pipeline;
    const m = failure.model.record;
    const failedRows = ledger.failedRowsOf(failure.model);
    let transition;
    try {
      transition = planTransition(registry, name, {
        action: 'demote', version: m.model_version, model: m.model_name, decidedBy: 'policy', now: Date.now(),
        reason: `failed at serve time on ${failedRows} rows (serving.max_model_failures ${limit}); last: ${failure.reason}, ${failure.detail}`,
        metrics: { failed_rows: failedRows, max_model_failures: limit, ...ledger.failedRowsByReason(failure.model) },
      });
    } catch (error) {
      // The only champion (nothing would serve after it), or already demoted by another instance: nothing to publish.
      if (!(error instanceof TransitionRefusedError)) throw error;
      this.logger.error({ pipeline: name, model: m.model_name, version: m.model_version, failed_rows: failedRows, err: error }, 'failing model not demoted');
      return;
    }
    try {
      await publishModelVersion(this.io, pipeline.topics.models, transition.record);
    } catch (error) {
      ledger.retry(failure.model);
      this.logger.error({ pipeline: name, model: m.model_name, version: m.model_version, err: error }, 'could not publish the demotion of a failing model; trying again on its next failure');
      return;
    }
    this.metrics.modelDemotions.inc({ pipeline: name, model: m.model_name, version: String(m.model_version) });
    const after = transition.servingAfter;
    this.logger.warn({
      pipeline: name, model: m.model_name, version: m.model_version, failed_rows: failedRows,
      serving_after: after && `${after.model_name} v${after.model_version}`,
    }, `demoted ${describeModel(failure.model)} (stage rejected, by policy)`);
  }
}
