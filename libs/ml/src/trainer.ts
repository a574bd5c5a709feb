import type { Matrix } from './data';
import { exportGbdtOnnx, GradientBoostedTrees, type GbdtOptions } from './gbdt';
import { exportOnnx } from './onnx-export';
import { LogisticRegression } from './logistic';
import { parseModelParams, TabularPipeline } from './pipeline';
import { exportPreprocessedOnnx, IMPUTE_STRATEGIES, Preprocessor, type ImputeStrategy, type RawRow } from './preprocessing';

export const ALGORITHMS = ['logistic_regression', 'gbdt'] as const;
export type Algorithm = (typeof ALGORITHMS)[number];
export type ModelParamValue = number | string | boolean;

/** A fitted binary classifier, whatever the algorithm: what the training service needs from it. */
export interface TrainedClassifier {
  algorithm: Algorithm;
  featureNames: readonly string[];
  /** Probability of class 1 per row (NaN values allowed). */
  predictProba(X: Matrix): ArrayLike<number>;
  /** The whole fitted pipeline as one ONNX graph with input `features` and outputs `label`, `probabilities`. */
  toOnnx(modelName: string): Uint8Array;
  /** Share of the model's importance per feature, summing to 1 (gain for trees, |standardized coefficient| for the linear model). */
  featureImportance(): Record<string, number>;
  /** The fitted parameters that define the model, for the registry record. */
  describe(): Record<string, string>;
  /** The fitted trees (gbdt only), e.g. for TreeSHAP. */
  trees?: GradientBoostedTrees;
  /** Rows as the model itself sees them (after imputation when `impute` is set), e.g. for TreeSHAP; absent: unchanged. */
  modelInputs?(X: Matrix): Matrix;
}

export interface TrainClassifierOptions {
  featureNames: readonly string[];
  /** The spec's `model.params`. */
  params?: Record<string, ModelParamValue>;
  /** Threads of a GBDT fit (the settings' STREAMLOOP_GBDT_THREADS; not a model param: the model does not depend on it). */
  gbdtThreads?: number;
}

/** Spec parameter name (snake_case, like scikit-learn) → GBDT option. */
const GBDT_PARAMS: Record<string, keyof GbdtOptions> = {
  max_iter: 'maxIter', learning_rate: 'learningRate', max_leaf_nodes: 'maxLeafNodes', max_depth: 'maxDepth',
  min_samples_leaf: 'minSamplesLeaf', l2_regularization: 'l2Regularization', max_bins: 'maxBins', subsample: 'subsample',
  colsample: 'colsample', early_stopping: 'earlyStopping', validation_fraction: 'validationFraction',
  n_iter_no_change: 'nIterNoChange', tol: 'tol', seed: 'seed',
};

export function parseGbdtParams(params: Record<string, ModelParamValue>): GbdtOptions {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(params)) {
    const option = GBDT_PARAMS[key];
    if (!option) throw new RangeError(`model.params.${key}: unknown param for gbdt; known params are ${Object.keys(GBDT_PARAMS).join(', ')}`);
    if (option === 'earlyStopping') {
      if (value !== true && value !== false && value !== 'auto') throw new RangeError(`model.params.${key}: expected true, false or auto, got ${JSON.stringify(value)}`);
      out[option] = value;
    } else {
      const n = typeof value === 'number' ? value : Number(value);
      if (!Number.isFinite(n)) throw new RangeError(`model.params.${key}: expected a number, got ${JSON.stringify(value)}`);
      out[option] = n;
    }
  }
  return out as GbdtOptions;
}

/**
 * Imputation chosen in `model.params`, for both algorithms: `impute` = mean | median | most_frequent | constant
 * (scikit-learn's SimpleImputer strategies, fitted on the training rows) and `impute_value` for constant (default 0).
 * Without it, logistic regression imputes the training mean and the trees send NaN down their learned direction.
 */
export const IMPUTE_PARAMS = ['impute', 'impute_value'] as const;

function splitImpute(params: Record<string, ModelParamValue>): { impute: { strategy: ImputeStrategy; fillValue?: number } | null; rest: Record<string, ModelParamValue> } {
  const { impute, impute_value: value, ...rest } = params;
  if (impute === undefined) {
    if (value !== undefined) throw new RangeError('model.params.impute_value: only with impute: constant');
    return { impute: null, rest };
  }
  if (!IMPUTE_STRATEGIES.includes(impute as ImputeStrategy)) {
    throw new RangeError(`model.params.impute: expected one of ${IMPUTE_STRATEGIES.join(', ')}, got ${JSON.stringify(impute)}`);
  }
  const strategy = impute as ImputeStrategy;
  if (value !== undefined && strategy !== 'constant') throw new RangeError(`model.params.impute_value: only with impute: constant, not ${strategy}`);
  if (value !== undefined && (typeof value !== 'number' || !Number.isFinite(value))) throw new RangeError(`model.params.impute_value: expected a finite number, got ${JSON.stringify(value)}`);
  return { impute: { strategy, ...(strategy === 'constant' ? { fillValue: (value as number | undefined) ?? 0 } : {}) }, rest };
}

/**
 * Reads `model.params` as a fit of the algorithm would (imputation included) without fitting, so a spec can be
 * checked before any data exists: an unknown or mistyped param throws, naming its `model.params` key.
 */
export function checkClassifierParams(algorithm: Algorithm, params: Record<string, ModelParamValue>): void {
  const { rest } = splitImpute(params);
  if (algorithm === 'gbdt') parseGbdtParams(rest);
  else if (algorithm === 'logistic_regression') parseModelParams(rest);
  else throw new RangeError(`model.algorithm: expected one of ${ALGORITHMS.join(', ')}, got ${JSON.stringify(algorithm)}`);
}

/** Fits a binary classifier of the given algorithm on rows X (columns in featureNames order) and 0/1 labels y. */
export function trainClassifier(
  algorithm: Algorithm,
  X: Matrix,
  y: ArrayLike<number>,
  opts: TrainClassifierOptions,
): TrainedClassifier {
  const featureNames = [...opts.featureNames];
  const { impute, rest: params } = splitImpute(opts.params ?? {});
  if (impute) return trainImputed(algorithm, X, y, featureNames, impute, params, opts.gbdtThreads);
  if (algorithm === 'gbdt') {
    const model = GradientBoostedTrees.fit(X, y, { ...parseGbdtParams(params), task: 'classification', featureNames, threads: opts.gbdtThreads });
    return {
      algorithm,
      featureNames,
      predictProba: (rows) => model.predictProba(rows),
      toOnnx: (modelName) => exportGbdtOnnx(model, { modelName, featureNames }),
      featureImportance: () => {
        const gain = model.featureImportanceGain();
        return Object.fromEntries(featureNames.map((n, j) => [n, gain[j]]));
      },
      describe: () => ({ trees: String(model.nIter), baseline: String(model.baseline) }),
      trees: model,
    };
  }
  if (algorithm === 'logistic_regression') {
    const pipeline = TabularPipeline.fit(X, y, { featureNames, params });
    return {
      algorithm,
      featureNames,
      predictProba: (rows) => pipeline.predictProba(rows),
      toOnnx: (modelName) => exportOnnx(pipeline, { modelName }),
      featureImportance: () => {
        // On standardized inputs a coefficient's size is comparable across features.
        const abs = Array.from(pipeline.model.coefficients, Math.abs);
        const total = abs.reduce((a, b) => a + b, 0) || 1;
        return Object.fromEntries(featureNames.map((n, j) => [n, abs[j] / total]));
      },
      describe: () => ({ intercept: String(pipeline.model.intercept) }),
    };
  }
  throw new RangeError(`model.algorithm: expected one of ${ALGORITHMS.join(', ')}, got ${JSON.stringify(algorithm)}`);
}

/**
 * The imputed variant: a fitted Preprocessor (the strategy for every column; standardization too for the linear
 * model) in front of the model, trained on and exported with float32 preprocessing, so the TypeScript scores and
 * the one ONNX graph (Imputer → Scaler → model) agree.
 */
function trainImputed(
  algorithm: Algorithm,
  X: Matrix,
  y: ArrayLike<number>,
  featureNames: string[],
  impute: { strategy: ImputeStrategy; fillValue?: number },
  params: Record<string, ModelParamValue>,
  gbdtThreads: number | undefined,
): TrainedClassifier {
  if (!ALGORITHMS.includes(algorithm)) throw new RangeError(`model.algorithm: expected one of ${ALGORITHMS.join(', ')}, got ${JSON.stringify(algorithm)}`);
  const raw = (M: Matrix): RawRow[] => Array.from(M, (row) => Object.fromEntries(featureNames.map((f, j) => [f, row[j]])));
  const linear = algorithm === 'logistic_regression';
  const pre = Preprocessor.fit(raw(X), featureNames.map((name) => ({ name, type: 'numeric' as const, impute: impute.strategy, fillValue: impute.fillValue, standardize: linear })));
  const inputs = (M: Matrix) => pre.transform(raw(M), { float32: true });
  const Xt = inputs(X);
  const model = linear
    ? LogisticRegression.fit(Xt, y, parseModelParams(params))
    : GradientBoostedTrees.fit(Xt, y, { ...parseGbdtParams(params), task: 'classification', featureNames, threads: gbdtThreads });
  const described = { impute: impute.strategy, ...(impute.fillValue !== undefined ? { impute_value: String(impute.fillValue) } : {}) };
  return {
    algorithm,
    featureNames,
    predictProba: (rows) => model.predictProba(inputs(rows)),
    toOnnx: (modelName) => exportPreprocessedOnnx(pre, model, { modelName }),
    featureImportance: () => {
      const raw = model instanceof GradientBoostedTrees ? Array.from(model.featureImportanceGain()) : Array.from(model.coefficients, Math.abs);
      const total = raw.reduce((a, b) => a + b, 0) || 1;
      return Object.fromEntries(featureNames.map((n, j) => [n, raw[j] / total]));
    },
    describe: () => (model instanceof GradientBoostedTrees
      ? { ...described, trees: String(model.nIter), baseline: String(model.baseline) }
      : { ...described, intercept: String(model.intercept) }),
    ...(model instanceof GradientBoostedTrees ? { trees: model, modelInputs: inputs } : {}),
  };
}
