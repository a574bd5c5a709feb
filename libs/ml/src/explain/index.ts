export { featureImportance, meanAbsShap, treeShap, TreeShapExplainer, type FeatureImportance, type TreeEnsemble, type TreeShapResult } from './tree-shap';
export {
  explainerFromOnnx, NoExplainerError, topContributions,
  type ExplainerFromOnnxOptions, type ExplainMethod, type ModelExplainer, type RowExplanation,
} from './onnx-explainer';
