// Must load before kafkajs: it replaces kafkajs' read_committed filter (see the file).
import './aborted-filter';
import { AsyncLocalStorage } from 'node:async_hooks';
import { createRequire } from 'node:module';
import type { Admin } from 'kafkajs';

/**
 * Group fencing for transactions (KIP-447), which kafkajs 2.2.4 does not speak. With it one transactional producer
 * can commit the offsets of every partition its consumer owns in one transaction, as Kafka Streams' exactly_once_v2
 * does, instead of one producer and one transaction per input partition:
 * - TxnOffsetCommit v3 carries the consumer's generation and member id. The group coordinator refuses the offsets of
 *   a member that is no longer in the group or of an older generation (ILLEGAL_GENERATION, UNKNOWN_MEMBER_ID), so a
 *   zombie that lost its partitions in a rebalance cannot commit a transaction that consumed them.
 * - OffsetFetch v7 with require_stable: the coordinator answers UNSTABLE_OFFSET_COMMIT while a transaction that
 *   sent offsets for the partition is still open, so a new owner starts from what is final, never from an offset a
 *   zombie's pending transaction is about to move.
 * Both are added beside kafkajs' own versions and used only when asked for: an offset commit that carries group
 * metadata (`withGroupMetadata`) and an offset fetch inside `fetchStableOffsets`. Every other request goes out in the
 * version kafkajs chose before.
 */

export interface GroupMetadata {
  generationId: number;
  memberId: string;
}

const require = createRequire(import.meta.url);
const INSTALLED = Symbol.for('streamloop.kafkajs.groupFencing');

/** Offsets arrays handed to `transaction.sendOffsets`, with the group metadata their commit must carry. */
const metadataOfOffsets = new WeakMap<object, GroupMetadata>();
/** Set while `fetchStableOffsets` runs: its offset fetches ask for stable offsets. */
const stableFetch = new AsyncLocalStorage<boolean>();
/** The generation each member (by the id the coordinator gave it) last synced, recorded from kafkajs' SyncGroup calls. */
const generations = new Map<string, number>();

interface Encoder {
  writeInt16(v: number): Encoder; writeInt32(v: number): Encoder; writeInt64(v: string | number): Encoder; writeBoolean(v: boolean): Encoder;
  writeUVarInt(v: number): Encoder; writeUVarIntString(v: string | null): Encoder; writeUVarIntArray(v: Encoder[] | null): Encoder;
}
interface Decoder {
  readInt16(): number; readInt32(): number; readInt64(): { toString(): string }; readUVarIntString(): string | null;
  readUVarIntArray<T>(reader: (d: Decoder) => T): T[] | null; readTaggedFields(): unknown;
}
type EncoderClass = new () => Encoder;
type DecoderClass = new (buffer: Buffer) => Decoder;
interface ProtocolModule {
  versions: string[];
  protocol: (q: { version: string }) => (args: Record<string, unknown>) => { request: unknown; response: unknown };
}

/** Tells the transactional offset commit of `offsets` (the array given to sendOffsets) which group member sends it. */
export function withGroupMetadata<T extends object>(offsets: T, metadata: GroupMetadata): T {
  metadataOfOffsets.set(offsets, metadata);
  return offsets;
}

/** The generation the member `memberId` of a group is in, as of its last SyncGroup (undefined before the first). */
export function generationOf(memberId: string): number | undefined {
  return generations.get(memberId);
}

/**
 * A group's committed offsets of one topic (partition → offset, −1 for none), waiting while any of them is held by an
 * open transaction, for at most `timeoutMs` (an open transaction ends by commit, abort or its transaction timeout).
 */
export async function fetchStableOffsets(admin: Admin, groupId: string, topic: string, timeoutMs: number): Promise<Map<number, bigint>> {
  const deadline = Date.now() + timeoutMs;
  for (let wait = 10; ; wait = Math.min(wait * 2, 200)) {
    try {
      const [offsets] = await stableFetch.run(true, () => admin.fetchOffsets({ groupId, topics: [topic] }));
      return new Map((offsets?.partitions ?? []).map((p) => [p.partition, Number(p.offset) >= 0 ? BigInt(p.offset) : -1n]));
    } catch (error) {
      if ((error as { type?: string }).type !== 'UNSTABLE_OFFSET_COMMIT' || Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, wait));
    }
  }
}

/** Installs both request versions and the generation bookkeeping into kafkajs once per process. */
export function installGroupFencing(): void {
  const version = (require('kafkajs/package.json') as { version: string }).version;
  if (version !== '2.2.4') throw new Error(`installGroupFencing: written for kafkajs 2.2.4, found ${version}`);
  const Broker = require('kafkajs/src/broker') as { prototype: Record<string | symbol, unknown> };
  if (Broker.prototype[INSTALLED]) return;
  Broker.prototype[INSTALLED] = true;
  const Encoder = require('kafkajs/src/protocol/encoder') as EncoderClass;
  const Decoder = require('kafkajs/src/protocol/decoder') as DecoderClass;
  const apiKeys = require('kafkajs/src/protocol/requests/apiKeys') as Record<string, number>;
  const { failure, createErrorFromCode } = require('kafkajs/src/protocol/error') as { failure(code: number): boolean; createErrorFromCode(code: number): Error };

  const syncGroup = Broker.prototype.syncGroup as (this: unknown, q: { generationId: number; memberId: string }) => Promise<unknown>;
  Broker.prototype.syncGroup = async function syncGroupRecorded(this: unknown, query: { generationId: number; memberId: string }) {
    const answer = await syncGroup.call(this, query);
    generations.set(query.memberId, query.generationId);
    return answer;
  };

  const throwOnPartitionError = (topics: Array<{ partitions: Array<{ errorCode: number }> }>) => {
    for (const t of topics) for (const p of t.partitions) if (failure(p.errorCode)) throw createErrorFromCode(p.errorCode);
  };

  // TxnOffsetCommit v3 (flexible): transactional_id group_id producer_id producer_epoch generation_id member_id
  // group_instance_id [topics: name [partitions: partition_index committed_offset committed_leader_epoch committed_metadata]]
  const txnOffsetCommitV3 = (args: {
    transactionalId: string; groupId: string; producerId: string | number; producerEpoch: number;
    topics: Array<{ topic: string; partitions: Array<{ partition: number; offset: string; metadata?: string | null }> }>;
  }, metadata: GroupMetadata) => ({
    request: {
      apiKey: apiKeys.TxnOffsetCommit,
      apiVersion: 3,
      apiName: 'TxnOffsetCommit',
      encode: async () => new Encoder()
        .writeUVarInt(0) // request header v2's tagged fields, which kafkajs' header v1 lacks
        .writeUVarIntString(args.transactionalId)
        .writeUVarIntString(args.groupId)
        .writeInt64(args.producerId)
        .writeInt16(args.producerEpoch)
        .writeInt32(metadata.generationId)
        .writeUVarIntString(metadata.memberId)
        .writeUVarIntString(null)
        .writeUVarIntArray(args.topics.map((t) => new Encoder()
          .writeUVarIntString(t.topic)
          .writeUVarIntArray(t.partitions.map((p) => new Encoder()
            .writeInt32(p.partition).writeInt64(p.offset).writeInt32(-1).writeUVarIntString(p.metadata ?? null).writeUVarInt(0)))
          .writeUVarInt(0)))
        .writeUVarInt(0),
    },
    response: {
      decode: async (raw: Buffer) => {
        const d = new Decoder(raw);
        d.readTaggedFields();
        const throttleTime = d.readInt32();
        const topics = d.readUVarIntArray((t) => {
          const topic = { topic: t.readUVarIntString(), partitions: t.readUVarIntArray((p) => {
            const partition = { partition: p.readInt32(), errorCode: p.readInt16() };
            p.readTaggedFields();
            return partition;
          }) ?? [] };
          t.readTaggedFields();
          return topic;
        }) ?? [];
        d.readTaggedFields();
        return { throttleTime: 0, clientSideThrottleTime: throttleTime, topics };
      },
      parse: async (data: { topics: Array<{ partitions: Array<{ errorCode: number }> }> }) => {
        throwOnPartitionError(data.topics);
        return data;
      },
    },
  });

  // OffsetFetch v7 (flexible): group_id [topics: name [partition_indexes]] require_stable
  const offsetFetchV7 = (args: { groupId: string; topics: Array<{ topic: string; partitions: Array<{ partition: number }> }> | null }) => ({
    request: {
      apiKey: apiKeys.OffsetFetch,
      apiVersion: 7,
      apiName: 'OffsetFetch',
      encode: async () => {
        const e = new Encoder().writeUVarInt(0).writeUVarIntString(args.groupId);
        if (args.topics === null) e.writeUVarInt(0);
        else {
          e.writeUVarIntArray(args.topics.map((t) => {
            const te = new Encoder().writeUVarIntString(t.topic).writeUVarInt(t.partitions.length + 1);
            for (const p of t.partitions) te.writeInt32(p.partition);
            return te.writeUVarInt(0);
          }));
        }
        return e.writeBoolean(true).writeUVarInt(0);
      },
    },
    response: {
      decode: async (raw: Buffer) => {
        const d = new Decoder(raw);
        d.readTaggedFields();
        const throttleTime = d.readInt32();
        const responses = d.readUVarIntArray((t) => {
          const topic = { topic: t.readUVarIntString(), partitions: t.readUVarIntArray((p) => {
            const partition = { partition: p.readInt32(), offset: p.readInt64().toString() };
            p.readInt32(); // committed leader epoch
            const metadata = p.readUVarIntString();
            const errorCode = p.readInt16();
            p.readTaggedFields();
            return { ...partition, metadata, errorCode };
          }) ?? [] };
          t.readTaggedFields();
          return topic;
        }) ?? [];
        const errorCode = d.readInt16();
        d.readTaggedFields();
        return { throttleTime: 0, clientSideThrottleTime: throttleTime, responses, errorCode };
      },
      parse: async (data: { errorCode: number; responses: Array<{ partitions: Array<{ errorCode: number }> }> }) => {
        if (failure(data.errorCode)) throw createErrorFromCode(data.errorCode);
        throwOnPartitionError(data.responses);
        return data;
      },
    },
  });

  // Each request module gets a new highest version that the broker picks when it knows it; the new version answers
  // with kafkajs' own former highest version unless its caller asked for what it adds.
  const extend = (path: string, added: string, use: (args: Record<string, unknown>) => unknown) => {
    const module = require(path) as ProtocolModule;
    const previous = module.versions[module.versions.length - 1];
    const protocol = module.protocol;
    module.versions = [...module.versions, added];
    module.protocol = ({ version }) => {
      if (String(version) !== added) return protocol({ version });
      return (args) => (use(args) as ReturnType<ReturnType<ProtocolModule['protocol']>>) ?? protocol({ version: previous })(args);
    };
  };
  extend('kafkajs/src/protocol/requests/txnOffsetCommit', '3', (args) => {
    const metadata = metadataOfOffsets.get(args.topics as object);
    return metadata ? txnOffsetCommitV3(args as Parameters<typeof txnOffsetCommitV3>[0], metadata) : undefined;
  });
  extend('kafkajs/src/protocol/requests/offsetFetch', '7', (args) => (stableFetch.getStore() ? offsetFetchV7(args as Parameters<typeof offsetFetchV7>[0]) : undefined));
}
