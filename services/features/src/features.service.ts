import { Inject, Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import { FeatureComputer, FeatureInputError } from '@streamloop/features';
import { deadLetter, type ConsumedRecord, type DeadLetter, type Message, type PartitionTask, type TopicMessages } from '@streamloop/kafka';
import {
  isOutage, restoreChangelogPartition, RUNTIME, Runtime, startExactlyOnceConsumer, type FeatureVectorRecord, type PipelineContext,
} from '@streamloop/runtime';

const SERVICE = 'features';
/** How often (wall time) a partition forgets idle entities; eviction walks every entity, so not per batch. */
const EVICT_EVERY_MS = 60_000;

export class LateEventError extends Error {
  override name = 'LateEventError';
}

/**
 * Turns validated events into feature vectors: per-event transforms plus per-entity windowed aggregates,
 * each computed from the entity's state before the event is added (no leakage).
 *
 * State is kept per P.events partition and written to the compacted changelog `P.changelog.features`
 * (partition p holds the entities of input partition p, one record per entity, a tombstone when evicted).
 * Vectors, dead letters, changelog records and the consumed offsets of a batch commit in one Kafka
 * transaction; a partition's new owner restores its state from the changelog before processing it.
 */
@Injectable()
export class FeaturesService implements OnApplicationBootstrap {
  constructor(@Inject(RUNTIME) private readonly runtime: Runtime) {}

  async onApplicationBootstrap(): Promise<void> {
    for (const ctx of this.runtime.pipelines.values()) {
      await startExactlyOnceConsumer(this.runtime, {
        service: SERVICE,
        pipeline: ctx.spec.pipeline,
        topic: ctx.topics.events,
        createTask: (partition) => this.restorePartition(ctx, partition),
      });
    }
  }

  /** A partition's feature state rebuilt from its changelog, and the task that continues it. */
  async restorePartition(ctx: PipelineContext, partition: number): Promise<PartitionTask> {
    const pipeline = ctx.spec.pipeline;
    const computer = new FeatureComputer(ctx.spec);
    let refused = 0;
    await restoreChangelogPartition(this.runtime, ctx.topics.changelog('features'), partition, (key, value) => {
      try {
        computer.restoreEntity(key, value);
      } catch (error) {
        // State written for another feature layout (the spec changed): that entity starts without history.
        if (!(error instanceof FeatureInputError)) throw error;
        refused++;
        computer.restoreEntity(key, null);
      }
    });
    if (refused > 0) this.runtime.logger.warn({ pipeline, partition, refused }, 'changelog states of another feature layout were dropped');
    this.runtime.setPartitionFeatures(pipeline, partition, computer);
    let lastEviction = Date.now();
    return {
      process: async (records) => {
        const outputs = await this.processEvents(ctx, computer, partition, records);
        if (Date.now() - lastEviction >= EVICT_EVERY_MS) {
          lastEviction = Date.now();
          outputs.push(this.evictIdle(ctx, computer, partition));
        }
        return outputs;
      },
      close: () => this.runtime.setPartitionFeatures(pipeline, partition, undefined),
    };
  }

  /** One batch of one P.events partition → feature vectors, dead letters and the changed entity states. */
  async processEvents(ctx: PipelineContext, computer: FeatureComputer, partition: number, records: ConsumedRecord[]): Promise<TopicMessages[]> {
    const { spec, topics } = ctx;
    const vectors: Message[] = [];
    const letters: DeadLetter[] = [];
    const touched = new Set<string>();
    for (const r of records) {
      try {
        if (!r.value) throw new Error('record has no value');
        const { value } = await this.runtime.serde.decode(r.value, ctx.eventType);
        const event = value as Record<string, unknown>;
        const computed = computer.compute(event);
        for (const key of computer.stateKeysOf(event)) touched.add(key);
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
    const changelog: Message[] = [...touched].map((key) => {
      const state = computer.snapshotEntity(key);
      return { key, value: state ? Buffer.from(state.buffer, state.byteOffset, state.byteLength) : null, partition };
    });
    this.runtime.countOutputs(ctx, SERVICE, topics.features, vectors.length, letters);
    return [
      { topic: topics.features, messages: vectors },
      { topic: topics.dlq, messages: await this.runtime.deadLetterMessages(ctx, letters) },
      { topic: topics.changelog('features'), messages: changelog },
    ];
  }

  /** Forgets entities idle past their longest window (event time of the partition's newest event) and tombstones them. */
  private evictIdle(ctx: PipelineContext, computer: FeatureComputer, partition: number): TopicMessages {
    const evicted = computer.evictIdle(computer.newestEventTime());
    return { topic: ctx.topics.changelog('features'), messages: evicted.map((key) => ({ key, value: null, partition })) };
  }
}
