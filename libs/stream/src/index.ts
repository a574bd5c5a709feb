export { StreamServer, streamGroupId, type StreamPlatform } from './transport';
export { StreamHandler, StreamMetricsInterceptor, PassThroughRpcFilter } from './stream-handler.decorator';
export { StreamContext, type StreamBatch, type StreamRecord, type EmitOptions, type BatchOutcome } from './context';
export { BatchProcessor, RebuildStateError, messageBytes, type Fusion, type StreamIO, type InvokeHandler } from './batch-processor';
export { NotReadyError, RecordTooLargeError, classifyFailure, isOutage, toPlatformError, type FailureKind } from './errors';
export {
  handlerPattern, STREAM_EXTRAS_KEY, FUSED_HEADER,
  type TopicRole, type StreamMode, type StreamPipeline, type PartitionState, type PartitionStateFactory, type StreamHandlerOptions, type StreamFetchOptions,
} from './options';
