// The pipeline spec and event schema of one bench:loop run, as a user would write them (examples/byod shows the
// same: the app's own numeric fields passed through as features). Written to the run's temporary directory.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import YAML from 'yaml';
import type { LoopStream } from './streams';

export type Strategy = 'loop' | 'schedule' | 'none';
export const STRATEGIES: readonly Strategy[] = ['loop', 'schedule', 'none'];
export const STRATEGY_LABELS: Record<Strategy, string> = {
  loop: 'closed loop (alerts)',
  schedule: 'fixed schedule',
  none: 'no retraining',
};

/** The knobs the bench sets (see BENCHMARKS.md "Closed loop" for why each value). */
export interface LoopSettings {
  /** training.min_labels and training.window's last_rows: every model, the first included, learns from this many labelled events. */
  windowRows: number;
  /** retraining.cooldown. */
  cooldown: string;
  /** retraining.min_new_labels. */
  minNewLabels: number;
  /** promotion.online_labels. */
  onlineLabels: number;
  /** training.schedule of the fixed-schedule baseline. */
  schedule: string;
  /** monitoring.detectors.label_delay. */
  labelDelay: string;
}

export const DEFAULT_LOOP_SETTINGS: LoopSettings = {
  windowRows: 1_000,
  cooldown: '15s',
  minNewLabels: 500,
  onlineLabels: 500,
  schedule: '20s',
  labelDelay: '3s',
};

export const EVENT_ID_FIELD = 'event_id';
export const EVENT_TIME_FIELD = 'event_time';
/** The entity: a source id, so events spread over the pipeline's partitions; no aggregate reads it. */
export const ENTITY_FIELD = 'source';

export function eventSchema(stream: LoopStream): object {
  return {
    type: 'record',
    name: `${stream.name[0].toUpperCase()}${stream.name.slice(1)}Event`,
    namespace: 'dev.streamloop.bench',
    doc: `One ${stream.name} event, as the bench's producer app publishes it.`,
    fields: [
      { name: EVENT_ID_FIELD, type: 'string' },
      { name: ENTITY_FIELD, type: 'string' },
      { name: EVENT_TIME_FIELD, type: { type: 'long', logicalType: 'timestamp-millis' } },
      ...stream.features.map((f) => ({ name: f, type: stream.fieldType(f) })),
    ],
  };
}

/** The spec of one run's pipeline; the strategies differ only in `training.schedule` and `retraining.triggers`. */
export function pipelineSpec(pipeline: string, stream: LoopStream, strategy: Strategy, s: LoopSettings): object {
  return {
    pipeline,
    events: { schema: `${pipeline}.avsc`, id_field: EVENT_ID_FIELD, time_field: EVENT_TIME_FIELD, entity_field: ENTITY_FIELD, partitions: 3 },
    features: { version: 'v1', transforms: stream.features.map((f) => ({ name: f, op: 'passthrough', field: f })) },
    labels: { field: 'label' },
    model: { name: stream.name, algorithm: stream.algorithm, params: stream.params },
    training: {
      min_labels: s.windowRows,
      holdout_fraction: 0.2,
      window: { last_rows: s.windowRows },
      // Schedule-only retraining is a schedule with no alert among the triggers (alerts are then recorded as not_a_trigger).
      schedule: strategy === 'schedule' ? s.schedule : null,
    },
    retraining: {
      triggers: strategy === 'loop' ? [{ kind: 'performance' }] : [],
      cooldown: s.cooldown,
      min_new_labels: s.minNewLabels,
    },
    promotion: { online_labels: s.onlineLabels },
    monitoring: {
      // The stream's features never drift (only P(y | x) changes): compare with the whole training sample.
      reference: 'training',
      detectors: { label_delay: s.labelDelay },
    },
  };
}

/** Writes the spec and its schema into `dir`; returns the spec's path. */
export function writePipelineFiles(dir: string, pipeline: string, stream: LoopStream, strategy: Strategy, s: LoopSettings): string {
  writeFileSync(join(dir, `${pipeline}.avsc`), JSON.stringify(eventSchema(stream), null, 2));
  const specFile = join(dir, `${pipeline}.yaml`);
  writeFileSync(specFile, YAML.stringify(pipelineSpec(pipeline, stream, strategy, s)));
  return specFile;
}
