import { Inject, Injectable } from '@nestjs/common';
import { featureStageTopics } from '@streamloop/config';
import { openStageState, OwnedFeatureState, stageOfInput, type FeatureStageState } from '@streamloop/features';
import type { PartitionStateFactory, StreamPipeline } from '@streamloop/stream';

/**
 * The transport's factory of feature-stage partition states (@streamloop/features' FeatureStageState): each is
 * registered in the process's OwnedFeatureState while its partition is assigned here, for REST predict.
 */
@Injectable()
export class FeatureStateFactory implements PartitionStateFactory<FeatureStageState> {
  constructor(@Inject(OwnedFeatureState) private readonly owned: OwnedFeatureState) {}

  changelog(pipeline: StreamPipeline, topic: string): string {
    return featureStageTopics(pipeline.topics, stageOfInput(pipeline.spec, pipeline.topics, topic)).changelog;
  }

  create(pipeline: StreamPipeline, topic: string, partition: number): FeatureStageState {
    const { spec } = pipeline;
    const stage = stageOfInput(spec, pipeline.topics, topic);
    const state = openStageState(spec, stage, () => this.owned.set(spec.pipeline, stage.index, partition, undefined));
    this.owned.set(spec.pipeline, stage.index, partition, state.computer);
    return state;
  }
}
