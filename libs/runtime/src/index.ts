export {
  Runtime, UnknownPipelineError, featureStageTopics, DATA_TOPIC_MAX_MESSAGE_BYTES, DLQ_TOPIC_MAX_MESSAGE_BYTES, MODELS_TOPIC_MAX_MESSAGE_BYTES,
  type ComputedFeaturesView, type PipelineContext,
} from './runtime';
export { isOutage } from '@streamloop/stream';
export { streamPlatformOf } from './stream-platform';
export { loadPlatformTypes, platformSchemaText, type PlatformTypes } from './platform-types';
// The record types are generated from schemas/*.avsc (@streamloop/contracts); re-exported where services have always found them.
export type { FeatureVectorRecord, PredictionRecord, LabelRecord, AlertRecord } from '@streamloop/contracts';
export { RUNTIME } from './tokens';
export { PlatformModule } from './platform.module';
export { serveModules, runStandalone, startStreamHandlers, type ServingApp } from './http';
export { HttpErrorFilter, JsonBodyGuard, hasRequestBody, isJsonMediaType, useJsonHttp, INTERNAL_ERROR_MESSAGE } from './http-errors';
