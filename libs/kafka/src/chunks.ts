import type { Message } from 'kafkajs';
import { KAFKA_DEFAULTS } from './defaults';

/**
 * Splits messages into sends that a broker with the default limits accepts: kafkajs writes one send's messages
 * to a partition as one record batch, which must fit the topic's max.message.bytes (1 MB by default). A chunk holds at most `maxCount` messages and about
 * `maxBytes` of keys, values and headers (a single larger message goes alone; the broker judges it).
 */
export function chunkMessages(messages: Message[], maxBytes: number = KAFKA_DEFAULTS.sendChunkBytes, maxCount: number = KAFKA_DEFAULTS.sendChunkMessages): Message[][] {
  const chunks: Message[][] = [];
  let current: Message[] = [];
  let bytes = 0;
  for (const m of messages) {
    const size = sizeOf(m.key) + sizeOf(m.value) + Object.entries(m.headers ?? {}).reduce((n, [k, v]) => n + k.length + sizeOf(v as Buffer | string | undefined), 0) + 70;
    if (current.length > 0 && (bytes + size > maxBytes || current.length >= maxCount)) {
      chunks.push(current);
      current = [];
      bytes = 0;
    }
    current.push(m);
    bytes += size;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}

function sizeOf(x: Buffer | string | null | undefined | Array<Buffer | string>): number {
  if (x === null || x === undefined) return 0;
  if (Array.isArray(x)) return x.reduce((n, v) => n + sizeOf(v), 0);
  return typeof x === 'string' ? Buffer.byteLength(x) : x.length;
}
