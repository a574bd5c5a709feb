import { Controller, Inject } from '@nestjs/common';
import { Ctx, Payload } from '@nestjs/microservices';
import {
  DLQ_SINK, eventsSink, FEATURES_SINK, labelsSink, PREDICTIONS_SINK, SHADOW_PREDICTIONS_SINK, type SinkMapping, type SourcedRow, type TableName,
} from '@streamloop/clickhouse';
import { labelFieldsOf } from '@streamloop/config';
import type { DeadLetterRecord, FeatureVectorRecord, PredictionRecord } from '@streamloop/contracts';
import { pipelineOfMessage, registryMessageOf, type ModelRegistryRecord } from '@streamloop/model-registry';
import { StreamHandler, type StreamBatch, type StreamContext } from '@streamloop/stream';
import { MonitoringService } from './monitoring.service';

/** A consumed record's Kafka timestamp in epoch ms; undefined when it has none. */
function kafkaTimestamp(timestamp: string | undefined): number | undefined {
  const ms = Number(timestamp);
  return timestamp && Number.isFinite(ms) && ms >= 0 ? ms : undefined;
}

/**
 * The ClickHouse sink: the loop's topics into their tables, at least once (insert, then commit the offsets) and
 * idempotent in ClickHouse (each attempt's topic-partition-offset range is recorded before its insert and replayed
 * whole with the same dedup token after a crash; see libs/clickhouse PartitionSink). A record that cannot be
 * read or written is dead-lettered with the reason. The model registry is followed by every instance.
 */
@Controller()
export class MonitoringStream {
  constructor(@Inject(MonitoringService) private readonly monitoring: MonitoringService) {}

  @StreamHandler({ role: 'events', mode: 'at-least-once', stage: 'monitoring', deadLetterStage: 'monitoring.sink' })
  events(@Payload() batch: StreamBatch<Record<string, unknown>>, @Ctx() context: StreamContext): Promise<void> {
    const { idField, timeField, entityField } = context.pipeline.spec.events;
    return this.write(batch, context, eventsSink({ id: idField, time: timeField, entity: entityField }));
  }

  @StreamHandler({ role: 'features', mode: 'at-least-once', stage: 'monitoring', deadLetterStage: 'monitoring.sink' })
  features(@Payload() batch: StreamBatch<FeatureVectorRecord>, @Ctx() context: StreamContext): Promise<void> {
    return this.write(batch, context, FEATURES_SINK);
  }

  @StreamHandler({ role: 'predictions', mode: 'at-least-once', stage: 'monitoring', deadLetterStage: 'monitoring.sink' })
  predictions(@Payload() batch: StreamBatch<PredictionRecord>, @Ctx() context: StreamContext): Promise<void> {
    return this.write(batch, context, PREDICTIONS_SINK);
  }

  /** A challenger's shadow predictions (role challenger): the predictions table, with `shadow` set. */
  @StreamHandler({ role: 'shadow', mode: 'at-least-once', stage: 'monitoring', deadLetterStage: 'monitoring.sink' })
  shadowPredictions(@Payload() batch: StreamBatch<PredictionRecord>, @Ctx() context: StreamContext): Promise<void> {
    return this.write(batch, context, SHADOW_PREDICTIONS_SINK);
  }

  @StreamHandler({ role: 'labels', mode: 'at-least-once', stage: 'monitoring', deadLetterStage: 'monitoring.sink' })
  labels(@Payload() batch: StreamBatch<Record<string, unknown>>, @Ctx() context: StreamContext): Promise<void> {
    // Decoded with the pipeline's label schema (the platform's or the producer's own); labelsSink maps either.
    return this.write(batch, context, labelsSink(labelFieldsOf(context.pipeline.spec.labels)));
  }

  @StreamHandler({ role: 'dlq', mode: 'at-least-once', stage: 'monitoring', deadLetterStage: 'monitoring.sink' })
  deadLetters(@Payload() batch: StreamBatch<DeadLetterRecord>, @Ctx() context: StreamContext): Promise<void> {
    return this.write(batch, context, DLQ_SINK);
  }

  @StreamHandler({ role: 'models', mode: 'broadcast', stage: 'monitoring' })
  async models(@Payload() batch: StreamBatch<ModelRegistryRecord>, @Ctx() context: StreamContext): Promise<void> {
    for (const record of batch.records) {
      const message = registryMessageOf(record.source, record.value);
      // A tombstone deletes a version; any other record without a value is refused (its version number stays taken).
      if (!record.value && message?.kind !== 'tombstone') context.deadLetter(record, record.error ?? new Error('record has no value'));
      if (message && pipelineOfMessage(message) === context.pipeline.spec.pipeline) await this.monitoring.modelSeen(message, record.source);
    }
  }

  private async write<Value, Table extends TableName>(batch: StreamBatch<Value>, context: StreamContext, mapping: SinkMapping<Value, Table>): Promise<void> {
    // Every consumed offset goes to the sink, with a row or without: it tracks which offsets it has attempted.
    const records: Array<SourcedRow<Record<string, unknown>>> = [];
    for (const record of batch.records) {
      if (record.error || record.value === undefined) {
        context.deadLetter(record, record.error ?? new Error('record has no value'));
        records.push({ offset: record.source.offset });
        continue;
      }
      try {
        const origin = {
          pipeline: context.pipeline.spec.pipeline, partition: record.source.partition, offset: record.source.offset, schemaId: record.schemaId ?? 0,
          timestamp: kafkaTimestamp(record.source.timestamp),
        };
        records.push({ offset: record.source.offset, row: mapping.toRow(record.value, origin) });
      } catch (error) {
        context.deadLetter(record, error);
        records.push({ offset: record.source.offset });
      }
    }
    context.limitCommit(await this.monitoring.sink(mapping.table, { topic: context.topic, partition: context.partition }, records, context.fresh));
  }
}
