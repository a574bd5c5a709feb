import { hostname } from 'node:os';
import { readTopicToEnd, runBatchConsumer, runTransactionalProcessor, type ConsumedRecord, type PartitionTask } from '@streamloop/kafka';
import type { ModelRegistryRecord } from './records';
import { isOutage, type Runtime } from './runtime';

export interface PipelineConsumerOptions {
  service: string;
  pipeline: string;
  topic: string;
  /** Defaults to streamloop-<service>-<topic>: one group per service and input topic (a group's members must share subscriptions). */
  groupId?: string;
  handle: (records: ConsumedRecord[]) => Promise<void>;
}

/** What both kinds of pipeline consumer share: their log, their health component, failure reporting and shutdown. */
function consumerWiring(runtime: Runtime, service: string, pipeline: string, topic: string) {
  const log = runtime.logger.child({ service, pipeline, topic });
  const component = `${service}:${pipeline}:${topic}`;
  return {
    log,
    component,
    /** A batch that keeps failing is an outage (broker, registry, ClickHouse), not a bad record. */
    failed(error: unknown, attempt: number, partition: number, message: string): void {
      if (attempt >= 5) runtime.health.set(component, false, String(error));
      log[attempt >= 3 ? 'warn' : 'debug']({ err: error, attempt, partition }, message);
    },
    started(running: { stop(): Promise<void> }): void {
      runtime.health.set(component, true);
      runtime.onClose(async () => {
        await running.stop();
        runtime.health.remove(component);
      });
    },
  };
}

/** Starts a batch consumer with the platform's metrics, logging and shutdown wired in. */
export async function startPipelineConsumer(runtime: Runtime, options: PipelineConsumerOptions): Promise<void> {
  const { service, pipeline, topic } = options;
  const groupId = options.groupId ?? `streamloop-${service}-${topic}`;
  const wiring = consumerWiring(runtime, service, pipeline, topic);
  const running = await runBatchConsumer({
    kafka: runtime.kafka,
    groupId,
    topics: [topic],
    fromBeginning: true,
    handle: async (records) => {
      const end = runtime.metrics.batchDuration.startTimer({ service, pipeline });
      await options.handle(records);
      end();
      runtime.metrics.recordsIn.inc({ service, pipeline, topic }, records.length);
      runtime.health.set(wiring.component, true);
    },
    onBatchError: (error, attempt, _topic, partition) => {
      // Waiting for something that will come (a first model) is neither an outage nor worth a warning.
      if (error instanceof Error && error.name === 'NoModelYetError') return;
      wiring.failed(error, attempt, partition, 'batch failed; retrying');
    },
  });
  wiring.started(running);
}

export interface ExactlyOnceConsumerOptions {
  service: string;
  pipeline: string;
  topic: string;
  /** Restores a partition's state (see `restoreChangelogPartition`) and returns its task. */
  createTask: (partition: number) => Promise<PartitionTask>;
  sessionTimeoutMs?: number;
}

/**
 * Consume → transform → produce in Kafka transactions (libs/kafka runTransactionalProcessor), with the
 * platform's metrics, logging and shutdown wired in. Group `streamloop-<service>-<topic>`, transactional
 * ids `streamloop-<service>-<topic>-<partition>`.
 */
export async function startExactlyOnceConsumer(runtime: Runtime, options: ExactlyOnceConsumerOptions): Promise<void> {
  const { service, pipeline, topic } = options;
  const groupId = `streamloop-${service}-${topic}`;
  const wiring = consumerWiring(runtime, service, pipeline, topic);
  const running = await runTransactionalProcessor({
    kafka: runtime.kafka,
    groupId,
    topic,
    transactionalIdPrefix: groupId,
    sessionTimeoutMs: options.sessionTimeoutMs ?? runtime.settings.kafkaSessionTimeoutMs,
    createTask: async (partition) => {
      const started = Date.now();
      const task = await options.createTask(partition);
      wiring.log.debug({ partition, ms: Date.now() - started }, 'partition state restored');
      return task;
    },
    onCommitted: (_partition, records) => {
      runtime.metrics.recordsIn.inc({ service, pipeline, topic }, records);
      runtime.health.set(wiring.component, true);
    },
    onBatchError: (error, attempt, partition) => wiring.failed(error, attempt, partition, 'transaction failed; restoring the partition and retrying'),
  });
  wiring.started(running);
}

/** Replays one partition of a changelog topic (committed records only) into `apply`, in offset order. */
export async function restoreChangelogPartition(
  runtime: Runtime,
  topic: string,
  partition: number,
  apply: (key: string, value: Buffer | null) => void,
): Promise<number> {
  return readTopicToEnd(runtime.kafka, topic, (r) => {
    if (r.key) apply(r.key.toString('utf8'), r.value);
  }, { isolation: 'read_committed', partitions: [partition], timeoutMs: 300_000 });
}

/**
 * Follows every model registry topic of this process's pipelines from the beginning. Each follower has a
 * group of its own, because every instance must see every model version (the topic is compacted and small).
 * `onModel` gets each decoded record of a pipeline this process runs; a record that cannot be decoded or
 * is refused by `onModel` is logged and skipped, an outage retries the batch.
 */
export async function followModelRegistry(
  runtime: Runtime,
  service: string,
  onModel: (model: ModelRegistryRecord, source: ConsumedRecord) => Promise<void>,
): Promise<void> {
  const topics = new Set([...runtime.pipelines.values()].map((p) => p.topics.models));
  const log = runtime.logger.child({ service });
  for (const topic of topics) {
    const running = await runBatchConsumer({
      kafka: runtime.kafka,
      groupId: `streamloop-${service}-registry-${hostname()}-${process.pid}-${Date.now()}`,
      topics: [topic],
      fromBeginning: true,
      handle: async (records) => {
        for (const r of records) {
          if (!r.value) continue;
          try {
            const { value } = await runtime.serde.decode(r.value, runtime.types.modelRegistry);
            const model = value as ModelRegistryRecord;
            if (runtime.pipelines.has(model.pipeline)) await onModel(model, r);
          } catch (error) {
            if (isOutage(error)) throw error;
            log.error({ err: error, topic, offset: r.offset }, 'model record refused');
          }
        }
      },
    });
    runtime.onClose(() => running.stop());
  }
}
