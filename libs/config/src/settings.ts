import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { AUTH_DEFAULTS } from '@streamloop/auth/defaults';
import { CLICKHOUSE_DEFAULTS } from '@streamloop/clickhouse/defaults';
import { PlatformError } from '@streamloop/errors';
import { KAFKA_DEFAULTS, KAFKA_SASL_MECHANISMS, type KafkaSasl, type KafkaTlsFiles } from '@streamloop/kafka/defaults';
import { LOG_LEVELS, OBSERVABILITY_DEFAULTS, type LogLevel } from '@streamloop/observability/defaults';
import { REGISTRY_DEFAULTS } from '@streamloop/registry/defaults';
import { HTTP_DEFAULTS, ML_DEFAULTS, MODEL_SAFETY_DEFAULTS, MONITORING_DEFAULTS, PIPELINE_DEFAULTS, STREAM_DEFAULTS } from './defaults';
import { formatDuration, parseDuration } from './duration';
import { describeIssue } from './issues';

/** Process settings, from the environment. */
export interface Settings {
  kafkaBrokers: string[];
  kafkaClientId: string;
  kafkaSsl: boolean;
  /** KAFKA_SSL_CA_FILE, _CERT_FILE, _KEY_FILE (with KAFKA_SSL); undefined: the system's CAs, no client certificate. */
  kafkaTls?: KafkaTlsFiles;
  kafkaSasl?: KafkaSasl;
  /** SCHEMA_REGISTRY_URL, or the built-in registry target on SCHEMA_REGISTRY_PORT of this machine. */
  schemaRegistryUrl: string;
  /** True when SCHEMA_REGISTRY_URL was set (an external registry); false means the built-in one is expected. */
  schemaRegistryExternal: boolean;
  clickhouseUrl?: string;
  clickhouseDataDir: string;
  clickhouseDatabase: string;
  /** ClickHouse's HTTP interface over embedded chDB (CLICKHOUSE_HTTP_*); undefined: not served. */
  clickhouseHttp?: ClickHouseHttpSettings;
  httpHost: string;
  httpPort: number;
  httpBodyLimit: string;
  /** STREAMLOOP_ADVERTISED_URL: the address other instances reach this one's HTTP API at; undefined: derived from HOST and PORT. */
  advertisedUrl?: string;
  /** Where the built-in registry target listens: SCHEMA_REGISTRY_HOST, else HOST. */
  registryHost: string;
  registryPort: number;
  /** The built-in registry's topic. */
  registryTopic: string;
  pipelineFiles: string[];
  logLevel: LogLevel;
  /** Where the JSON logs go; undefined: stderr. */
  logFile?: string;
  driftIntervalMs: number;
  /** Consumer group session timeout (KAFKA_SESSION_TIMEOUT): how long a silent instance keeps its partitions. */
  kafkaSessionTimeoutMs: number;
  /** STREAMLOOP_FUSE_STAGES: a process running features and inference scores in the features transaction (one hop less). */
  fuseStages: boolean;
  /** STREAMLOOP_GBDT_THREADS: threads of a GBDT fit; unset, libs/ml's default (the cores up to ML_DEFAULTS.gbdtThreadsCap). */
  gbdtThreads?: number;
  /** STREAMLOOP_TRAINING_WORKER: a training run's CPU-bound part (search, fits, export) runs on a worker thread; false, on the event loop. */
  trainingWorker: boolean;
  /** STREAMLOOP_EXTERNAL_MODEL_MAX_BYTES: the largest ONNX file an external model registration takes (413 beyond). */
  externalModelMaxBytes: number;
  /** STREAMLOOP_MODEL_PROBE_MEMORY_MB: memory limit of the child process that loads and runs an external model once. */
  modelProbeMemoryMb: number;
  /** STREAMLOOP_MODEL_PROBE_TIMEOUT: the probe is killed (and the model refused) after this long. */
  modelProbeTimeoutMs: number;
  /** Who may call the HTTP APIs (STREAMLOOP_AUTH*, STREAMLOOP_TOKENS*); libs/auth reads the tokens. */
  auth: AuthSettings;
}

/** The auth settings as given; the token entries are parsed and checked by libs/auth (loadTokenEntries). */
export interface AuthSettings {
  /** STREAMLOOP_AUTH: on (default) or off. */
  enabled: boolean;
  /** STREAMLOOP_TOKENS: `name:sha256:<hex>:scope,scope` entries. */
  tokens?: string;
  /** STREAMLOOP_TOKENS_FILE: a YAML/JSON list of { name, sha256, scopes }. */
  tokensFile?: string;
  /** STREAMLOOP_AUTH_OPEN_HEALTH: /health and /metrics answer without a token. */
  openOperational: boolean;
  /** STREAMLOOP_TOKEN: the token this process sends to the platform's own HTTP APIs (CLI commands, the built-in registry). */
  clientToken?: string;
}

/** Where and to whom the process that owns embedded chDB serves ClickHouse's HTTP interface. */
export interface ClickHouseHttpSettings {
  host: string;
  port: number;
  /** The read-only (analyst) user; an empty password is only accepted on a loopback host. */
  user: string;
  password: string;
  /** The read-write user another Streamloop process uses through CLICKHOUSE_URL; absent without a service password. */
  service?: { user: string; password: string };
}

/** Settings that cannot be used; the message names every offending environment variable. */
export class SettingsError extends PlatformError {
  constructor(readonly problems: string[]) {
    super('INVALID_SETTINGS', problems.length === 1 ? `environment: ${problems[0]}` : `environment: ${problems.length} problems\n${problems.map((p) => `  ${p}`).join('\n')}`);
  }
}

/**
 * What the generated docs (docs/pipeline-spec.md, README.md; `npm run gen:env-docs`) say of a variable, attached to
 * its schema with `.meta()`. A variable with a default shows it; one without says in `unset` what happens instead.
 */
export interface VariableDoc {
  description: string;
  unset?: string;
}

const documented = <T extends z.ZodType>(schema: T, doc: VariableDoc): T => schema.meta({ ...doc });
/**
 * A variable with a default: the text it stands for when unset, validated and transformed like a set value (so a
 * default that the schema refuses fails every start, and the unit tests).
 */
const withDefault = <T extends z.ZodType<unknown, string>>(schema: T, value: string, description: string) =>
  documented(schema.prefault(value as z.input<T>), { description });
const optional = <T extends z.ZodType<unknown, string>>(schema: T, doc: VariableDoc) => documented(schema.optional(), doc);

// Kept as text until validated, so an error shows the value that was set rather than a coerced NaN.
const port = z.string().refine((s) => /^\d{1,5}$/.test(s) && Number(s) <= 65535, 'expected a port number 0-65535').transform(Number);
const boolean = z.enum(['true', 'false']).transform((s) => s === 'true');
/** A duration like `30s`, as milliseconds; `floor` (with the reason for it) when there is a least value. */
const duration = (example: string, floor?: { ms: number; why: string }) => z.string()
  .refine((s) => (parseDuration(s) ?? 0) >= (floor?.ms ?? 1), floor ? `expected a duration of at least ${formatDuration(floor.ms)} (${floor.why}), like ${example}` : `expected a duration like ${example}`)
  .transform((s) => parseDuration(s)!);
const list = (s: string) => s.split(',').map((item) => item.trim()).filter(Boolean);

/**
 * Every environment variable a target reads, in the order the docs list them. Defaults come from the libraries'
 * defaults objects; the descriptions are what the generated tables show.
 */
const envSchema = z.object({
  KAFKA_BROKERS: withDefault(z.string().regex(/^[^,\s]+:\d+(,[^,\s]+:\d+)*$/, 'expected host:port[,host:port...]').transform(list),
    KAFKA_DEFAULTS.brokers.join(','), 'brokers of the Kafka cluster, `host:port[,host:port…]`'),
  KAFKA_CLIENT_ID: withDefault(z.string().min(1), KAFKA_DEFAULTS.clientId,
    'client id the brokers see (the built-in registry\'s clients add `-schema-registry`)'),
  KAFKA_SSL: withDefault(boolean, String(KAFKA_DEFAULTS.ssl), '`true`: TLS to the brokers, for every Kafka client of the process (the built-in registry\'s too)'),
  KAFKA_SSL_CA_FILE: optional(z.string(), {
    description: 'PEM file of the CA certificate(s) that signed the brokers\' certificates, trusted instead of the system\'s CAs (with `KAFKA_SSL=true`); `deploy/local/kafka.sh start-secure` prints its CA\'s',
    unset: 'the system\'s trusted CAs',
  }),
  KAFKA_SSL_CERT_FILE: optional(z.string(), {
    description: 'PEM client certificate for brokers that require mutual TLS (`ssl.client.auth=required`), with `KAFKA_SSL_KEY_FILE`',
    unset: 'no client certificate',
  }),
  KAFKA_SSL_KEY_FILE: optional(z.string(), {
    description: 'PEM private key (unencrypted) of `KAFKA_SSL_CERT_FILE`; its content is never logged',
    unset: 'no client certificate',
  }),
  KAFKA_SASL_MECHANISM: optional(z.enum(KAFKA_SASL_MECHANISMS), {
    description: `SASL authentication to the brokers: ${KAFKA_SASL_MECHANISMS.map((m) => `\`${m}\``).join(', ')}, with both credentials below`,
    unset: 'no SASL',
  }),
  KAFKA_SASL_USERNAME: optional(z.string(), { description: 'SASL user name (with `KAFKA_SASL_MECHANISM`)' }),
  KAFKA_SASL_PASSWORD: optional(z.string(), { description: 'SASL password (with `KAFKA_SASL_MECHANISM`); never shown in an error' }),
  KAFKA_SESSION_TIMEOUT: withDefault(duration('10s or 30s', { ms: KAFKA_DEFAULTS.minSessionTimeoutMs, why: 'the broker\'s group.min.session.timeout.ms' }), formatDuration(KAFKA_DEFAULTS.sessionTimeoutMs),
    `consumer group session timeout: how long a silent (killed) instance keeps its partitions before others take them over (at least ${formatDuration(KAFKA_DEFAULTS.minSessionTimeoutMs)}, the broker's \`group.min.session.timeout.ms\`)`),
  SCHEMA_REGISTRY_URL: optional(z.url(), {
    description: 'a Confluent-compatible schema registry (Confluent, Apicurio, Karapace) the services use',
    unset: 'the built-in registry target, `http://127.0.0.1:$SCHEMA_REGISTRY_PORT`',
  }),
  SCHEMA_REGISTRY_HOST: optional(z.string().min(1), { description: 'address the built-in registry target listens on', unset: 'the value of `HOST`' }),
  SCHEMA_REGISTRY_PORT: withDefault(port, String(REGISTRY_DEFAULTS.port), 'port of the built-in registry target (`0`: any free port)'),
  SCHEMA_REGISTRY_TOPIC: withDefault(z.string().regex(/^[A-Za-z0-9._-]{1,249}$/, 'expected a Kafka topic name (letters, digits, . _ -)'), REGISTRY_DEFAULTS.topic,
    'compacted single-partition topic holding the built-in registry\'s schemas'),
  CLICKHOUSE_URL: optional(z.url(), { description: 'a ClickHouse server over HTTP(S)', unset: 'embedded chDB in `CLICKHOUSE_DATA_DIR`' }),
  CLICKHOUSE_DATA_DIR: withDefault(z.string().min(1), CLICKHOUSE_DEFAULTS.dataDir, 'embedded chDB\'s data directory (without `CLICKHOUSE_URL`)'),
  CLICKHOUSE_DATABASE: withDefault(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'expected a ClickHouse identifier'), CLICKHOUSE_DEFAULTS.database,
    'database of the platform\'s tables, created if missing'),
  CLICKHOUSE_HTTP_PORT: optional(port, {
    description: 'port of ClickHouse\'s HTTP interface over embedded chDB, served by the process that owns the chDB directory (training or monitoring, without `CLICKHOUSE_URL`): analysts\' clients (`clickhouse-connect`, `@clickhouse/client`, `curl`) query it read-only; `8123` is ClickHouse\'s own; `0`: any free port',
    unset: 'not served',
  }),
  CLICKHOUSE_HTTP_HOST: withDefault(z.string().min(1), CLICKHOUSE_DEFAULTS.httpHost, 'address ClickHouse\'s HTTP interface listens on (with `CLICKHOUSE_HTTP_PORT`); off loopback every user needs a password'),
  CLICKHOUSE_HTTP_USER: withDefault(z.string().regex(/^[A-Za-z0-9_.@-]+$/, 'expected a user name (letters, digits, _ . @ -)'), CLICKHOUSE_DEFAULTS.httpUser,
    'the read-only user of ClickHouse\'s HTTP interface (analysts): SELECT, WITH, SHOW, DESCRIBE, EXISTS, EXPLAIN under ClickHouse\'s `readonly = 1`'),
  CLICKHOUSE_HTTP_PASSWORD: optional(z.string(), {
    description: 'password of `CLICKHOUSE_HTTP_USER`; never shown in an error',
    unset: 'no password, accepted only when `CLICKHOUSE_HTTP_HOST` is a loopback address',
  }),
  CLICKHOUSE_HTTP_SERVICE_USER: withDefault(z.string().regex(/^[A-Za-z0-9_.@-]+$/, 'expected a user name (letters, digits, _ . @ -)'), CLICKHOUSE_DEFAULTS.httpServiceUser,
    'the read-write user of ClickHouse\'s HTTP interface (with `CLICKHOUSE_HTTP_SERVICE_PASSWORD`): another Streamloop process sets `CLICKHOUSE_URL=http://USER:PASSWORD@host:port` to use this process\'s embedded chDB'),
  CLICKHOUSE_HTTP_SERVICE_PASSWORD: optional(z.string().min(1), {
    description: 'password of `CLICKHOUSE_HTTP_SERVICE_USER`; never shown in an error',
    unset: 'no read-write user',
  }),
  HOST: withDefault(z.string().min(1), HTTP_DEFAULTS.host, 'address the services\' HTTP API listens on'),
  PORT: withDefault(port, String(HTTP_DEFAULTS.port), 'port of the services\' HTTP API (`0`: any free port)'),
  STREAMLOOP_ADVERTISED_URL: optional(z.url({ protocol: /^https?$/ }).transform((u) => u.replace(/\/+$/, '')), {
    description: 'the address other instances reach this one\'s HTTP API at (as Kafka Streams\' `application.server`): advertised in the feature stages\' consumer groups, REST predict of an event is forwarded to the instance that owns its entity\'s state',
    unset: '`http://$HOST:$PORT` (the machine\'s host name where `HOST` is `0.0.0.0` or `::`)',
  }),
  HTTP_BODY_LIMIT: withDefault(z.string().regex(/^\d+(b|kb|mb)$/, 'expected a size like 512kb or 1mb'), HTTP_DEFAULTS.bodyLimit,
    'largest HTTP request body (`512kb`, `1mb`); the external-model registration route takes up to `STREAMLOOP_EXTERNAL_MODEL_MAX_BYTES` of ONNX in base64 beside it'),
  STREAMLOOP_PIPELINES: withDefault(z.string().min(1).transform(list),
    PIPELINE_DEFAULTS.files.join(','), 'comma-separated pipeline spec files the process runs'),
  STREAMLOOP_FUSE_STAGES: withDefault(boolean, String(STREAM_DEFAULTS.fuseStages),
    '`true`: a process that runs both features and inference scores each vector inside the features transaction (P.features is still written, marked so the inference consumer passes over it); `false`: one Kafka hop per stage'),
  STREAMLOOP_DRIFT_INTERVAL: withDefault(duration('30s or 5m'), formatDuration(MONITORING_DEFAULTS.driftIntervalMs),
    'how often the monitoring target runs its drift and performance jobs (a duration)'),
  // The upper bound (the most threads a fit can split its work into) is libs/ml's to check, when a fit starts.
  STREAMLOOP_GBDT_THREADS: optional(z.string().regex(/^[1-9]\d*$/, 'expected a whole number of threads, 1 or more').transform(Number), {
    description: 'threads of a gradient-boosted-trees fit in the training target (`1`: no helper threads); the model is the same whatever the count',
    unset: `the available cores, at most ${ML_DEFAULTS.gbdtThreadsCap}`,
  }),
  STREAMLOOP_TRAINING_WORKER: withDefault(boolean, String(ML_DEFAULTS.trainingWorker),
    '`true`: a training run\'s hyperparameter search, fits, held-out scoring and ONNX export run on a worker thread, so the process (in the monolith, inference too) keeps serving while a model trains; `false`: on the process\'s event loop (debugging, or to measure what the worker saves)'),
  STREAMLOOP_EXTERNAL_MODEL_MAX_BYTES: withDefault(z.string().regex(/^[1-9]\d{0,15}$/, 'expected a whole number of bytes, 1 or more').transform(Number), String(MODEL_SAFETY_DEFAULTS.maxBytes),
    'largest ONNX file an external model registration takes, in bytes (`413 MODEL_TOO_LARGE` beyond); its route takes request bodies of such a file in base64 whatever `HTTP_BODY_LIMIT` says. The registry topic takes records of at most 16 MiB'),
  STREAMLOOP_MODEL_PROBE_MEMORY_MB: withDefault(z.string().regex(/^\d{1,7}$/, 'expected a whole number of MiB').refine((s) => Number(s) >= 256, 'expected at least 256 MiB (Node and onnxruntime alone need ~100 MiB)').transform(Number),
    String(MODEL_SAFETY_DEFAULTS.probeMemoryMb), 'memory limit (MiB, the data segment through `prlimit --data`) of the child process that loads an external model and runs it once before it is registered'),
  STREAMLOOP_MODEL_PROBE_TIMEOUT: withDefault(duration('30s or 1m'), formatDuration(MODEL_SAFETY_DEFAULTS.probeTimeoutMs),
    'how long that probe may take before it is killed and the model refused (a duration)'),
  STREAMLOOP_AUTH: withDefault(z.enum(['on', 'off']).transform((s) => s === 'on'), AUTH_DEFAULTS.enabled ? 'on' : 'off',
    '`on`: every HTTP endpoint (the API, the built-in schema registry, ClickHouse\'s HTTP interface) needs a token with the scope it declares (README "Authentication"); `streamloop start` refuses to start without `STREAMLOOP_TOKENS` or `STREAMLOOP_TOKENS_FILE`; `off`: no checks (a test, or a network that is itself the boundary)'),
  STREAMLOOP_TOKENS: optional(z.string().regex(/^\s*[^:;\s]+:[^:;\s]+:[^:;\s]+:[^:;\s]+(\s*[;\s]\s*[^:;\s]+:[^:;\s]+:[^:;\s]+:[^:;\s]+)*[;\s]*$/, 'expected name:sha256:<hex>:scope[,scope…] entries separated by ;'), {
    description: 'accepted tokens, by hash: `name:sha256:<64 hex>:scope[,scope…]` entries separated by `;` (`streamloop token create` prints one); scopes `ingest`, `predict`, `read`, `schema`, `admin` (all of them)',
    unset: 'only the tokens of `STREAMLOOP_TOKENS_FILE`',
  }),
  STREAMLOOP_TOKENS_FILE: optional(z.string().min(1), {
    description: 'a YAML or JSON file of accepted tokens, a list of `{ name, sha256, scopes }` (hashes only, never the tokens)',
    unset: 'only the tokens of `STREAMLOOP_TOKENS`',
  }),
  STREAMLOOP_AUTH_OPEN_HEALTH: withDefault(boolean, String(AUTH_DEFAULTS.openOperational),
    '`true`: `/health` and `/metrics` answer without a token (load balancer probes, Prometheus); `false`: they need a token with scope `read`'),
  STREAMLOOP_TOKEN: optional(z.string().min(1), {
    description: 'the token this process sends to the platform\'s own HTTP APIs: the CLI\'s commands (as `--token`) and the services\' calls to the built-in schema registry; never shown in an error',
    unset: 'no token is sent (a `streamloop start` running the registry in the same process uses one it generates)',
  }),
  LOG_LEVEL: withDefault(z.enum(LOG_LEVELS), OBSERVABILITY_DEFAULTS.logLevel, `level of the JSON logs on stderr: ${LOG_LEVELS.map((l) => `\`${l}\``).join(', ')}`),
  LOG_FILE: optional(z.string().min(1), { description: 'a file the JSON logs are appended to (created with its directory)', unset: 'stderr' }),
});

export type SettingName = keyof typeof envSchema.shape;

/** One variable as the docs show it, read from the schema. */
export interface SettingDescription {
  name: SettingName;
  description: string;
  /** The default as it would be set, e.g. `10s`; absent for a variable without one. */
  default?: string;
  /** What happens when a variable without a default is unset. */
  unset?: string;
}

/** Every variable of the settings schema with its default and description, in the schema's order. */
export function describeSettings(): SettingDescription[] {
  return (Object.keys(envSchema.shape) as SettingName[]).map((name) => {
    const field: z.ZodType = envSchema.shape[name];
    const doc = field.meta() as Partial<VariableDoc> | undefined;
    if (!doc?.description) throw new Error(`settings schema: ${name} has no description`);
    const def = field._zod.def;
    const defaultValue = def.type === 'prefault' ? String((def as z.core.$ZodPrefaultDef).defaultValue) : undefined;
    return { name, description: doc.description, ...(defaultValue !== undefined ? { default: defaultValue } : {}), ...(doc.unset ? { unset: doc.unset } : {}) };
  });
}

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
    throw new SettingsError([`KAFKA_SASL_MECHANISM: required when KAFKA_SASL_USERNAME or KAFKA_SASL_PASSWORD is set (${KAFKA_SASL_MECHANISMS.join(', ').replace(/, ([^,]*)$/, ' or $1')})`]);
  }
  return {
    kafkaBrokers: e.KAFKA_BROKERS,
    kafkaClientId: e.KAFKA_CLIENT_ID,
    kafkaSsl: e.KAFKA_SSL,
    kafkaTls: kafkaTlsFiles(e),
    kafkaSasl,
    schemaRegistryUrl: e.SCHEMA_REGISTRY_URL ?? `http://127.0.0.1:${e.SCHEMA_REGISTRY_PORT}`,
    schemaRegistryExternal: e.SCHEMA_REGISTRY_URL !== undefined,
    clickhouseUrl: e.CLICKHOUSE_URL,
    clickhouseDataDir: e.CLICKHOUSE_DATA_DIR,
    clickhouseDatabase: e.CLICKHOUSE_DATABASE,
    clickhouseHttp: e.CLICKHOUSE_HTTP_PORT === undefined ? undefined : {
      host: e.CLICKHOUSE_HTTP_HOST,
      port: e.CLICKHOUSE_HTTP_PORT,
      user: e.CLICKHOUSE_HTTP_USER,
      password: e.CLICKHOUSE_HTTP_PASSWORD ?? '',
      service: e.CLICKHOUSE_HTTP_SERVICE_PASSWORD ? { user: e.CLICKHOUSE_HTTP_SERVICE_USER, password: e.CLICKHOUSE_HTTP_SERVICE_PASSWORD } : undefined,
    },
    httpHost: e.HOST,
    httpPort: e.PORT,
    httpBodyLimit: e.HTTP_BODY_LIMIT,
    advertisedUrl: e.STREAMLOOP_ADVERTISED_URL,
    registryHost: e.SCHEMA_REGISTRY_HOST ?? e.HOST,
    registryPort: e.SCHEMA_REGISTRY_PORT,
    registryTopic: e.SCHEMA_REGISTRY_TOPIC,
    pipelineFiles: e.STREAMLOOP_PIPELINES,
    logLevel: e.LOG_LEVEL,
    logFile: e.LOG_FILE,
    driftIntervalMs: e.STREAMLOOP_DRIFT_INTERVAL,
    kafkaSessionTimeoutMs: e.KAFKA_SESSION_TIMEOUT,
    fuseStages: e.STREAMLOOP_FUSE_STAGES,
    gbdtThreads: e.STREAMLOOP_GBDT_THREADS,
    trainingWorker: e.STREAMLOOP_TRAINING_WORKER,
    externalModelMaxBytes: e.STREAMLOOP_EXTERNAL_MODEL_MAX_BYTES,
    modelProbeMemoryMb: e.STREAMLOOP_MODEL_PROBE_MEMORY_MB,
    modelProbeTimeoutMs: e.STREAMLOOP_MODEL_PROBE_TIMEOUT,
    auth: {
      enabled: e.STREAMLOOP_AUTH,
      tokens: e.STREAMLOOP_TOKENS,
      tokensFile: e.STREAMLOOP_TOKENS_FILE,
      openOperational: e.STREAMLOOP_AUTH_OPEN_HEALTH,
      clientToken: e.STREAMLOOP_TOKEN,
    },
  };
}

/** How every Kafka client of a process connects (the shape of @streamloop/kafka's KafkaConnectionOptions). */
export interface KafkaConnectionSettings {
  brokers: string[];
  clientId: string;
  ssl: boolean;
  tls?: KafkaTlsFiles;
  sasl?: KafkaSasl;
}

/**
 * The connection of the process's Kafka clients from its settings: brokers, TLS, SASL, under KAFKA_CLIENT_ID with
 * `suffix` (e.g. `-schema-registry`). Every client is made from this, so none forgets the security settings.
 */
export function kafkaConnectionSettings(settings: Settings, suffix = ''): KafkaConnectionSettings {
  return { brokers: settings.kafkaBrokers, clientId: `${settings.kafkaClientId}${suffix}`, ssl: settings.kafkaSsl, tls: settings.kafkaTls, sasl: settings.kafkaSasl };
}

type ParsedEnv = z.output<typeof envSchema>;

/**
 * The TLS files, checked now so a wrong path stops the start naming its variable: each readable and holding what it
 * should (PEM), a certificate with its key, and all of them with KAFKA_SSL=true (a CA without TLS would be silently
 * unused). Their content is not kept: the Kafka client reads the files when it is made.
 */
function kafkaTlsFiles(e: ParsedEnv): KafkaTlsFiles | undefined {
  const files = { KAFKA_SSL_CA_FILE: e.KAFKA_SSL_CA_FILE, KAFKA_SSL_CERT_FILE: e.KAFKA_SSL_CERT_FILE, KAFKA_SSL_KEY_FILE: e.KAFKA_SSL_KEY_FILE };
  const set = (Object.keys(files) as Array<keyof typeof files>).filter((k) => files[k] !== undefined);
  if (set.length === 0) return undefined;
  const problems: string[] = [];
  if (!e.KAFKA_SSL) problems.push(...set.map((k) => `${k}: set, but KAFKA_SSL is false; set KAFKA_SSL=true to connect with TLS, or unset ${k}`));
  if ((files.KAFKA_SSL_CERT_FILE === undefined) !== (files.KAFKA_SSL_KEY_FILE === undefined)) {
    const missing = files.KAFKA_SSL_CERT_FILE === undefined ? 'KAFKA_SSL_CERT_FILE' : 'KAFKA_SSL_KEY_FILE';
    problems.push(`${missing}: required with ${missing === 'KAFKA_SSL_CERT_FILE' ? 'KAFKA_SSL_KEY_FILE' : 'KAFKA_SSL_CERT_FILE'} (a client certificate and its key go together)`);
  }
  const pem = { KAFKA_SSL_CA_FILE: 'CERTIFICATE', KAFKA_SSL_CERT_FILE: 'CERTIFICATE', KAFKA_SSL_KEY_FILE: 'PRIVATE KEY' } as const;
  for (const name of set) {
    const path = files[name]!;
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (error) {
      problems.push(`${name}: cannot read ${path} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
      continue;
    }
    // "-----BEGIN CERTIFICATE-----", "-----BEGIN PRIVATE KEY-----", "-----BEGIN EC PRIVATE KEY-----", ...
    if (!new RegExp(`-----BEGIN [A-Z ]*${pem[name]}-----`).test(text)) problems.push(`${name}: ${path} holds no PEM ${pem[name].toLowerCase()} (expected a "-----BEGIN ${pem[name]}-----" block)`);
    else if (name === 'KAFKA_SSL_KEY_FILE' && /-----BEGIN ENCRYPTED PRIVATE KEY-----|Proc-Type: 4,ENCRYPTED/.test(text)) problems.push(`${name}: ${path} is an encrypted key; give it unencrypted (readable by this process only)`);
  }
  if (problems.length > 0) throw new SettingsError(problems);
  return { caFile: files.KAFKA_SSL_CA_FILE, certFile: files.KAFKA_SSL_CERT_FILE, keyFile: files.KAFKA_SSL_KEY_FILE };
}
