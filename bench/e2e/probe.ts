// The outside reader every system is measured by: its own kafkajs client and consumer group, read_committed, the
// same settings whoever wrote the topic. It matches each output record to the input event that caused it (by event
// id) and keeps, per phase, the latency from the moment the load generator handed the event to its producer to the
// moment the committed output record reached this consumer (both clocks are this process's performance.now()).
import { appendFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { createKafka, type Consumer } from '@streamloop/kafka';

/** Send time and outcome of one input event. */
interface Sent {
  phase: string;
  sentAt: number;
  seen: number;
}

export interface PhaseLatency {
  /** Events the load generator sent in the phase. */
  sent: number;
  /** Distinct events of the phase seen at the output. */
  received: number;
  /** Output records beyond the first for an event (0 for exactly-once). */
  duplicates: number;
  /** Sent events never seen at the output before the drain ended. */
  missing: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
  mean: number;
  /** performance.now() of the first and last first-sighting of one of the phase's events. */
  firstSeenAt: number;
  lastSeenAt: number;
}

export class LatencyProbe {
  private readonly sent = new Map<string, Sent>();
  private readonly latencies = new Map<string, number[]>();
  /** BENCH_E2E_TRACE=FILE: every first sighting as (topic, phase, sent at, latency ms), appended to FILE at stop (to study the tail over time). */
  private readonly trace: Array<[string, number, number]> = [];
  private readonly receivedByPhase = new Map<string, number>();
  private readonly seenSpan = new Map<string, { first: number; last: number }>();
  /** Output records whose id this run never sent (e.g. left over from another run sharing the broker). */
  unknown = 0;
  /** Output records whose id could not be read. */
  unreadable = 0;

  private constructor(
    private readonly consumer: Consumer,
    readonly topic: string,
  ) {}

  /**
   * Joins a group of its own on `topic` (from the beginning) and resolves once it has partitions, so that nothing
   * sent afterwards can be missed. `idOf` reads the event id out of an output record's value.
   */
  static async start(brokers: string[], topic: string, idOf: (value: Buffer) => string | Promise<string>, tag: string): Promise<LatencyProbe> {
    const kafka = createKafka({ brokers, clientId: `bench-e2e-probe-${tag}` });
    const consumer = kafka.consumer({
      groupId: `bench-e2e-probe-${tag}-${topic}`,
      readUncommitted: false,
      // An empty fetch returns after this long at most; data returns as soon as it is committed (minBytes 1).
      maxWaitTimeInMs: 100,
      sessionTimeout: 30_000,
    });
    const probe = new LatencyProbe(consumer, topic);
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    const joined = new Promise<void>((resolve) => consumer.on(consumer.events.GROUP_JOIN, () => resolve()));
    await consumer.run({
      autoCommit: false,
      // Each partition is handled as soon as it arrives, not behind another partition's batch.
      partitionsConsumedConcurrently: 3,
      eachBatch: async ({ batch }) => {
        // The arrival time is taken before any decoding, once per fetched batch.
        const arrivedAt = performance.now();
        for (const m of batch.messages) {
          if (!m.value) {
            probe.unreadable++;
            continue;
          }
          let id: string;
          try {
            id = await idOf(m.value);
          } catch {
            probe.unreadable++;
            continue;
          }
          probe.observe(id, arrivedAt);
        }
      },
    });
    await joined;
    return probe;
  }

  /** Records that an event of `phase` was handed to the producer at `sentAt` (performance.now()). */
  markSent(id: string, phase: string, sentAt: number): void {
    this.sent.set(id, { phase, sentAt, seen: 0 });
  }

  private observe(id: string, arrivedAt: number): void {
    const s = this.sent.get(id);
    if (!s) {
      this.unknown++;
      return;
    }
    s.seen++;
    if (s.seen > 1) return;
    let list = this.latencies.get(s.phase);
    if (!list) this.latencies.set(s.phase, (list = []));
    list.push(arrivedAt - s.sentAt);
    if (process.env.BENCH_E2E_TRACE) this.trace.push([s.phase, s.sentAt, arrivedAt - s.sentAt]);
    this.receivedByPhase.set(s.phase, (this.receivedByPhase.get(s.phase) ?? 0) + 1);
    const span = this.seenSpan.get(s.phase);
    if (!span) this.seenSpan.set(s.phase, { first: arrivedAt, last: arrivedAt });
    else span.last = arrivedAt;
  }

  received(phase: string): number {
    return this.receivedByPhase.get(phase) ?? 0;
  }

  /**
   * Waits until every event of the phase has been seen, or until nothing new arrived for `stallMs`; then waits
   * `settleMs` more, so that a duplicate committed late would still be counted.
   */
  async drain(phase: string, expected: number, stallMs: number, settleMs = 1500): Promise<void> {
    let last = -1;
    let progressAt = Date.now();
    while (this.received(phase) < expected) {
      const now = this.received(phase);
      if (now !== last) [last, progressAt] = [now, Date.now()];
      if (Date.now() - progressAt > stallMs) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    await new Promise((r) => setTimeout(r, settleMs));
  }

  summary(phase: string): PhaseLatency {
    let sent = 0;
    let duplicates = 0;
    let missing = 0;
    for (const s of this.sent.values()) {
      if (s.phase !== phase) continue;
      sent++;
      if (s.seen === 0) missing++;
      else duplicates += s.seen - 1;
    }
    const sorted = Float64Array.from(this.latencies.get(phase) ?? []).sort();
    const span = this.seenSpan.get(phase) ?? { first: Number.NaN, last: Number.NaN };
    return {
      sent,
      received: sorted.length,
      duplicates,
      missing,
      p50: quantile(sorted, 0.5),
      p95: quantile(sorted, 0.95),
      p99: quantile(sorted, 0.99),
      max: sorted.length > 0 ? sorted[sorted.length - 1] : Number.NaN,
      mean: sorted.length > 0 ? sorted.reduce((a, b) => a + b, 0) / sorted.length : Number.NaN,
      firstSeenAt: span.first,
      lastSeenAt: span.last,
    };
  }

  async stop(): Promise<void> {
    const file = process.env.BENCH_E2E_TRACE;
    if (file && this.trace.length > 0) {
      appendFileSync(file, this.trace.map(([phase, sentAt, latency]) => `${this.topic}\t${phase}\t${sentAt.toFixed(1)}\t${latency.toFixed(1)}\n`).join(''));
    }
    await this.consumer.disconnect();
  }
}

/** The nearest-rank quantile of sorted values (NaN when there are none). */
export function quantile(sorted: ArrayLike<number>, q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[rank];
}
