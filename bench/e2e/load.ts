// The load generator: a producer app sending pre-encoded events at a fixed offered rate (or as fast as it can).
// Encoding happens before the clock starts, so the generator spends its time sending; each event's send time is the
// moment its batch is handed to the producer (performance.now(), the clock the probe also reads), and the record's
// Kafka timestamp is the same instant in wall-clock time.
import { performance } from 'node:perf_hooks';
import type { Producer } from '@streamloop/kafka';
import { quantile } from './probe';

export interface LoadEvent {
  /** The id the probe matches outputs by. */
  id: string;
  key: string;
  value: Buffer;
}

export interface LoadResult {
  sent: number;
  /** From the first send call until every send was acknowledged. */
  seconds: number;
  /** Events per second sent and acknowledged: sent / seconds. */
  achievedRate: number;
  /** From handing a batch to the producer until the broker acknowledged it (acks=all), over the phase's batches. */
  ackMs: { p50: number; p99: number; max: number };
}

/** How often the paced generator wakes up; at 2,000 events/s a tick carries about 10 events. */
const TICK_MS = 5;
/** Unacknowledged sends before the generator waits (the producer's own queue would grow without bound otherwise). */
const MAX_PENDING_SENDS = 32;
/** Batch size when sending as fast as possible. */
const SATURATION_BATCH = 500;

/**
 * Sends `events` to `topic` at `rate` events/s (undefined: as fast as possible), calling `onSending` with each batch
 * just before it is handed to the producer.
 */
export async function sendEvents(
  producer: Producer,
  topic: string,
  events: LoadEvent[],
  rate: number | undefined,
  onSending: (batch: LoadEvent[], sentAt: number) => void,
): Promise<LoadResult> {
  const pending: Promise<unknown>[] = [];
  const started = performance.now();
  const acks: number[] = [];
  let next = 0;
  const sendBatch = async (batch: LoadEvent[]) => {
    const sentAt = performance.now();
    const timestamp = String(Date.now());
    onSending(batch, sentAt);
    const sending = producer.send({ topic, acks: -1, messages: batch.map((e) => ({ key: e.key, value: e.value, timestamp })) });
    pending.push(sending.then(() => void acks.push(performance.now() - sentAt)));
    if (pending.length >= MAX_PENDING_SENDS) await pending.shift();
  };
  while (next < events.length) {
    if (rate === undefined) {
      await sendBatch(events.slice(next, next + SATURATION_BATCH));
      next = Math.min(events.length, next + SATURATION_BATCH);
      continue;
    }
    // Catch up to the schedule: the number due by now, whatever the timer's lateness was.
    const due = Math.min(events.length, Math.floor(((performance.now() - started) / 1000) * rate) + 1);
    if (due > next) {
      await sendBatch(events.slice(next, due));
      next = due;
    }
    if (next < events.length) await new Promise((r) => setTimeout(r, TICK_MS));
  }
  await Promise.all(pending);
  const seconds = (performance.now() - started) / 1000;
  const sortedAcks = Float64Array.from(acks).sort();
  return {
    sent: events.length,
    seconds,
    achievedRate: events.length / seconds,
    ackMs: { p50: quantile(sortedAcks, 0.5), p99: quantile(sortedAcks, 0.99), max: sortedAcks[sortedAcks.length - 1] ?? Number.NaN },
  };
}
