import { Inject, Injectable } from '@nestjs/common';
import { FeatureComputer, FeatureInputError, featureStages, type FeatureStage } from '@streamloop/features';
import { featureStageTopics, RUNTIME, Runtime } from '@streamloop/runtime';
import type { PartitionState, PartitionStateFactory, StreamPipeline } from '@streamloop/stream';

/** How often (wall time) a partition forgets idle entities; eviction walks every entity, so not per batch. */
const EVICT_EVERY_MS = 60_000;

/**
 * The entity state of one input partition of a feature stage: a FeatureComputer restored from the stage's compacted
 * changelog (one record per entity, a tombstone when evicted), whose touched entities are written back per batch.
 */
export class FeatureStageState implements PartitionState {
  private readonly touched = new Set<string>();
  private lastEviction = Date.now();
  /** Changelog states of another feature layout (the spec changed), dropped on restore. */
  refused = 0;

  constructor(
    readonly computer: FeatureComputer,
    readonly stage: FeatureStage,
    /** The next stage, when this one is not the last (its output is re-keyed for it). */
    readonly next: FeatureStage | undefined,
    /** The aggregates this stage computes (passed on to the next stage). */
    readonly owned: readonly string[],
    /** How much longer than its idle time an entity is kept (see FeatureStateFactory). */
    private readonly evictionGrace: number,
    private readonly onClose: () => void,
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

/** Builds each stage partition's state, and lets REST predict read the partitions this process owns. */
@Injectable()
export class FeatureStateFactory implements PartitionStateFactory<FeatureStageState> {
  constructor(@Inject(RUNTIME) private readonly runtime: Runtime) {}

  changelog(pipeline: StreamPipeline, topic: string): string {
    return featureStageTopics(pipeline.topics, stageOf(pipeline, topic)).changelog;
  }

  create(pipeline: StreamPipeline, topic: string, partition: number): FeatureStageState {
    const { spec } = pipeline;
    const stages = featureStages(spec);
    const stage = stageOf(pipeline, topic);
    const computer = new FeatureComputer(spec, { entities: stage.entities });
    // The partition's newest event time runs ahead of an entity's own events when inputs interleave (a repartition
    // topic, a lagging producer): an entity is kept this much longer than its idle time, so an event that late still
    // finds its history. The allowed lateness when set (later events are dropped anyway), else the longest window.
    const evictionGrace = spec.features.allowedLatenessMs ?? Math.max(0, ...spec.features.aggregates.map((a) => ('windowMs' in a ? a.windowMs : 0)));
    this.runtime.setPartitionFeatures(spec.pipeline, stage.index, partition, computer);
    return new FeatureStageState(
      computer, stage, stage.last ? undefined : stages[stage.index + 1], computer.ownedAggregates(), evictionGrace,
      () => this.runtime.setPartitionFeatures(spec.pipeline, stage.index, partition, undefined),
    );
  }
}

/** The feature stage whose input is `topic`. */
export function stageOf(pipeline: StreamPipeline, topic: string): FeatureStage {
  const stage = featureStages(pipeline.spec).find((s) => featureStageTopics(pipeline.topics, s).input === topic);
  if (!stage) throw new Error(`${topic} is not the input of a feature stage of pipeline ${pipeline.spec.pipeline}`);
  return stage;
}
