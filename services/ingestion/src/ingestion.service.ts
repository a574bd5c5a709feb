import { Inject, Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import { validateRecord } from '@streamloop/avro';
import { deadLetter, DedupWindow, type ConsumedRecord, type DeadLetter, type Message, type PartitionTask, type TopicMessages } from '@streamloop/kafka';
import { isOutage, restoreChangelogPartition, RUNTIME, Runtime, startExactlyOnceConsumer, type PipelineContext } from '@streamloop/runtime';

const SERVICE = 'ingestion';

export class InvalidEventError extends Error {
  override name = 'InvalidEventError';
}

export interface HttpIngestResult {
  accepted: number;
  rejected: Array<{ index: number; errors: string[] }>;
}

/**
 * Validates raw events against the pipeline's schema, fills schema defaults, drops duplicates by event id
 * and forwards the rest to P.events; anything that cannot be read goes to P.events.dlq with the reason.
 */
@Injectable()
export class IngestionService implements OnApplicationBootstrap {
  constructor(@Inject(RUNTIME) private readonly runtime: Runtime) {}

  async onApplicationBootstrap(): Promise<void> {
    for (const ctx of this.runtime.pipelines.values()) {
      await startExactlyOnceConsumer(this.runtime, {
        service: SERVICE,
        pipeline: ctx.spec.pipeline,
        topic: ctx.topics.raw,
        createTask: (partition) => this.restorePartition(ctx, partition),
      });
    }
  }

  /**
   * A raw partition's dedup window rebuilt from `P.changelog.dedup` (partition p: the ids accepted from raw
   * partition p, valued by their arrival time), and the task that continues it. Duplicates are recognised
   * within one raw partition, so producers key raw events by entity (as HTTP ingest does) or by event id.
   */
  async restorePartition(ctx: PipelineContext, partition: number): Promise<PartitionTask> {
    const dedup = new DedupWindow(ctx.spec.events.dedupWindowMs);
    await restoreChangelogPartition(this.runtime, ctx.topics.changelog('dedup'), partition, (id, value) => {
      if (value && value.length === 8) dedup.add(id, value.readDoubleBE(0));
    });
    return { process: (records) => this.processRaw(ctx, dedup, partition, records) };
  }

  /** One consumed batch of one P.events.raw partition. Throws only for outages, so the batch is retried, never skipped. */
  async processRaw(ctx: PipelineContext, dedup: DedupWindow, partition: number, records: ConsumedRecord[]): Promise<TopicMessages[]> {
    const { spec, topics } = ctx;
    const outputs: Message[] = [];
    const accepted: Message[] = [];
    const letters: DeadLetter[] = [];
    const now = Date.now();
    for (const r of records) {
      const source = { topic: r.topic, partition: r.partition, offset: r.offset, key: r.key, value: r.value };
      try {
        if (!r.value || r.value.length === 0) throw new InvalidEventError('record has no value (tombstone or empty)');
        const decoded = await this.runtime.serde.decode(r.value, ctx.eventType);
        const event = decoded.value as Record<string, unknown>;
        const { id, entity } = this.identify(ctx, event);
        if (dedup.has(id, now)) {
          this.runtime.metrics.duplicatesDropped.inc({ pipeline: spec.pipeline });
          continue;
        }
        // State changes before the transaction commits are fine: a failed transaction rebuilds the window.
        dedup.add(id, now);
        const arrival = Buffer.alloc(8);
        arrival.writeDoubleBE(now, 0);
        accepted.push({ key: id, value: arrival, partition });
        outputs.push({ key: entity, value: await this.runtime.serde.encode(`${topics.events}-value`, ctx.eventType, event) });
      } catch (error) {
        if (isOutage(error)) throw error;
        letters.push(deadLetter(spec.pipeline, 'ingestion.validate', error, source));
      }
    }
    this.runtime.countOutputs(ctx, SERVICE, topics.events, outputs.length, letters);
    return [
      { topic: topics.events, messages: outputs },
      { topic: topics.dlq, messages: await this.runtime.deadLetterMessages(ctx, letters) },
      { topic: topics.changelog('dedup'), messages: accepted },
    ];
  }

  /** HTTP ingest: validates every record first; publishes to P.events.raw only when all are valid. */
  async ingestJson(pipeline: string, body: unknown): Promise<HttpIngestResult> {
    const ctx = this.runtime.pipeline(pipeline);
    const items = Array.isArray(body) ? body : [body];
    const rejected: HttpIngestResult['rejected'] = [];
    const messages: Message[] = [];
    for (const [index, item] of items.entries()) {
      if (item === null || typeof item !== 'object' || Array.isArray(item)) {
        rejected.push({ index, errors: ['expected a JSON object with the event\'s fields'] });
        continue;
      }
      const result = validateRecord(ctx.eventType, item);
      if (!result.ok) {
        rejected.push({ index, errors: result.errors });
        continue;
      }
      try {
        const { entity } = this.identify(ctx, result.value as Record<string, unknown>);
        messages.push({ key: entity, value: await this.runtime.serde.encode(`${ctx.topics.raw}-value`, ctx.eventType, result.value) });
      } catch (error) {
        if (!(error instanceof InvalidEventError)) throw error;
        rejected.push({ index, errors: [error.message] });
      }
    }
    if (rejected.length > 0) return { accepted: 0, rejected };
    const producer = await this.runtime.producer();
    await producer.send({ topic: ctx.topics.raw, messages, acks: -1 });
    this.runtime.metrics.recordsOut.inc({ service: SERVICE, pipeline, topic: ctx.topics.raw }, messages.length);
    return { accepted: messages.length, rejected: [] };
  }

  private identify(ctx: PipelineContext, event: Record<string, unknown>): { id: string; entity: string } {
    const { idField, timeField, entityField } = ctx.spec.events;
    const id = event[idField];
    if (typeof id !== 'string' || id.length === 0) {
      throw new InvalidEventError(`field ${idField}: expected a non-empty event id string, got ${JSON.stringify(id)}`);
    }
    const time = event[timeField];
    if (typeof time !== 'number' || !Number.isFinite(time)) {
      throw new InvalidEventError(`record ${id}: field ${timeField}: expected an event time in epoch milliseconds, got ${JSON.stringify(time)}`);
    }
    const entity = event[entityField];
    if (entity === null || entity === undefined || entity === '') {
      throw new InvalidEventError(`record ${id}: field ${entityField}: expected an entity key, got ${JSON.stringify(entity)}`);
    }
    return { id, entity: String(entity) };
  }
}
