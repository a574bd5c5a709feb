export { Runtime } from './runtime';
export {
  KAFKA, LOGGER, SETTINGS, PLATFORM_TYPES, PipelineRegistry, SharedProducer, ClickHouseConnection, UnknownPipelineError, type PipelineContext,
} from './providers';
export { topicPlan, ensurePipelineTopics, DATA_TOPIC_MAX_MESSAGE_BYTES, DLQ_TOPIC_MAX_MESSAGE_BYTES, MODELS_TOPIC_MAX_MESSAGE_BYTES } from './topics';
// Stage topics are named in libs/config; re-exported where the platform's users have found them.
export { featureStageTopics } from '@streamloop/config';
export { isOutage } from '@streamloop/stream';
export { streamPlatformOf, type StreamPlatformParts } from './stream-platform';
export { loadPlatformTypes, platformSchemaText, type PlatformTypes } from './platform-types';
// The record types are generated from schemas/*.avsc (@streamloop/contracts); re-exported where services have always found them.
export type { FeatureVectorRecord, PredictionRecord, LabelRecord, AlertRecord } from '@streamloop/contracts';
export { PlatformModule, platformProviders } from './platform.module';
export { serveModules, runStandalone, assertAuthConfigured, startStreamHandlers, externalModelBodies, type ServingApp, type ServiceModule, type StandaloneOptions } from './http';
export { serveClickHouseHttp, clickHouseHttpUsers, type ServedClickHouseHttp } from './clickhouse-http';
export { lockChdbDir, embeddedChdbDirOf, processIsAlive, TargetConflictError, CHDB_LOCK_FILE, type ChdbLock } from './chdb-lock';
export { HttpErrorFilter, JsonBodyGuard, hasRequestBody, isJsonMediaType, useJsonHttp, INTERNAL_ERROR_MESSAGE } from './http-errors';
export {
  PredictRouter, OwnerUnavailableError, advertisedUrlOf, freeTcpPort, FORWARDED_BY_HEADER, ANSWERED_BY_HEADER, PREDICT_FORWARD_TIMEOUT_MS, FEATURES_STAGE,
  type PredictRouting, type OwnerLookup, type OwnerUnavailableReason,
} from './predict-routing';
export { collectStatus, stageLags, lagOf, latestDriftVerdict, type PlatformStatus, type PipelineStatus, type StageLag, type ModelRef, type DriftVerdict, type StatusSources } from './status';
