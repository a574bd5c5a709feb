import type { Type } from 'avsc';
import type { AvroSerde } from '@streamloop/avro';
import { featureStageTopics, type Settings } from '@streamloop/config';
import { featureStages } from '@streamloop/features';
import { readTopicToEnd, type GroupDirectory, type Kafka } from '@streamloop/kafka';
import type { HealthRegistry, Logger, StreamloopMetrics } from '@streamloop/observability';
import type { StreamPipeline, StreamPlatform, TopicRole } from '@streamloop/stream';
import type { PlatformTypes } from './platform-types';
import type { PipelineRegistry, SharedProducer } from './providers';
import { topicPlan } from './topics';

/** What the stream transport uses of the platform's providers (a Runtime has them all). */
export interface StreamPlatformParts {
  kafka: Kafka;
  serde: AvroSerde;
  logger: Logger;
  health: HealthRegistry;
  metrics: StreamloopMetrics;
  types: PlatformTypes;
  settings: Pick<Settings, 'kafkaSessionTimeoutMs' | 'fuseStages'>;
  pipelines: PipelineRegistry;
  sharedProducer: SharedProducer;
  /** The address advertised in stateful stages' groups (read at each join; a Runtime's is set once HTTP's port is known). */
  advertisedUrl?: string;
  /** Owner lookups to forget after a rebalance of a stateful stage. */
  groups?: Pick<GroupDirectory, 'invalidate'>;
}

/** The process's clients and pipelines as the stream transport sees them: roles → topics and Avro types. */
export function streamPlatformOf(parts: StreamPlatformParts): StreamPlatform {
  const types = parts.types;
  const roleType = (pipeline: StreamPipeline, role: TopicRole): Type => {
    switch (role) {
      case 'raw':
      case 'events':
        return pipeline.eventType;
      case 'repartition':
        return types.featurePartial;
      case 'features':
        return types.featureVector;
      case 'predictions':
      case 'shadow':
        return types.prediction;
      case 'labels':
        return pipeline.labelType;
      case 'dlq':
        return types.deadLetter;
      case 'alerts':
        return types.alert;
      case 'models':
        return types.modelRegistry;
    }
  };
  const roleTopic = (pipeline: StreamPipeline, role: Exclude<TopicRole, 'repartition'>): string => pipeline.topics[role];
  return {
    kafka: parts.kafka,
    serde: parts.serde,
    logger: parts.logger,
    health: parts.health,
    metrics: parts.metrics,
    deadLetterType: types.deadLetter,
    sessionTimeoutMs: parts.settings.kafkaSessionTimeoutMs,
    fuseStages: parts.settings.fuseStages,
    advertisedUrl: () => parts.advertisedUrl,
    onStateGroupJoin: () => parts.groups?.invalidate(),
    pipelines: () => [...parts.pipelines.values()],
    inputs: (pipeline, role) => {
      if (role === 'repartition') {
        return featureStages(pipeline.spec).filter((s) => s.index > 0).map((s) => ({ topic: featureStageTopics(pipeline.topics, s).input, type: types.featurePartial }));
      }
      return [{ topic: roleTopic(pipeline, role), type: roleType(pipeline, role) }];
    },
    output: (pipeline, role, field) => {
      if (role === 'repartition') {
        if (!field) throw new Error('an output to the repartition role names the field the next stage is keyed by');
        return { topic: pipeline.topics.repartition(field), type: types.featurePartial };
      }
      return { topic: roleTopic(pipeline, role), type: roleType(pipeline, role) };
    },
    outputTopics: (pipeline) => topicPlan(pipeline).map((t) => t.topic),
    producer: () => parts.sharedProducer.producer(),
    restore: (topic, partition, apply) => readTopicToEnd(parts.kafka, topic, (r) => {
      if (r.key) apply(r.key.toString('utf8'), r.value);
    }, { isolation: 'read_committed', partitions: [partition], timeoutMs: 300_000 }),
  };
}
