export {
  GradientBoostedTrees,
  type GbdtFitHistory,
  type GbdtJSON,
  type GbdtOptions,
  type GbdtTask,
  type GbdtTree,
} from './model';
export { exportGbdtOnnx, ONNX_REGRESSION_OUTPUT, type ExportGbdtOnnxOptions } from './onnx';
