export { FeatureComputer, FeatureInputError, BUCKETS_PER_WINDOW, stateKey, type ComputedFeatures, type FeatureComputerOptions } from './computer';
export { BucketedWindow, type WindowStats } from './window';
export { compileTransform, toNumber, type CompiledTransform, type TransformInput } from './transforms';
export { encodeEntityState, decodeEntityState, layoutFingerprint, type EncodedEntityState } from './snapshot';
