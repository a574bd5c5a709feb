// Admitting untrusted (external) ONNX models: static checks of the file, then one probe in a limited child process.
export { UnsafeModelError, ModelTooLargeError } from './errors';
export { checkOnnxSafety, type OnnxSafetyLimits, type OnnxSafetyReport, type DeclaredTensor } from './onnx-safety';
export { probeOnnxModel, type ProbeOptions, type ProbeReport, type ProbedTensor } from './probe';
export { admitOnnxModel, describeTensors, type AdmitOptions, type AdmittedModel } from './admit';
export { AI_ONNX_OPERATORS, AI_ONNX_ML_OPERATORS, RISKY_OPERATORS, ALLOWED_DOMAINS } from './operators';
