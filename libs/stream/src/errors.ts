/**
 * Thrown by a handler that cannot work yet for a reason that will pass without anyone's help (no model has been
 * published yet): the batch waits and is retried, without a warning and without marking the stage unhealthy.
 */
export class NotReadyError extends Error {
  override name = 'NotReadyError';
}

/** An output that the topic would refuse: its record is dead-lettered instead of failing the whole batch forever. */
export class RecordTooLargeError extends Error {
  override name = 'RecordTooLargeError';
  constructor(readonly topic: string, readonly bytes: number, readonly limit: number) {
    super(`output to ${topic} is ${bytes} bytes, over the topic's max.message.bytes of ${limit}`);
  }
}

/**
 * How a failure is treated: an outage (broker, registry, ClickHouse unreachable) is retried with backoff and shown in
 * health; not-ready waits quietly; anything else belongs to one record and dead-letters it.
 */
export type FailureKind = 'outage' | 'not-ready' | 'record';

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENOTFOUND', 'UND_ERR_SOCKET', 'UND_ERR_CONNECT_TIMEOUT']);

/**
 * Errors that mean "the world is unavailable" (broker, registry, ClickHouse), as opposed to "this record is bad".
 * A stage retries these; anything else dead-letters the record it belongs to.
 */
export function isOutage(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  if (error.name.startsWith('KafkaJS')) return true;
  if (error.name === 'RegistryUnavailableError') return true;
  // A ClickHouse insert that a retry can fix (network, too many parts, memory); a permanent one is the rows' fault.
  if (error.name === 'InsertError' && (error as { permanent?: boolean }).permanent === false) return true;
  const code = (error as { code?: unknown }).code ?? (error as { cause?: { code?: unknown } }).cause?.code;
  return typeof code === 'string' && NETWORK_CODES.has(code);
}

export function classifyFailure(error: unknown): FailureKind {
  if (error instanceof NotReadyError) return 'not-ready';
  return isOutage(error) ? 'outage' : 'record';
}
