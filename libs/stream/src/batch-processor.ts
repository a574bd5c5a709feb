import type { Type } from 'avsc';
import type { AvroSerde } from '@streamloop/avro';
import type { StreamloopMetrics } from '@streamloop/observability';
import { PlatformError } from '@streamloop/errors';
import { deadLetter, deadLetterMessage, fitDeadLetter, type ConsumedRecord, type Message, type TopicMessages } from '@streamloop/kafka';
import { StreamContext, type BatchOutcome, type PendingOutput, type StreamBatch, type StreamRecord } from './context';
import { classifyFailure, RecordTooLargeError } from './errors';
import { FUSED_HEADER, type PartitionState, type StreamHandlerOptions, type StreamPipeline, type TopicRole } from './options';

/** What the batch processor needs from the platform: encoding, and where each role's records go. */
export interface StreamIO {
  serde: AvroSerde;
  deadLetterType: Type;
  metrics?: StreamloopMetrics;
  output(pipeline: StreamPipeline, role: TopicRole, field?: string): { topic: string; type: Type };
  /** The topic's max.message.bytes (what the broker will accept as one record batch). */
  maxMessageBytes(topic: string): number;
}

/** Calls the Nest handler (through its interceptors and filters) with one batch. */
export type InvokeHandler = (batch: StreamBatch, context: StreamContext) => Promise<void>;

/** An output encoded for its topic. */
interface EncodedMessage {
  topic: string;
  message: Message;
}

/** A stage that runs fused into the transaction of the stage that writes its input role (see StreamHandlerOptions.fusable). */
export interface Fusion {
  role: TopicRole;
  options: StreamHandlerOptions;
  invoke: InvokeHandler;
}

/**
 * Thrown to have the partition's state rebuilt before the batch is tried again (a record failed mid-way). Not
 * retriable in the platform's sense: it is one record's failure (the runner retries every failed batch anyway).
 */
export class RebuildStateError extends PlatformError {
  constructor(message: string, options: { cause: unknown }) {
    super('PARTITION_STATE_REBUILD', message, options);
  }
}

/** Room kept for a record's framing, its headers and the record batch header around it. */
const RECORD_OVERHEAD_BYTES = 512;

/**
 * Turns one consumed batch of one partition into the messages to write: decodes it, runs the handler, encodes what
 * it emitted, and dead-letters what belongs to one record — a record that cannot be decoded, a handler failure on
 * that record, an output that cannot be encoded or is larger than its topic accepts. Only outages (and not-ready)
 * escape, so the batch is retried; nothing tied to one record can stop the partition.
 *
 * A handler failure on a batch is narrowed to its record by running the batch again one record at a time; with
 * partition state, the state is rebuilt from its changelog first (RebuildStateError) and the record that failed
 * is remembered (by offset) so the retry dead-letters it without running it.
 */
export class BatchProcessor {
  /** Offsets (per partition) of records known to fail, with their error; kept until their batch commits. */
  private readonly poisoned = new Map<number, Map<string, unknown>>();
  /** Partitions whose next attempt runs record by record. */
  private readonly isolate = new Set<number>();

  constructor(
    private readonly io: StreamIO,
    private readonly pipeline: StreamPipeline,
    private readonly options: StreamHandlerOptions,
    private readonly inputType: Type,
    private readonly invoke: InvokeHandler,
    /** The changelog topic of the handler's partition state, if it has state. */
    private readonly changelog?: string,
    /** Stages of this process to run on this handler's outputs in the same transaction. */
    private readonly fusions: readonly Fusion[] = [],
  ) {}

  /** Decodes values with the topic's type; an undecodable record carries its error (an outage throws). */
  async decode(records: ConsumedRecord[]): Promise<StreamRecord[]> {
    const decoded: StreamRecord[] = [];
    for (const source of records) {
      // Handled by this stage already, in the transaction that wrote it.
      if (this.options.fusable && headerText(source.headers?.[FUSED_HEADER]) === this.options.stage) continue;
      if (!source.value || source.value.length === 0) {
        decoded.push({ source, error: new Error('record has no value (tombstone or empty)') });
        continue;
      }
      try {
        const { value, schemaId } = this.io.serde.decodeIfKnown(source.value, this.inputType) ?? (await this.io.serde.decode(source.value, this.inputType));
        decoded.push({ source, value, schemaId });
      } catch (error) {
        if (classifyFailure(error) !== 'record') throw error;
        decoded.push({ source, error: error instanceof Error ? error : new Error(String(error)) });
      }
    }
    return decoded;
  }

  /**
   * Runs one batch. Returns the context (outputs and dead letters as the handler left them) and the messages to
   * write, topic by topic, including the state's changelog records.
   */
  async process(topic: string, records: ConsumedRecord[], state: PartitionState | undefined, fresh = false): Promise<{ context: StreamContext; messages: TopicMessages[] }> {
    const partition = records[0]?.partition ?? 0;
    const decoded = await this.decode(records);
    const context = new StreamContext(this.pipeline, topic, partition, this.options.stage, state, this.io.metrics, fresh);
    const poisoned = this.poisoned.get(partition);
    const runnable: StreamRecord[] = [];
    for (const r of decoded) {
      const known = poisoned?.get(r.source.offset);
      if (known !== undefined) context.deadLetter(r, known);
      else runnable.push(r);
    }
    if (this.isolate.has(partition)) await this.runIsolated(runnable, context, state);
    else {
      try {
        if (runnable.length > 0) await this.invoke({ records: runnable }, context);
      } catch (error) {
        if (classifyFailure(error) !== 'record') throw error;
        // Some record of this batch makes the handler throw: find it by running them one at a time.
        this.isolate.add(partition);
        if (state) throw new RebuildStateError(`a record failed mid-batch (${(error as Error).message}); rebuilding the partition's state to find it`, { cause: error });
        const isolated = new StreamContext(this.pipeline, topic, partition, this.options.stage, state, this.io.metrics, fresh);
        for (const d of context.deadLetters.filter((l) => poisoned?.has(l.record.source.offset))) isolated.deadLetter(d.record, d.error, d.stage);
        await this.runIsolated(runnable, isolated, state);
        return { context: isolated, messages: await this.messages(isolated, partition) };
      }
    }
    return { context, messages: await this.messages(context, partition) };
  }

  /** The batch's records committed: forget what was learnt about them. */
  committed(partition: number): void {
    this.poisoned.delete(partition);
    this.isolate.delete(partition);
  }

  private async runIsolated(records: StreamRecord[], context: StreamContext, state: PartitionState | undefined): Promise<void> {
    const partition = context.partition;
    for (const r of records) {
      const before = context.outputs.length;
      try {
        await this.invoke({ records: [r] }, context);
      } catch (error) {
        if (classifyFailure(error) !== 'record') throw error;
        context.outputs.splice(before);
        if (state) {
          // The state may hold part of this record: rebuild it, and dead-letter the record without running it again.
          let known = this.poisoned.get(partition);
          if (!known) this.poisoned.set(partition, (known = new Map()));
          known.set(r.source.offset, error);
          throw new RebuildStateError(`record at offset ${r.source.offset} failed: ${(error as Error).message}`, { cause: error });
        }
        context.deadLetter(r, error);
      }
    }
  }

  /** Encodes outputs and dead letters; a record whose output cannot be written is dead-lettered instead. */
  private async messages(context: StreamContext, partition: number): Promise<TopicMessages[]> {
    const refused = new Set<StreamRecord>(context.deadLetters.map((d) => d.record));
    const encoded: EncodedOutput[] = [];
    for (const output of context.outputs) {
      if (refused.has(output.from)) continue;
      try {
        const pending = this.encodeOutput(output);
        const { topic, message } = pending instanceof Promise ? await pending : pending;
        encoded.push({ topic, message, from: output.from, role: output.role, value: output.value });
      } catch (error) {
        if (classifyFailure(error) !== 'record') throw error;
        refused.add(output.from);
        context.deadLetter(output.from, error);
      }
    }
    for (const fusion of this.fusions) encoded.push(...(await this.runFused(fusion, context, encoded.filter((e) => e.role === fusion.role && !refused.has(e.from)))));
    const byTopic = new Map<string, Message[]>();
    for (const e of encoded) {
      if (refused.has(e.from)) continue;
      let list = byTopic.get(e.topic);
      if (!list) byTopic.set(e.topic, (list = []));
      list.push(e.message);
    }
    const messages: TopicMessages[] = [...byTopic].map(([topic, list]) => ({ topic, messages: list }));
    if (context.deadLetters.length > 0) messages.push({ topic: this.pipeline.topics.dlq, messages: await this.deadLetterMessages(context) });
    if (context.state && this.changelog) {
      const changes = context.state.changes();
      if (changes.length > 0) messages.push({ topic: this.changelog, messages: changes.map((c) => ({ key: c.key, value: c.value, partition })) });
    }
    // Encoded, the pending outputs (and through them the batch's decoded records) are no longer needed. Released now,
    // before the transaction's round trips, they die young instead of being promoted to the old generation, whose
    // collections grow with the entity states (bench:features with 1M entities).
    context.outputs.length = 0;
    return messages;
  }

  /**
   * Runs a fused stage on this batch's outputs of its role, as if it had consumed them: what it emits joins this
   * transaction, and each output it handled gets FUSED_HEADER so its own consumer passes over it. A record it cannot
   * handle here (not ready, dead-lettered, an output that cannot be written) is left to its consumer, unmarked.
   */
  private async runFused(fusion: Fusion, context: StreamContext, inputs: EncodedOutput[]): Promise<EncodedOutput[]> {
    if (inputs.length === 0) return [];
    const bySynthetic = new Map<StreamRecord, EncodedOutput>();
    const records: StreamRecord[] = inputs.map((input) => {
      const m = input.message;
      const record: StreamRecord = {
        source: { topic: input.topic, partition: context.partition, offset: '-1', key: toBuffer(m.key), value: m.value as Buffer, timestamp: m.timestamp ?? String(Date.now()), headers: {} },
        value: input.value,
      };
      bySynthetic.set(record, input);
      return record;
    });
    const fused = new StreamContext(this.pipeline, inputs[0].topic, context.partition, fusion.options.stage, undefined, this.io.metrics);
    try {
      await fusion.invoke({ records }, fused);
    } catch (error) {
      if (classifyFailure(error) === 'outage') throw error;
      return [];
    }
    const left = new Set<StreamRecord>(fused.deadLetters.map((d) => d.record));
    const out: EncodedOutput[] = [];
    for (const output of fused.outputs) {
      if (left.has(output.from)) continue;
      try {
        const source = bySynthetic.get(output.from)!;
        const pending = this.encodeOutput(output);
        const { topic, message } = pending instanceof Promise ? await pending : pending;
        out.push({ topic, message, from: source.from, role: output.role, value: output.value, fusedFrom: output.from });
      } catch (error) {
        if (classifyFailure(error) !== 'record') throw error;
        left.add(output.from);
      }
    }
    const handled = out.filter((o) => !left.has(o.fusedFrom!));
    fused.outputs.length = 0; // (as in messages: only the encoded outputs are kept until the commit)
    for (const [record, input] of bySynthetic) {
      if (!left.has(record)) input.message.headers = { ...input.message.headers, [FUSED_HEADER]: fusion.options.stage };
    }
    context.onCommitted((outcome) => fused.committed({ ...outcome, records: records.length - left.size }));
    return handled;
  }

  /** Encodes an output for its topic: synchronously once the topic's schema id is known (no promise per record). */
  private encodeOutput(output: PendingOutput): EncodedMessage | Promise<EncodedMessage> {
    const { topic, type } = this.io.output(this.pipeline, output.role, output.field);
    const known = this.io.serde.encodeValueIfKnown(topic, type, output.value);
    if (known) return this.sizedMessage(topic, output, known);
    return this.io.serde.encodeValue(topic, type, output.value).then((value) => this.sizedMessage(topic, output, value));
  }

  private sizedMessage(topic: string, output: PendingOutput, value: Buffer): EncodedMessage {
    // An output keeps the timestamp of the record it came from, as in Kafka Streams: every topic downstream of
    // P.events.raw carries the time the event reached the platform, from which inference measures its latency.
    const message: Message = { key: output.key, value, headers: output.headers, timestamp: output.from.source.timestamp };
    const bytes = messageBytes(message);
    const limit = this.io.maxMessageBytes(topic);
    if (bytes + RECORD_OVERHEAD_BYTES > limit) throw new RecordTooLargeError(topic, bytes, limit);
    return { topic, message };
  }

  private async deadLetterMessages(context: StreamContext): Promise<Message[]> {
    const topic = this.pipeline.topics.dlq;
    const limit = this.io.maxMessageBytes(topic);
    const stage = this.options.deadLetterStage ?? `${this.options.stage}.handle`;
    const out: Message[] = [];
    for (const { record, error, stage: own } of context.deadLetters) {
      const s = record.source;
      const full = deadLetter(this.pipeline.spec.pipeline, own ?? stage, error, { topic: s.topic, partition: s.partition, offset: s.offset, key: s.key, value: s.value });
      // The reason and the source always fit; the original bytes are cut to what room is left, and marked so.
      const overhead = RECORD_OVERHEAD_BYTES + 1024 + Buffer.byteLength(full.error_message) * 2 + Buffer.byteLength(full.stage) + Buffer.byteLength(full.pipeline);
      const letter = fitDeadLetter(full, limit, overhead);
      const value = await this.io.serde.encodeValue(topic, this.io.deadLetterType, letter);
      out.push(deadLetterMessage(letter, value));
    }
    return out;
  }
}

interface EncodedOutput {
  topic: string;
  message: Message;
  /** The consumed record it came from. */
  from: StreamRecord;
  role: TopicRole;
  value: unknown;
  /** For outputs of a fused stage: the record of that stage they came from. */
  fusedFrom?: StreamRecord;
}

function headerText(value: Buffer | string | Array<Buffer | string> | undefined): string | undefined {
  const first = Array.isArray(value) ? value[0] : value;
  return first === undefined ? undefined : first.toString();
}

function toBuffer(key: Message['key']): Buffer | null {
  if (key === null || key === undefined) return null;
  return Buffer.isBuffer(key) ? key : Buffer.from(key);
}

function sizeOf(x: unknown): number {
  return x === null || x === undefined ? 0 : typeof x === 'string' ? Buffer.byteLength(x) : Buffer.isBuffer(x) ? x.length : 0;
}

export function messageBytes(message: Message): number {
  let bytes = sizeOf(message.key) + sizeOf(message.value);
  const headers = message.headers;
  if (headers) {
    for (const k of Object.keys(headers)) {
      const v = headers[k];
      bytes += Buffer.byteLength(k);
      if (Array.isArray(v)) for (const x of v) bytes += sizeOf(x);
      else bytes += sizeOf(v);
    }
  }
  return bytes;
}

/** Counts of what a batch's messages make visible, for the committed-batch listeners. */
export function outcomeOf(messages: TopicMessages[], records: number, deadLetterTopic: string, lag: number, internalTopic?: string): BatchOutcome {
  const outputs = new Map<string, number>();
  let deadLetters = 0;
  for (const m of messages) {
    if (m.topic === internalTopic) continue;
    if (m.topic === deadLetterTopic) deadLetters += m.messages.length;
    else outputs.set(m.topic, (outputs.get(m.topic) ?? 0) + m.messages.length);
  }
  return { records, outputs, deadLetters, lag };
}
