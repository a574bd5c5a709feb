export { consoleAsset, CONSOLE_ASSETS, CONSOLE_CSP, type ConsoleAsset } from './assets';
export { pipelineLag, lagOf, stageOfGroup, type PipelineLag, type GroupLag, type PartitionLag, type TopicSummary } from './lag';
export { readTopicTail, headersOf, type TailRecord } from './tail';
export { deadLetterView, showBytes, SHOWN_BYTES, type DeadLetterView, type ShownBytes } from './dead-letters';
export { followTopic, sseEvent, parseSse, type LiveFeed, type LiveRecord } from './live';
export {
  driftSeries, performanceSeries, experimentRuns, modelHistory, type DriftPoint, type PerformancePoint, type ExperimentRun, type ModelEvent, type SeriesOptions,
} from './queries';
