import { Inject, Injectable } from '@nestjs/common';
import { validateRecord } from '@streamloop/avro';
import { AvroSerde } from '@streamloop/avro';
import { fetchMaxMessageBytes, type Kafka, type Message } from '@streamloop/kafka';
import { StreamloopMetrics } from '@streamloop/observability';
import { KAFKA, PipelineRegistry, SharedProducer } from '@streamloop/runtime';
import { messageBytes } from '@streamloop/stream';
import { identifyEvent, InvalidEventError } from './identify';

export { InvalidEventError } from './identify';

export interface HttpIngestResult {
  accepted: number;
  rejected: Array<{ index: number; errors: string[] }>;
}

/** Room kept beside a record for its framing in a record batch. */
const RECORD_OVERHEAD_BYTES = 512;

/** HTTP ingest: JSON events validated against the pipeline's schema and published to P.events.raw. */
@Injectable()
export class IngestionService {
  private readonly rawLimits = new Map<string, Promise<number>>();

  constructor(
    @Inject(PipelineRegistry) private readonly pipelines: PipelineRegistry,
    @Inject(AvroSerde) private readonly serde: AvroSerde,
    @Inject(SharedProducer) private readonly producer: SharedProducer,
    @Inject(KAFKA) private readonly kafka: Kafka,
    @Inject(StreamloopMetrics) private readonly metrics: StreamloopMetrics,
  ) {}

  /**
   * Validates every record first; publishes to P.events.raw only when all are valid. A record whose encoding is larger
   * than the raw topic accepts is refused here, by index, with the limit (the body limit bounds the request as a whole).
   */
  async ingestJson(pipeline: string, body: unknown): Promise<HttpIngestResult> {
    const ctx = this.pipelines.pipeline(pipeline);
    const limit = await this.rawLimit(ctx.topics.raw);
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
        const { entity } = identifyEvent(ctx.spec, result.value as Record<string, unknown>);
        const message: Message = { key: entity, value: await this.serde.encodeValue(ctx.topics.raw, ctx.eventType, result.value) };
        const bytes = messageBytes(message);
        if (bytes + RECORD_OVERHEAD_BYTES > limit) {
          rejected.push({ index, errors: [`the encoded event is ${bytes} bytes, over the ${ctx.topics.raw} topic's max.message.bytes of ${limit}`] });
          continue;
        }
        messages.push(message);
      } catch (error) {
        if (!(error instanceof InvalidEventError)) throw error;
        rejected.push({ index, errors: [error.message] });
      }
    }
    if (rejected.length > 0) return { accepted: 0, rejected };
    await this.producer.sendMessages(ctx.topics.raw, messages);
    this.metrics.recordsOut.inc({ service: 'ingestion', pipeline, topic: ctx.topics.raw }, messages.length);
    return { accepted: messages.length, rejected: [] };
  }

  private rawLimit(topic: string): Promise<number> {
    let limit = this.rawLimits.get(topic);
    if (!limit) {
      limit = fetchMaxMessageBytes(this.kafka, [topic]).then((m) => m.get(topic)!);
      limit.catch(() => this.rawLimits.delete(topic));
      this.rawLimits.set(topic, limit);
    }
    return limit;
  }
}
