import type { DeadLetterRecord } from '@streamloop/contracts';
import type { TailRecord } from './tail';

/** Bytes shown as text and hex are cut here: the page is for reading, not for downloading a 2 MiB record. */
export const SHOWN_BYTES = 4096;

export interface ShownBytes {
  /** The bytes as UTF-8 when they are valid UTF-8 without control characters other than tab and newlines; null otherwise. */
  text: string | null;
  /** The bytes in hex, two digits a byte, space-separated. */
  hex: string;
  /** Bytes in the value; `shown` of them are in text/hex. */
  size: number;
  shown: number;
}

export interface DeadLetterView {
  /** Where the dead letter itself is: the DLQ topic's partition and offset, its Kafka timestamp (epoch ms). */
  dlq: { partition: number; offset: string; timestamp: number };
  stage: string | null;
  error_class: string | null;
  error_message: string | null;
  /** The rejected record's origin (Kafka Connect's `__connect.errors.*` headers, else the envelope's fields). */
  source: { topic: string | null; partition: number | null; offset: number | null };
  failed_at: number | null;
  /** The original record's size when the DLQ kept only its first bytes. */
  original_size: number | null;
  original_key: ShownBytes | null;
  original_value: ShownBytes | null;
  /** Every header as text. */
  headers: Record<string, string>;
  /** Why the envelope could not be decoded (the headers still say why the record was rejected). */
  decode_error?: string;
}

const decoder = new TextDecoder('utf-8', { fatal: true });

/** Bytes as text (when they read as UTF-8) and hex, at most SHOWN_BYTES of them; the browser escapes both when shown. */
export function showBytes(bytes: Buffer | Uint8Array | null | undefined): ShownBytes | null {
  if (!bytes) return null;
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const shown = buf.subarray(0, SHOWN_BYTES);
  let text: string | null = null;
  try {
    const decoded = decoder.decode(shown);
    text = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/.test(decoded) ? null : decoded;
  } catch {
    // A cut may split a multi-byte character: only the hex is shown then.
    text = null;
  }
  return { text, hex: [...shown].map((b) => b.toString(16).padStart(2, '0')).join(' '), size: buf.length, shown: shown.length };
}

function header(headers: Record<string, Buffer | undefined>, name: string): string | undefined {
  return headers[name]?.toString('utf8');
}

function numberOrNull(value: string | undefined, fallback: number | null | undefined): number | null {
  if (value !== undefined && value !== '' && Number.isFinite(Number(value))) return Number(value);
  return fallback ?? null;
}

/**
 * A DLQ record for the console: the reason and source from its Kafka Connect-style headers and its Avro envelope,
 * the original key and value as text and hex. An envelope that cannot be decoded still shows its headers and raw bytes.
 */
export async function deadLetterView(record: TailRecord, decode: (value: Buffer) => Promise<DeadLetterRecord>): Promise<DeadLetterView> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(record.headers)) if (value) headers[name] = value.toString('utf8');
  let envelope: DeadLetterRecord | undefined;
  let decodeError: string | undefined;
  if (record.value && record.value.length > 0) {
    try {
      envelope = await decode(record.value);
    } catch (error) {
      decodeError = `the DLQ envelope could not be decoded: ${(error as Error).message}`;
    }
  } else decodeError = 'the DLQ record has no value';
  const h = record.headers;
  return {
    dlq: { partition: record.partition, offset: record.offset, timestamp: Number(record.timestamp) },
    stage: header(h, '__connect.errors.stage') ?? envelope?.stage ?? null,
    error_class: header(h, '__connect.errors.exception.class.name') ?? envelope?.error_class ?? null,
    error_message: envelope?.error_message ?? header(h, '__connect.errors.exception.message') ?? null,
    source: {
      topic: header(h, '__connect.errors.topic') ?? envelope?.source_topic ?? null,
      partition: numberOrNull(header(h, '__connect.errors.partition'), envelope?.source_partition),
      offset: numberOrNull(header(h, '__connect.errors.offset'), envelope?.source_offset),
    },
    failed_at: envelope ? Number(envelope.failed_at) : null,
    original_size: envelope?.original_size ?? numberOrNull(header(h, 'streamloop.dlq.original.size'), null),
    original_key: showBytes(envelope ? envelope.original_key : record.key),
    original_value: envelope ? showBytes(envelope.original_value) : showBytes(record.value),
    headers,
    ...(decodeError ? { decode_error: decodeError } : {}),
  };
}
