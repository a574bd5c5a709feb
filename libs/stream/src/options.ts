import type { Type as NestType } from '@nestjs/common';
import type { Type } from 'avsc';
import type { PipelineSpec, PipelineTopics } from '@streamloop/config';

/**
 * The topics of a pipeline by what they hold. A handler names a role; the transport subscribes it to that role's
 * topic in every pipeline the process runs (`repartition` means every repartition topic of the pipeline).
 */
export type TopicRole = 'raw' | 'events' | 'repartition' | 'features' | 'predictions' | 'shadow' | 'labels' | 'dlq' | 'alerts' | 'models';

/**
 * exactly-once: consume → produce in one Kafka transaction per batch with the offsets (and state changelog).
 * at-least-once: the handler's side effects, then the offsets (sinks that are idempotent themselves).
 * broadcast: every instance reads the whole topic from the start, in a group of its own (the model registry).
 */
export type StreamMode = 'exactly-once' | 'at-least-once' | 'broadcast';

/** A pipeline as the transport sees it. */
export interface StreamPipeline {
  spec: PipelineSpec;
  topics: PipelineTopics;
  /** The pipeline's event schema as the platform reads it (reader schema for every writer version). */
  eventType: Type;
  /** The schema its labels topic is read with: the producer's own (labels.schema) or the platform's label.avsc. */
  labelType: Type;
}

/**
 * One partition's state of a stateful handler: restored from its compacted changelog before the partition's first
 * batch, and its changes written to the changelog in the same transaction as the batch's outputs and offsets.
 */
export interface PartitionState {
  /** Applies one changelog record while restoring (null value: a tombstone). */
  restore(key: string, value: Buffer | null): void;
  /** Changelog records for what changed since the last call; called once per batch after the handler. */
  changes(): Array<{ key: string; value: Buffer | null }>;
  /** Called when the partition's state is thrown away (revoked, failed transaction, shutdown). */
  close?(): void;
}

export interface PartitionStateFactory<S extends PartitionState = PartitionState> {
  /** The changelog topic of this state, for one input topic of a pipeline (partition p holds input partition p). */
  changelog(pipeline: StreamPipeline, topic: string): string;
  create(pipeline: StreamPipeline, topic: string, partition: number): S;
}

export interface StreamHandlerOptions {
  role: TopicRole;
  mode: StreamMode;
  /** The stage: names the consumer group (`streamloop-<stage>-<topic>`), transactional ids, logs and metrics. */
  stage: string;
  /** The DLQ envelope's stage for records this handler refuses (default `<stage>.handle`). */
  deadLetterStage?: string;
  /**
   * A stateless exactly-once handler that may also run inside the transaction of another exactly-once stage of this
   * process that writes its input role, as Kafka Streams fuses a sub-topology: the input topic is still written, with
   * the header FUSED_HEADER naming this stage, and this handler's own consumer passes over such records. Records it
   * could not handle there (not ready, refused) are written without the header and reach it through the topic.
   */
  fusable?: boolean;
  /** Per-partition state (exactly-once only): a factory, or a provider class resolved from the application. */
  state?: PartitionStateFactory | NestType<PartitionStateFactory>;
  /**
   * How this handler's consumer fetches in a pipeline (undefined: the transport's defaults, where a fetch returns as
   * soon as any record is there). Does not apply where the handler runs fused into another stage (its batch is that
   * stage's).
   */
  fetch?: (pipeline: StreamPipeline) => StreamFetchOptions | undefined;
}

/** A consumer's fetch: how long it waits for records to gather. */
export interface StreamFetchOptions {
  /** The longest a fetch waits (Kafka's fetch.max.wait.ms). */
  maxWaitMs: number;
  /**
   * Bytes that end the wait sooner (fetch.min.bytes); default one partition's fetch maximum (1 MiB), so that the wait,
   * not the first record, ends a fetch unless records arrive faster than that.
   */
  minBytes?: number;
}

/** Header on a record that the named stage has already handled inside the transaction that wrote it. */
export const FUSED_HEADER = 'streamloop.fused';

/** Where the decorator keeps the options, inside @EventPattern's extras. */
export const STREAM_EXTRAS_KEY = 'streamloop';

export function handlerPattern(options: Pick<StreamHandlerOptions, 'stage' | 'role'>): string {
  return `streamloop:${options.stage}:${options.role}`;
}
