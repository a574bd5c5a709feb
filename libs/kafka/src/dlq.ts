import type { IHeaders, Message } from 'kafkajs';
import type { DeadLetterRecord } from '@streamloop/contracts';

/** The DLQ envelope (schemas/dlq-envelope.avsc), its type generated in @streamloop/contracts. */
export type DeadLetter = DeadLetterRecord;

export interface DeadLetterSource {
  topic?: string;
  partition?: number;
  offset?: string | number;
  key?: Buffer | null;
  value?: Buffer | null;
}

export function deadLetter(pipeline: string, stage: string, error: unknown, source: DeadLetterSource): DeadLetter {
  const err = error instanceof Error ? error : new Error(String(error));
  return {
    pipeline,
    stage,
    source_topic: source.topic ?? null,
    source_partition: source.partition ?? null,
    source_offset: source.offset === undefined ? null : Number(source.offset),
    error_class: err.name || err.constructor?.name || 'Error',
    error_message: err.message,
    original_key: source.key ?? null,
    original_value: source.value ?? null,
    failed_at: Date.now(),
    original_size: null,
  };
}

/** Header set on a dead letter whose original value was cut to fit the DLQ topic: the original size in bytes. */
export const TRUNCATED_HEADER = 'streamloop.dlq.original.size';

/**
 * A dead letter that fits `maxValueBytes` of envelope: the original value (then the key) is cut to what room is left,
 * and `original_size` says it was. The reason, the source and the headers always stay whole.
 */
export function fitDeadLetter(letter: DeadLetter, maxValueBytes: number, overheadBytes: number): DeadLetter {
  const keyBytes = letter.original_key?.length ?? 0;
  const valueBytes = letter.original_value?.length ?? 0;
  const room = maxValueBytes - overheadBytes;
  if (keyBytes + valueBytes <= room) return letter;
  const keptKey = Math.max(0, Math.min(keyBytes, Math.floor(room / 4)));
  const keptValue = Math.max(0, room - keptKey);
  return {
    ...letter,
    original_key: letter.original_key ? letter.original_key.subarray(0, keptKey) : null,
    original_value: letter.original_value ? letter.original_value.subarray(0, keptValue) : null,
    original_size: valueBytes,
  };
}

/**
 * Kafka Connect's error-context header names, so tools that understand Connect's dead letter queues
 * (and people who know them) read ours without a decoder.
 */
export function deadLetterHeaders(letter: DeadLetter): IHeaders {
  const headers: IHeaders = {
    '__connect.errors.stage': letter.stage,
    '__connect.errors.exception.class.name': letter.error_class,
    '__connect.errors.exception.message': letter.error_message.slice(0, 2000),
    'streamloop.pipeline': letter.pipeline,
  };
  if (letter.source_topic !== null) headers['__connect.errors.topic'] = letter.source_topic;
  if (letter.source_partition !== null) headers['__connect.errors.partition'] = String(letter.source_partition);
  if (letter.source_offset !== null) headers['__connect.errors.offset'] = String(letter.source_offset);
  if (letter.original_size !== null && letter.original_size !== undefined) headers[TRUNCATED_HEADER] = String(letter.original_size);
  return headers;
}

/** The Kafka message for a dead letter, given the encoded envelope. Keyed like the original record. */
export function deadLetterMessage(letter: DeadLetter, encodedEnvelope: Buffer): Message {
  return { key: letter.original_key, value: encodedEnvelope, headers: deadLetterHeaders(letter) };
}
