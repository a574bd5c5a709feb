import { ERROR_CODES, type ErrorCode } from './codes';

export interface PlatformErrorOptions {
  cause?: unknown;
  /** Machine-readable specifics for the client (the HTTP body's `details`), e.g. the rejected records of a batch. */
  details?: unknown;
  /**
   * Only where a protocol fixes another status than the code's: the Confluent registry API answers its own statuses
   * (e.g. 500 with error_code 50001 for a store failure). Everywhere else the code decides the status.
   */
  status?: number;
}

/**
 * The base of every error the platform throws on purpose. `code` is stable (clients, logs and alerts match on it);
 * `retriable` and `status` come with the code (see ERROR_CODES), so what a stage or an HTTP client does about an
 * error never depends on a class name or a message.
 */
export class PlatformError extends Error {
  readonly code: ErrorCode;
  /** true: an outage or a wait (retry later); false: this record or request is the problem (dead-letter it, 4xx). */
  readonly retriable: boolean;
  /** The HTTP status this error answers with. */
  readonly status: number;
  readonly details?: unknown;

  constructor(code: ErrorCode, message: string, options: PlatformErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    // The class name stays the error's name: dead letters and logs show it as the error class.
    this.name = new.target.name;
    this.code = code;
    this.retriable = ERROR_CODES[code].retriable;
    this.status = options.status ?? ERROR_CODES[code].status;
    if (options.details !== undefined) this.details = options.details;
  }
}

/** The one JSON body of an HTTP error on every platform endpoint (the schema registry keeps Confluent's instead). */
export interface ErrorBody {
  error: {
    code: ErrorCode;
    message: string;
    status: number;
    details?: unknown;
  };
}

/** `error` as the HTTP body; `message` replaces its message where that must not reach the client (an internal error). */
export function errorBody(error: PlatformError, message: string = error.message): ErrorBody {
  const body: ErrorBody = { error: { code: error.code, message, status: error.status } };
  if (error.details !== undefined) body.error.details = error.details;
  return body;
}
