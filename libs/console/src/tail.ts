import { randomUUID } from 'node:crypto';
import { fetchTopicEnds, type Kafka } from '@streamloop/kafka';

export interface TailRecord {
  partition: number;
  offset: string;
  timestamp: string;
  key: Buffer | null;
  value: Buffer | null;
  headers: Record<string, Buffer | undefined>;
}

/**
 * The last `perPartition` records of each partition of a topic, read with read_committed by a throwaway consumer
 * that commits nothing: from max(log start, high watermark − perPartition) to the high watermark read first.
 * Aborted records and transaction markers occupy offsets too, so a partition may yield fewer. Records in offset
 * order per partition, partitions in order.
 */
export async function readTopicTail(kafka: Kafka, topic: string, perPartition: number, timeoutMs = 15_000): Promise<TailRecord[]> {
  const admin = kafka.admin();
  await admin.connect();
  let ends: Array<{ partition: number; low: string; high: string }>;
  try {
    ends = await fetchTopicEnds(admin, topic);
  } finally {
    await admin.disconnect();
  }
  const starts = new Map<number, bigint>();
  const stops = new Map<number, bigint>();
  for (const p of ends) {
    const high = BigInt(p.high);
    const start = high - BigInt(perPartition) > BigInt(p.low) ? high - BigInt(perPartition) : BigInt(p.low);
    if (high > start) {
      starts.set(p.partition, start);
      stops.set(p.partition, high);
    }
  }
  if (stops.size === 0) return [];
  const pending = new Set(stops.keys());
  const records: TailRecord[] = [];
  const consumer = kafka.consumer({ groupId: `streamloop-console-tail-${randomUUID()}`, readUncommitted: false });
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`reading the last records of ${topic} timed out after ${timeoutMs} ms`)), timeoutMs);
      const passed = (partition: number, lastOffset: bigint) => {
        if (pending.has(partition) && lastOffset + 1n >= (stops.get(partition) ?? 0n)) pending.delete(partition);
        if (pending.size === 0) {
          clearTimeout(timer);
          resolve();
        }
      };
      // A new group starts at the log start: jump to where the tail begins once the partitions are assigned.
      consumer.on(consumer.events.GROUP_JOIN, () => {
        for (const [partition, offset] of starts) consumer.seek({ topic, partition, offset: String(offset) });
      });
      consumer.run({
        autoCommit: false,
        eachBatch: async ({ batch }) => {
          const start = starts.get(batch.partition);
          const stop = stops.get(batch.partition);
          if (start === undefined || stop === undefined) return;
          for (const m of batch.messages) {
            const offset = BigInt(m.offset);
            if (offset < start || offset >= stop) continue;
            records.push({ partition: batch.partition, offset: m.offset, timestamp: m.timestamp, key: m.key, value: m.value, headers: headersOf(m.headers) });
          }
          // Filtered batches (aborted data, markers) still report their last offset.
          passed(batch.partition, BigInt(batch.lastOffset()));
        },
      }).catch(reject);
    });
  } finally {
    await consumer.disconnect().catch(() => undefined);
  }
  records.sort((a, b) => a.partition - b.partition || (BigInt(a.offset) < BigInt(b.offset) ? -1 : 1));
  return records;
}

/** kafkajs headers (Buffer, string or arrays of them) as one Buffer per name (the last when repeated). */
export function headersOf(headers: Record<string, unknown> | undefined): Record<string, Buffer | undefined> {
  const out: Record<string, Buffer | undefined> = {};
  for (const [name, raw] of Object.entries(headers ?? {})) {
    const value = Array.isArray(raw) ? raw[raw.length - 1] : raw;
    out[name] = value === undefined || value === null ? undefined : Buffer.isBuffer(value) ? value : Buffer.from(String(value));
  }
  return out;
}
