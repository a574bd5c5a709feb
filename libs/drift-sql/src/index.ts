export {
  float64Bits, renderSource, renderSides,
  type SampleSource, type FeatureWindowSource, type ValuesSource, type PredictionsSource, type LabelsSource, type RenderedQuery,
} from './sources';
export { ksFromStatistic } from '@streamloop/drift';
export { numericDrift, numericDriftQuery, type NumericDrift, type NumericDriftOptions, type SampleCounts } from './numeric';
export {
  categoricalCounts, categoricalDrift, categoricalDriftQuery, type CategoricalDrift, type CategoricalDriftOptions,
} from './categorical';
export {
  performanceByModel, performanceByModelQuery, performanceOverTime, performanceQuery, type ModelPerformanceOptions, type ModelWindowPerformance,
  type PerformanceOptions, type WindowPerformance,
} from './performance';
