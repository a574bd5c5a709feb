export {
  MODEL_STAGES, REGISTRATION_STAGES, isRegistrationStage, DECIDERS, NO_DECISION, type Decider,
  type ModelRegistryRecord, type OnnxSignatureRecord, type ModelStage, type RegistrationStage,
} from './records';
export { registryKey, parseRegistryKey, checkPublishable, InvalidModelRecordError, type ModelVersionId } from './key';
export {
  emptyRegistry, foldRegistry, championOf, challengerOf, championsNewestFirst, nextVersion, sameEntry, probationOf, shadowOf,
  PROBATION_LABELS_METRIC, type RegistryEntry, type RegistryMessage, type RegistryState, type Probation, type ShadowModel,
} from './registry-state';
export { registryMessageOf, pipelineOfMessage, type RawRegistryRecord } from './messages';
export { readRegistry, publishModelVersion, type ReadRegistryOptions, type RegistryIo } from './registry-topic';
export {
  planTransition, listModels, findVersion, TransitionRefusedError,
  type ModelAction, type TransitionRequest, type Transition, type ModelSummary, type PromotionTarget,
} from './transitions';
export { challengerServes, entityBucket } from './traffic-split';
