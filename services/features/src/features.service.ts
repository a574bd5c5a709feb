import { Inject, Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import { deadLetter, type ConsumedRecord, type DeadLetter, type Message } from '@streamloop/kafka';
import { isOutage, RUNTIME, Runtime, startPipelineConsumer, type FeatureVectorRecord, type PipelineContext } from '@streamloop/runtime';

const SERVICE = 'features';

export class LateEventError extends Error {
  override name = 'LateEventError';
}

/**
 * Turns validated events into feature vectors: per-event transforms plus per-entity windowed aggregates,
 * each computed from the entity's state before the event is added (no leakage).
 */
@Injectable()
export class FeaturesService implements OnApplicationBootstrap {
  constructor(@Inject(RUNTIME) private readonly runtime: Runtime) {}

  async onApplicationBootstrap(): Promise<void> {
    for (const ctx of this.runtime.pipelines.values()) {
      await startPipelineConsumer(this.runtime, {
        service: SERVICE,
        pipeline: ctx.spec.pipeline,
        topic: ctx.topics.events,
        handle: (records) => this.processEvents(ctx, records),
      });
    }
  }

  async processEvents(ctx: PipelineContext, records: ConsumedRecord[]): Promise<void> {
    const { spec, topics } = ctx;
    const computer = this.runtime.featureComputer(spec.pipeline);
    const vectors: Message[] = [];
    const letters: DeadLetter[] = [];
    for (const r of records) {
      try {
        if (!r.value) throw new Error('record has no value');
        const { value } = await this.runtime.serde.decode(r.value, ctx.eventType);
        const event = value as Record<string, unknown>;
        const computed = computer.compute(event);
        if (computed.late) {
          // Only with allowed_lateness set is a late event left out of state and withheld (docs/pipeline-spec.md).
          const enforced = spec.features.allowedLatenessMs !== null && spec.features.allowedLatenessMs !== undefined;
          const policy = enforced ? (spec.features.lateEvents ?? 'drop') : 'applied';
          this.runtime.metrics.lateEvents.inc({ pipeline: spec.pipeline, policy });
          if (policy === 'drop') continue;
          if (policy === 'dead_letter') throw new LateEventError(`event ${String(event[spec.events.idField])}: event time ${computed.eventTime} is older than the allowed lateness of ${spec.features.allowedLatenessMs} ms for its entity`);
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
        vectors.push({
          key: vector.entity_key,
          value: await this.runtime.serde.encode(`${topics.features}-value`, this.runtime.types.featureVector, vector),
        });
      } catch (error) {
        // Events were validated upstream; what fails here is a schema mismatch or a bug, dead-lettered with the reason.
        if (isOutage(error)) throw error;
        letters.push(deadLetter(spec.pipeline, 'features.compute', error, { topic: r.topic, partition: r.partition, offset: r.offset, key: r.key, value: r.value }));
      }
    }
    await this.runtime.publishWithDeadLetters(ctx, SERVICE, topics.features, vectors, letters);
  }
}
