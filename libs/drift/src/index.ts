export { psi, psiEdges, quantileSorted, type PsiBin, type PsiOptions, type PsiResult } from './psi';
export { chi2Sf, gammaQ, kolmogn, lgamma, smirnov } from './special';
export {
  benjaminiHochberg, categoricalPsi, chiSquareTest, datasetDrift, jensenShannonDistance, jensenShannonFromCounts, ksFromStatistic, ksTest, wasserstein1,
  type BhResult, type CategoricalPsiResult, type CategoryCounts, type ChiSquareResult, type DatasetDriftOptions, type DatasetDriftResult,
  type FeatureTest, type JensenShannonOptions, type KsOptions, type KsResult,
} from './stats';
export {
  ADWIN, DDM, PageHinkley, type AdwinOptions, type ChangeDetector, type DdmOptions, type PageHinkleyOptions,
} from './detectors';
export { ErrorStreamMonitor, type ErrorStreamDetection, type ErrorStreamOptions } from './error-stream';
export {
  AlertGate, DEFAULT_ALERT_GATE_MAX_KEYS, type AlertDirection, type AlertGateOptions, type AlertKey, type RaisedAlert,
} from './alert-gate';
