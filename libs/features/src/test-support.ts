// Specs for the stage and owned-state tests (no files, no broker).
import { parseDuration, topicsFor, type PipelineSpec } from '@streamloop/config';

const M = 60_000;
const H = 60 * M;

/** Two stages: card aggregates on P.events, a merchant count behind the repartition topic; `partitions` input partitions. */
export function twoStageSpec(options: { partitions?: number; allowedLatenessMs?: number | null; lateEvents?: 'drop' | 'dead_letter' } = {}): PipelineSpec {
  return {
    pipeline: 't', file: 't.yaml',
    events: { schemaPath: '/dev/null', idField: 'id', timeField: 'ts', entityField: 'card', partitions: options.partitions ?? 2, dedupWindowMs: H },
    topics: {},
    features: {
      version: 'v1', transforms: [],
      aggregates: [
        { name: 'card_n1h', op: 'count', entity: 'card', window: '1h', windowMs: parseDuration('1h')! },
        { name: 'merchant_n1h', op: 'count', entity: 'merchant', window: '1h', windowMs: parseDuration('1h')! },
      ],
      allowedLatenessMs: options.allowedLatenessMs ?? null,
      lateEvents: options.lateEvents,
    },
    labels: { field: 'y' },
    model: { name: 'm', algorithm: 'logistic_regression', params: {}, threshold: 0.5 },
    training: { minLabels: 10, holdoutFraction: 0.2, scheduleMs: null },
    monitoring: { window: '5m', windowMs: 5 * M, alertCooldownMs: 24 * H, psiBins: 10, psiThreshold: 0.2, thresholds: { ksPValue: null, jensenShannon: null, wasserstein: null }, datasetDrift: { alpha: 0.05, share: 0.5 }, detectors: { labelDelayMs: H, adwin: {}, pageHinkley: {}, ddm: {} } },
  } as PipelineSpec;
}

export const topicsOf = (spec: PipelineSpec) => topicsFor(spec);

/** A partitioner for tests: the number at the end of the key, modulo the partitions (0 without one). */
export const trailingNumberPartitioner = (key: string, partitions: number): number => Number(/(\d+)$/.exec(key)?.[1] ?? 0) % partitions;
