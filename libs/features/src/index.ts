export { FeatureComputer, FeatureInputError, BUCKETS_PER_WINDOW, type ComputedFeatures } from './computer';
export { BucketedWindow, type WindowStats, type WindowSnapshot } from './window';
