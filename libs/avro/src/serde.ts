import type { Resolver, Type } from 'avsc';
import { AvroDecodeError, RegistryError } from './errors';
import type { RegistryClient } from './registry-client';
import { safeDecode, type SafeDecodeOptions } from './safe-decode';
import { parseSchema } from './schema';
import { encodeWire, readWireHeader } from './wire';

const subjects = new Map<string, string>();

/** The registry subject of a topic's values (Confluent's default TopicNameStrategy). */
export function valueSubject(topic: string): string {
  // Asked for every record a stage writes: the string is built once per topic.
  let subject = subjects.get(topic);
  if (subject === undefined) {
    subject = `${topic}-value`;
    if (subjects.size < 10_000) subjects.set(topic, subject);
  }
  return subject;
}

export interface DecodedRecord<T = unknown> {
  schemaId: number;
  writerType: Type;
  value: T;
}

export type AvroSerdeOptions = Pick<SafeDecodeOptions, 'maxZeroSizeItems' | 'maxDepth'>;

/**
 * Confluent wire-format serializer/deserializer over a registry client, with the caches a hot path needs:
 * one registration per (subject, type), one schema fetch per id, one resolver per (reader, writer id).
 */
export class AvroSerde {
  private readonly ids = new WeakMap<Type, Map<string, Promise<number>>>();
  /** The ids above once known, for encoding without a promise per record on a hot path. */
  private readonly knownIds = new WeakMap<Type, Map<string, number>>();
  private readonly writers = new Map<number, Promise<Type>>();
  /** The writer types above once fetched, for decoding without a promise per record on a hot path. */
  private readonly knownWriters = new Map<number, Type>();
  private readonly resolvers = new WeakMap<Type, Map<number, Resolver>>();

  constructor(
    readonly client: RegistryClient,
    private readonly opts: AvroSerdeOptions = {},
  ) {}

  /** The registry id of `type` under `subject`, registering it on first use. */
  schemaId(subject: string, type: Type): Promise<number> {
    let bySubject = this.ids.get(type);
    if (!bySubject) this.ids.set(type, (bySubject = new Map()));
    let id = bySubject.get(subject);
    if (!id) {
      id = this.client.register(subject, type);
      const map = bySubject;
      id.then(
        (known) => {
          let ids = this.knownIds.get(type);
          if (!ids) this.knownIds.set(type, (ids = new Map()));
          ids.set(subject, known);
        },
        () => map.delete(subject),
      );
      bySubject.set(subject, id);
    }
    return id;
  }

  /** Encodes a value for a topic under its value subject (Confluent's TopicNameStrategy: `<topic>-value`). */
  encodeValue(topic: string, type: Type, value: unknown): Promise<Buffer> {
    return this.encode(valueSubject(topic), type, value);
  }

  /**
   * encodeValue without waiting when the id of (topic's subject, type) is already known: a stage encodes every output
   * this way, so a batch allocates no promise per record. undefined when the id is not known yet (use encodeValue).
   */
  encodeValueIfKnown(topic: string, type: Type, value: unknown): Buffer | undefined {
    const id = this.knownIds.get(type)?.get(valueSubject(topic));
    return id === undefined ? undefined : encodeWire(id, type, value);
  }

  async encode(subject: string, type: Type, value: unknown): Promise<Buffer> {
    const id = await this.schemaId(subject, type);
    return encodeWire(id, type, value);
  }

  /** The writer schema for an id (fetched once). */
  writerType(schemaId: number): Promise<Type> {
    let t = this.writers.get(schemaId);
    if (!t) {
      t = this.client.getSchemaById(schemaId).then((text) => parseSchema(text));
      t.then(
        (type) => this.knownWriters.set(schemaId, type),
        () => this.writers.delete(schemaId),
      );
      this.writers.set(schemaId, t);
    }
    return t;
  }

  /**
   * Decodes a wire-format record safely (bounded by its bytes). With `reader`, the value is resolved into
   * the reader schema (older/newer writers fill defaults, drop unknown fields). Throws WireFormatError,
   * AvroDecodeError, RegistryError (e.g. unknown id) or RegistryUnavailableError (retry later).
   */
  async decode<T = unknown>(buf: Buffer, reader?: Type): Promise<DecodedRecord<T>> {
    const known = this.decodeIfKnown<T>(buf, reader);
    if (known) return known;
    const { schemaId, payload } = readWireHeader(buf);
    let writerType: Type;
    try {
      writerType = await this.writerType(schemaId);
    } catch (error) {
      if (error instanceof RegistryError && error.registryStatus === 404) {
        throw new AvroDecodeError('$', 'a schema id known to the registry', `id ${schemaId}: ${error.message}`);
      }
      throw error;
    }
    const resolver = reader && reader !== writerType ? this.resolver(reader, schemaId, writerType) : undefined;
    const value = safeDecode<T>(writerType, payload, { ...this.opts, reader, resolver });
    return { schemaId, writerType, value };
  }

  /**
   * decode without waiting when the record's writer schema has been fetched already (a stage decodes every record
   * this way, so a batch allocates no promise per record). undefined when it has not (use decode); throws as decode.
   */
  decodeIfKnown<T = unknown>(buf: Buffer, reader?: Type): DecodedRecord<T> | undefined {
    const { schemaId, payload } = readWireHeader(buf);
    const writerType = this.knownWriters.get(schemaId);
    if (!writerType) return undefined;
    const resolver = reader && reader !== writerType ? this.resolver(reader, schemaId, writerType) : undefined;
    return { schemaId, writerType, value: safeDecode<T>(writerType, payload, { ...this.opts, reader, resolver }) };
  }

  private resolver(reader: Type, schemaId: number, writer: Type): Resolver {
    let byId = this.resolvers.get(reader);
    if (!byId) this.resolvers.set(reader, (byId = new Map()));
    let r = byId.get(schemaId);
    if (!r) {
      try {
        r = reader.createResolver(writer);
      } catch (error) {
        throw new AvroDecodeError('$', `data readable as ${reader.name ?? reader.typeName}`, `writer schema id ${schemaId} is incompatible: ${(error as Error).message}`);
      }
      byId.set(schemaId, r);
    }
    return r;
  }
}
