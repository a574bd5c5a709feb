import { Inject, Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import { validateRecord } from '@streamloop/avro';
import { deadLetter, DedupWindow, type ConsumedRecord, type DeadLetter, type Message } from '@streamloop/kafka';
import { isOutage, RUNTIME, Runtime, startPipelineConsumer, type PipelineContext } from '@streamloop/runtime';

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
  private readonly dedup = new Map<string, DedupWindow>();

  constructor(@Inject(RUNTIME) private readonly runtime: Runtime) {}

  async onApplicationBootstrap(): Promise<void> {
    for (const ctx of this.runtime.pipelines.values()) {
      this.dedup.set(ctx.spec.pipeline, new DedupWindow(ctx.spec.events.dedupWindowMs));
      await startPipelineConsumer(this.runtime, {
        service: SERVICE,
        pipeline: ctx.spec.pipeline,
        topic: ctx.topics.raw,
        handle: (records) => this.processRaw(ctx, records),
      });
    }
  }

  /** One consumed batch of P.events.raw. Throws only for outages, so the batch is retried, never skipped. */
  async processRaw(ctx: PipelineContext, records: ConsumedRecord[]): Promise<void> {
    const { spec, topics } = ctx;
    const dedup = this.dedup.get(spec.pipeline)!;
    const outputs: Message[] = [];
    const accepted: string[] = [];
    const letters: DeadLetter[] = [];
    const inBatch = new Set<string>();
    for (const r of records) {
      const source = { topic: r.topic, partition: r.partition, offset: r.offset, key: r.key, value: r.value };
      try {
        if (!r.value || r.value.length === 0) throw new InvalidEventError('record has no value (tombstone or empty)');
        const decoded = await this.runtime.serde.decode(r.value, ctx.eventType);
        const event = decoded.value as Record<string, unknown>;
        const { id, entity } = this.identify(ctx, event);
        if (inBatch.has(id) || dedup.has(id)) {
          this.runtime.metrics.duplicatesDropped.inc({ pipeline: spec.pipeline });
          continue;
        }
        inBatch.add(id);
        accepted.push(id);
        outputs.push({ key: entity, value: await this.runtime.serde.encode(`${topics.events}-value`, ctx.eventType, event) });
      } catch (error) {
        if (isOutage(error)) throw error;
        letters.push(deadLetter(spec.pipeline, 'ingestion.validate', error, source));
      }
    }
    await this.runtime.publishWithDeadLetters(ctx, SERVICE, topics.events, outputs, letters);
    for (const id of accepted) dedup.add(id);
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
