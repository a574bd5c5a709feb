import { runBatchConsumer, type ConsumedRecord } from '@streamloop/kafka';
import type { Runtime } from './runtime';

export interface PipelineConsumerOptions {
  service: string;
  pipeline: string;
  topic: string;
  /** Defaults to streamloop-<service>-<topic>: one group per service and input topic (a group's members must share subscriptions). */
  groupId?: string;
  handle: (records: ConsumedRecord[]) => Promise<void>;
}

/** Starts a batch consumer with the platform's metrics, logging and shutdown wired in. */
export async function startPipelineConsumer(runtime: Runtime, options: PipelineConsumerOptions): Promise<void> {
  const { service, pipeline, topic } = options;
  const log = runtime.logger.child({ service, pipeline, topic });
  const groupId = options.groupId ?? `streamloop-${service}-${topic}`;
  const component = `${service}:${pipeline}:${topic}`;
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
      runtime.health.set(component, true);
    },
    onBatchError: (error, attempt, _topic, partition) => {
      // Waiting for something that will come (a first model) is neither an outage nor worth a warning.
      if (error instanceof Error && error.name === 'NoModelYetError') return;
      // A batch that keeps failing is an outage (broker, registry, ClickHouse), not a bad record.
      if (attempt >= 5) runtime.health.set(component, false, String(error));
      const level = attempt >= 3 ? 'warn' : 'debug';
      log[level]({ err: error, attempt, partition }, 'batch failed; retrying');
    },
  });
  runtime.health.set(component, true);
  runtime.onClose(async () => {
    await running.stop();
    runtime.health.remove(component);
  });
}
