import type { PipelineSpec } from '@streamloop/config';
import { FeatureComputer, featureStages, type FeatureStage } from './computer';

/** Which partition of `partitions` a record key goes to (the producer's partitioner, Kafka's murmur2 by default). */
export type KeyPartitioner = (key: string, partitions: number) => number;

/** An event's feature vector read from the current state (REST predict). */
export interface PeekedFeatures {
  values: Record<string, number>;
  /** Whether every stage's entity state lives in this process (else those aggregates are those of a new entity). */
  stateOwned: boolean;
}

/** Where one feature stage's state of an event lives: the stage's input partition its key goes to. */
export interface StagePlacement {
  stage: number;
  /** The field the stage is keyed by (the primary entity field for stage 0). */
  field: string;
  key: string;
  partition: number;
  /** Whether this process holds that partition's state now. */
  owned: boolean;
}

/**
 * The feature state this process owns right now: per pipeline, feature stage and input partition, the
 * FeatureComputer a feature stage keeps for that partition (registered when the partition is assigned, removed when
 * it is revoked). REST predict reads it without changing it: `peek` computes an event's vector from the state of the
 * partitions its keys go to, and says whether this process owns them all.
 */
export class OwnedFeatureState {
  /** pipeline → `stage/partition` → computer. */
  private readonly owned = new Map<string, Map<string, FeatureComputer>>();
  /** Per pipeline: its stages and, per stage, a computer without entity state (for partitions owned elsewhere). */
  private readonly views = new Map<string, { spec: PipelineSpec; stages: FeatureStage[]; templates: FeatureComputer[] }>();

  constructor(private readonly partitionOf: KeyPartitioner) {}

  /** Registers (or, with undefined, removes) the state of one input partition of a feature stage. */
  set(pipeline: string, stage: number, partition: number, computer: FeatureComputer | undefined): void {
    let owned = this.owned.get(pipeline);
    if (!owned) this.owned.set(pipeline, (owned = new Map()));
    if (computer) owned.set(`${stage}/${partition}`, computer);
    else owned.delete(`${stage}/${partition}`);
  }

  /** The computer of one stage partition, when this process owns it. */
  get(pipeline: string, stage: number, partition: number): FeatureComputer | undefined {
    return this.owned.get(pipeline)?.get(`${stage}/${partition}`);
  }

  /** Entity states held across the owned partitions (of one pipeline, or of all). */
  entityCount(pipeline?: string): number {
    let n = 0;
    for (const [name, owned] of this.owned) {
      if (pipeline === undefined || name === pipeline) for (const c of owned.values()) n += c.entityCount();
    }
    return n;
  }

  /**
   * Per feature stage (stage 0, keyed by the primary entity field, first): the input partition whose state an event's
   * vector reads, and whether this process owns it — the partitions REST predict routes by.
   */
  placement(spec: PipelineSpec, event: Record<string, unknown>): StagePlacement[] {
    const owned = this.owned.get(spec.pipeline);
    return featureStages(spec).map((stage) => {
      const raw = event[stage.field];
      const key = raw === null || raw === undefined ? '' : String(raw);
      const partition = this.partitionOf(key, spec.events.partitions);
      return { stage: stage.index, field: stage.field, key, partition, owned: owned?.has(`${stage.index}/${partition}`) ?? false };
    });
  }

  /**
   * An event's feature vector from its entities' current state, changing nothing. Each stage reads the state of the
   * input partition the event's key for that stage goes to; where this process does not own it, that stage's
   * aggregates are those of an entity without history and `stateOwned` is false.
   */
  peek(spec: PipelineSpec, event: Record<string, unknown>): PeekedFeatures {
    let view = this.views.get(spec.pipeline);
    if (!view || view.spec !== spec) {
      const stages = featureStages(spec);
      view = { spec, stages, templates: stages.map((st) => new FeatureComputer(spec, { entities: st.entities })) };
      this.views.set(spec.pipeline, view);
    }
    const owned = this.owned.get(spec.pipeline);
    let partial: Record<string, number> = {};
    let values: Record<string, number> = {};
    let stateOwned = true;
    for (const stage of view.stages) {
      const key = event[stage.field];
      const partition = this.partitionOf(key === null || key === undefined ? '' : String(key), spec.events.partitions);
      const computer = owned?.get(`${stage.index}/${partition}`);
      if (!computer) stateOwned = false;
      const used = computer ?? view.templates[stage.index];
      values = used.peek(event, partial).values;
      partial = { ...partial, ...Object.fromEntries(used.ownedAggregates().map((n) => [n, values[n]])) };
    }
    return { values, stateOwned };
  }
}
