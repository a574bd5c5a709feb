/**
 * Every error code the platform gives out, with the HTTP status it answers with and whether it is retriable.
 *
 * `retriable` says whose failure it is. true: the world's (a dependency is down, or something the work needs has not
 * arrived yet); the same work succeeds later without changes, so a stream stage retries the batch with backoff and an
 * HTTP client may retry. false: it belongs to one record or request; repeating it as it is fails again, so a stream
 * stage dead-letters the record and an HTTP client must change its request (4xx) or report a bug (5xx).
 *
 * Codes are a contract with clients (HTTP bodies, logs, alerts): add codes, never rename or reuse one.
 * docs/errors.md lists them all (a unit test keeps it so).
 */
export const ERROR_CODES = {
  // A request or a record that is wrong as it is.
  INVALID_INPUT: { status: 400, retriable: false, meaning: 'a request, or a field of it, that the endpoint does not take' },
  INVALID_EVENT: { status: 400, retriable: false, meaning: "an event that fails its pipeline's schema or its id, event time and entity checks" },
  MALFORMED_JSON: { status: 400, retriable: false, meaning: 'a body sent as JSON that does not parse' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, retriable: false, meaning: 'a body whose Content-Type the endpoint does not read (JSON endpoints take application/json)' },
  PAYLOAD_TOO_LARGE: { status: 413, retriable: false, meaning: 'a request body over the body limit (HTTP_BODY_LIMIT)' },
  UNAUTHORIZED: { status: 401, retriable: false, meaning: 'a request without a token, or with one the service does not accept (the answer carries WWW-Authenticate: Bearer)' },
  FORBIDDEN: { status: 403, retriable: false, meaning: 'a token without the scope the endpoint needs (the message names it), or a route that declares no scope (refused, fail closed)' },
  NOT_FOUND: { status: 404, retriable: false, meaning: 'no such route, or no such resource yet (e.g. a drift report)' },
  PIPELINE_NOT_FOUND: { status: 404, retriable: false, meaning: 'a pipeline this process does not run' },
  NOT_OWNER: { status: 421, retriable: false, meaning: 'no longer given: REST predict forwards an event to the instance that owns its feature state, or answers OWNER_UNAVAILABLE' },
  NOT_ENOUGH_DATA: { status: 409, retriable: false, meaning: 'training or drift needs more than there is yet (labels, features, a champion model)' },
  MODEL_STAGE_CONFLICT: { status: 409, retriable: false, meaning: "a model stage change the registry's rules refuse (promoting the serving champion, rolling back without an earlier champion)" },
  INVALID_MODEL: { status: 400, retriable: false, meaning: 'an ONNX model, or its input mapping, that fails the checks a model must pass to serve' },
  UNSAFE_MODEL: { status: 422, retriable: false, meaning: 'an untrusted ONNX model refused by the safety checks: it does not decode, uses external data or an operator outside the allow-list, declares tensors it does not carry, or the probe that loads it in a limited child process failed' },
  MODEL_TOO_LARGE: { status: 413, retriable: false, meaning: 'an ONNX model file over STREAMLOOP_EXTERNAL_MODEL_MAX_BYTES' },
  INVALID_SCHEMA: { status: 422, retriable: false, meaning: 'an Avro schema that does not parse' },
  INCOMPATIBLE_SCHEMA: { status: 409, retriable: false, meaning: "a schema that breaks its subject's compatibility level" },
  INVALID_WIRE_FORMAT: { status: 400, retriable: false, meaning: 'bytes that are not a Confluent wire-format record' },
  AVRO_DECODE_FAILED: { status: 400, retriable: false, meaning: 'Avro bytes that do not decode under their writer schema' },
  INVALID_FEATURE_INPUT: { status: 400, retriable: false, meaning: 'an event the feature computer cannot use (e.g. no event time)' },
  LATE_EVENT: { status: 422, retriable: false, meaning: "an event older than the pipeline's allowed lateness (dead-lettered when late_events is dead_letter)" },
  RECORD_TOO_LARGE: { status: 413, retriable: false, meaning: "an output record larger than its topic's max.message.bytes" },
  DATA_QUALITY_FAILED: { status: 422, retriable: false, meaning: "a training run blocked by the data-quality gate: the candidate window failed checks against the pipeline's data_quality limits (details.failed names them; the report is in the data_quality table)" },
  INVALID_ROW: { status: 422, retriable: false, meaning: 'a row that does not fit its ClickHouse table' },
  // The platform's own side, not fixed by retrying.
  CLICKHOUSE_REJECTED: { status: 500, retriable: false, meaning: 'ClickHouse refused a query or insert in a way a retry cannot fix (unknown column, bad data, access)' },
  SCHEMA_REGISTRY_REJECTED: { status: 500, retriable: false, meaning: "the schema registry refused a request (the message names its answer)" },
  INVALID_PIPELINE_SPEC: { status: 500, retriable: false, meaning: 'a pipeline spec (YAML) that cannot be used' },
  INVALID_SETTINGS: { status: 500, retriable: false, meaning: 'environment settings that cannot be used' },
  PARTITION_STATE_REBUILD: { status: 500, retriable: false, meaning: "a record failed mid-batch: the partition's state is rebuilt and the record dead-lettered" },
  INTERNAL: { status: 500, retriable: false, meaning: 'anything else: a bug; the service logs it with its stack' },
  // Outages and waits: the same work succeeds later.
  NOT_READY: { status: 503, retriable: true, meaning: 'a stage waits for something that comes by itself' },
  NO_MODEL_YET: { status: 503, retriable: true, meaning: 'the pipeline has no champion model yet' },
  SCHEMA_REGISTRY_UNAVAILABLE: { status: 503, retriable: true, meaning: 'the schema registry is unreachable or answers 5xx' },
  KAFKA_UNAVAILABLE: { status: 503, retriable: true, meaning: 'Kafka is unreachable or answered with an error kafkajs marks retriable (or gave up retrying)' },
  KAFKA_REFUSED: {
    status: 503, retriable: true,
    meaning: 'Kafka refused an operation kafkajs does not retry (authorization, a fenced producer): the cluster\'s or the configuration\'s problem, never one record\'s, so it is retried with backoff and shown in /health',
  },
  CLICKHOUSE_UNAVAILABLE: { status: 503, retriable: true, meaning: 'ClickHouse is unreachable or failed in a way a retry can fix (timeouts, too many parts, memory)' },
  UPSTREAM_UNAVAILABLE: { status: 503, retriable: true, meaning: 'a network failure reaching a dependency (ECONNREFUSED, ECONNRESET, ETIMEDOUT, …)' },
  OWNER_UNAVAILABLE: {
    status: 503, retriable: true,
    meaning: "REST predict of an event whose entities' feature state no reachable instance holds: no owner (no feature stage runs, or a rebalance), an owner without an address, an owner that did not answer, or state split across instances; details.reason names which",
  },
} as const satisfies Record<string, { status: number; retriable: boolean; meaning: string }>;

export type ErrorCode = keyof typeof ERROR_CODES;

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.hasOwn(ERROR_CODES, value);
}
