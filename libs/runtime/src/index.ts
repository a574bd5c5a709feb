export { Runtime, UnknownPipelineError, featureStageTopics, isOutage, type ComputedFeaturesView, type PipelineContext } from './runtime';
export { loadPlatformTypes, platformSchemaText, type PlatformTypes } from './platform-types';
export type { FeatureVectorRecord, PredictionRecord, LabelRecord, ModelRegistryRecord, AlertRecord } from './records';
export { RUNTIME } from './tokens';
export {
  followModelRegistry, restoreChangelogPartition, startExactlyOnceConsumer, startPipelineConsumer, type ExactlyOnceConsumerOptions, type PipelineConsumerOptions,
} from './consume';
export { PlatformModule } from './platform.module';
export { serveModules, runStandalone, type ServingApp } from './http';
