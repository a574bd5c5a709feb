import { Controller, Inject } from '@nestjs/common';
import { Ctx, Payload } from '@nestjs/microservices';
import { AvroSerde } from '@streamloop/avro';
import type { FeaturePartialRecord } from '@streamloop/contracts';
import { processStage, type FeatureStageState, type StageInput, type StageSink } from '@streamloop/features';
import { StreamloopMetrics } from '@streamloop/observability';
import { classifyFailure, StreamHandler, type StreamBatch, type StreamContext, type StreamRecord } from '@streamloop/stream';
import { FeatureStateFactory } from './feature-state';

export { LateEventError } from '@streamloop/features';

/**
 * Turns validated events into feature vectors with @streamloop/features' stage processor: per-event transforms plus
 * per-entity windowed aggregates, each computed from the entity's state before the event is added (no leakage).
 * Aggregates keyed by another field run in a stage of their own behind a repartition topic; the last stage writes
 * P.features.
 *
 * Each stage partition's state is restored from its changelog by the transport; vectors, dead letters, changelog
 * records and the consumed offsets of a batch commit in one Kafka transaction.
 */
@Controller()
export class FeaturesStream {
  constructor(
    @Inject(AvroSerde) private readonly serde: AvroSerde,
    @Inject(StreamloopMetrics) private readonly metrics: StreamloopMetrics,
  ) {}

  @StreamHandler({ role: 'events', mode: 'exactly-once', stage: 'features', deadLetterStage: 'features.compute', state: FeatureStateFactory })
  async firstStage(@Payload() batch: StreamBatch<Record<string, unknown>>, @Ctx() context: StreamContext<FeatureStageState>): Promise<void> {
    // A generator, so dead letters keep the records' order.
    function* inputs(): Generator<StageInput<StreamRecord>> {
      for (const record of batch.records) {
        if (record.error || !record.value) context.deadLetter(record, record.error ?? new Error('record has no value'));
        else yield { record, event: record.value, eventBytes: record.source.value!, partial: {} };
      }
    }
    processStage(context.state, inputs(), this.sink(context));
  }

  @StreamHandler({ role: 'repartition', mode: 'exactly-once', stage: 'features', deadLetterStage: 'features.compute', state: FeatureStateFactory })
  async laterStage(@Payload() batch: StreamBatch<FeaturePartialRecord>, @Ctx() context: StreamContext<FeatureStageState>): Promise<void> {
    const sink = this.sink(context);
    for (const record of batch.records) {
      if (record.error || !record.value) {
        context.deadLetter(record, record.error ?? new Error('record has no value'));
        continue;
      }
      let event: Record<string, unknown>;
      try {
        event = (await this.serde.decode<Record<string, unknown>>(record.value.event, context.pipeline.eventType)).value;
      } catch (error) {
        // The carried event was written by the stage before: failing to read it is that record's problem, unless an outage.
        if (classifyFailure(error) !== 'record') throw error;
        context.deadLetter(record, error);
        continue;
      }
      processStage(context.state, [{ record, event, eventBytes: record.value.event, partial: record.value.aggregates }], sink);
    }
  }

  /** The stage's outputs as the transport's emits and dead letters, late events counted. */
  private sink(context: StreamContext<FeatureStageState>): StageSink<StreamRecord> {
    const pipeline = context.pipeline.spec.pipeline;
    return {
      deadLetter: (record, error) => context.deadLetter(record, error),
      repartition: (key, value, record, field) => context.emit('repartition', key, value, record, { field }),
      vector: (key, value, record) => context.emit('features', key, value, record),
      late: (policy) => this.metrics.lateEvents.inc({ pipeline, policy }),
    };
  }
}
