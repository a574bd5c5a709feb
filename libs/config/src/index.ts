export { parseDuration } from './duration';
export {
  loadPipelineSpec, parsePipelineSpec, topicsFor, SpecError,
  type PipelineSpec, type PipelineTopics, type TransformSpec, type AggregateSpec, type TopicRole,
} from './spec';
export { loadSettings, SettingsError, type Settings } from './settings';
