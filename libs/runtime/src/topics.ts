import { featureStageTopics } from '@streamloop/config';
import { featureStages } from '@streamloop/features';
import { ensureTopics, KAFKA_DEFAULTS, type Kafka, type TopicSpec } from '@streamloop/kafka';
import type { PipelineContext } from './providers';

/** max.message.bytes of the topics the platform creates (see topicPlan): data topics keep Kafka's default. */
export const DATA_TOPIC_MAX_MESSAGE_BYTES = KAFKA_DEFAULTS.maxMessageBytes;
export const DLQ_TOPIC_MAX_MESSAGE_BYTES = 2 * KAFKA_DEFAULTS.maxMessageBytes;
export const MODELS_TOPIC_MAX_MESSAGE_BYTES = 16 * 1_048_576;

/**
 * Every topic a pipeline uses, with its settings (the names are libs/config's). `max.message.bytes` is chosen, not
 * inherited: data topics take Kafka's default 1 MiB (what every client expects); the DLQ twice that, so a dead letter
 * keeps a whole record of any size the data topics accept beside its reason (larger originals are cut, and marked
 * so); the model registry holds ONNX files and takes 16 MiB.
 */
export function topicPlan(ctx: Pick<PipelineContext, 'spec' | 'topics'>): TopicSpec[] {
  const { spec, topics } = ctx;
  const partitions = spec.events.partitions;
  const data = { 'max.message.bytes': String(DATA_TOPIC_MAX_MESSAGE_BYTES) };
  const plan: TopicSpec[] = [];
  for (const topic of [topics.raw, topics.events, topics.features, topics.predictions, topics.shadow, topics.labels, topics.alerts]) {
    plan.push({ topic, partitions, config: data });
  }
  plan.push({ topic: topics.dlq, partitions, config: { 'max.message.bytes': String(DLQ_TOPIC_MAX_MESSAGE_BYTES) } });
  // Changelogs have one partition per input partition: partition p holds the state of input partition p.
  for (const stage of featureStages(spec)) {
    plan.push({ topic: featureStageTopics(topics, stage).changelog, partitions, config: { ...data, 'cleanup.policy': 'compact' } });
    if (stage.index > 0) plan.push({ topic: featureStageTopics(topics, stage).input, partitions, config: data });
  }
  // Dedup ids matter for the dedup window only: compacted, and deleted once well past the window.
  const dedupRetention = String(Math.max(3_600_000, 2 * spec.events.dedupWindowMs));
  plan.push({ topic: topics.changelog('dedup'), partitions, config: { ...data, 'cleanup.policy': 'compact,delete', 'retention.ms': dedupRetention } });
  // Model versions are few and must all be kept: compacted by pipeline/model/version key.
  plan.push({ topic: topics.models, partitions: 1, config: { 'cleanup.policy': 'compact', 'max.message.bytes': String(MODELS_TOPIC_MAX_MESSAGE_BYTES) } });
  return plan;
}

/** Creates every topic of the given pipelines (the shared model registry topic once) that does not exist yet. */
export async function ensurePipelineTopics(kafka: Kafka, pipelines: Iterable<Pick<PipelineContext, 'spec' | 'topics'>>): Promise<void> {
  const specs = new Map<string, TopicSpec>();
  for (const ctx of pipelines) for (const t of topicPlan(ctx)) if (!specs.has(t.topic)) specs.set(t.topic, t);
  await ensureTopics(kafka, [...specs.values()]);
}
