import type { PipelineSpec, TopicRole } from './spec';

/** The shared model registry topic (compacted, keyed pipeline/model/version) unless a spec names its own. */
export const DEFAULT_MODELS_TOPIC = 'streamloop.models';

export interface PipelineTopics extends Record<TopicRole, string> {
  /** Prefix of the pipeline's changelog topics, `P.changelog`. */
  changelogPrefix: string;
  /** The changelog topic of one state store, e.g. changelog('features') → `P.changelog.features`. */
  changelog(store: string): string;
  /** The internal topic that re-keys the feature stream by another entity field, e.g. `P.repartition.features.merchant_id`. */
  repartition(field: string): string;
}

/** Topic names: the spec's own, or derived from the pipeline name P (P.events.raw, P.events, ...). */
export function topicsFor(spec: Pick<PipelineSpec, 'pipeline' | 'topics'>): PipelineTopics {
  const p = spec.pipeline;
  const t = spec.topics;
  const changelogPrefix = `${p}.changelog`;
  return {
    raw: t.raw ?? `${p}.events.raw`,
    events: t.events ?? `${p}.events`,
    dlq: t.dlq ?? `${p}.events.dlq`,
    features: t.features ?? `${p}.features`,
    predictions: t.predictions ?? `${p}.predictions`,
    shadow: t.shadow ?? `${p}.predictions.shadow`,
    labels: t.labels ?? `${p}.labels`,
    alerts: t.alerts ?? `${p}.alerts`,
    models: t.models ?? DEFAULT_MODELS_TOPIC,
    changelogPrefix,
    changelog: (store: string) => `${changelogPrefix}.${store}`,
    repartition: (field: string) => `${p}.repartition.features.${field}`,
  };
}

/**
 * A feature stage's input topic and the changelog topic of its state: stage 0 reads `P.events` and keeps
 * `P.changelog.features`; a later stage keyed by `field` reads `P.repartition.features.<field>` and keeps
 * `P.changelog.features.<field>`.
 */
export function featureStageTopics(topics: PipelineTopics, stage: { index: number; field: string }): { input: string; changelog: string } {
  return stage.index === 0
    ? { input: topics.events, changelog: topics.changelog('features') }
    : { input: topics.repartition(stage.field), changelog: topics.changelog(`features.${stage.field}`) };
}
