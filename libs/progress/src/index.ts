export { ProgressReporter, progressLine, type ProgressStream, type ProgressTask, type ProgressReporterOptions, type ProgressSink } from './progress';
