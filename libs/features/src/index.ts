export {
  FeatureComputer, FeatureInputError, BUCKETS_PER_WINDOW, featureStages, stateKey, ewmAdd, type ComputedFeatures, type FeatureComputerOptions, type FeatureStage,
} from './computer';
export { BucketedWindow, type WindowStats, type BucketedWindowOptions } from './window';
export { HllWindow, HLL_PRECISION, HLL_REGISTERS, murmur3, hashString, addHash, hllEstimate } from './hll';
export { evaluateExpr, type ExprReader } from './expr';
export { categoryText, compileTransform, toNumber, type CompiledTransform, type TransformInput } from './transforms';
export {
  encodeEntityState, decodeEntityState, layoutFingerprint, SNAPSHOT_VERSION,
  type EncodedEntityState, type EncodedSeries, type SeriesShape,
} from './snapshot';
export { OwnedFeatureState, type KeyPartitioner, type PeekedFeatures, type StagePlacement } from './owned-state';
export {
  FeatureStageState, LateEventError, openStageState, processStage, stageOfInput,
  type LateEventOutcome, type StageInput, type StageSink,
} from './stage';
export { featureColumns, type FeatureColumn } from './vector-plan';
