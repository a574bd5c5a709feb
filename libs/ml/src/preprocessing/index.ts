export {
  compareCodePoints,
  IMPUTE_STRATEGIES,
  Preprocessor,
  unknownBucketName,
  type ColumnSpec,
  type ColumnState,
  type HashedColumnSpec,
  type HashedColumnState,
  type ImputeStrategy,
  type NumericColumnSpec,
  type NumericColumnState,
  type OneHotColumnSpec,
  type OneHotColumnState,
  type PreprocessorJSON,
  type RawRow,
  type RawValue,
  type TransformOptions,
} from './preprocessor';
export { murmurhash3_32 } from './murmur3';
export {
  exportPreprocessedOnnx,
  ONNX_CATEGORIES_INPUT,
  ONNX_HASHED_INPUT,
  preprocessorOnnxFeed,
  type ExportPreprocessedOnnxOptions,
  type OnnxFeedTensor,
  type PreprocessedModel,
} from './onnx';
