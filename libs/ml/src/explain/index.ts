export { featureImportance, meanAbsShap, treeShap, TreeShapExplainer, type FeatureImportance, type TreeEnsemble, type TreeShapResult } from './tree-shap';
