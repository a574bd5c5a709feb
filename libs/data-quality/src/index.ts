export {
  DATA_QUALITY_CHECKS, checkDirection, describeCheck, evaluateDataQuality, referenceRanges, referenceVariety,
  type CheckResult, type DataQualityCheck, type DataQualityOutcome, type EvaluateOptions, type FeatureProfile, type ReferenceRange, type ReferenceVariety, type WindowProfile,
} from './checks';
export { dataQualityProfile, datasetQuery, featuresQuery, type ProfileWindow, type RenderedQuery } from './profile';
export { checkWindow, dataQualityRows, type CheckWindowInput, type WindowCheck } from './window';
