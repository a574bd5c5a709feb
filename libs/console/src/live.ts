import { randomUUID } from 'node:crypto';
import type { Kafka } from '@streamloop/kafka';

export interface LiveRecord {
  partition: number;
  offset: string;
  /** Kafka timestamp, epoch ms. */
  timestamp: number;
  value: Buffer;
}

export interface LiveFeed {
  /** Resolves once the consumer has its partitions: records written after it are seen. */
  ready: Promise<void>;
  stop(): Promise<void>;
}

/**
 * Follows a topic from its end as its records are committed (read_committed): a consumer of its own group, which
 * commits nothing, so no other reader's position moves and nothing is left behind but an empty group that Kafka
 * expires. Each record is passed to `onRecord` in partition order; a throwing callback stops nothing.
 */
export async function followTopic(kafka: Kafka, topic: string, onRecord: (record: LiveRecord) => void | Promise<void>, onError: (error: unknown) => void): Promise<LiveFeed> {
  const consumer = kafka.consumer({ groupId: `streamloop-console-live-${randomUUID()}`, readUncommitted: false });
  let joined!: () => void;
  const ready = new Promise<void>((resolve) => (joined = resolve));
  consumer.on(consumer.events.GROUP_JOIN, () => joined());
  consumer.on(consumer.events.CRASH, (event) => onError((event.payload as { error?: unknown }).error));
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: false });
    await consumer.run({
      autoCommit: false,
      eachMessage: async ({ partition, message }) => {
        if (!message.value) return;
        try {
          await onRecord({ partition, offset: message.offset, timestamp: Number(message.timestamp), value: message.value });
        } catch (error) {
          onError(error);
        }
      },
    });
  } catch (error) {
    await consumer.disconnect().catch(() => undefined);
    throw error;
  }
  let stopped = false;
  return {
    ready,
    async stop() {
      if (stopped) return;
      stopped = true;
      await consumer.disconnect().catch(() => undefined);
    },
  };
}

/** One server-sent event: `event:` (when named) and `data:` lines, a blank line after. Data is JSON, so one line. */
export function sseEvent(data: unknown, event?: string): string {
  return `${event ? `event: ${event}\n` : ''}data: ${JSON.stringify(data)}\n\n`;
}

/**
 * Parses a server-sent event stream's complete events from `buffer` (what the browser's reader does, here for tests
 * and the CLI): returns the events and the unparsed rest. Comment lines (`:`) are skipped.
 */
export function parseSse(buffer: string): { events: Array<{ event: string; data: string }>; rest: string } {
  const events: Array<{ event: string; data: string }> = [];
  let rest = buffer.replace(/\r\n/g, '\n');
  for (let end = rest.indexOf('\n\n'); end >= 0; end = rest.indexOf('\n\n')) {
    const block = rest.slice(0, end);
    rest = rest.slice(end + 2);
    let event = 'message';
    const data: string[] = [];
    for (const line of block.split('\n')) {
      if (line.startsWith(':')) continue;
      const colon = line.indexOf(':');
      const field = colon < 0 ? line : line.slice(0, colon);
      const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
      if (field === 'event') event = value;
      else if (field === 'data') data.push(value);
    }
    if (data.length > 0) events.push({ event, data: data.join('\n') });
  }
  return { events, rest };
}
