/**
 * Defaults of settings whose owning library libs/config cannot import without a cycle: libs/runtime (HTTP serving),
 * libs/stream (the Kafka transport) and libs/ml (through libs/features) import @streamloop/config themselves, so their
 * defaults live here, where both the settings schema and those libraries reach them. Settings that belong to no
 * library (which pipelines run, the monitoring target's schedule) live here too. Every other library keeps its own
 * (KAFKA_DEFAULTS, CLICKHOUSE_DEFAULTS, OBSERVABILITY_DEFAULTS, REGISTRY_DEFAULTS), which the schema imports.
 */

/** The services' HTTP API (libs/runtime's serveModules). */
export const HTTP_DEFAULTS = {
  /** Loopback: a laptop's services are not reachable from the network unless HOST says so. */
  host: '127.0.0.1',
  /** Port of the services' HTTP API (ingest, predict, train, drift, /metrics, /health). */
  port: 8080,
  /** Largest request body: bounds what one request may hold in memory. */
  bodyLimit: '1mb',
} as const;

/** The Kafka transport of the services (libs/stream). */
export const STREAM_DEFAULTS = {
  /**
   * A process that runs a stage and a fusable stage reading its output (features and inference) runs the second
   * inside the first one's transaction: one Kafka hop and one transaction less per record, the same records written.
   */
  fuseStages: true,
} as const;

/** What a process runs when not told. */
export const PIPELINE_DEFAULTS = {
  /** The card-fraud example, so `streamloop start` and the demo run without any setup. */
  files: ['examples/pipelines/fraud.yaml'] as readonly string[],
} as const;

/** The monitoring target's schedule. */
export const MONITORING_DEFAULTS = {
  /** Drift and performance jobs run this often: drift over a day's window moves little within half a minute. */
  driftIntervalMs: 30_000,
} as const;

/** Training's use of the machine (libs/ml). */
export const ML_DEFAULTS = {
  /**
   * A gradient-boosted-trees fit uses the available cores up to this many threads unless STREAMLOOP_GBDT_THREADS
   * says: wider splits of a row-major histogram pay more per row than they save.
   */
  gbdtThreadsCap: 4,
  /**
   * A training run's search, fits and export run on a worker thread unless STREAMLOOP_TRAINING_WORKER is false: in
   * the monolith the training target shares its event loop with inference, which must keep serving during a search.
   */
  trainingWorker: true,
} as const;

/** What an untrusted (external) ONNX model may be, and how its probe is limited (libs/model-safety). */
export const MODEL_SAFETY_DEFAULTS = {
  /**
   * Largest external model file: a tabular classifier is kilobytes to a few megabytes. The registry topic takes records
   * of at most 16 MiB (libs/runtime's MODELS_TOPIC_MAX_MESSAGE_BYTES), and the file travels in one with its metadata:
   * a larger file could pass its checks and still not be published.
   */
  maxBytes: 15 * 1024 * 1024,
  /** Memory (RLIMIT_DATA) of the child process that loads and runs the model once: onnxruntime and Node need ~100 MiB. */
  probeMemoryMb: 1024,
  /** The probe is killed after this long: loading a tabular model takes well under a second. */
  probeTimeoutMs: 30_000,
} as const;
