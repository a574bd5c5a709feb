export {
  GradientBoostedTrees,
  type GbdtFitHistory,
  type GbdtJSON,
  type GbdtOptions,
  type GbdtTask,
  type GbdtTree,
} from './model';
export { gbdtThreads } from './workspace';
export { exportGbdtOnnx, ONNX_REGRESSION_OUTPUT, type ExportGbdtOnnxOptions } from './onnx';
