import { Inject, Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import { FeatureComputer, FeatureInputError, featureStages, type FeatureStage } from '@streamloop/features';
import { deadLetter, type ConsumedRecord, type DeadLetter, type Message, type PartitionTask, type TopicMessages } from '@streamloop/kafka';
import {
  featureStageTopics, isOutage, restoreChangelogPartition, RUNTIME, Runtime, startExactlyOnceConsumer, type FeatureVectorRecord, type PipelineContext,
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
      const stages = featureStages(ctx.spec);
      for (const stage of stages) {
        await startExactlyOnceConsumer(this.runtime, {
          service: SERVICE,
          pipeline: ctx.spec.pipeline,
          topic: featureStageTopics(ctx.topics, stage).input,
          createTask: (partition) => this.restorePartition(ctx, stages, stage, partition),
        });
      }
    }
  }

  /** A stage partition's feature state rebuilt from its changelog, and the task that continues it. */
  async restorePartition(ctx: PipelineContext, stages: FeatureStage[], stage: FeatureStage, partition: number): Promise<PartitionTask> {
    const pipeline = ctx.spec.pipeline;
    const computer = new FeatureComputer(ctx.spec, { entities: stage.entities });
    const changelog = featureStageTopics(ctx.topics, stage).changelog;
    let refused = 0;
    await restoreChangelogPartition(this.runtime, changelog, partition, (key, value) => {
      try {
        // Keys of fields another stage owns come from a spec whose stages were different: not this stage's state.
        if (computer.owns(key)) computer.restoreEntity(key, value);
        else refused++;
      } catch (error) {
        // State written for another feature layout (the spec changed): that entity starts without history.
        if (!(error instanceof FeatureInputError)) throw error;
        refused++;
        computer.restoreEntity(key, null);
      }
    });
    if (refused > 0) this.runtime.logger.warn({ pipeline, partition, changelog, refused }, 'changelog states of another feature layout were dropped');
    this.runtime.setPartitionFeatures(pipeline, stage.index, partition, computer);
    const next = stage.last ? undefined : stages[stage.index + 1];
    const owned = computer.ownedAggregates();
    // The partition's newest event time runs ahead of an entity's own events when inputs interleave (a repartition
    // topic, a lagging producer): an entity is kept this much longer than its idle time, so an event that late still
    // finds its history. The allowed lateness when set (later events are dropped anyway), else the longest window.
    const evictionGrace = ctx.spec.features.allowedLatenessMs ?? Math.max(0, ...ctx.spec.features.aggregates.map((a) => ('windowMs' in a ? a.windowMs : 0)));
    let lastEviction = Date.now();
    return {
      process: async (records) => {
        const outputs = await this.processStage(ctx, { stage, next, computer, owned, changelog, partition }, records);
        if (Date.now() - lastEviction >= EVICT_EVERY_MS) {
          lastEviction = Date.now();
          const evicted = computer.evictIdle(computer.newestEventTime() - evictionGrace);
          outputs.push({ topic: changelog, messages: evicted.map((key) => ({ key, value: null, partition })) });
        }
        return outputs;
      },
      close: () => this.runtime.setPartitionFeatures(pipeline, stage.index, partition, undefined),
    };
  }

  /**
   * One batch of one stage partition → feature vectors (last stage) or events with the aggregates so far, re-keyed
   * for the next stage; dead letters; and the changed entity states for the changelog.
   */
  async processStage(ctx: PipelineContext, at: StagePartition, records: ConsumedRecord[]): Promise<TopicMessages[]> {
    const { spec, topics } = ctx;
    const { stage, next, computer, partition } = at;
    const outputs: Message[] = [];
    const letters: DeadLetter[] = [];
    const touched = new Set<string>();
    for (const r of records) {
      let eventBytes = r.value;
      try {
        if (!r.value) throw new Error('record has no value');
        let partial: Record<string, number> = {};
        if (stage.index > 0) {
          const { value } = await this.runtime.serde.decode(r.value, this.runtime.types.featurePartial);
          const carried = value as { event: Buffer; aggregates: Record<string, number> };
          eventBytes = carried.event;
          partial = carried.aggregates;
        }
        const { value } = await this.runtime.serde.decode(eventBytes!, ctx.eventType);
        const event = value as Record<string, unknown>;
        const computed = computer.compute(event, partial);
        for (const key of computer.stateKeysOf(event)) touched.add(key);
        if (computed.late) {
          // Only with allowed_lateness set is a late event left out of state and withheld (docs/pipeline-spec.md).
          const enforced = spec.features.allowedLatenessMs !== null && spec.features.allowedLatenessMs !== undefined;
          const policy = enforced ? (spec.features.lateEvents ?? 'drop') : 'applied';
          this.runtime.metrics.lateEvents.inc({ pipeline: spec.pipeline, policy });
          if (policy === 'drop') continue;
          if (policy === 'dead_letter') throw new LateEventError(`event ${String(event[spec.events.idField])}: event time ${computed.eventTime} is older than the allowed lateness of ${spec.features.allowedLatenessMs} ms for its entity`);
        }
        if (next) {
          const aggregates = { ...partial };
          for (const name of at.owned) aggregates[name] = computed.values[name];
          const key = event[next.field];
          outputs.push({
            key: key === null || key === undefined ? '' : String(key),
            value: await this.runtime.serde.encode(`${topics.repartition(next.field)}-value`, this.runtime.types.featurePartial, { event: eventBytes, aggregates }),
          });
          continue;
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
        outputs.push({
          key: vector.entity_key,
          value: await this.runtime.serde.encode(`${topics.features}-value`, this.runtime.types.featureVector, vector),
        });
      } catch (error) {
        // Events were validated upstream; what fails here is a schema mismatch or a bug, dead-lettered with the reason.
        if (isOutage(error)) throw error;
        letters.push(deadLetter(spec.pipeline, 'features.compute', error, { topic: r.topic, partition: r.partition, offset: r.offset, key: r.key, value: eventBytes }));
      }
    }
    const changelog: Message[] = [...touched].map((key) => {
      const state = computer.snapshotEntity(key);
      return { key, value: state ? Buffer.from(state.buffer, state.byteOffset, state.byteLength) : null, partition };
    });
    const outputTopic = next ? topics.repartition(next.field) : topics.features;
    this.runtime.countOutputs(ctx, SERVICE, outputTopic, outputs.length, letters);
    return [
      { topic: outputTopic, messages: outputs },
      { topic: topics.dlq, messages: await this.runtime.deadLetterMessages(ctx, letters) },
      { topic: at.changelog, messages: changelog },
    ];
  }
}

interface StagePartition {
  stage: FeatureStage;
  next: FeatureStage | undefined;
  computer: FeatureComputer;
  /** The aggregates this stage computes (passed on to the next stage). */
  owned: readonly string[];
  changelog: string;
  partition: number;
}
