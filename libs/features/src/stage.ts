import { featureStageTopics, type PipelineSpec, type PipelineTopics } from '@streamloop/config';
import type { FeaturePartialRecord, FeatureVectorRecord } from '@streamloop/contracts';
import { PlatformError } from '@streamloop/errors';
import { FeatureComputer, FeatureInputError, featureStages, type FeatureStage } from './computer';

/** How often (wall time) a partition forgets idle entities; eviction walks every entity, so not per batch. */
const EVICT_EVERY_MS = 60_000;

/** A late event dead-lettered by `features.late_events: dead_letter` (LATE_EVENT). */
export class LateEventError extends PlatformError {
  constructor(message: string) {
    super('LATE_EVENT', message);
  }
}

/** What a late event came to: applied to state as usual, dropped, or dead-lettered (docs/pipeline-spec.md). */
export type LateEventOutcome = 'applied' | 'drop' | 'dead_letter';

/**
 * The entity state of one input partition of a feature stage: a FeatureComputer restored from the stage's compacted
 * changelog (one record per entity, a tombstone when evicted), whose touched entities are written back per batch.
 * It is the transport's PartitionState (`restore`, `changes`, `close`).
 */
export class FeatureStageState {
  private readonly touched = new Set<string>();
  private lastEviction = Date.now();
  /** Changelog states of another feature layout (the spec changed), dropped on restore. */
  refused = 0;

  constructor(
    readonly spec: PipelineSpec,
    readonly computer: FeatureComputer,
    readonly stage: FeatureStage,
    /** The next stage, when this one is not the last (its output is re-keyed for it). */
    readonly next: FeatureStage | undefined,
    /** The aggregates this stage computes (passed on to the next stage). */
    readonly owned: readonly string[],
    /** How much longer than its idle time an entity is kept (see `openStageState`). */
    private readonly evictionGrace: number,
    private readonly onClose: () => void = () => undefined,
  ) {}

  restore(key: string, value: Buffer | null): void {
    try {
      // Keys of fields another stage owns come from a spec whose stages were different: not this stage's state.
      if (this.computer.owns(key)) this.computer.restoreEntity(key, value);
      else this.refused++;
    } catch (error) {
      // State written for another feature layout: that entity starts without history.
      if (!(error instanceof FeatureInputError)) throw error;
      this.refused++;
      this.computer.restoreEntity(key, null);
    }
  }

  touch(keys: string[]): void {
    for (const key of keys) this.touched.add(key);
  }

  changes(): Array<{ key: string; value: Buffer | null }> {
    const out = [...this.touched].map((key) => {
      const state = this.computer.snapshotEntity(key);
      return { key, value: state ? Buffer.from(state.buffer, state.byteOffset, state.byteLength) : null };
    });
    this.touched.clear();
    if (Date.now() - this.lastEviction >= EVICT_EVERY_MS) {
      this.lastEviction = Date.now();
      for (const key of this.computer.evictIdle(this.computer.newestEventTime() - this.evictionGrace)) out.push({ key, value: null });
    }
    return out;
  }

  close(): void {
    this.onClose();
  }
}

/**
 * A fresh (unrestored) state for one input partition of `stage`. `onClose` runs when the transport throws the state
 * away (the partition revoked, a failed transaction, shutdown).
 */
export function openStageState(spec: PipelineSpec, stage: FeatureStage, onClose?: () => void): FeatureStageState {
  const stages = featureStages(spec);
  const computer = new FeatureComputer(spec, { entities: stage.entities });
  // The partition's newest event time runs ahead of an entity's own events when inputs interleave (a repartition
  // topic, a lagging producer): an entity is kept this much longer than its idle time, so an event that late still
  // finds its history. The allowed lateness when set (later events are dropped anyway), else the longest window.
  const evictionGrace = spec.features.allowedLatenessMs ?? Math.max(0, ...spec.features.aggregates.map((a) => ('windowMs' in a ? a.windowMs : 0)));
  return new FeatureStageState(spec, computer, stage, stage.last ? undefined : stages[stage.index + 1], computer.ownedAggregates(), evictionGrace, onClose);
}

/** The feature stage of `spec` whose input topic is `topic`. */
export function stageOfInput(spec: PipelineSpec, topics: PipelineTopics, topic: string): FeatureStage {
  const stage = featureStages(spec).find((s) => featureStageTopics(topics, s).input === topic);
  if (!stage) throw new Error(`${topic} is not the input of a feature stage of pipeline ${spec.pipeline}`);
  return stage;
}

/** One event a stage partition reads: the source record (handed back to the sink), the event, its bytes, the aggregates so far. */
export interface StageInput<R> {
  record: R;
  event: Record<string, unknown>;
  /** The event's encoded bytes, carried to the next stage as read. */
  eventBytes: Buffer;
  /** Aggregates of earlier stages (empty in the first). */
  partial: Readonly<Record<string, number>>;
}

/** Where a stage's results go (the stream transport's context in the features service). */
export interface StageSink<R> {
  deadLetter(record: R, error: unknown): void;
  /** To the next stage, keyed by its field. */
  repartition(key: string, value: FeaturePartialRecord, record: R, field: string): void;
  /** From the last stage: the event's feature vector, keyed by the pipeline's entity. */
  vector(key: string, value: FeatureVectorRecord, record: R): void;
  /** A late event and what was done with it (for metrics). */
  late?(policy: LateEventOutcome): void;
}

/**
 * One batch of one stage partition: each event's aggregates are computed from its entities' state before the event is
 * added (no leakage), the touched entities marked for the changelog; the last stage writes a feature vector, an
 * earlier one passes the event and its aggregates on. An event the computer fails on is dead-lettered with the reason;
 * a late one is applied, dropped or dead-lettered by the spec's `allowed_lateness` and `late_events`.
 */
export function processStage<R>(state: FeatureStageState, inputs: Iterable<StageInput<R>>, sink: StageSink<R>, now: () => number = Date.now): void {
  const { spec, computer, next, owned } = state;
  const enforced = spec.features.allowedLatenessMs !== null && spec.features.allowedLatenessMs !== undefined;
  const policy: LateEventOutcome = enforced ? (spec.features.lateEvents ?? 'drop') : 'applied';
  for (const { record, event, eventBytes, partial } of inputs) {
    let computed;
    try {
      computed = computer.compute(event, partial);
    } catch (error) {
      // Events were validated upstream; what fails here is a schema mismatch or a bug, dead-lettered with the reason.
      sink.deadLetter(record, error);
      continue;
    }
    state.touch(computer.stateKeysOf(event));
    if (computed.late) {
      sink.late?.(policy);
      if (policy === 'drop') continue;
      if (policy === 'dead_letter') {
        sink.deadLetter(record, new LateEventError(`event ${String(event[spec.events.idField])}: event time ${computed.eventTime} is older than the allowed lateness of ${spec.features.allowedLatenessMs} ms for its entity`));
        continue;
      }
    }
    if (next) {
      const aggregates = { ...partial };
      for (const name of owned) aggregates[name] = computed.values[name];
      const key = event[next.field];
      sink.repartition(key === null || key === undefined ? '' : String(key), { event: eventBytes, aggregates }, record, next.field);
      continue;
    }
    sink.vector(computed.entityKey, {
      event_id: String(event[spec.events.idField]),
      pipeline: spec.pipeline,
      entity_key: computed.entityKey,
      event_time: computed.eventTime,
      feature_spec_version: spec.features.version,
      values: computed.values,
      computed_at: now(),
    }, record);
  }
}
