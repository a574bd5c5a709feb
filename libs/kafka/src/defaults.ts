// This file imports nothing, so that libs/config can read it (through @streamloop/kafka/defaults) without loading
// kafkajs into every process that only parses a pipeline spec.

/** The SASL mechanisms the platform's clients speak (kafkajs' built-in ones with a user name and password). */
export const KAFKA_SASL_MECHANISMS = ['plain', 'scram-sha-256', 'scram-sha-512'] as const;
export type KafkaSaslMechanism = (typeof KAFKA_SASL_MECHANISMS)[number];

/** SASL authentication to the brokers. */
export interface KafkaSasl {
  mechanism: KafkaSaslMechanism;
  username: string;
  password: string;
}

/**
 * TLS material for the brokers' connections, as PEM files (read when a client is made, so settings hold paths, never
 * key bytes): the CA to trust instead of the system's, and a client certificate with its key for mutual TLS.
 */
export interface KafkaTlsFiles {
  caFile?: string;
  certFile?: string;
  keyFile?: string;
}

/**
 * What the Kafka clients use when nobody says otherwise: the one place these values and their reasons live.
 * The settings schema (libs/config) takes the defaults of its KAFKA_* variables from here, and this library's
 * options fall back to the same fields, so a default is never written twice.
 */
export const KAFKA_DEFAULTS = {
  /** The local single-node broker of deploy/local/kafka.sh on Kafka's usual port. */
  brokers: ['127.0.0.1:9092'] as readonly string[],
  /** Client id the brokers see in their logs and quotas. */
  clientId: 'streamloop',
  /** Plaintext, as the local broker speaks; a production cluster usually wants TLS. */
  ssl: false,
  /**
   * Consumer group session timeout: a member killed with SIGKILL is noticed this long after its last heartbeat, so
   * it bounds how long its partitions wait after a crash (its replacement's join waits for it). Kafka's own default
   * is 45 s; 10 s keeps recovery within seconds while leaving room for a slow batch.
   */
  sessionTimeoutMs: 10_000,
  /** The smallest session timeout a broker accepts unless told otherwise (its group.min.session.timeout.ms). */
  minSessionTimeoutMs: 6_000,
  /**
   * Heartbeats go out every third of the session timeout, but at least this often: a second keeps a member that is
   * restoring state visibly alive, and a group notices a rebalance within about a second.
   */
  maxHeartbeatIntervalMs: 1_000,
  /** ...and at most this often, however short the session (a heartbeat is a request to the coordinator). */
  minHeartbeatIntervalMs: 100,
  /** Bytes one fetch returns per partition at most: kafkajs' and Kafka's default (1 MiB). */
  maxBytesPerPartition: 1_048_576,
  /** How long a fetch waits for data when there is none: a floor under an idle stage's latency, kept low. */
  fetchMaxWaitMs: 200,
  /**
   * Kafka's own default for a topic's max.message.bytes (the broker's message.max.bytes: 1 MiB plus record batch
   * overhead), assumed when a topic does not say.
   */
  maxMessageBytes: 1_048_588,
  /** A send holds at most this many bytes of keys, values and headers, half a default record batch (chunkMessages). */
  sendChunkBytes: 512 * 1024,
  /**
   * ...and at most this many messages. kafkajs' own grouping of a send's messages took time quadratic in their number,
   * which made this 500; with the grouping replaced (linear-grouping.ts) the bytes are what limit a send.
   */
  sendChunkMessages: 5_000,
  /** How long opening a connection to a broker may take before it is retried (kafkajs' default is 1 s). */
  connectionTimeoutMs: 5_000,
  /** How long a broker may take to answer a request (kafkajs' default). */
  requestTimeoutMs: 30_000,
  /** Retries of a failed request: from 200 ms, growing to 5 s between tries, ten tries (about half a minute). */
  retry: { initialRetryTime: 200, maxRetryTime: 5_000, retries: 10 },
  /**
   * Retries of a transactional producer: the broker answers CONCURRENT_TRANSACTIONS while it still writes the
   * previous transaction's markers; that clears within milliseconds, so retry soon (as Kafka's Java producer does).
   */
  transactionRetry: { initialRetryTime: 3, maxRetryTime: 1_000, retries: 20 },
  /**
   * How long a transaction may stay open before the broker aborts it (kafkajs' default is 60 s). A stage's producer
   * has a random transactional id per run, so a crashed run's open transaction is not aborted by its successor's
   * initialisation: it holds back read_committed readers of the topics it wrote, and the next owner's offsets, until
   * this runs out. A stage's transaction only sends what was already computed, so 10 s (Kafka Streams' choice) is ample.
   */
  transactionTimeoutMs: 10_000,
  /** How long the offsets of batches that write nothing may wait for a transaction to carry them. */
  idleCommitIntervalMs: 5_000,
  /**
   * How long the check at start (verifyKafkaAccess) keeps trying brokers that do not answer yet; a refused login or an
   * untrusted certificate ends it at once, as no retry can fix them.
   */
  accessCheckTimeoutMs: 30_000,
  /** How long reading a topic to its end (a registry, a changelog) may take unless the caller says. */
  readToEndTimeoutMs: 60_000,
  /** A transaction or group coordinator found once is asked again after this long, even without an error. */
  coordinatorCacheTtlMs: 30_000,
} as const;

/** Heartbeats a third of the session, within KAFKA_DEFAULTS' bounds. */
export function heartbeatIntervalFor(sessionTimeoutMs: number): number {
  return Math.max(KAFKA_DEFAULTS.minHeartbeatIntervalMs, Math.min(KAFKA_DEFAULTS.maxHeartbeatIntervalMs, Math.floor(sessionTimeoutMs / 3)));
}
