import { Controller, Inject } from '@nestjs/common';
import { Ctx, Payload } from '@nestjs/microservices';
import type { FeaturePartialRecord } from '@streamloop/contracts';
import { PlatformError } from '@streamloop/errors';
import { RUNTIME, Runtime, type FeatureVectorRecord } from '@streamloop/runtime';
import { classifyFailure, StreamHandler, type StreamBatch, type StreamContext, type StreamRecord } from '@streamloop/stream';
import { FeatureStateFactory, type FeatureStageState } from './feature-state';

export class LateEventError extends PlatformError {
  constructor(message: string) {
    super('LATE_EVENT', message);
  }
}

/**
 * Turns validated events into feature vectors: per-event transforms plus per-entity windowed aggregates, each
 * computed from the entity's state before the event is added (no leakage). Aggregates keyed by another field run
 * in a stage of their own behind a repartition topic; the last stage writes P.features.
 *
 * Each stage partition's state is restored from its changelog by the transport; vectors, dead letters, changelog
 * records and the consumed offsets of a batch commit in one Kafka transaction.
 */
@Controller()
export class FeaturesStream {
  constructor(@Inject(RUNTIME) private readonly runtime: Runtime) {}

  @StreamHandler({ role: 'events', mode: 'exactly-once', stage: 'features', deadLetterStage: 'features.compute', state: FeatureStateFactory })
  async firstStage(@Payload() batch: StreamBatch<Record<string, unknown>>, @Ctx() context: StreamContext<FeatureStageState>): Promise<void> {
    for (const record of batch.records) {
      if (record.error || !record.value) context.deadLetter(record, record.error ?? new Error('record has no value'));
      else this.computeOne(context, record, record.value, record.source.value!, {});
    }
  }

  @StreamHandler({ role: 'repartition', mode: 'exactly-once', stage: 'features', deadLetterStage: 'features.compute', state: FeatureStateFactory })
  async laterStage(@Payload() batch: StreamBatch<FeaturePartialRecord>, @Ctx() context: StreamContext<FeatureStageState>): Promise<void> {
    for (const record of batch.records) {
      if (record.error || !record.value) {
        context.deadLetter(record, record.error ?? new Error('record has no value'));
        continue;
      }
      try {
        const { value } = await this.runtime.serde.decode<Record<string, unknown>>(record.value.event, context.pipeline.eventType);
        this.computeOne(context, record, value, record.value.event, record.value.aggregates);
      } catch (error) {
        // The carried event was written by the stage before: failing to read it is that record's problem, unless an outage.
        if (classifyFailure(error) !== 'record') throw error;
        context.deadLetter(record, error);
      }
    }
  }

  /** One event of one stage partition → a feature vector (last stage) or the event with the aggregates so far. */
  private computeOne(context: StreamContext<FeatureStageState>, record: StreamRecord, event: Record<string, unknown>, eventBytes: Buffer, partial: Record<string, number>): void {
    const { spec } = context.pipeline;
    const { computer, next, owned } = context.state;
    let computed;
    try {
      computed = computer.compute(event, partial);
    } catch (error) {
      // Events were validated upstream; what fails here is a schema mismatch or a bug, dead-lettered with the reason.
      context.deadLetter(record, error);
      return;
    }
    context.state.touch(computer.stateKeysOf(event));
    if (computed.late) {
      // Only with allowed_lateness set is a late event left out of state and withheld (docs/pipeline-spec.md).
      const enforced = spec.features.allowedLatenessMs !== null && spec.features.allowedLatenessMs !== undefined;
      const policy = enforced ? (spec.features.lateEvents ?? 'drop') : 'applied';
      this.runtime.metrics.lateEvents.inc({ pipeline: spec.pipeline, policy });
      if (policy === 'drop') return;
      if (policy === 'dead_letter') {
        context.deadLetter(record, new LateEventError(`event ${String(event[spec.events.idField])}: event time ${computed.eventTime} is older than the allowed lateness of ${spec.features.allowedLatenessMs} ms for its entity`));
        return;
      }
    }
    if (next) {
      const aggregates = { ...partial };
      for (const name of owned) aggregates[name] = computed.values[name];
      const key = event[next.field];
      context.emit('repartition', key === null || key === undefined ? '' : String(key), { event: eventBytes, aggregates } satisfies FeaturePartialRecord, record, { field: next.field });
      return;
    }
    const vector: FeatureVectorRecord = {
      event_id: String(event[spec.events.idField]),
      pipeline: spec.pipeline,
      entity_key: computed.entityKey,
      event_time: computed.eventTime,
      feature_spec_version: spec.features.version,
      values: computed.values,
      computed_at: Date.now(),
    };
    context.emit('features', vector.entity_key, vector, record);
  }
}
