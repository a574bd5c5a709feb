import { HttpException } from '@nestjs/common';
import { isClickHouseServerError, isPermanentError } from '@streamloop/clickhouse';
import { PlatformError, type ErrorCode } from '@streamloop/errors';
import { kafkaErrorRetriable } from '@streamloop/kafka';

/**
 * Thrown by a handler that cannot work yet for a reason that will pass without anyone's help (no model has been
 * published yet): the batch waits and is retried, without a warning and without marking the stage unhealthy.
 */
export class NotReadyError extends PlatformError {
  constructor(message: string, code: Extract<ErrorCode, 'NOT_READY' | 'NO_MODEL_YET'> = 'NOT_READY') {
    super(code, message);
  }
}

/** An output that the topic would refuse: its record is dead-lettered instead of failing the whole batch forever. */
export class RecordTooLargeError extends PlatformError {
  constructor(readonly topic: string, readonly bytes: number, readonly limit: number) {
    super('RECORD_TOO_LARGE', `output to ${topic} is ${bytes} bytes, over the topic's max.message.bytes of ${limit}`);
  }
}

/**
 * How a failure is treated: an outage (broker, registry, ClickHouse unreachable) is retried with backoff and shown in
 * health; not-ready waits quietly; anything else belongs to one record and dead-letters it.
 */
export type FailureKind = 'outage' | 'not-ready' | 'record';

/** Node and undici codes of a dependency that cannot be reached (or stopped answering) over the network. */
const NETWORK_CODES = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'ECONNABORTED', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN',
  'UND_ERR_SOCKET', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT',
]);

/** express' body parser errors (http-errors) by their `type`. */
const BODY_PARSER_CODES: Record<string, ErrorCode> = {
  'entity.parse.failed': 'MALFORMED_JSON',
  'entity.too.large': 'PAYLOAD_TOO_LARGE',
  'parameters.too.many': 'PAYLOAD_TOO_LARGE',
  'charset.unsupported': 'UNSUPPORTED_MEDIA_TYPE',
  'encoding.unsupported': 'UNSUPPORTED_MEDIA_TYPE',
  'request.aborted': 'INVALID_INPUT',
  'request.size.invalid': 'INVALID_INPUT',
};

/** A cause chain is followed this deep (a wrapped wrapper is as far as the platform's own code goes). */
const MAX_CAUSE_DEPTH = 4;

/**
 * Every error as a PlatformError — the one place where errors the platform did not throw itself get a code:
 * kafkajs errors (by class; KAFKA_UNAVAILABLE when kafkajs counts them retriable, KAFKA_REFUSED otherwise — both are
 * the cluster's problem, never a record's), ClickHouse server errors (by ClickHouse's error code, with the insert path's
 * list of permanent ones), network errors (Node/undici `code`, also as the cause of a wrapper such as fetch's
 * TypeError), express' body parser errors and Nest's HttpExceptions (by status). A PlatformError is returned as it is;
 * anything unknown is INTERNAL (not retriable: a stage dead-letters the record, HTTP answers 500).
 */
export function toPlatformError(error: unknown): PlatformError {
  if (error instanceof PlatformError) return error;
  let current: unknown = error;
  for (let depth = 0; depth <= MAX_CAUSE_DEPTH && current !== null && typeof current === 'object'; depth++) {
    const code = foreignCode(current);
    if (code) return new PlatformError(code, messageOf(error, current), { cause: error, status: foreignStatus(current, code) });
    current = (current as { cause?: unknown }).cause;
    if (current instanceof PlatformError) return new PlatformError(current.code, messageOf(error, current), { cause: error, status: current.status, details: current.details });
  }
  return new PlatformError('INTERNAL', error instanceof Error ? error.message : String(error), { cause: error });
}

/** The platform code of one error object the platform did not throw, or undefined when it is not recognised. */
function foreignCode(error: object): ErrorCode | undefined {
  const kafkaRetriable = kafkaErrorRetriable(error);
  if (kafkaRetriable !== undefined) return kafkaRetriable ? 'KAFKA_UNAVAILABLE' : 'KAFKA_REFUSED';
  if (isClickHouseServerError(error)) return isPermanentError(error) ? 'CLICKHOUSE_REJECTED' : 'CLICKHOUSE_UNAVAILABLE';
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && NETWORK_CODES.has(code)) return 'UPSTREAM_UNAVAILABLE';
  if (error instanceof HttpException) {
    // Nest's express adapter wraps the body parser's errors (as their cause), which say more than the status.
    const cause = error.cause;
    if (cause !== null && typeof cause === 'object' && bodyParserError(cause)) return undefined;
    return codeOfHttpStatus(error.getStatus());
  }
  const bodyParser = bodyParserError(error);
  if (bodyParser) return BODY_PARSER_CODES[bodyParser.type] ?? codeOfHttpStatus(bodyParser.status);
  return undefined;
}

/** The HTTP status to keep for a foreign error whose status says more than its code (a 405 or 409 from Nest). */
function foreignStatus(error: object, code: ErrorCode): number | undefined {
  const status = error instanceof HttpException ? error.getStatus() : bodyParserError(error)?.status;
  // Only a client error keeps its own status under the catch-all INVALID_INPUT; everything else answers its code's.
  return code === 'INVALID_INPUT' && status !== undefined && status >= 400 && status < 500 ? status : undefined;
}

function codeOfHttpStatus(status: number): ErrorCode {
  if (status === 404) return 'NOT_FOUND';
  if (status === 413) return 'PAYLOAD_TOO_LARGE';
  if (status === 415) return 'UNSUPPORTED_MEDIA_TYPE';
  if (status >= 400 && status < 500) return 'INVALID_INPUT';
  return 'INTERNAL';
}

/** express' body parsers fail with http-errors: a numeric `status` and a string `type` such as 'entity.parse.failed'. */
function bodyParserError(error: object): { status: number; type: string } | undefined {
  const { status, type } = error as { status?: unknown; type?: unknown };
  return typeof status === 'number' && typeof type === 'string' ? { status, type } : undefined;
}

/** The outer message, and the recognised cause's where the outer one does not already say it ("fetch failed"). */
function messageOf(outer: unknown, recognised: object): string {
  const bodyParser = bodyParserError(recognised);
  if (bodyParser?.type === 'entity.too.large') {
    const { length, limit } = recognised as { length?: unknown; limit?: unknown };
    return `request body${typeof length === 'number' ? ` of ${length} bytes` : ''} is too large: the limit is ${typeof limit === 'number' ? `${limit} bytes` : 'lower'}`;
  }
  if (bodyParser?.type === 'entity.parse.failed') return `invalid JSON body: ${(recognised as Error).message}`;
  const outerMessage = outer instanceof Error ? outer.message : String(outer);
  const inner = recognised instanceof Error ? recognised.message : '';
  return recognised === outer || !inner || outerMessage.includes(inner) ? outerMessage : `${outerMessage}: ${inner}`;
}

/**
 * Whether `error` means "the world is unavailable" (broker, registry, ClickHouse, the network), as opposed to "this
 * record is bad" or "not yet". A stage retries these with backoff and reports them in health.
 */
export function isOutage(error: unknown): boolean {
  return classifyFailure(error) === 'outage';
}

/** Retriable codes that are a wait, not an outage: no warning, health unchanged (NotReadyError's codes). */
const WAIT_CODES: ReadonlySet<ErrorCode> = new Set<ErrorCode>(['NOT_READY', 'NO_MODEL_YET']);

/** Read from the error's code: not retriable → the record's; retriable → a quiet wait or an outage. */
export function classifyFailure(error: unknown): FailureKind {
  const platform = toPlatformError(error);
  if (!platform.retriable) return 'record';
  return WAIT_CODES.has(platform.code) ? 'not-ready' : 'outage';
}
