import type { Type } from 'avsc';
import { featureStages } from '@streamloop/features';
import { readTopicToEnd } from '@streamloop/kafka';
import type { StreamPipeline, StreamPlatform, TopicRole } from '@streamloop/stream';
import { featureStageTopics, type Runtime } from './runtime';

/** The process's clients and pipelines as the stream transport sees them: roles → topics and Avro types. */
export function streamPlatformOf(runtime: Runtime): StreamPlatform {
  const types = runtime.types;
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
        return types.prediction;
      case 'labels':
        return types.label;
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
    kafka: runtime.kafka,
    serde: runtime.serde,
    logger: runtime.logger,
    health: runtime.health,
    metrics: runtime.metrics,
    deadLetterType: types.deadLetter,
    sessionTimeoutMs: runtime.settings.kafkaSessionTimeoutMs,
    fuseStages: runtime.settings.fuseStages,
    pipelines: () => [...runtime.pipelines.values()],
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
    outputTopics: (pipeline) => runtime.topicPlan(pipeline).map((t) => t.topic),
    producer: () => runtime.producer(),
    restore: (topic, partition, apply) => readTopicToEnd(runtime.kafka, topic, (r) => {
      if (r.key) apply(r.key.toString('utf8'), r.value);
    }, { isolation: 'read_committed', partitions: [partition], timeoutMs: 300_000 }),
  };
}
