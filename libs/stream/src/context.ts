import type { ConsumedRecord } from '@streamloop/kafka';
import type { StreamloopMetrics } from '@streamloop/observability';
import type { PartitionState, StreamPipeline, TopicRole } from './options';

/** One consumed record, decoded with its topic's Avro type; `error` instead of `value` when it could not be. */
export interface StreamRecord<T = unknown> {
  source: ConsumedRecord;
  value?: T;
  /** Registry id of the writer schema. */
  schemaId?: number;
  /** Why the record could not be decoded (never an outage: those retry the batch before the handler runs). */
  error?: Error;
}

export interface StreamBatch<T = unknown> {
  records: Array<StreamRecord<T>>;
}

export interface EmitOptions {
  /** For the `repartition` role: the field the next stage is keyed by. */
  field?: string;
  headers?: Record<string, string | Buffer>;
}

/** What one batch has produced so far; the transport encodes and writes it. */
export interface PendingOutput {
  role: TopicRole;
  field?: string;
  key: string | Buffer | null;
  value: unknown;
  headers?: Record<string, string | Buffer>;
  /** The consumed record it came from: if the output cannot be written, that record is dead-lettered. */
  from: StreamRecord;
}

export interface PendingDeadLetter {
  record: StreamRecord;
  error: unknown;
  /** The DLQ envelope's stage when it is not the handler's (`deadLetterStage`). */
  stage?: string;
}

/** What the transport has made visible for one batch (after the transaction commits, or after the commit of offsets). */
export interface BatchOutcome {
  records: number;
  /** Output records per topic. */
  outputs: Map<string, number>;
  deadLetters: number;
  /** Records left in the partition after this batch, when it was fetched. */
  lag: number;
}

/**
 * The second argument of every stream handler: which pipeline, topic, partition and stage the batch is from,
 * the partition's state, and the ways to answer (emit to a role, dead-letter a record).
 */
export class StreamContext<S extends PartitionState | undefined = PartitionState | undefined> {
  readonly outputs: PendingOutput[] = [];
  readonly deadLetters: PendingDeadLetter[] = [];
  private readonly committedListeners: Array<(outcome: BatchOutcome) => void> = [];
  private metricsClaimed = false;
  /** Set by limitCommit: the offset to commit instead of the whole batch (at-least-once). */
  commitOffset: bigint | undefined;

  constructor(
    readonly pipeline: StreamPipeline,
    readonly topic: string,
    readonly partition: number,
    readonly stage: string,
    readonly state: S,
    /** The process's metrics, for the metrics interceptor. */
    readonly metrics?: StreamloopMetrics,
    /** The first batch of this partition since this instance was (re)assigned it (at-least-once and broadcast). */
    readonly fresh = false,
  ) {}

  /**
   * At-least-once: commit only below `offset` (the next offset to read) for this batch, because the handler holds
   * later records back (a sink waiting to replay an earlier attempt whole). The consumer reads on regardless.
   */
  limitCommit(offset: bigint | undefined): void {
    if (offset !== undefined) this.commitOffset = this.commitOffset === undefined || offset < this.commitOffset ? offset : this.commitOffset;
  }

  /** True the first time only: a batch narrowed down record by record calls the handler once per record. */
  claimMetrics(): boolean {
    const first = !this.metricsClaimed;
    this.metricsClaimed = true;
    return first;
  }

  /** Queues a record for the topic of `role` in this pipeline, encoded with that role's Avro type. */
  emit(role: TopicRole, key: string | Buffer | null, value: unknown, from: StreamRecord, options: EmitOptions = {}): void {
    this.outputs.push({ role, key, value, from, field: options.field, headers: options.headers });
  }

  /**
   * Sends a consumed record to the pipeline's DLQ with the reason; its other outputs of this batch are dropped.
   * `stage` names where it failed when that is not the handler's dead-letter stage (e.g. scoring, not decoding).
   */
  deadLetter(record: StreamRecord, error: unknown, stage?: string): void {
    this.deadLetters.push(stage === undefined ? { record, error } : { record, error, stage });
  }

  /** Runs once the batch is committed (metrics count what became visible, not what was attempted). */
  onCommitted(listener: (outcome: BatchOutcome) => void): void {
    this.committedListeners.push(listener);
  }

  /** Called by the transport. */
  committed(outcome: BatchOutcome): void {
    for (const listener of this.committedListeners) listener(outcome);
  }
}
