import type { Type } from 'avsc';
import type { AvroSerde } from '@streamloop/avro';
import { readTopicToEnd, type Kafka, type Producer } from '@streamloop/kafka';
import { checkPublishable, parseRegistryKey, registryKey } from './key';
import { pipelineOfMessage, registryMessageOf, type RawRegistryRecord } from './messages';
import type { ModelRegistryRecord } from './records';
import { emptyRegistry, foldRegistry, type RegistryEntry, type RegistryMessage, type RegistryState } from './registry-state';

/** What reading and publishing need from the process (the platform's KAFKA, AvroSerde, SharedProducer and PLATFORM_TYPES). */
export interface RegistryIo {
  kafka: Kafka;
  serde: AvroSerde;
  producer(): Promise<Producer>;
  /** The record's Avro type (schemas/model-registry.avsc): the writer schema when publishing, the reader when reading. */
  types: { modelRegistry: Type };
}

/** Avro errors that are the record's fault (not an outage): such a value is unreadable, and reading goes on. */
const UNREADABLE = new Set(['WireFormatError', 'AvroDecodeError', 'RegistryError']);

export interface ReadRegistryOptions {
  /** Only this pipeline's records (the topic may be shared by pipelines): others are skipped by key, undecoded. */
  pipeline?: string;
  timeoutMs?: number;
}

/** Reads the whole registry topic (read_committed) and folds it. An outage (broker, schema registry) throws. */
export async function readRegistry(io: Pick<RegistryIo, 'kafka' | 'serde' | 'types'>, topic: string, options: ReadRegistryOptions = {}): Promise<RegistryState> {
  const raw: RawRegistryRecord[] = [];
  await readTopicToEnd(io.kafka, topic, (r) => {
    const keyed = r.key ? parseRegistryKey(r.key.toString('utf8')) : undefined;
    if (options.pipeline === undefined || !keyed || keyed.pipeline === options.pipeline) raw.push(r);
  }, { timeoutMs: options.timeoutMs });
  const messages: RegistryMessage[] = [];
  for (const r of raw) {
    let record: ModelRegistryRecord | undefined;
    if (r.value && r.value.length > 0) {
      try {
        record = (await io.serde.decode<ModelRegistryRecord>(r.value, io.types.modelRegistry)).value;
      } catch (error) {
        if (!(error instanceof Error && UNREADABLE.has(error.name))) throw error;
      }
    }
    const message = registryMessageOf(r, record);
    if (message && (options.pipeline === undefined || pipelineOfMessage(message) === options.pipeline)) messages.push(message);
  }
  return foldRegistry(emptyRegistry(), messages);
}

/**
 * Publishes a model version (keyed `pipeline/model/version`, the value in the Confluent wire format under the
 * topic's value subject) and returns it as the registry now holds it, with its offset.
 */
export async function publishModelVersion(io: RegistryIo, topic: string, record: ModelRegistryRecord): Promise<RegistryEntry> {
  checkPublishable(record);
  const value = await io.serde.encodeValue(topic, io.types.modelRegistry, record);
  const producer = await io.producer();
  const [sent] = await producer.send({ topic, acks: -1, messages: [{ key: registryKey(record), value }] });
  return { record, offset: BigInt(sent.baseOffset ?? '-1') };
}
