import { binaryLabels, matrixShape, type Matrix } from './data';
import { LogisticRegression, sigmoid, type ClassWeight, type LogisticRegressionJSON, type LogisticRegressionOptions, type Solver } from './logistic';
import { Standardizer, type StandardizerJSON } from './standardizer';

export type ModelParams = Record<string, number | string | boolean>;

export interface TabularPipelineOptions extends LogisticRegressionOptions {
  /** Column names, in the order of the values in each row; also the ONNX input's documented order. */
  featureNames: readonly string[];
  /**
   * Parameters as written in a pipeline spec's `model.params` (they override the typed options):
   * `l2` (λ, default 1) or `C` (= 1/λ, scikit-learn's convention), `max_iter`, `tol`, `solver`
   * ('auto' | 'newton' | 'lbfgs'), `fit_intercept`, `class_weight` ('balanced', 'none' or '0:1,1:5').
   */
  params?: ModelParams;
}

export interface TabularPipelineJSON {
  kind: 'tabular_pipeline';
  version: 1;
  featureNames: string[];
  standardizer: StandardizerJSON;
  model: LogisticRegressionJSON;
}

export interface FeatureContribution {
  feature: string;
  /** The raw input value (NaN when missing). */
  value: number;
  /** After imputation and standardization: what the coefficient multiplies. */
  standardized: number;
  /** coefficient · standardized; the logit is the sum of these plus the intercept. */
  contribution: number;
}

export interface Explanation {
  probability: number;
  logit: number;
  intercept: number;
  /** Sorted by |contribution|, largest first. */
  contributions: FeatureContribution[];
}

const PARAM_KEYS = ['l2', 'C', 'max_iter', 'tol', 'solver', 'fit_intercept', 'class_weight'];

/** Reads spec-style `model.params` into typed options, with errors naming the parameter. */
export function parseModelParams(params: ModelParams): LogisticRegressionOptions {
  const out: LogisticRegressionOptions = {};
  const num = (k: string): number => {
    const v = params[k];
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new TypeError(`model.params.${k}: expected a finite number, got ${JSON.stringify(v)}`);
    return v;
  };
  for (const k of Object.keys(params)) {
    if (!PARAM_KEYS.includes(k)) throw new RangeError(`model.params.${k}: unknown parameter for logistic_regression; expected one of ${PARAM_KEYS.join(', ')}`);
  }
  if ('l2' in params && 'C' in params) throw new RangeError('model.params: give either l2 or C (C = 1/l2), not both');
  if ('l2' in params) out.l2 = num('l2');
  if ('C' in params) {
    const c = num('C');
    if (!(c > 0)) throw new RangeError(`model.params.C: must be > 0 (C = 1/l2), got ${c}`);
    out.l2 = 1 / c;
  }
  if ('max_iter' in params) out.maxIter = num('max_iter');
  if ('tol' in params) out.tol = num('tol');
  if ('solver' in params) out.solver = String(params.solver) as Solver;
  if ('fit_intercept' in params) {
    if (typeof params.fit_intercept !== 'boolean') throw new TypeError(`model.params.fit_intercept: expected true or false, got ${JSON.stringify(params.fit_intercept)}`);
    out.fitIntercept = params.fit_intercept;
  }
  if ('class_weight' in params) out.classWeight = parseClassWeight(params.class_weight);
  return out;
}

function parseClassWeight(v: number | string | boolean): ClassWeight {
  if (v === 'balanced') return 'balanced';
  if (v === 'none' || v === false) return null;
  const text = String(v);
  const weights: { 0?: number; 1?: number } = {};
  for (const part of text.split(',')) {
    const m = /^\s*([01])\s*:\s*([0-9.eE+-]+)\s*$/.exec(part);
    const w = m ? Number(m[2]) : Number.NaN;
    if (!m || !(w >= 0 && Number.isFinite(w))) {
      throw new RangeError(`model.params.class_weight: expected 'balanced', 'none' or '0:w0,1:w1' with weights ≥ 0, got ${JSON.stringify(v)}`);
    }
    weights[m[1] === '0' ? 0 : 1] = w;
  }
  return weights;
}

/**
 * Mean imputation + standardization + logistic regression, fitted on training rows only, with named
 * columns. This is the unit that is exported to ONNX (Imputer → Scaler → LinearClassifier).
 */
export class TabularPipeline {
  constructor(
    readonly featureNames: readonly string[],
    readonly standardizer: Standardizer,
    readonly model: LogisticRegression,
  ) {
    const d = featureNames.length;
    if (d === 0) throw new RangeError('TabularPipeline: needs at least one feature name');
    if (new Set(featureNames).size !== d) throw new RangeError(`TabularPipeline: duplicate feature names in ${JSON.stringify(featureNames)}`);
    if (standardizer.width !== d) throw new RangeError(`TabularPipeline: standardizer has ${standardizer.width} columns for ${d} feature names`);
    if (model.coefficients.length !== d) throw new RangeError(`TabularPipeline: model has ${model.coefficients.length} coefficients for ${d} feature names`);
  }

  static fit(X: Matrix, y: ArrayLike<number>, opts: TabularPipelineOptions): TabularPipeline {
    const { featureNames, params, ...typed } = opts;
    if (!Array.isArray(featureNames)) throw new TypeError('TabularPipeline.fit: featureNames is required');
    const { n, d } = matrixShape(X, 'TabularPipeline.fit', featureNames.length);
    binaryLabels(y, n, 'TabularPipeline.fit'); // fail on labels before the work
    const standardizer = Standardizer.fit(X, { featureNames });
    const lrOpts = { ...typed, ...(params ? parseModelParams(params) : {}) };
    const model = new LogisticRegression(lrOpts).fitFlat(standardizer.transformFlat(X), n, d, y, lrOpts);
    return new TabularPipeline([...featureNames], standardizer, model);
  }

  get width(): number {
    return this.featureNames.length;
  }

  /** One row in featureNames order from a name → value record; absent names become NaN (imputed). */
  toRow(values: Readonly<Record<string, number | null | undefined>>): Float64Array {
    return Float64Array.from(this.featureNames, (name) => values[name] ?? Number.NaN);
  }

  /** Probability of class 1 per row; NaN values are imputed with the training means. */
  predictProba(X: Matrix): Float64Array {
    const { n } = matrixShape(X, 'TabularPipeline.predictProba', this.width);
    const out = new Float64Array(n);
    const z = new Float64Array(this.width);
    for (let i = 0; i < n; i++) out[i] = sigmoid(this.model.decisionRow(this.standardizer.transformRow(X[i], z)));
    return out;
  }

  predict(X: Matrix, threshold = 0.5): Uint8Array {
    return Uint8Array.from(this.predictProba(X), (p) => (p >= threshold ? 1 : 0));
  }

  /** Per-feature contributions to one row's logit (coefficient · standardized value). */
  explain(row: ArrayLike<number>): Explanation {
    const z = this.standardizer.transformRow(row);
    const parts = this.model.contributions(z);
    const contributions = this.featureNames.map((feature, j) => ({ feature, value: row[j], standardized: z[j], contribution: parts[j] }));
    contributions.sort((a, b) => Math.abs(b.contribution) - Math.abs(a.contribution));
    const logit = this.model.decisionRow(z);
    return { probability: sigmoid(logit), logit, intercept: this.model.intercept, contributions };
  }

  toJSON(): TabularPipelineJSON {
    return { kind: 'tabular_pipeline', version: 1, featureNames: [...this.featureNames], standardizer: this.standardizer.toJSON(), model: this.model.toJSON() };
  }

  static fromJSON(json: unknown): TabularPipeline {
    const j = json as Partial<TabularPipelineJSON> | null;
    if (!j || j.kind !== 'tabular_pipeline') throw new TypeError(`TabularPipeline.fromJSON: expected kind 'tabular_pipeline', got ${JSON.stringify(j?.kind)}`);
    if (j.version !== 1) throw new TypeError(`TabularPipeline.fromJSON: unsupported version ${JSON.stringify(j.version)}, expected 1`);
    if (!Array.isArray(j.featureNames) || !j.featureNames.every((f) => typeof f === 'string')) throw new TypeError('TabularPipeline.fromJSON: featureNames must be an array of strings');
    return new TabularPipeline(j.featureNames, Standardizer.fromJSON(j.standardizer), LogisticRegression.fromJSON(j.model));
  }
}

/** Rows with every value rounded to float32: what an ONNX float input actually sees (for parity references). */
export function roundToFloat32(X: Matrix): Float64Array[] {
  return X.map((row) => Float64Array.from(row, (v) => Math.fround(v)));
}
