// Must load before kafkajs: it replaces kafkajs' read_committed filter (see the file).
import './aborted-filter';
import { readFileSync } from 'node:fs';
import type { ConnectionOptions } from 'node:tls';
import { Kafka, logLevel as KafkaLogLevel, type KafkaConfig, type LogEntry, type RetryOptions, type SASLOptions } from 'kafkajs';
import { verifyAbortedFilter } from './aborted-filter';
import { installCoordinatorCache } from './coordinator-cache';
import { KAFKA_DEFAULTS, type KafkaSasl, type KafkaTlsFiles } from './defaults';
import { installGroupFencing } from './group-fencing';
import { kafkaLogLevel } from './log-levels';
import { verifyLinearGrouping } from './linear-grouping';
import { verifyProduceEncoding } from './produce-encoding';

export interface KafkaConnectionOptions {
  brokers: string[];
  clientId: string;
  /** TLS to the brokers (with the system's trusted CAs unless `tls.caFile` says). */
  ssl?: boolean;
  /** With `ssl`: the CA to trust, a client certificate and key (PEM files, read when the client is made). */
  tls?: KafkaTlsFiles;
  sasl?: KafkaSasl;
  /** Retries of a failed request; default KAFKA_DEFAULTS.retry. */
  retry?: Pick<RetryOptions, 'initialRetryTime' | 'maxRetryTime' | 'retries'>;
  /** Receives kafkajs' own log lines; by default only errors are kept, as kafkajs is chatty. */
  log?: (level: 'error' | 'warn' | 'info' | 'debug', message: string, extra: Record<string, unknown>) => void;
  logLevel?: 'error' | 'warn' | 'info' | 'debug';
  /** True once the process is stopping: connection noise of the shutdown is then logged at debug level. */
  closing?: () => boolean;
}

const LEVELS: Record<string, KafkaLogLevel> = {
  error: KafkaLogLevel.ERROR,
  warn: KafkaLogLevel.WARN,
  info: KafkaLogLevel.INFO,
  debug: KafkaLogLevel.DEBUG,
};

/** The single place a kafkajs client is made, so the library can be swapped later (DESIGN.md pitfalls). */
export function createKafka(options: KafkaConnectionOptions): Kafka {
  verifyAbortedFilter();
  verifyLinearGrouping();
  verifyProduceEncoding();
  installCoordinatorCache();
  installGroupFencing();
  const config: KafkaConfig = {
    clientId: options.clientId,
    brokers: options.brokers,
    ssl: tlsOptions(options),
    sasl: options.sasl as SASLOptions | undefined,
    connectionTimeout: KAFKA_DEFAULTS.connectionTimeoutMs,
    requestTimeout: KAFKA_DEFAULTS.requestTimeoutMs,
    retry: { ...(options.retry ?? KAFKA_DEFAULTS.retry) },
    logLevel: LEVELS[options.logLevel ?? 'error'],
  };
  const sink = options.log ?? ((level, message, extra) => console.error(JSON.stringify({ level, message, ...extra })));
  config.logCreator = () => (entry: LogEntry) => {
    const { message, ...extra } = entry.log;
    const given = entry.level === KafkaLogLevel.ERROR ? 'error' : entry.level === KafkaLogLevel.WARN ? 'warn'
      : entry.level === KafkaLogLevel.INFO ? 'info' : 'debug';
    // kafkajs logs retriable broker answers (a rebalance, a coordinator still loading) as errors and retries them;
    // they are routine, and a real failure still reaches the caller as an exception (see ./log-levels).
    const level = kafkaLogLevel(given, message, extra.error, options.closing?.() ?? false);
    if (!options.log && level === 'debug') return;
    sink(level, `${entry.namespace}: ${message}`, extra);
  };
  return new Kafka(config);
}

/** kafkajs' `ssl`: false, true (the system's CAs), or Node's TLS options with the given PEM files' contents. */
export function tlsOptions(options: Pick<KafkaConnectionOptions, 'ssl' | 'tls'>): boolean | ConnectionOptions {
  const { caFile, certFile, keyFile } = options.tls ?? {};
  if (!caFile && !certFile && !keyFile) return options.ssl ?? KAFKA_DEFAULTS.ssl;
  if (!options.ssl) throw new Error('Kafka TLS files are given but ssl is off: set ssl (KAFKA_SSL=true) or drop them');
  const read = (file: string, what: string) => {
    try {
      return readFileSync(file);
    } catch (error) {
      throw new Error(`Kafka TLS: cannot read the ${what} ${file} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
    }
  };
  return {
    // Node's `ca` replaces the system's trusted CAs: only the given CA is trusted, as a private cluster wants.
    ...(caFile ? { ca: [read(caFile, 'CA file')] } : {}),
    ...(certFile ? { cert: read(certFile, 'client certificate') } : {}),
    ...(keyFile ? { key: read(keyFile, 'client key') } : {}),
  };
}
