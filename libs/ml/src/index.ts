export { mulberry32, seededRandom, gaussian, shuffledIndices } from './random';
export type { Matrix } from './data';
export { Standardizer, type StandardizerJSON } from './standardizer';
export {
  LogisticRegression,
  sigmoid,
  type ClassWeight,
  type FitInfo,
  type LogisticRegressionJSON,
  type LogisticRegressionOptions,
  type Solver,
} from './logistic';
export {
  TabularPipeline,
  parseModelParams,
  roundToFloat32,
  type Explanation,
  type FeatureContribution,
  type ModelParams,
  type TabularPipelineJSON,
  type TabularPipelineOptions,
} from './pipeline';
export {
  accuracy,
  brierScore,
  confusionMatrix,
  evaluateBinary,
  f1Score,
  logLoss,
  precision,
  recall,
  rocAuc,
  type BinaryEvaluation,
  type ConfusionMatrix,
} from './metrics';
export { timeSplit, type TimeSplit, type TimeSplitOptions } from './split';
export {
  exportOnnx,
  ONNX_INPUT,
  ONNX_IR_VERSION,
  ONNX_LABEL_OUTPUT,
  ONNX_OPSETS,
  ONNX_PROBABILITIES_OUTPUT,
  type ExportOnnxOptions,
} from './onnx-export';
export {
  inspectOnnx,
  OnnxModelError,
  OnnxScorer,
  toFloat32Rows,
  validateModel,
  type ModelSignature,
  type OnnxGraphOptimizationLevel,
  type OnnxScorerOptions,
  type OnnxSessionOptions,
  type ParityResult,
  type ScoreResult,
} from './onnx-scorer';
export {
  exportGbdtOnnx,
  gbdtThreads,
  GradientBoostedTrees,
  ONNX_REGRESSION_OUTPUT,
  type ExportGbdtOnnxOptions,
  type GbdtFitHistory,
  type GbdtJSON,
  type GbdtOptions,
  type GbdtTask,
  type GbdtTree,
} from './gbdt';
export { ALGORITHMS, checkClassifierParams, parseGbdtParams, trainClassifier, type Algorithm, type ModelParamValue, type TrainedClassifier, type TrainClassifierOptions } from './trainer';
export { featureImportance, meanAbsShap, treeShap, TreeShapExplainer, type FeatureImportance, type TreeEnsemble, type TreeShapResult } from './explain';
export {
  explainerFromOnnx, NoExplainerError, topContributions,
  type ExplainerFromOnnxOptions, type ExplainMethod, type ModelExplainer, type RowExplanation,
} from './explain';
export type { OnnxIo } from './onnx-scorer';
export { ExternalModelError, externalIo, loadExternalModel, parseExternalMapping, type ExternalModelMapping, type LoadExternalModelOptions } from './external-model';
export * from './evaluation';
export * from './search';
export { checkSearchParams, modelSpecProblems } from './model-params';
export * from './preprocessing';
