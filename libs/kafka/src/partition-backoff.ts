import type { Consumer } from 'kafkajs';

/** Backoff before the n-th retry of a partition's failed batch: 200 ms doubling to 5 s. */
export function retryDelayMs(attempt: number): number {
  return Math.min(5000, 100 * 2 ** Math.min(Math.max(attempt, 1), 6));
}

/**
 * Retries a failed batch without holding the other partitions up. kafkajs fetches again only when every batch of
 * the last fetch has been handled, so a batch that waits out its backoff inside the handler stops every partition
 * of the consumer. Instead the failed partition is paused, its position set back to the batch's first offset, and
 * it is resumed after the backoff: the other partitions go on being fetched meanwhile.
 */
export class PartitionBackoff {
  private readonly attempts = new Map<string, number>();
  private readonly timers = new Set<NodeJS.Timeout>();

  constructor(private readonly consumer: Consumer) {}

  /** Records a failure of the batch starting at `firstOffset`; returns which attempt it was. */
  failed(topic: string, partition: number, firstOffset: string): number {
    const key = `${topic}:${partition}`;
    const attempt = (this.attempts.get(key) ?? 0) + 1;
    this.attempts.set(key, attempt);
    const target = [{ topic, partitions: [partition] }];
    this.consumer.pause(target);
    this.consumer.seek({ topic, partition, offset: firstOffset });
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      this.consumer.resume(target);
    }, retryDelayMs(attempt));
    this.timers.add(timer);
    return attempt;
  }

  /** A batch of the partition went through: its next failure starts the backoff again. */
  succeeded(topic: string, partition: number): void {
    this.attempts.delete(`${topic}:${partition}`);
  }

  /** After a rebalance: partitions may have moved, and whatever comes back starts afresh. */
  reset(): void {
    this.attempts.clear();
  }

  stop(): void {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
  }
}
