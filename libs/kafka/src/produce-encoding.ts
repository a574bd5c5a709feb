import { createRequire } from 'node:module';
import { isReplaced, replaceKafkajsModule } from './module-patch';

/**
 * kafkajs 2.2.4 encodes a produce request record by record: each record is a new Encoder (a zero-filled 512-byte
 * buffer), its varints go through byte arrays and its 64-bit varints through Long objects, every message is copied
 * with an object spread, and the encoders are concatenated level by level (records, batch, partition, topic, request).
 * In the services' CPU profiles that is the largest single cost of a stage (bench:features: the record encoding and its
 * buffers and collections ~15 % of the process). This writes the same bytes — checked byte for byte against kafkajs'
 * own encoder (produce-encoding.test.ts) — into one buffer sized in advance. Anything it does not handle the way kafkajs
 * does for certain (compression, keys or values that are neither strings nor buffers, null headers, odd timestamps)
 * is encoded by kafkajs' original. It replaces produce request v3 in kafkajs' module cache (v4 to v7 are v3 with
 * another version number), before kafkajs loads it (imported by aborted-filter.ts, the first import of libs/kafka).
 */

const require = createRequire(import.meta.url);

/** kafkajs' 64-bit integer (a BigInt inside). */
interface KafkaLong {
  getHighBits(): number;
  getLowBits(): number;
}
interface KafkaEncoder {
  buf: Buffer;
  offset: number;
}
interface ProduceMessage {
  key?: unknown;
  value?: unknown;
  headers?: unknown;
  timestamp?: unknown;
}
interface ProduceArgs {
  acks: number;
  timeout: number;
  transactionalId?: string | null;
  producerId?: unknown;
  producerEpoch?: number;
  compression?: number;
  topicData: Array<{ topic: string; partitions: Array<{ partition: number; firstSequence?: number; messages: ProduceMessage[] }> }>;
}
interface ProduceRequest {
  apiKey: number;
  apiVersion: number;
  apiName: string;
  expectResponse(): boolean;
  encode(): Promise<KafkaEncoder>;
}
type ProduceRequestFactory = (args: ProduceArgs) => ProduceRequest;

const REQUEST_MODULE = 'kafkajs/src/protocol/requests/produce/v3/request';
const LOADED_BY = 'kafkajs/src/protocol/requests/produce/v4/request';

const Long = require('kafkajs/src/utils/long') as { fromValue(value: unknown): KafkaLong };
const Encoder = require('kafkajs/src/protocol/encoder') as new (initialSize?: number) => KafkaEncoder;
const crc32C = require('kafkajs/src/protocol/recordBatch/crc32C') as (buffer: Buffer) => number;
const { Types: Compression } = require('kafkajs/src/protocol/message/compression') as { Types: { None: number } };
const { Produce: PRODUCE_API_KEY } = require('kafkajs/src/protocol/requests/apiKeys') as { Produce: number };
/** kafkajs' own produce request v3, kept for what the fast path leaves to it (and for the tests' comparison). */
export const kafkajsProduceRequest = require(REQUEST_MODULE) as ProduceRequestFactory;

const MAGIC_BYTE = 2;
const ZERO = Long.fromValue(0);
const TRANSACTIONAL_ATTRIBUTE = 16;
/** Record deltas beyond this are left to kafkajs (its 64-bit arithmetic); doubles are exact well past it. */
const MAX_TIMESTAMP_DELTA = 2 ** 50;
/** attributes, last offset delta, first and max timestamp, producer id and epoch, first sequence, record count */
const BATCH_BODY_HEADER_BYTES = 2 + 4 + 8 + 8 + 8 + 2 + 4 + 4;
/** first offset, batch length, partition leader epoch, magic byte, crc */
const BATCH_PREFIX_BYTES = 8 + 4 + 4 + 1 + 4;

/** One record's parts, measured. */
interface PlannedRecord {
  delta: number;
  key: Buffer | string | null;
  value: Buffer | string | null;
  headers: Array<[string, Buffer | string]>;
  bodyBytes: number;
}
interface PlannedBatch {
  partition: number;
  firstSequence: number;
  firstTimestamp: KafkaLong;
  maxTimestamp: KafkaLong;
  records: PlannedRecord[];
  /** The record batch as kafkajs' RecordBatch encoder holds it (first offset onwards). */
  bytes: number;
}

function zigZag32(value: number): number {
  return (value << 1) ^ (value >> 31);
}

function varIntBytes(value: number): number {
  let v = zigZag32(value);
  let n = 1;
  while ((v & 0xffffff80) !== 0) {
    n++;
    v >>>= 7;
  }
  return n;
}

/** Zig-zag of a 64-bit value given as an integer within ±2^50 (exact as a double). */
function zigZag64(value: number): number {
  return value >= 0 ? value * 2 : -value * 2 - 1;
}

function varLongBytes(value: number): number {
  let v = zigZag64(value);
  let n = 1;
  while (v >= 128) {
    n++;
    v = Math.floor(v / 128);
  }
  return n;
}

/** Bytes of a length-prefixed (varint) field; null is the length -1 alone. */
function sizedBytes(value: Buffer | string | null): number {
  if (value === null) return varIntBytes(-1);
  const length = typeof value === 'string' ? Buffer.byteLength(value) : value.length;
  return varIntBytes(length) + length;
}

function asBytes(value: unknown): Buffer | string | null | undefined {
  if (value === null || value === undefined) return null;
  if (typeof value === 'string' || Buffer.isBuffer(value)) return value;
  return undefined;
}

/** Measures one partition's batch as kafkajs would write it, or undefined for anything left to kafkajs. */
function planBatch(partition: number, firstSequence: number, messages: ProduceMessage[]): PlannedBatch | undefined {
  const now = Date.now();
  // As kafkajs: the timestamps present, sorted as strings (Array#sort's default), give the first and the max.
  const stamps: unknown[] = [];
  for (const m of messages) if (m.timestamp != null) stamps.push(m.timestamp);
  stamps.sort();
  const first = stamps.length === 0 ? now : stamps[0];
  const max = stamps.length === 0 ? now : stamps[stamps.length - 1];
  const records: PlannedRecord[] = [];
  let bytes = BATCH_PREFIX_BYTES + BATCH_BODY_HEADER_BYTES;
  for (let i = 0; i < messages.length; i++) {
    const m = messages[i];
    const delta = ((m.timestamp || now) as number) - (first as number);
    if (!Number.isSafeInteger(delta) || Math.abs(delta) > MAX_TIMESTAMP_DELTA) return undefined;
    const key = asBytes(m.key);
    const value = asBytes(m.value);
    if (key === undefined || value === undefined) return undefined;
    const headers: Array<[string, Buffer | string]> = [];
    if (m.headers !== undefined) {
      if (m.headers === null || typeof m.headers !== 'object') return undefined;
      const source = m.headers as Record<string, unknown>;
      for (const name of Object.keys(source)) {
        const h = source[name];
        for (const v of Array.isArray(h) ? h : [h]) {
          if (typeof v !== 'string' && !Buffer.isBuffer(v)) return undefined;
          headers.push([name, v]);
        }
      }
    }
    let bodyBytes = 1 + varLongBytes(delta) + varIntBytes(i) + sizedBytes(key) + sizedBytes(value) + varIntBytes(headers.length);
    for (const [name, v] of headers) bodyBytes += sizedBytes(name) + sizedBytes(v);
    records.push({ delta, key, value, headers, bodyBytes });
    bytes += varIntBytes(bodyBytes) + bodyBytes;
  }
  return { partition, firstSequence, firstTimestamp: Long.fromValue(first), maxTimestamp: Long.fromValue(max), records, bytes };
}

/** Writes into one buffer, front to back. */
class Writer {
  pos = 0;
  constructor(readonly buf: Buffer) {}

  int8(v: number): void {
    this.buf.writeInt8(v, this.pos);
    this.pos += 1;
  }
  int16(v: number): void {
    this.buf.writeInt16BE(v, this.pos);
    this.pos += 2;
  }
  int32(v: number): void {
    this.buf.writeInt32BE(v, this.pos);
    this.pos += 4;
  }
  int64(v: KafkaLong): void {
    this.buf.writeInt32BE(v.getHighBits(), this.pos);
    this.buf.writeInt32BE(v.getLowBits(), this.pos + 4);
    this.pos += 8;
  }
  /** A 16-bit length and the UTF-8 bytes; null is the length -1. */
  string(v: string | null): void {
    if (v === null) return this.int16(-1);
    const length = Buffer.byteLength(v);
    this.int16(length);
    this.pos += this.buf.write(v, this.pos, length, 'utf8');
  }
  varInt(v: number): void {
    let z = zigZag32(v);
    while ((z & 0xffffff80) !== 0) {
      this.buf[this.pos++] = (z & 0x7f) | 0x80;
      z >>>= 7;
    }
    this.buf[this.pos++] = z & 0x7f;
  }
  varLong(v: number): void {
    let z = zigZag64(v);
    while (z >= 128) {
      this.buf[this.pos++] = (z % 128) | 0x80;
      z = Math.floor(z / 128);
    }
    this.buf[this.pos++] = z;
  }
  sized(v: Buffer | string | null): void {
    if (v === null) return this.varInt(-1);
    if (typeof v === 'string') {
      const length = Buffer.byteLength(v);
      this.varInt(length);
      this.pos += this.buf.write(v, this.pos, length, 'utf8');
    } else {
      this.varInt(v.length);
      this.pos += v.copy(this.buf, this.pos);
    }
  }
}

function writeBatch(w: Writer, batch: PlannedBatch, producerId: KafkaLong, producerEpoch: number, transactional: boolean): void {
  w.int64(ZERO); // first offset
  w.int32(batch.bytes - 12); // what follows this length
  w.int32(0); // partition leader epoch
  w.int8(MAGIC_BYTE);
  const crcAt = w.pos;
  w.pos += 4;
  const bodyAt = w.pos;
  w.int16(transactional ? TRANSACTIONAL_ATTRIBUTE : 0); // no compression, create time
  w.int32(batch.records.length - 1); // last offset delta
  w.int64(batch.firstTimestamp);
  w.int64(batch.maxTimestamp);
  w.int64(producerId);
  w.int16(producerEpoch);
  w.int32(batch.firstSequence);
  w.int32(batch.records.length);
  for (let i = 0; i < batch.records.length; i++) {
    const r = batch.records[i];
    w.varInt(r.bodyBytes);
    w.int8(0); // record attributes
    w.varLong(r.delta);
    w.varInt(i);
    w.sized(r.key);
    w.sized(r.value);
    w.varInt(r.headers.length);
    for (const [name, v] of r.headers) {
      w.sized(name);
      w.sized(v);
    }
  }
  w.buf.writeUInt32BE(crc32C(w.buf.subarray(bodyAt, w.pos)), crcAt);
}

/** The request body (what kafkajs' encode returns), or undefined when kafkajs should encode it. */
export function encodeProduceRequest(args: ProduceArgs): Buffer | undefined {
  try {
    return encodeOrDecline(args);
  } catch (error) {
    if (error instanceof EncodingMismatchError) throw error;
    return undefined; // e.g. a timestamp kafkajs' Long refuses: kafkajs' own encoder fails with its own error
  }
}

/** The bytes written differ from the bytes measured: a defect here, never left to kafkajs quietly. */
class EncodingMismatchError extends Error {}

function encodeOrDecline(args: ProduceArgs): Buffer | undefined {
  if ((args.compression ?? Compression.None) !== Compression.None) return undefined;
  const transactionalId = args.transactionalId ?? null;
  if (transactionalId !== null && typeof transactionalId !== 'string') return undefined;
  const producerId = Long.fromValue(args.producerId ?? -1);
  const producerEpoch = args.producerEpoch ?? 0;
  const planned: Array<{ topic: string; batches: PlannedBatch[] }> = [];
  let bytes = 2 + (transactionalId === null ? 0 : Buffer.byteLength(transactionalId)) + 2 + 4 + 4;
  for (const { topic, partitions } of args.topicData) {
    if (typeof topic !== 'string') return undefined;
    const batches: PlannedBatch[] = [];
    bytes += 2 + Buffer.byteLength(topic) + 4;
    for (const p of partitions) {
      const batch = planBatch(p.partition, p.firstSequence ?? 0, p.messages);
      if (!batch) return undefined;
      batches.push(batch);
      bytes += 4 + 4 + batch.bytes;
    }
    planned.push({ topic, batches });
  }
  const w = new Writer(Buffer.allocUnsafe(bytes));
  w.string(transactionalId);
  w.int16(args.acks);
  w.int32(args.timeout);
  w.int32(planned.length);
  for (const { topic, batches } of planned) {
    w.string(topic);
    w.int32(batches.length);
    for (const batch of batches) {
      w.int32(batch.partition);
      w.int32(batch.bytes);
      writeBatch(w, batch, producerId, producerEpoch, transactionalId !== null);
    }
  }
  if (w.pos !== bytes) throw new EncodingMismatchError(`produce request: wrote ${w.pos} bytes, measured ${bytes}`);
  return w.buf;
}

/** Produce request v3 as kafkajs builds it, encoded by encodeProduceRequest where it can. */
export const produceRequest: ProduceRequestFactory = (args) => ({
  apiKey: PRODUCE_API_KEY,
  apiVersion: 3,
  apiName: 'Produce',
  expectResponse: () => args.acks !== 0,
  encode: async () => {
    const body = encodeProduceRequest(args);
    if (!body) return kafkajsProduceRequest(args).encode();
    // kafkajs reads an encoder's `buf` up to its `offset` (Encoder#buffer, Encoder#writeEncoder).
    const encoder = new Encoder(0);
    encoder.buf = body;
    encoder.offset = body.length;
    return encoder;
  },
});

replaceKafkajsModule(REQUEST_MODULE, LOADED_BY, produceRequest);

/** Throws unless kafkajs' produce requests are encoded by produceRequest. */
export function verifyProduceEncoding(): void {
  if (!isReplaced(REQUEST_MODULE, produceRequest)) {
    throw new Error('kafkajs was loaded before @streamloop/kafka could replace its produce request encoding: import @streamloop/kafka before kafkajs');
  }
}
