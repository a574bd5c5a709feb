/**
 * ONNX export of a fitted GradientBoostedTrees as one ai.onnx.ml tree-ensemble node:
 *   classification: features float[N, d] ─ TreeEnsembleClassifier (one class weight per leaf, base_values =
 *     [baseline], post_transform LOGISTIC) ─► label int64[N], probabilities float[N, 2] = [1 − p, p]
 *     (the signature of the logistic-regression export, so OnnxScorer loads both);
 *   regression: features float[N, d] ─ TreeEnsembleRegressor ─► variable float[N, 1].
 * Splits are BRANCH_LEQ (x ≤ threshold goes to the true branch = our left child) and
 * nodes_missing_value_tracks_true = missingGoesLeft, so NaN follows the learned direction. Thresholds are
 * already float32 values (see binning.ts), so onnxruntime takes the same branch as the TypeScript model for
 * float32 inputs; the leaf values are rounded to float32 and summed in float32 by onnxruntime.
 */
import onnxProto from 'onnx-proto';
import type { onnx as P } from 'onnx-proto';
import { encodeModel, floats, ints, str, strings, tensorInfo } from '../onnx-attributes';
import { ONNX_INPUT, ONNX_LABEL_OUTPUT, ONNX_PROBABILITIES_OUTPUT } from '../onnx-export';
import type { GradientBoostedTrees } from './model';

const { onnx } = onnxProto;
const Attr = onnx.AttributeProto.AttributeType;
const DType = onnx.TensorProto.DataType;

/** Output of the regressor graph: float [N, 1]. */
export const ONNX_REGRESSION_OUTPUT = 'variable';

/**
 * metadata_props key holding each node's cover (training rows that reached it): JSON number[][], one array per tree
 * (nodes_treeids), indexed by nodes_nodeids. The tree-ensemble operators have no attribute for it, and path-dependent
 * TreeSHAP at serve time needs it (libs/ml/src/explain/onnx-explainer.ts).
 */
export const TREE_NODE_COUNTS_METADATA = 'tree_node_counts';

/** The trees' node covers as TREE_NODE_COUNTS_METADATA holds them (the no-tree model: one leaf of cover 0). */
export function treeNodeCounts(model: Pick<GradientBoostedTrees, 'trees'>): string {
  return JSON.stringify(model.trees.length === 0 ? [[0]] : model.trees.map((t) => t.count));
}

export interface ExportGbdtOnnxOptions {
  modelName: string;
  /** Defaults to the model's feature names. */
  featureNames?: string[];
  modelVersion?: number;
  docString?: string;
  /** Extra metadata_props; feature_names, model_name, model_type and tree_node_counts are always written. */
  metadata?: Record<string, string>;
}


export function exportGbdtOnnx(model: GradientBoostedTrees, opts: ExportGbdtOnnxOptions): Uint8Array {
  if (!opts || typeof opts.modelName !== 'string' || opts.modelName.length === 0) throw new TypeError('exportGbdtOnnx: modelName is required');
  const d = model.width;
  const featureNames = opts.featureNames ?? model.featureNames;
  if (featureNames.length !== d) throw new RangeError(`exportGbdtOnnx: ${featureNames.length} feature names for a model of ${d} features`);

  const treeIds: number[] = [], nodeIds: number[] = [], featureIds: number[] = [], modes: string[] = [], values: number[] = [];
  const trueIds: number[] = [], falseIds: number[] = [], missingTrue: number[] = [];
  const leafTree: number[] = [], leafNode: number[] = [], leafWeight: number[] = [];
  model.trees.forEach((t, ti) => {
    for (let k = 0; k < t.feature.length; k++) {
      treeIds.push(ti);
      nodeIds.push(k);
      const leaf = t.left[k] < 0;
      featureIds.push(leaf ? 0 : t.feature[k]);
      modes.push(leaf ? 'LEAF' : 'BRANCH_LEQ');
      const th = leaf ? 0 : t.threshold[k];
      if (!leaf && Math.fround(th) !== th) throw new RangeError(`exportGbdtOnnx: tree ${ti} node ${k} threshold ${th} is not a float32 value`);
      values.push(th);
      trueIds.push(leaf ? 0 : t.left[k]);
      falseIds.push(leaf ? 0 : t.right[k]);
      missingTrue.push(!leaf && t.missingGoesLeft[k] ? 1 : 0);
      if (leaf) {
        const w = Math.fround(t.value[k]);
        if (!Number.isFinite(w)) throw new RangeError(`exportGbdtOnnx: tree ${ti} leaf ${k} value ${t.value[k]} is not a finite float32`);
        leafTree.push(ti);
        leafNode.push(k);
        leafWeight.push(w);
      }
    }
  });
  if (!Number.isFinite(Math.fround(model.baseline))) throw new RangeError(`exportGbdtOnnx: baseline ${model.baseline} is not a finite float32`);
  // onnxruntime needs at least one tree: a model with no tree becomes one leaf of weight 0 (the baseline alone).
  if (model.trees.length === 0) {
    treeIds.push(0); nodeIds.push(0); featureIds.push(0); modes.push('LEAF'); values.push(0); trueIds.push(0); falseIds.push(0); missingTrue.push(0);
    leafTree.push(0); leafNode.push(0); leafWeight.push(0);
  }
  const nodeAttrs: P.IAttributeProto[] = [
    ints('nodes_treeids', treeIds),
    ints('nodes_nodeids', nodeIds),
    ints('nodes_featureids', featureIds),
    strings('nodes_modes', modes),
    floats('nodes_values', values),
    ints('nodes_truenodeids', trueIds),
    ints('nodes_falsenodeids', falseIds),
    ints('nodes_missing_value_tracks_true', missingTrue),
  ];
  const ml = 'ai.onnx.ml';
  const classification = model.task === 'classification';
  const node: P.INodeProto = classification
    ? {
        name: 'trees', opType: 'TreeEnsembleClassifier', domain: ml, input: [ONNX_INPUT], output: [ONNX_LABEL_OUTPUT, ONNX_PROBABILITIES_OUTPUT],
        attribute: [
          ...nodeAttrs,
          ints('class_treeids', leafTree),
          ints('class_nodeids', leafNode),
          ints('class_ids', leafTree.map(() => 0)),
          floats('class_weights', leafWeight),
          ints('classlabels_int64s', [0, 1]),
          floats('base_values', [model.baseline]),
          str('post_transform', 'LOGISTIC'),
        ],
      }
    : {
        name: 'trees', opType: 'TreeEnsembleRegressor', domain: ml, input: [ONNX_INPUT], output: [ONNX_REGRESSION_OUTPUT],
        attribute: [
          ...nodeAttrs,
          ints('target_treeids', leafTree),
          ints('target_nodeids', leafNode),
          ints('target_ids', leafTree.map(() => 0)),
          floats('target_weights', leafWeight),
          { name: 'n_targets', type: Attr.INT, i: 1 },
          floats('base_values', [model.baseline]),
          str('aggregate_function', 'SUM'),
          str('post_transform', 'NONE'),
        ],
      };
  const output = classification
    ? [
        tensorInfo(ONNX_LABEL_OUTPUT, DType.INT64, ['N'], 'predicted class (1 when p > 0.5)'),
        tensorInfo(ONNX_PROBABILITIES_OUTPUT, DType.FLOAT, ['N', 2], '[P(class 0), P(class 1)] per row'),
      ]
    : [tensorInfo(ONNX_REGRESSION_OUTPUT, DType.FLOAT, ['N', 1], 'predicted value per row')];
  const graph: P.IGraphProto = {
    name: `${opts.modelName}_graph`,
    docString: `gradient-boosted trees (${model.task}), ${model.nIter} trees`,
    input: [tensorInfo(ONNX_INPUT, DType.FLOAT, ['N', d], `features in this order: ${featureNames.join(', ')}`)],
    output,
    node: [node],
  };
  const metadata: Record<string, string> = {
    ...opts.metadata,
    model_name: opts.modelName,
    model_type: classification ? 'gbdt_classifier' : 'gbdt_regressor',
    feature_names: JSON.stringify(featureNames),
    [TREE_NODE_COUNTS_METADATA]: treeNodeCounts(model),
  };
  return encodeModel(graph, metadata, { modelVersion: opts.modelVersion, docString: opts.docString ?? `${opts.modelName}: gradient-boosted trees (${model.task}) over ${d} features` });
}
