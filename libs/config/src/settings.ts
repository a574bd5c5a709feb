import { z } from 'zod';
import { PlatformError } from '@streamloop/errors';
import { parseDuration } from './duration';
import { describeIssue } from './issues';

/** Process settings, from the environment. */
export interface Settings {
  kafkaBrokers: string[];
  kafkaClientId: string;
  kafkaSsl: boolean;
  kafkaSasl?: { mechanism: 'plain' | 'scram-sha-256' | 'scram-sha-512'; username: string; password: string };
  /** SCHEMA_REGISTRY_URL, or the built-in registry target on SCHEMA_REGISTRY_PORT of this machine. */
  schemaRegistryUrl: string;
  /** True when SCHEMA_REGISTRY_URL was set (an external registry); false means the built-in one is expected. */
  schemaRegistryExternal: boolean;
  clickhouseUrl?: string;
  clickhouseDataDir: string;
  clickhouseDatabase: string;
  httpHost: string;
  httpPort: number;
  httpBodyLimit: string;
  registryPort: number;
  pipelineFiles: string[];
  logLevel: string;
  driftIntervalMs: number;
  /** Consumer group session timeout (KAFKA_SESSION_TIMEOUT): how long a silent instance keeps its partitions. */
  kafkaSessionTimeoutMs: number;
  /** STREAMLOOP_FUSE_STAGES: a process running features and inference scores in the features transaction (one hop less). */
  fuseStages: boolean;
}

/** Settings that cannot be used; the message names every offending environment variable. */
export class SettingsError extends PlatformError {
  constructor(readonly problems: string[]) {
    super('INVALID_SETTINGS', problems.length === 1 ? `environment: ${problems[0]}` : `environment: ${problems.length} problems\n${problems.map((p) => `  ${p}`).join('\n')}`);
  }
}

// Kept as text until validated, so an error shows the value that was set rather than a coerced NaN.
const port = z.string().refine((s) => /^\d{1,5}$/.test(s) && Number(s) <= 65535, 'expected a port number 0-65535').transform(Number);

const envSchema = z.object({
  KAFKA_BROKERS: z.string().regex(/^[^,\s]+:\d+(,[^,\s]+:\d+)*$/, 'expected host:port[,host:port...]').default('127.0.0.1:9092'),
  KAFKA_CLIENT_ID: z.string().min(1).default('streamloop'),
  KAFKA_SSL: z.enum(['true', 'false']).default('false'),
  KAFKA_SASL_MECHANISM: z.enum(['plain', 'scram-sha-256', 'scram-sha-512']).optional(),
  KAFKA_SASL_USERNAME: z.string().optional(),
  KAFKA_SASL_PASSWORD: z.string().optional(),
  SCHEMA_REGISTRY_URL: z.url().optional(),
  CLICKHOUSE_URL: z.url().optional(),
  CLICKHOUSE_DATA_DIR: z.string().min(1).default('.streamloop/chdb'),
  CLICKHOUSE_DATABASE: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'expected a ClickHouse identifier').default('streamloop'),
  HOST: z.string().min(1).default('127.0.0.1'),
  PORT: port.default(8080),
  HTTP_BODY_LIMIT: z.string().regex(/^\d+(b|kb|mb)$/, 'expected a size like 512kb or 1mb').default('1mb'),
  SCHEMA_REGISTRY_PORT: port.default(8081),
  STREAMLOOP_PIPELINES: z.string().min(1).default('examples/pipelines/fraud.yaml'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  KAFKA_SESSION_TIMEOUT: z.string().refine((s) => (parseDuration(s) ?? 0) >= 6000, 'expected a duration of at least 6s (the broker\'s group.min.session.timeout.ms), like 10s or 30s').default('10s'),
  STREAMLOOP_FUSE_STAGES: z.enum(['true', 'false']).default('true'),
  STREAMLOOP_DRIFT_INTERVAL: z.string().refine((s) => parseDuration(s) !== undefined, 'expected a duration like 30s or 5m').default('30s'),
});

/** Reads settings from the environment; a bad value is an error naming the variable and what was expected. */
export function loadSettings(env: NodeJS.ProcessEnv = process.env): Settings {
  // Empty strings count as unset, as shells often export VAR= to clear a value.
  const present = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = envSchema.safeParse(present, { reportInput: true });
  if (!parsed.success) throw new SettingsError(parsed.error.issues.flatMap((i) => describeIssue(i)));
  const e = parsed.data;
  let kafkaSasl: Settings['kafkaSasl'];
  if (e.KAFKA_SASL_MECHANISM) {
    const missing = (['KAFKA_SASL_USERNAME', 'KAFKA_SASL_PASSWORD'] as const).filter((k) => !e[k]);
    if (missing.length > 0) throw new SettingsError(missing.map((k) => `${k}: required when KAFKA_SASL_MECHANISM is set`));
    kafkaSasl = { mechanism: e.KAFKA_SASL_MECHANISM, username: e.KAFKA_SASL_USERNAME!, password: e.KAFKA_SASL_PASSWORD! };
  } else if (e.KAFKA_SASL_USERNAME || e.KAFKA_SASL_PASSWORD) {
    // Credentials without a mechanism would be silently unused: a misconfiguration worth stopping for.
    throw new SettingsError(['KAFKA_SASL_MECHANISM: required when KAFKA_SASL_USERNAME or KAFKA_SASL_PASSWORD is set (plain, scram-sha-256 or scram-sha-512)']);
  }
  return {
    kafkaBrokers: e.KAFKA_BROKERS.split(','),
    kafkaClientId: e.KAFKA_CLIENT_ID,
    kafkaSsl: e.KAFKA_SSL === 'true',
    kafkaSasl,
    schemaRegistryUrl: e.SCHEMA_REGISTRY_URL ?? `http://127.0.0.1:${e.SCHEMA_REGISTRY_PORT}`,
    schemaRegistryExternal: e.SCHEMA_REGISTRY_URL !== undefined,
    clickhouseUrl: e.CLICKHOUSE_URL,
    clickhouseDataDir: e.CLICKHOUSE_DATA_DIR,
    clickhouseDatabase: e.CLICKHOUSE_DATABASE,
    httpHost: e.HOST,
    httpPort: e.PORT,
    httpBodyLimit: e.HTTP_BODY_LIMIT,
    registryPort: e.SCHEMA_REGISTRY_PORT,
    pipelineFiles: e.STREAMLOOP_PIPELINES.split(',').map((s) => s.trim()).filter(Boolean),
    logLevel: e.LOG_LEVEL,
    driftIntervalMs: parseDuration(e.STREAMLOOP_DRIFT_INTERVAL)!,
    kafkaSessionTimeoutMs: parseDuration(e.KAFKA_SESSION_TIMEOUT)!,
    fuseStages: e.STREAMLOOP_FUSE_STAGES === 'true',
  };
}
