// The operators an external model may use: ONNX's standard operator sets, ai.onnx (opset ≤ 23) and ai.onnx.ml (the
// classical-ML operators skl2onnx, onnxmltools and hummingbird emit). Anything else is refused before onnxruntime
// sees it: custom domains run code that is not ONNX's (com.microsoft's contrib kernels have had out-of-bounds CVEs,
// and a custom domain may name a kernel library the runtime would look up).

/** The ai.onnx operators (the default domain, '' or 'ai.onnx'). */
export const AI_ONNX_OPERATORS: ReadonlySet<string> = new Set([
  'Abs', 'Acos', 'Acosh', 'Add', 'AffineGrid', 'And', 'ArgMax', 'ArgMin', 'Asin', 'Asinh', 'Atan', 'Atanh',
  'Attention', 'AveragePool', 'BatchNormalization', 'Bernoulli', 'BitShift', 'BitwiseAnd', 'BitwiseNot', 'BitwiseOr',
  'BitwiseXor', 'BlackmanWindow', 'Cast', 'CastLike', 'Ceil', 'Celu', 'CenterCropPad', 'Clip', 'Col2Im', 'Compress',
  'Concat', 'ConcatFromSequence', 'Constant', 'ConstantOfShape', 'Conv', 'ConvInteger', 'ConvTranspose', 'Cos',
  'Cosh', 'CumSum', 'DFT', 'DeformConv', 'DepthToSpace', 'DequantizeLinear', 'Det', 'Div', 'Dropout',
  'DynamicQuantizeLinear', 'Einsum', 'Elu', 'Equal', 'Erf', 'Exp', 'Expand', 'EyeLike', 'Flatten', 'Floor', 'GRU',
  'Gather', 'GatherElements', 'GatherND', 'Gelu', 'Gemm', 'GlobalAveragePool', 'GlobalLpPool', 'GlobalMaxPool',
  'Greater', 'GreaterOrEqual', 'GridSample', 'GroupNormalization', 'HammingWindow', 'HannWindow', 'HardSigmoid',
  'HardSwish', 'Hardmax', 'Identity', 'If', 'InstanceNormalization', 'IsInf', 'IsNaN', 'LRN', 'LSTM',
  'LayerNormalization', 'LeakyRelu', 'Less', 'LessOrEqual', 'Log', 'LogSoftmax', 'Loop', 'LpNormalization', 'LpPool',
  'MatMul', 'MatMulInteger', 'Max', 'MaxPool', 'MaxRoiPool', 'MaxUnpool', 'Mean', 'MeanVarianceNormalization',
  'MelWeightMatrix', 'Min', 'Mish', 'Mod', 'Mul', 'Multinomial', 'Neg', 'NegativeLogLikelihoodLoss',
  'NonMaxSuppression', 'NonZero', 'Not', 'OneHot', 'Optional', 'OptionalGetElement', 'OptionalHasElement', 'Or',
  'PRelu', 'Pad', 'Pow', 'QLinearConv', 'QLinearMatMul', 'QuantizeLinear', 'RMSNormalization', 'RNN', 'RandomNormal',
  'RandomNormalLike', 'RandomUniform', 'RandomUniformLike', 'Range', 'Reciprocal', 'ReduceL1', 'ReduceL2',
  'ReduceLogSum', 'ReduceLogSumExp', 'ReduceMax', 'ReduceMean', 'ReduceMin', 'ReduceProd', 'ReduceSum',
  'ReduceSumSquare', 'RegexFullMatch', 'Relu', 'Reshape', 'Resize', 'ReverseSequence', 'RoiAlign', 'RotaryEmbedding',
  'Round', 'STFT', 'Scan', 'Scatter', 'ScatterElements', 'ScatterND', 'Selu', 'SequenceAt', 'SequenceConstruct',
  'SequenceEmpty', 'SequenceErase', 'SequenceInsert', 'SequenceLength', 'SequenceMap', 'Shape', 'Shrink', 'Sigmoid',
  'Sign', 'Sin', 'Sinh', 'Size', 'Slice', 'Softmax', 'SoftmaxCrossEntropyLoss', 'Softplus', 'Softsign',
  'SpaceToDepth', 'Split', 'SplitToSequence', 'Sqrt', 'Squeeze', 'StringConcat', 'StringNormalizer', 'StringSplit',
  'Sub', 'Sum', 'Swish', 'Tan', 'Tanh', 'TensorScatter', 'TfIdfVectorizer', 'ThresholdedRelu', 'Tile', 'TopK',
  'Transpose', 'Trilu', 'Unique', 'Unsqueeze', 'Upsample', 'Where', 'Xor',
]);

/** The ai.onnx.ml operators. */
export const AI_ONNX_ML_OPERATORS: ReadonlySet<string> = new Set([
  'ArrayFeatureExtractor', 'Binarizer', 'CastMap', 'CategoryMapper', 'DictVectorizer', 'FeatureVectorizer',
  'Imputer', 'LabelEncoder', 'LinearClassifier', 'LinearRegressor', 'Normalizer', 'OneHotEncoder', 'SVMClassifier',
  'SVMRegressor', 'Scaler', 'TreeEnsemble', 'TreeEnsembleClassifier', 'TreeEnsembleRegressor', 'ZipMap',
]);

/**
 * Standard operators refused all the same, with the reason: they parse untrusted bytes with a codec library at run
 * time, which a classifier of feature vectors never needs.
 */
export const RISKY_OPERATORS: ReadonlyMap<string, string> = new Map([
  ['ImageDecoder', 'decodes image bytes with a codec library at run time'],
]);

/** The operator-set domains an external model may import and use ('' is ai.onnx). */
export const ALLOWED_DOMAINS: ReadonlyMap<string, ReadonlySet<string>> = new Map([
  ['', AI_ONNX_OPERATORS],
  ['ai.onnx', AI_ONNX_OPERATORS],
  ['ai.onnx.ml', AI_ONNX_ML_OPERATORS],
]);
