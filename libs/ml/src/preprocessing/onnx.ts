/**
 * ONNX export of a fitted Preprocessor and the model trained on its output, as one graph (opsets ai.onnx 17,
 * ai.onnx.ml 3, IR 8; deterministic bytes):
 *
 *   features   float[N, dn]  ─ Imputer (NaN → imputed value) ─ Scaler ((x − mean) · 1/std; 0 and 1 when not
 *                               standardized; left out when no column is) ─┐
 *   categories string[N, dc] ─ per column: Gather ─ LabelEncoder (kept category → 0..K−1, anything else → K)
 *                               ─ OneHotEncoder (cats 0..K) ──────────────────┤
 *   hashed     float[N, dh]  ──────────────────────────────────────────────────┤
 *                                  Concat (axis 1, Preprocessor output order) ─ model
 *   model: LogisticRegression → LinearClassifier (LOGISTIC) → label int64[N], probabilities float[N, 2]
 *          GradientBoostedTrees → the nodes of exportGbdtOnnx (TreeEnsembleClassifier → label, probabilities, or
 *          TreeEnsembleRegressor → variable float[N, 1]) reading the concatenated tensor.
 *
 * An input exists only when it has columns. Input contract:
 *   - `features`: the numeric columns in Preprocessor.numericColumns order, NaN for missing;
 *   - `categories`: the one-hot columns in categoricalColumns order, '' for missing (an unseen or infrequent value
 *     and '' all land in the unknown bucket, as in the TypeScript transform);
 *   - `hashed`: Preprocessor.hashRow of each row. ONNX (ai.onnx / ai.onnx.ml) has no hash operator and no way to
 *     get a string's UTF-8 bytes, so feature hashing cannot be expressed in the graph; the caller computes these
 *     values before scoring (MurmurHash3 x86 32-bit of `${column}=${value}`, the same function as the features
 *     service's hashString). preprocessorOnnxFeed builds all three inputs from raw rows.
 *
 * Parity: the graph computes in float32. Preprocessor.transform(rows, { float32: true }) reproduces the graph's
 * preprocessing bit for bit, so a model scored on it is what onnxruntime scores (up to float32 rounding inside the
 * model: the sum of tree leaves, the linear form).
 */
import onnxProto from 'onnx-proto';
import type { onnx as P } from 'onnx-proto';
import { encodeModel, floats, int, ints, str, strings, tensorInfo } from '../onnx-attributes';
import { GradientBoostedTrees, exportGbdtOnnx } from '../gbdt';
import { TREE_NODE_COUNTS_METADATA, treeNodeCounts } from '../gbdt/onnx';
import { LogisticRegression } from '../logistic';
import { ONNX_INPUT, ONNX_LABEL_OUTPUT, ONNX_PROBABILITIES_OUTPUT } from '../onnx-export';
import { Preprocessor, type RawRow } from './preprocessor';
import { categoryValue, checkRow, numericValue } from './values';

const { onnx } = onnxProto;
const Attr = onnx.AttributeProto.AttributeType;
const DType = onnx.TensorProto.DataType;

/** The numeric input is ONNX_INPUT ('features'), as in the other exports. */
export const ONNX_CATEGORIES_INPUT = 'categories';
export const ONNX_HASHED_INPUT = 'hashed';
/** The concatenated preprocessed tensor the model node reads (an internal name, listed for debugging). */
const PREPROCESSED = 'preprocessed';

export type PreprocessedModel = LogisticRegression | GradientBoostedTrees;

export interface ExportPreprocessedOnnxOptions {
  modelName: string;
  modelVersion?: number;
  docString?: string;
  /** Extra metadata_props; model_name, model_type, feature_names, the input column lists and preprocessor are always written. */
  metadata?: Record<string, string>;
}

const ml = 'ai.onnx.ml';

function finiteFloat32(what: string, v: number): number {
  const f = Math.fround(v);
  if (!Number.isFinite(f)) throw new RangeError(`exportPreprocessedOnnx: ${what} is ${v}, not representable as a finite float32`);
  return f;
}

/** The preprocessing nodes, ending in PREPROCESSED [N, width]. */
function preprocessingGraph(pre: Preprocessor): { inputs: P.IValueInfoProto[]; nodes: P.INodeProto[]; initializers: P.ITensorProto[] } {
  const inputs: P.IValueInfoProto[] = [];
  const nodes: P.INodeProto[] = [];
  const initializers: P.ITensorProto[] = [];
  const blocks: string[] = [];
  const numeric = pre.numeric;
  if (numeric.length > 0) {
    inputs.push(tensorInfo(ONNX_INPUT, DType.FLOAT, ['N', numeric.length], `numeric columns in this order (NaN = missing): ${pre.numericColumns.join(', ')}`));
    nodes.push({
      name: 'impute', opType: 'Imputer', domain: ml, input: [ONNX_INPUT], output: ['numeric_imputed'],
      attribute: [
        floats('imputed_value_floats', numeric.map((c) => finiteFloat32(`imputed value of column '${c.name}'`, c.imputedValue))),
        { name: 'replaced_value_float', type: Attr.FLOAT, f: Number.NaN },
      ],
    });
    if (numeric.some((c) => c.std !== null)) {
      nodes.push({
        name: 'standardize', opType: 'Scaler', domain: ml, input: ['numeric_imputed'], output: ['numeric_scaled'],
        attribute: [
          floats('offset', numeric.map((c) => finiteFloat32(`mean of column '${c.name}'`, c.mean ?? 0))),
          floats('scale', numeric.map((c) => finiteFloat32(`1/std of column '${c.name}'`, c.std === null ? 1 : 1 / c.std))),
        ],
      });
      blocks.push('numeric_scaled');
    } else {
      blocks.push('numeric_imputed');
    }
  }
  if (pre.onehot.length > 0) {
    inputs.push(tensorInfo(ONNX_CATEGORIES_INPUT, DType.STRING, ['N', pre.onehot.length], `one-hot columns in this order ('' = missing): ${pre.categoricalColumns.join(', ')}`));
    pre.onehot.forEach((c, j) => {
      const k = c.categories.length;
      const column = `category_${j}`, index = `category_${j}_index`, onehot = `category_${j}_onehot`, at = `category_${j}_position`;
      initializers.push({ name: at, dataType: DType.INT64, dims: [], int64Data: [j] });
      nodes.push(
        { name: `select_${j}`, opType: 'Gather', input: [ONNX_CATEGORIES_INPUT, at], output: [column], attribute: [int('axis', 1)], docString: `column '${c.name}'` },
        {
          // '' (missing) is listed with the unknown index so that the key list is never empty.
          name: `encode_${j}`, opType: 'LabelEncoder', domain: ml, input: [column], output: [index],
          attribute: [strings('keys_strings', [...c.categories, '']), ints('values_int64s', [...c.categories.map((_, i) => i), k]), int('default_int64', k)],
        },
        {
          name: `onehot_${j}`, opType: 'OneHotEncoder', domain: ml, input: [index], output: [onehot],
          attribute: [ints('cats_int64s', Array.from({ length: k + 1 }, (_, i) => i)), int('zeros', 1)],
        },
      );
      blocks.push(onehot);
    });
  }
  if (pre.hashed.length > 0) {
    inputs.push(tensorInfo(ONNX_HASHED_INPUT, DType.FLOAT, ['N', pre.hashedWidth], `Preprocessor.hashRow of each row (hashed columns: ${pre.hashedColumns.join(', ')})`));
    blocks.push(ONNX_HASHED_INPUT);
  }
  nodes.push({ name: 'concat', opType: 'Concat', input: blocks, output: [PREPROCESSED], attribute: [int('axis', 1)] });
  return { inputs, nodes, initializers };
}

function modelNodes(model: PreprocessedModel, pre: Preprocessor, modelName: string): { nodes: P.INodeProto[]; outputs: P.IValueInfoProto[]; modelType: string } {
  const d = pre.width;
  if (model instanceof LogisticRegression) {
    const coef = model.coefficients;
    if (coef.length !== d) throw new RangeError(`exportPreprocessedOnnx: the model has ${coef.length} coefficients but the preprocessor outputs ${d} columns`);
    coef.forEach((w, j) => finiteFloat32(`coefficient of '${pre.outputNames[j]}'`, w));
    finiteFloat32('the intercept', model.intercept);
    return {
      modelType: 'logistic_regression',
      nodes: [{
        name: 'classify', opType: 'LinearClassifier', domain: ml, input: [PREPROCESSED], output: [ONNX_LABEL_OUTPUT, ONNX_PROBABILITIES_OUTPUT],
        attribute: [
          floats('coefficients', coef),
          floats('intercepts', [model.intercept]),
          ints('classlabels_ints', [0, 1]),
          str('post_transform', 'LOGISTIC'),
          int('multi_class', 0),
        ],
      }],
      outputs: [
        tensorInfo(ONNX_LABEL_OUTPUT, DType.INT64, ['N'], 'predicted class (1 when p > 0.5)'),
        tensorInfo(ONNX_PROBABILITIES_OUTPUT, DType.FLOAT, ['N', 2], '[P(class 0), P(class 1)] per row'),
      ],
    };
  }
  if (model instanceof GradientBoostedTrees) {
    if (model.width !== d) throw new RangeError(`exportPreprocessedOnnx: the model has ${model.width} features but the preprocessor outputs ${d} columns`);
    // The tree ensemble is the one exportGbdtOnnx writes, rewired to read the preprocessed tensor.
    const graph = onnx.ModelProto.decode(exportGbdtOnnx(model, { modelName, featureNames: [...pre.outputNames] })).graph!;
    const nodes = (graph.node ?? []).map((n) => ({ ...n, input: (n.input ?? []).map((name) => (name === ONNX_INPUT ? PREPROCESSED : name)) }));
    return { modelType: model.task === 'classification' ? 'gbdt_classifier' : 'gbdt_regressor', nodes, outputs: graph.output ?? [] };
  }
  throw new TypeError('exportPreprocessedOnnx: model must be a fitted LogisticRegression or GradientBoostedTrees');
}

/** One ONNX graph: the preprocessor's transform followed by the model (see the file comment for the contract). */
export function exportPreprocessedOnnx(pre: Preprocessor, model: PreprocessedModel, opts: ExportPreprocessedOnnxOptions): Uint8Array {
  if (!opts || typeof opts.modelName !== 'string' || opts.modelName.length === 0) throw new TypeError('exportPreprocessedOnnx: modelName is required');
  if (!(pre instanceof Preprocessor)) throw new TypeError('exportPreprocessedOnnx: expected a fitted Preprocessor');
  const prep = preprocessingGraph(pre);
  const head = modelNodes(model, pre, opts.modelName);
  const graph: P.IGraphProto = {
    name: `${opts.modelName}_graph`,
    docString: `preprocessing (${pre.numeric.length} numeric, ${pre.onehot.length} one-hot, ${pre.hashed.length} hashed columns) → ${head.modelType}`,
    input: prep.inputs,
    output: head.outputs,
    initializer: prep.initializers,
    node: [...prep.nodes, ...head.nodes],
  };
  const metadata: Record<string, string> = {
    ...opts.metadata,
    model_name: opts.modelName,
    model_type: head.modelType,
    feature_names: JSON.stringify(pre.outputNames),
    numeric_columns: JSON.stringify(pre.numericColumns),
    categorical_columns: JSON.stringify(pre.categoricalColumns),
    hashed_columns: JSON.stringify(pre.hashedColumns),
    preprocessor: JSON.stringify(pre.toJSON()),
    ...(model instanceof GradientBoostedTrees ? { [TREE_NODE_COUNTS_METADATA]: treeNodeCounts(model) } : {}),
  };
  return encodeModel(graph, metadata, { modelVersion: opts.modelVersion, docString: opts.docString ?? `${opts.modelName}: ${head.modelType} over ${pre.width} preprocessed columns` });
}

export interface OnnxFeedTensor {
  type: 'float32' | 'string';
  data: Float32Array | string[];
  dims: [number, number];
}

/**
 * The graph's inputs for raw rows, keyed by input name: `new ort.Tensor(t.type, t.data, t.dims)` for each entry.
 * Numeric values are rounded to float32 (NaN for missing), categories passed as strings ('' for missing), hashed
 * columns hashed here.
 */
export function preprocessorOnnxFeed(pre: Preprocessor, rows: readonly RawRow[]): Record<string, OnnxFeedTensor> {
  const what = 'preprocessorOnnxFeed';
  if (!Array.isArray(rows)) throw new TypeError(`${what}: expected an array of rows`);
  const n = rows.length;
  const feed: Record<string, OnnxFeedTensor> = {};
  const dn = pre.numeric.length, dc = pre.onehot.length, dh = pre.hashedWidth;
  const features = new Float32Array(n * dn);
  const categories: string[] = new Array(n * dc);
  const hashed = new Float32Array(n * dh);
  const scratch = new Float64Array(dh);
  rows.forEach((row, i) => {
    checkRow(row, i, what);
    pre.numeric.forEach((c, j) => (features[i * dn + j] = numericValue(row, c.name, i, what)));
    pre.onehot.forEach((c, j) => (categories[i * dc + j] = categoryValue(row, c.name, i, what) ?? ''));
    if (dh > 0) hashed.set(pre.hashRow(row, scratch, i), i * dh);
  });
  if (dn > 0) feed[ONNX_INPUT] = { type: 'float32', data: features, dims: [n, dn] };
  if (dc > 0) feed[ONNX_CATEGORIES_INPUT] = { type: 'string', data: categories, dims: [n, dc] };
  if (dh > 0) feed[ONNX_HASHED_INPUT] = { type: 'float32', data: hashed, dims: [n, dh] };
  return feed;
}
