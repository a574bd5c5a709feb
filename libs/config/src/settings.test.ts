// The settings schema takes its defaults from the libraries' defaults objects and documents every variable.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AUTH_DEFAULTS } from '@streamloop/auth/defaults';
import { CLICKHOUSE_DEFAULTS } from '@streamloop/clickhouse';
import { KAFKA_DEFAULTS } from '@streamloop/kafka';
import { OBSERVABILITY_DEFAULTS } from '@streamloop/observability';
import { REGISTRY_DEFAULTS } from '@streamloop/registry';
import { HTTP_DEFAULTS, ML_DEFAULTS, MODEL_SAFETY_DEFAULTS, MONITORING_DEFAULTS, PIPELINE_DEFAULTS, STREAM_DEFAULTS } from './defaults';
import { formatDuration } from './duration';
import { describeSettings, loadSettings, SettingsError } from './settings';

test('settings: every default is the one of its library\'s defaults object', () => {
  const s = loadSettings({});
  assert.deepEqual(s.kafkaBrokers, [...KAFKA_DEFAULTS.brokers]);
  assert.equal(s.kafkaClientId, KAFKA_DEFAULTS.clientId);
  assert.equal(s.kafkaSsl, KAFKA_DEFAULTS.ssl);
  assert.equal(s.kafkaSessionTimeoutMs, KAFKA_DEFAULTS.sessionTimeoutMs);
  assert.equal(s.registryPort, REGISTRY_DEFAULTS.port);
  assert.equal(s.registryTopic, REGISTRY_DEFAULTS.topic);
  assert.equal(s.schemaRegistryUrl, `http://127.0.0.1:${REGISTRY_DEFAULTS.port}`);
  assert.equal(s.clickhouseDataDir, CLICKHOUSE_DEFAULTS.dataDir);
  assert.equal(s.clickhouseDatabase, CLICKHOUSE_DEFAULTS.database);
  assert.equal(s.httpHost, HTTP_DEFAULTS.host);
  assert.equal(s.registryHost, HTTP_DEFAULTS.host);
  assert.equal(s.httpPort, HTTP_DEFAULTS.port);
  assert.equal(s.httpBodyLimit, HTTP_DEFAULTS.bodyLimit);
  assert.deepEqual(s.pipelineFiles, [...PIPELINE_DEFAULTS.files]);
  assert.equal(s.fuseStages, STREAM_DEFAULTS.fuseStages);
  assert.equal(s.driftIntervalMs, MONITORING_DEFAULTS.driftIntervalMs);
  assert.equal(s.logLevel, OBSERVABILITY_DEFAULTS.logLevel);
});

test('settings: the documented defaults are the defaults objects\' values, as one would set them', () => {
  const documented = Object.fromEntries(describeSettings().map((v) => [v.name, v.default]));
  assert.deepEqual(documented, {
    KAFKA_BROKERS: KAFKA_DEFAULTS.brokers.join(','),
    KAFKA_CLIENT_ID: KAFKA_DEFAULTS.clientId,
    KAFKA_SSL: String(KAFKA_DEFAULTS.ssl),
    KAFKA_SSL_CA_FILE: undefined,
    KAFKA_SSL_CERT_FILE: undefined,
    KAFKA_SSL_KEY_FILE: undefined,
    KAFKA_SASL_MECHANISM: undefined,
    KAFKA_SASL_USERNAME: undefined,
    KAFKA_SASL_PASSWORD: undefined,
    KAFKA_SESSION_TIMEOUT: formatDuration(KAFKA_DEFAULTS.sessionTimeoutMs),
    SCHEMA_REGISTRY_URL: undefined,
    SCHEMA_REGISTRY_HOST: undefined,
    SCHEMA_REGISTRY_PORT: String(REGISTRY_DEFAULTS.port),
    SCHEMA_REGISTRY_TOPIC: REGISTRY_DEFAULTS.topic,
    CLICKHOUSE_URL: undefined,
    CLICKHOUSE_DATA_DIR: CLICKHOUSE_DEFAULTS.dataDir,
    CLICKHOUSE_DATABASE: CLICKHOUSE_DEFAULTS.database,
    CLICKHOUSE_HTTP_PORT: undefined,
    CLICKHOUSE_HTTP_HOST: CLICKHOUSE_DEFAULTS.httpHost,
    CLICKHOUSE_HTTP_USER: CLICKHOUSE_DEFAULTS.httpUser,
    CLICKHOUSE_HTTP_PASSWORD: undefined,
    CLICKHOUSE_HTTP_SERVICE_USER: CLICKHOUSE_DEFAULTS.httpServiceUser,
    CLICKHOUSE_HTTP_SERVICE_PASSWORD: undefined,
    HOST: HTTP_DEFAULTS.host,
    PORT: String(HTTP_DEFAULTS.port),
    STREAMLOOP_ADVERTISED_URL: undefined,
    HTTP_BODY_LIMIT: HTTP_DEFAULTS.bodyLimit,
    STREAMLOOP_PIPELINES: PIPELINE_DEFAULTS.files.join(','),
    STREAMLOOP_FUSE_STAGES: String(STREAM_DEFAULTS.fuseStages),
    STREAMLOOP_DRIFT_INTERVAL: formatDuration(MONITORING_DEFAULTS.driftIntervalMs),
    STREAMLOOP_GBDT_THREADS: undefined,
    STREAMLOOP_TRAINING_WORKER: String(ML_DEFAULTS.trainingWorker),
    STREAMLOOP_EXTERNAL_MODEL_MAX_BYTES: String(MODEL_SAFETY_DEFAULTS.maxBytes),
    STREAMLOOP_MODEL_PROBE_MEMORY_MB: String(MODEL_SAFETY_DEFAULTS.probeMemoryMb),
    STREAMLOOP_MODEL_PROBE_TIMEOUT: formatDuration(MODEL_SAFETY_DEFAULTS.probeTimeoutMs),
    STREAMLOOP_AUTH: AUTH_DEFAULTS.enabled ? 'on' : 'off',
    STREAMLOOP_TOKENS: undefined,
    STREAMLOOP_TOKENS_FILE: undefined,
    STREAMLOOP_AUTH_OPEN_HEALTH: String(AUTH_DEFAULTS.openOperational),
    STREAMLOOP_TOKEN: undefined,
    LOG_LEVEL: OBSERVABILITY_DEFAULTS.logLevel,
    LOG_FILE: undefined,
  });
});

test('settings: setting every variable to its documented default changes nothing', () => {
  const env = Object.fromEntries(describeSettings().filter((v) => v.default !== undefined).map((v) => [v.name, v.default]));
  assert.deepEqual(loadSettings(env), loadSettings({}));
});

test('settings: every variable has a description, and one without a default says what happens unset or is plainly unset', () => {
  for (const v of describeSettings()) {
    assert.ok(v.description.length >= 10, `${v.name}: a description`);
    assert.ok(v.default === undefined || v.unset === undefined, `${v.name}: a default or an unset text, not both`);
  }
});

test('settings: the session timeout floor is the broker\'s, from KAFKA_DEFAULTS', () => {
  const floor = formatDuration(KAFKA_DEFAULTS.minSessionTimeoutMs);
  assert.equal(loadSettings({ KAFKA_SESSION_TIMEOUT: floor }).kafkaSessionTimeoutMs, KAFKA_DEFAULTS.minSessionTimeoutMs);
  assert.throws(() => loadSettings({ KAFKA_SESSION_TIMEOUT: `${KAFKA_DEFAULTS.minSessionTimeoutMs - 1}ms` }), (e: unknown) => {
    assert.ok(e instanceof SettingsError);
    assert.deepEqual(e.problems, [`KAFKA_SESSION_TIMEOUT: expected a duration of at least ${floor} (the broker's group.min.session.timeout.ms), like 10s or 30s, got "${KAFKA_DEFAULTS.minSessionTimeoutMs - 1}ms"`]);
    return true;
  });
  assert.throws(() => loadSettings({ STREAMLOOP_DRIFT_INTERVAL: 'hourly' }), /STREAMLOOP_DRIFT_INTERVAL: expected a duration like 30s or 5m, got "hourly"/);
});

test('settings: STREAMLOOP_GBDT_THREADS is a whole number of threads; unset, libs/ml picks (up to ML_DEFAULTS\' cap)', () => {
  assert.equal(loadSettings({}).gbdtThreads, undefined);
  assert.equal(loadSettings({ STREAMLOOP_GBDT_THREADS: '2' }).gbdtThreads, 2);
  for (const bad of ['0', 'two', '1.5', '-1']) {
    assert.throws(() => loadSettings({ STREAMLOOP_GBDT_THREADS: bad }), new RegExp(`STREAMLOOP_GBDT_THREADS: expected a whole number of threads, 1 or more, got "${bad}"`));
  }
  const documented = describeSettings().find((v) => v.name === 'STREAMLOOP_GBDT_THREADS')!;
  assert.equal(documented.unset, `the available cores, at most ${ML_DEFAULTS.gbdtThreadsCap}`);
});

test('settings: STREAMLOOP_TRAINING_WORKER is true or false; unset, training runs on a worker thread', () => {
  assert.equal(loadSettings({}).trainingWorker, true);
  assert.equal(loadSettings({ STREAMLOOP_TRAINING_WORKER: 'false' }).trainingWorker, false);
  assert.throws(() => loadSettings({ STREAMLOOP_TRAINING_WORKER: 'no' }), /STREAMLOOP_TRAINING_WORKER/);
});

test('settings: STREAMLOOP_ADVERTISED_URL is an http(s) address, kept without a trailing slash; unset, none is set', () => {
  assert.equal(loadSettings({}).advertisedUrl, undefined);
  assert.equal(loadSettings({ STREAMLOOP_ADVERTISED_URL: 'http://predict-2.internal:8080/' }).advertisedUrl, 'http://predict-2.internal:8080');
  assert.throws(() => loadSettings({ STREAMLOOP_ADVERTISED_URL: 'predict-2:8080' }), /STREAMLOOP_ADVERTISED_URL/);
  assert.throws(() => loadSettings({ STREAMLOOP_ADVERTISED_URL: 'ftp://predict-2:8080' }), /STREAMLOOP_ADVERTISED_URL/);
});

test('CLICKHOUSE_HTTP_*: off unless a port is set; the service user only with its password', () => {
  assert.equal(loadSettings({}).clickhouseHttp, undefined);
  assert.deepEqual(loadSettings({ CLICKHOUSE_HTTP_PORT: '8123' }).clickhouseHttp, { host: '127.0.0.1', port: 8123, user: 'default', password: '', service: undefined });
  assert.deepEqual(loadSettings({
    CLICKHOUSE_HTTP_PORT: '0', CLICKHOUSE_HTTP_HOST: '0.0.0.0', CLICKHOUSE_HTTP_USER: 'analyst', CLICKHOUSE_HTTP_PASSWORD: 'a', CLICKHOUSE_HTTP_SERVICE_PASSWORD: 's',
  }).clickhouseHttp, { host: '0.0.0.0', port: 0, user: 'analyst', password: 'a', service: { user: 'streamloop', password: 's' } });
  assert.throws(() => loadSettings({ CLICKHOUSE_HTTP_PORT: 'http' }), /CLICKHOUSE_HTTP_PORT: expected a port number/);
  assert.throws(() => loadSettings({ CLICKHOUSE_HTTP_PORT: '8123', CLICKHOUSE_HTTP_USER: 'a b' }), /CLICKHOUSE_HTTP_USER: expected a user name/);
});

test('settings: the external-model limits are a byte count, a memory of at least 256 MiB and a duration', () => {
  const defaults = loadSettings({});
  assert.deepEqual([defaults.externalModelMaxBytes, defaults.modelProbeMemoryMb, defaults.modelProbeTimeoutMs], [15 * 1024 * 1024, 1024, 30_000]);
  const set = loadSettings({ STREAMLOOP_EXTERNAL_MODEL_MAX_BYTES: '4096', STREAMLOOP_MODEL_PROBE_MEMORY_MB: '512', STREAMLOOP_MODEL_PROBE_TIMEOUT: '5s' });
  assert.deepEqual([set.externalModelMaxBytes, set.modelProbeMemoryMb, set.modelProbeTimeoutMs], [4096, 512, 5000]);
  assert.throws(() => loadSettings({ STREAMLOOP_EXTERNAL_MODEL_MAX_BYTES: '64mb' }), /STREAMLOOP_EXTERNAL_MODEL_MAX_BYTES: expected a whole number of bytes, 1 or more, got "64mb"/);
  assert.throws(() => loadSettings({ STREAMLOOP_MODEL_PROBE_MEMORY_MB: '100' }), /STREAMLOOP_MODEL_PROBE_MEMORY_MB: expected at least 256 MiB/);
  assert.throws(() => loadSettings({ STREAMLOOP_MODEL_PROBE_TIMEOUT: 'soon' }), /STREAMLOOP_MODEL_PROBE_TIMEOUT: expected a duration like 30s or 1m/);
});

test('settings: auth is on by default; STREAMLOOP_AUTH takes on or off, STREAMLOOP_TOKENS entries of four fields', () => {
  assert.deepEqual(loadSettings({}).auth, { enabled: true, tokens: undefined, tokensFile: undefined, openOperational: true, clientToken: undefined });
  const entry = `ops:sha256:${'a'.repeat(64)}:admin`;
  assert.deepEqual(loadSettings({ STREAMLOOP_AUTH: 'off', STREAMLOOP_TOKENS: entry, STREAMLOOP_AUTH_OPEN_HEALTH: 'false', STREAMLOOP_TOKEN: 'slt_x' }).auth,
    { enabled: false, tokens: entry, tokensFile: undefined, openOperational: false, clientToken: 'slt_x' });
  assert.throws(() => loadSettings({ STREAMLOOP_AUTH: 'yes' }), (e: SettingsError) => /STREAMLOOP_AUTH/.test(e.message));
  assert.throws(() => loadSettings({ STREAMLOOP_TOKENS: 'ops:admin' }), (e: SettingsError) => /STREAMLOOP_TOKENS.*name:sha256:<hex>:scope/.test(e.message));
});
