import { hostname } from 'node:os';
import type { Type as NestType } from '@nestjs/common';
import { Server, type CustomTransportStrategy, type MessageHandler } from '@nestjs/microservices';
import { lastValueFrom } from 'rxjs';
import type { Type } from 'avsc';
import {
  chunkMessages, fetchMaxMessageBytes, KAFKA_DEFAULTS, runBatchConsumer, runTransactionalProcessor,
  type BatchInfo, type ConsumedRecord, type Kafka, type Producer, type TopicMessages,
} from '@streamloop/kafka';
import { STREAM_DEFAULTS } from '@streamloop/config';
import type { HealthRegistry, Logger } from '@streamloop/observability';
import { ProgressReporter, type ProgressTask } from '@streamloop/progress';
import { BatchProcessor, outcomeOf, type Fusion, type StreamIO } from './batch-processor';
import type { StreamBatch, StreamContext } from './context';
import { classifyFailure } from './errors';
import { STREAM_EXTRAS_KEY, type PartitionStateFactory, type StreamHandlerOptions, type StreamPipeline, type TopicRole } from './options';

/** What the transport needs from the process: clients, the pipelines and how their roles map to topics and types. */
export interface StreamPlatform extends Omit<StreamIO, 'maxMessageBytes'> {
  kafka: Kafka;
  logger: Logger;
  health: HealthRegistry;
  pipelines(): StreamPipeline[];
  /** The input topics of a role in a pipeline, each with the Avro type its values are read as. */
  inputs(pipeline: StreamPipeline, role: TopicRole): Array<{ topic: string; type: Type }>;
  /** Every topic the pipeline writes (for their max.message.bytes). */
  outputTopics(pipeline: StreamPipeline): string[];
  /** The shared idempotent producer (at-least-once outputs and dead letters). */
  producer(): Promise<Producer>;
  /** Replays one partition of a changelog (committed records only) into `apply`. */
  restore(topic: string, partition: number, apply: (key: string, value: Buffer | null) => void): Promise<number>;
  sessionTimeoutMs: number;
  /** Run `fusable` handlers inside the transaction of the stage that writes their input (default STREAM_DEFAULTS.fuseStages). */
  fuseStages?: boolean;
  /**
   * The HTTP address this process answers on, advertised in the group metadata of every stateful handler's consumer
   * group (as Kafka Streams' application.server), so any instance can tell who owns a partition's state.
   */
  advertisedUrl?: () => string | undefined;
  /** After a consumer of a stateful handler joined its group (a rebalance): owner lookups cached before are stale. */
  onStateGroupJoin?(): void;
}

/** The consumer group of an exactly-once or at-least-once handler of `stage` on `topic` (its state's owners are its members). */
/** A partition's state restore that takes longer than this reports its progress at info level. */
const RESTORE_PROGRESS_AFTER_MS = 2000;

export function streamGroupId(stage: string, topic: string): string {
  return `streamloop-${stage}-${topic}`;
}

interface Running {
  stop(): Promise<void>;
}

/**
 * The platform's Nest transport (a CustomTransportStrategy): every `@StreamHandler` of the application's controllers
 * runs as a Kafka consumer of its role's topic in each pipeline, in its mode — exactly-once (a transaction per batch
 * with outputs, dead letters, state changelog and offsets), at-least-once (side effects, then offsets) or broadcast
 * (every instance reads the whole topic). Handlers get a decoded batch and a StreamContext; Nest's interceptors and
 * filters apply as to any handler.
 */
export class StreamServer extends Server implements CustomTransportStrategy {
  override readonly propagatesEventHandlerErrors = true;
  private readonly running: Running[] = [];
  private readonly maxBytes = new Map<string, number>();

  constructor(private readonly platform: StreamPlatform, private readonly resolve: <T>(token: NestType<T>) => T) {
    super();
  }

  on(): void {
    throw new Error('the stream transport has no events to listen to');
  }

  unwrap<T>(): T {
    return this.platform.kafka as T;
  }

  async listen(callback: (error?: unknown) => void): Promise<void> {
    try {
      await this.start();
      callback();
    } catch (error) {
      callback(error);
    }
  }

  async close(): Promise<void> {
    for (const r of this.running.splice(0).reverse()) await r.stop().catch(() => undefined);
  }

  private async start(): Promise<void> {
    const pipelines = this.platform.pipelines();
    const topics = [...new Set(pipelines.flatMap((p) => this.platform.outputTopics(p)))];
    for (const [topic, limit] of await fetchMaxMessageBytes(this.platform.kafka, topics)) this.maxBytes.set(topic, limit);
    const handlers: Array<{ handler: MessageHandler; options: StreamHandlerOptions }> = [];
    for (const [, handler] of this.getHandlers()) {
      const options = (handler.extras as Record<string, unknown> | undefined)?.[STREAM_EXTRAS_KEY] as StreamHandlerOptions | undefined;
      if (options) handlers.push({ handler, options });
    }
    const fusions: Fusion[] = !(this.platform.fuseStages ?? STREAM_DEFAULTS.fuseStages) ? [] : handlers
      .filter(({ options }) => options.fusable && options.mode === 'exactly-once' && !options.state)
      .map(({ handler, options }) => ({ role: options.role, options, invoke: this.invoker(handler) }));
    for (const { handler, options } of handlers) {
      const fused = options.mode === 'exactly-once' ? fusions.filter((f) => f.options !== options) : [];
      for (const pipeline of pipelines) {
        for (const input of this.platform.inputs(pipeline, options.role)) {
          this.running.push(await this.startHandler(handler, options, pipeline, input.topic, input.type, fused));
        }
      }
    }
  }

  private io(): StreamIO {
    return { ...this.platform, maxMessageBytes: (topic) => this.maxBytes.get(topic) ?? KAFKA_DEFAULTS.maxMessageBytes };
  }

  private invoker(handler: MessageHandler): (batch: StreamBatch, context: StreamContext) => Promise<void> {
    return async (batch, context) => {
      await lastValueFrom(this.transformToObservable(await handler(batch, context)), { defaultValue: undefined });
    };
  }

  private async startHandler(
    handler: MessageHandler, options: StreamHandlerOptions, pipeline: StreamPipeline, topic: string, type: Type, fusions: Fusion[],
  ): Promise<Running> {
    const { stage, mode } = options;
    const name = pipeline.spec.pipeline;
    const log = this.platform.logger.child({ stage, pipeline: name, topic });
    const component = `${stage}:${name}:${topic}`;
    const health = this.platform.health;
    const factory = options.state ? this.resolveFactory(options.state) : undefined;
    const changelog = factory?.changelog(pipeline, topic);
    const processor = new BatchProcessor(this.io(), pipeline, options, type, this.invoker(handler), changelog, fusions);
    const failed = (error: unknown, attempt: number, partition: number) => {
      const kind = classifyFailure(error);
      if (kind === 'not-ready') return;
      if (kind === 'record') {
        log.debug({ err: error, partition }, 'narrowing a failed batch down to its record');
        return;
      }
      // Only an outage is worth a warning, and after a few attempts it is what health reports.
      if (attempt >= 5) health.set(component, false, String(error));
      log[attempt >= 3 ? 'warn' : 'debug']({ err: error, attempt, partition }, 'batch failed; retrying');
    };
    const lagOf = (b: BatchInfo) => Math.max(0, Number(BigInt(b.highWatermark) - BigInt(b.lastOffset) - 1n));
    // The handler's own fetch in this pipeline, if it has one: a wait for records to gather, ended sooner by minBytes.
    const wait = options.fetch?.(pipeline);
    const fetch = wait ? { maxWaitTimeInMs: wait.maxWaitMs, minBytes: wait.minBytes ?? KAFKA_DEFAULTS.maxBytesPerPartition } : {};
    if (wait) log.info({ maxWaitMs: wait.maxWaitMs, minBytes: wait.minBytes ?? KAFKA_DEFAULTS.maxBytesPerPartition }, 'fetches wait for records to gather');
    let running: Running;
    if (factory && mode !== 'exactly-once') throw new Error(`stream handler ${stage} on ${options.role}: partition state needs mode exactly-once`);
    if (mode === 'exactly-once') {
      const groupId = streamGroupId(stage, topic);
      const contexts = new Map<number, StreamContext>();
      running = await runTransactionalProcessor({
        kafka: this.platform.kafka,
        groupId,
        topic,
        transactionalIdPrefix: groupId,
        sessionTimeoutMs: this.platform.sessionTimeoutMs,
        partitionsConsumedConcurrently: pipeline.spec.events.partitions,
        ...fetch,
        ...(factory && this.platform.advertisedUrl ? { advertisedUrl: this.platform.advertisedUrl } : {}),
        ...(factory && this.platform.onStateGroupJoin ? { onGroupJoin: () => this.platform.onStateGroupJoin?.() } : {}),
        createTask: async (partition, keepAlive) => {
          const state = factory?.create(pipeline, topic, partition);
          if (state && changelog) {
            const started = Date.now();
            // A long restore shows its progress (info lines, at most one per 5 s); a quick one is one debug line.
            const progress = new ProgressReporter({ sink: (line, f) => log.info({ partition, changelog, restored: f.done, finished: f.finished }, line) });
            let task: ProgressTask | undefined;
            let applied = 0;
            const restored = await this.platform.restore(changelog, partition, (key, value) => {
              state.restore(key, value);
              keepAlive();
              applied++;
              if (!task && Date.now() - started >= RESTORE_PROGRESS_AFTER_MS) task = progress.task(`restoring ${stage} state of ${topic} partition ${partition} from ${changelog}`);
              task?.update(applied, 'changelog records');
            });
            if (task) task.finish('changelog records: done');
            else log.debug({ partition, restored, ms: Date.now() - started }, 'partition state restored');
          }
          return {
            process: async (records: ConsumedRecord[]): Promise<TopicMessages[]> => {
              const { context, messages } = await processor.process(topic, records, state);
              contexts.set(partition, context);
              return messages;
            },
            close: () => state?.close?.(),
          };
        },
        onCommitted: (batch, records, outputs) => {
          processor.committed(batch.partition);
          health.set(component, true);
          const context = contexts.get(batch.partition);
          contexts.delete(batch.partition);
          context?.committed(outcomeOf(outputs, records, pipeline.topics.dlq, lagOf(batch), changelog));
        },
        onBatchError: (error, attempt, partition) => failed(error, attempt, partition),
      });
    } else {
      const broadcast = mode === 'broadcast';
      running = await runBatchConsumer({
        kafka: this.platform.kafka,
        // Broadcast: a group of this instance's own, so every instance sees every record.
        groupId: broadcast ? `${streamGroupId(stage, topic)}-${hostname()}-${process.pid}-${Date.now()}` : streamGroupId(stage, topic),
        topics: [topic],
        fromBeginning: true,
        sessionTimeoutMs: this.platform.sessionTimeoutMs,
        partitionsConsumedConcurrently: broadcast ? 1 : pipeline.spec.events.partitions,
        ...fetch,
        handle: async (records, batch) => {
          const { context, messages } = await processor.process(topic, records, undefined, batch.fresh === true);
          if (broadcast) {
            // Nobody owns a broadcast topic's dead letters (the registry is shared by pipelines): log them.
            for (const d of context.deadLetters) log.error({ err: d.error, offset: d.record.source.offset }, 'record refused');
          } else if (messages.length > 0) {
            const producer = await this.platform.producer();
            await Promise.all(messages.flatMap((m) => chunkMessages(m.messages).map((chunk) => producer.send({ topic: m.topic, messages: chunk, acks: -1 }))));
          }
          processor.committed(batch.partition);
          health.set(component, true);
          context.committed(outcomeOf(broadcast ? [] : messages, records.length, pipeline.topics.dlq, lagOf(batch)));
          return context.commitOffset;
        },
        onBatchError: (error, attempt, _topic, partition) => failed(error, attempt, partition),
      });
    }
    health.set(component, true);
    return {
      stop: async () => {
        await running.stop();
        health.remove(component);
      },
    };
  }

  private resolveFactory(token: PartitionStateFactory | NestType<PartitionStateFactory>): PartitionStateFactory {
    return typeof token === 'function' ? this.resolve(token) : token;
  }
}

