// The inference stage in process, without Kafka: the real handler (InferenceStream.predict) on decoded feature-vector
// batches with real models in the real ModelStore, its prediction records Avro-encoded with the platform's type; and,
// around it, the same batch through the transport's BatchProcessor (Confluent wire decode and encode included).
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import avro, { type Type } from 'avsc';
import { AvroSerde, parseSchema, schemaText, type RegisteredSchema, type RegistryClient } from '@streamloop/avro';
import { topicsFor, type PipelineSpec, type ServingSpec } from '@streamloop/config';
import type { OwnedFeatureState } from '@streamloop/features';
import type { ConsumedRecord } from '@streamloop/kafka';
import type { ModelRegistryRecord, ModelStage, RegistryMessage } from '@streamloop/model-registry';
import { StreamloopMetrics, type Logger } from '@streamloop/observability';
import { loadPlatformTypes, type FeatureVectorRecord, type PipelineRegistry, type PredictRouter } from '@streamloop/runtime';
import { BatchProcessor, StreamContext, type StreamBatch, type StreamPipeline, type StreamRecord } from '@streamloop/stream';
import { InferenceService } from '../../services/inference/src/inference.service';
import { InferenceStream } from '../../services/inference/src/inference.stream';
import { scoreWithFallback } from '../../services/inference/src/fallback-scoring';
import { scoreInChunks, servingBatchOf, sessionOptionsOf } from '../../services/inference/src/micro-batch';
import type { ModelDemotion } from '../../services/inference/src/model-demotion';

const types = loadPlatformTypes();
const DLQ_TYPE = parseSchema(JSON.parse(readFileSync(new URL('../../schemas/dlq-envelope.avsc', import.meta.url), 'utf8')));

/** A schema registry in memory (ids by schema text), as the transport's unit tests use. */
class MemoryRegistry implements RegistryClient {
  private readonly ids = new Map<string, number>();
  private readonly texts = new Map<number, string>();
  register(_subject: string, schema: string | object | Type): Promise<number> {
    const text = typeof schema === 'string' ? schema : avro.Type.isType(schema) ? schemaText(schema as Type) : JSON.stringify(schema);
    let id = this.ids.get(text);
    if (id === undefined) {
      id = this.ids.size + 1;
      this.ids.set(text, id);
      this.texts.set(id, text);
    }
    return Promise.resolve(id);
  }
  getSchemaById(id: number): Promise<string> {
    const text = this.texts.get(id);
    return text ? Promise.resolve(text) : Promise.reject(new Error(`schema ${id} not found`));
  }
  getLatest(): Promise<RegisteredSchema> {
    return Promise.reject(new Error('not used'));
  }
}

const silent: Logger = new Proxy({}, { get: (_t, key) => (key === 'child' ? () => silent : () => undefined) }) as Logger;

/** A registry record of `onnx` as `stage` of the pipeline. */
export function registryRecord(pipeline: string, name: string, version: number, stage: ModelStage, algorithm: string, featureNames: string[], onnx: Uint8Array): ModelRegistryRecord {
  const bytes = Buffer.from(onnx);
  return {
    pipeline, model_name: name, model_version: version, algorithm, stage, created_at: 0, feature_names: featureNames, feature_spec_version: 'v1',
    threshold: 0.5, onnx: bytes, onnx_sha256: createHash('sha256').update(bytes).digest('hex'), metrics: {}, params: {}, data_window_start: 0,
    data_window_end: 0, training_rows: 0, reference: {}, feature_importance: {}, signature: null, decided_by: '', decided_at: 0, decision_reason: '', decision_metrics: {},
  };
}

export interface StageOptions {
  spec: PipelineSpec;
  champion: ModelRegistryRecord;
  challenger?: ModelRegistryRecord;
  serving?: Partial<ServingSpec>;
}

/** The inference stage of one pipeline, in process: the handler with its model store, and the transport around it. */
export class InProcessStage {
  readonly pipeline: StreamPipeline;
  private readonly stream: InferenceStream;
  private readonly inference: InferenceService;
  private readonly processor: BatchProcessor;
  private readonly serde = new AvroSerde(new MemoryRegistry());
  private offset = 0;

  private constructor(private readonly options: StageOptions) {
    const spec: PipelineSpec = { ...options.spec, serving: { ...options.spec.serving!, ...options.serving } };
    this.pipeline = { spec, topics: topicsFor(spec), eventType: types.featureVector, labelType: types.featureVector };
    this.inference = new InferenceService({} as PipelineRegistry, {} as OwnedFeatureState, {} as PredictRouter);
    this.stream = new InferenceStream(new StreamloopMetrics(), silent, this.inference, {} as ModelDemotion);
    const io = {
      serde: this.serde,
      deadLetterType: DLQ_TYPE,
      output: (p: StreamPipeline, role: string) => ({ topic: (p.topics as unknown as Record<string, string>)[role], type: types.prediction }),
      maxMessageBytes: () => 1_048_588,
    };
    this.processor = new BatchProcessor(io, this.pipeline, { role: 'features', mode: 'exactly-once', stage: 'inference', deadLetterStage: 'inference.decode' },
      types.featureVector, (batch, context) => this.stream.predict(batch as StreamBatch<FeatureVectorRecord>, context));
  }

  /** Loads the champion (and challenger) through the model store, with the pipeline's serving.onnx options. */
  static async start(options: StageOptions): Promise<InProcessStage> {
    const stage = new InProcessStage(options);
    const records = [options.champion, ...(options.challenger ? [options.challenger] : [])];
    const messages: RegistryMessage[] = records.map((record, i) => ({ kind: 'version', offset: BigInt(i), record }));
    const outcome = await stage.inference.models.follow(options.champion.pipeline, messages, sessionOptionsOf(stage.pipeline.spec));
    if (outcome.refused.length > 0) throw new Error(`bench: a model was refused: ${String(outcome.refused[0].error)}`);
    if (options.challenger && !stage.inference.models.challengerOf(options.champion.pipeline)) throw new Error('bench: the challenger is not loaded');
    return stage;
  }

  /** Decoded records of a batch, as the transport hands them to the handler. */
  decoded(vectors: FeatureVectorRecord[]): StreamRecord<FeatureVectorRecord>[] {
    const now = String(Date.now());
    return vectors.map((value, i) => ({ value, source: { topic: this.pipeline.topics.features, partition: 0, offset: String(i), key: null, value: null, timestamp: now, headers: {} } as ConsumedRecord }));
  }

  /** Wire-encoded records of a batch (Confluent framing, schema registered), as the consumer gets them. */
  async consumed(vectors: FeatureVectorRecord[]): Promise<ConsumedRecord[]> {
    const now = String(Date.now());
    const out: ConsumedRecord[] = [];
    for (const v of vectors) {
      const value = await this.serde.encode(`${this.pipeline.topics.features}-value`, types.featureVector, v);
      out.push({ topic: this.pipeline.topics.features, partition: 0, offset: String(this.offset++), key: Buffer.from(v.entity_key), value, timestamp: now, headers: {} });
    }
    return out;
  }

  /**
   * The handler on one decoded batch (its metrics observed as after a commit), its outputs Avro-encoded with the
   * prediction type unless `encode` is false; returns the prediction count.
   */
  async handle(records: StreamRecord<FeatureVectorRecord>[], encode = true): Promise<number> {
    const context = new StreamContext(this.pipeline, this.pipeline.topics.features, 0, 'inference', undefined);
    await this.stream.predict({ records }, context);
    let n = 0;
    for (const o of context.outputs) {
      if (encode) types.prediction.toBuffer(o.value);
      n += 1;
    }
    if (context.deadLetters.length > 0) throw new Error(`bench: ${context.deadLetters.length} records dead-lettered: ${String(context.deadLetters[0].error)}`);
    context.committed({ records: records.length, outputs: new Map(), deadLetters: 0, lag: 0 });
    return n;
  }

  /**
   * The handler's scoring call alone: the champion through scoreWithFallback with the chunked RowScorer the handler
   * builds (the matrix from the records' value maps, onnxruntime, the scores checked).
   */
  async scoreOnly(rows: Array<Record<string, number>>): Promise<number> {
    const champion = this.inference.models.get(this.pipeline.spec.pipeline)!;
    const { maxRows } = servingBatchOf(this.pipeline.spec);
    const scored = await scoreWithFallback((m, rs) => scoreInChunks(rs, maxRows, (chunk) => this.inference.score(m, chunk)), champion, undefined, rows);
    return scored.rows.length;
  }

  /** The transport's BatchProcessor on one consumed batch: decode, handler, encode with framing and size checks. */
  async process(records: ConsumedRecord[]): Promise<number> {
    const { messages, context } = await this.processor.process(this.pipeline.topics.features, records, undefined);
    this.processor.committed(0);
    context.committed({ records: records.length, outputs: new Map(), deadLetters: 0, lag: 0 });
    return messages.reduce((n, m) => n + m.messages.length, 0);
  }
}
