import onnxProto from 'onnx-proto';
import type { onnx as P } from 'onnx-proto';
import { encodeModel, floats, tensorInfo } from './onnx-attributes';
import type { TabularPipeline } from './pipeline';

const { onnx } = onnxProto;
const Attr = onnx.AttributeProto.AttributeType;
const DType = onnx.TensorProto.DataType;

/** Names of the graph's input and outputs: the contract with the inference service. */
export const ONNX_INPUT = 'features';
export const ONNX_LABEL_OUTPUT = 'label';
export const ONNX_PROBABILITIES_OUTPUT = 'probabilities';
export { ONNX_IR_VERSION, ONNX_OPSETS } from './onnx-attributes';

export interface ExportOnnxOptions {
  modelName: string;
  /** Stored in ModelProto.model_version. */
  modelVersion?: number;
  docString?: string;
  /** Extra metadata_props (string → string); feature_names and model_name are always written. */
  metadata?: Record<string, string>;
}

const encoder = new TextEncoder();

/**
 * One ONNX graph computing what TabularPipeline.predictProba computes, in float32:
 *   features float[N, d] ─ Imputer (NaN → training mean) ─ Scaler ((x − mean) · 1/std)
 *     ─ LinearClassifier (one coefficient row, post_transform LOGISTIC) ─► label int64[N], probabilities float[N, 2]
 * With a single coefficient row and class labels [0, 1], onnxruntime outputs [1 − p, p] per row and
 * label 1 exactly when the logit is > 0 (checked by the parity test). Opsets ai.onnx 17 and ai.onnx.ml 3,
 * IR version 8. The bytes are deterministic: no timestamps, fixed field order.
 */
export function exportOnnx(pipeline: TabularPipeline, opts: ExportOnnxOptions): Uint8Array {
  if (!opts || typeof opts.modelName !== 'string' || opts.modelName.length === 0) throw new TypeError('exportOnnx: modelName is required');
  const d = pipeline.width;
  const { means, stds } = pipeline.standardizer;
  const coef = pipeline.model.coefficients;
  const intercept = pipeline.model.intercept;
  const check = (what: string, values: ArrayLike<number>) => {
    for (let j = 0; j < values.length; j++) {
      const f = Math.fround(values[j]);
      if (!Number.isFinite(f)) throw new RangeError(`exportOnnx: ${what} of feature '${pipeline.featureNames[j] ?? j}' is ${values[j]}, not representable as a finite float32`);
    }
  };
  const scale = Float64Array.from(stds, (s) => 1 / s);
  check('mean', means);
  check('1/std', scale);
  check('coefficient', coef);
  if (!Number.isFinite(Math.fround(intercept))) throw new RangeError(`exportOnnx: intercept ${intercept} is not representable as a finite float32`);

  const ml = 'ai.onnx.ml';
  const graph: P.IGraphProto = {
    name: `${opts.modelName}_graph`,
    docString: 'mean imputation → standardization → logistic regression',
    input: [tensorInfo(ONNX_INPUT, DType.FLOAT, ['N', d], `features in this order: ${pipeline.featureNames.join(', ')}`)],
    output: [
      tensorInfo(ONNX_LABEL_OUTPUT, DType.INT64, ['N'], 'predicted class (1 when p > 0.5)'),
      tensorInfo(ONNX_PROBABILITIES_OUTPUT, DType.FLOAT, ['N', 2], '[P(class 0), P(class 1)] per row'),
    ],
    node: [
      {
        name: 'impute', opType: 'Imputer', domain: ml, input: [ONNX_INPUT], output: ['imputed'],
        attribute: [floats('imputed_value_floats', means), { name: 'replaced_value_float', type: Attr.FLOAT, f: Number.NaN }],
      },
      {
        name: 'standardize', opType: 'Scaler', domain: ml, input: ['imputed'], output: ['standardized'],
        attribute: [floats('offset', means), floats('scale', scale)],
      },
      {
        name: 'classify', opType: 'LinearClassifier', domain: ml, input: ['standardized'], output: [ONNX_LABEL_OUTPUT, ONNX_PROBABILITIES_OUTPUT],
        attribute: [
          floats('coefficients', coef),
          floats('intercepts', [intercept]),
          { name: 'classlabels_ints', type: Attr.INTS, ints: [0, 1] },
          { name: 'post_transform', type: Attr.STRING, s: encoder.encode('LOGISTIC') },
          { name: 'multi_class', type: Attr.INT, i: 0 },
        ],
      },
    ],
  };
  const metadata: Record<string, string> = {
    ...opts.metadata,
    model_name: opts.modelName,
    feature_names: JSON.stringify(pipeline.featureNames),
  };
  return encodeModel(graph, metadata, { modelVersion: opts.modelVersion, docString: opts.docString ?? `${opts.modelName}: logistic regression over ${d} standardized features` });
}
