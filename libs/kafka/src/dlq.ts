import type { IHeaders, Message } from 'kafkajs';

/** What the DLQ envelope schema (schemas/dlq-envelope.avsc) holds. */
export interface DeadLetter {
  pipeline: string;
  stage: string;
  source_topic: string | null;
  source_partition: number | null;
  source_offset: number | null;
  error_class: string;
  error_message: string;
  original_key: Buffer | null;
  original_value: Buffer | null;
  failed_at: number;
}

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
  return headers;
}

/** The Kafka message for a dead letter, given the encoded envelope. Keyed like the original record. */
export function deadLetterMessage(letter: DeadLetter, encodedEnvelope: Buffer): Message {
  return { key: letter.original_key, value: encodedEnvelope, headers: deadLetterHeaders(letter) };
}
