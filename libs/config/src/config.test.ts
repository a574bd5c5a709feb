import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  DEFAULT_DATA_QUALITY, featureNamesOf, featureStageTopics, formatDuration, loadPipelineSpec, loadSettings, parseDuration, parsePipelineSpec, SettingsError, SpecError, topicsFor,
} from './index';
import { DEFAULT_BATCH_MAX_ROWS, DEFAULT_GRAPH_OPTIMIZATION_LEVEL, DEFAULT_ONNX_INTRA_OP_THREADS, GRAPH_OPTIMIZATION_LEVELS } from './index';

const FRAUD = fileURLToPath(new URL('../../../examples/pipelines/fraud.yaml', import.meta.url));
const SCHEMA = fileURLToPath(new URL('../../../examples/schemas/card_transaction.avsc', import.meta.url));
const text = readFileSync(FRAUD, 'utf8');
/** Parses an edit of the example as if it lived beside it (so the schema path still resolves). */
const variant = (edit: (t: string) => string) => parsePipelineSpec(edit(text), FRAUD);
/** The problems of a spec that must fail, without the file prefix. */
function problemsOf(edit: (t: string) => string): string[] {
  try {
    variant(edit);
  } catch (e) {
    assert.ok(e instanceof SpecError, `expected a SpecError, got ${String(e)}`);
    assert.equal(e.file, FRAUD);
    return e.problems;
  }
  assert.fail('the spec was accepted');
}

const MINIMAL = `
pipeline: tiny
events: { schema: ./event.avsc, id_field: id, time_field: ts, entity_field: user }
features:
  version: v1
  aggregates: [{ name: n, entity: user, op: count, window: 90s }]
labels: { field: churned }
model: { name: tiny-lr, algorithm: logistic_regression }
`;

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'streamloop-config-'));
  writeFileSync(join(dir, 'event.avsc'), JSON.stringify({
    type: 'record', name: 'E', fields: [
      { name: 'id', type: 'string' }, { name: 'ts', type: 'long' }, { name: 'user', type: ['null', 'string'] },
    ],
  }));
  return dir;
}

test('the example pipeline loads: durations in ms, absolute schema path, derived topics', () => {
  const spec = loadPipelineSpec(FRAUD);
  assert.equal(spec.pipeline, 'fraud');
  assert.equal(spec.file, FRAUD);
  assert.equal(spec.events.schemaPath, SCHEMA);
  assert.deepEqual(
    { ...spec.events, schemaPath: undefined },
    { schemaPath: undefined, idField: 'transaction_id', timeField: 'event_time', entityField: 'card_id', partitions: 3, dedupWindowMs: 3_600_000 },
  );
  assert.equal(spec.monitoring.windowMs, 24 * 3_600_000);
  assert.deepEqual(spec.model, {
    name: 'fraud-lr', algorithm: 'logistic_regression', params: { l2: 1, max_iter: 100 }, threshold: 0.5, thresholdSelection: null, search: null,
    owner: 'payments-risk team (risk-ml@example.com)',
    intendedUse: 'Scores card payments for fraud as they happen, to hold the riskiest for review. Not for credit decisions, nor for payments of cards issued outside the card data it was trained on.',
  });
  assert.deepEqual(spec.training, { minLabels: 1500, holdoutFraction: 0.2, scheduleMs: null, segmentBy: null, window: { kind: 'all' } });
  assert.deepEqual(spec.retraining, { triggers: [{ kind: 'performance' }], cooldownMs: 3_600_000, minNewLabels: 500 });
  const mean = spec.features.aggregates.find((a) => a.name === 'card_amount_mean_24h');
  assert.deepEqual(mean, { name: 'card_amount_mean_24h', entity: 'card_id', op: 'mean', field: 'amount', window: '24h', windowMs: 86_400_000 });
  const topics = topicsFor(spec);
  assert.deepEqual({ ...topics, changelog: undefined, repartition: undefined }, {
    raw: 'fraud.events.raw', events: 'fraud.events', dlq: 'fraud.events.dlq', features: 'fraud.features', predictions: 'fraud.predictions', shadow: 'fraud.predictions.shadow',
    labels: 'fraud.labels', alerts: 'fraud.alerts', models: 'streamloop.models', changelogPrefix: 'fraud.changelog', changelog: undefined,
    repartition: undefined,
  });
  assert.equal(topics.changelog('features'), 'fraud.changelog.features');
  assert.deepEqual(featureStageTopics(topics, { index: 0, field: 'card_id' }), { input: 'fraud.events', changelog: 'fraud.changelog.features' });
  assert.deepEqual(featureStageTopics(topics, { index: 1, field: 'merchant_id' }), { input: 'fraud.repartition.features.merchant_id', changelog: 'fraud.changelog.features.merchant_id' });
  assert.deepEqual(featureNamesOf(spec.features).slice(4, 10), [
    'category=grocery', 'category=restaurant', 'category=electronics', 'category=gaming', 'category=travel', 'category=__other__',
  ]);
});

test('defaults fill every optional key; relative paths resolve against the YAML file', () => {
  const dir = tempDir();
  mkdirSync(join(dir, 'pipelines'));
  const spec = parsePipelineSpec(MINIMAL.replace('./event.avsc', '../event.avsc'), join(dir, 'pipelines', 'tiny.yaml'));
  assert.equal(spec.events.schemaPath, join(dir, 'event.avsc'));
  assert.equal(spec.events.partitions, 3);
  assert.equal(spec.events.dedupWindowMs, 3_600_000);
  assert.deepEqual(spec.topics, {});
  assert.deepEqual(spec.features.transforms, []);
  assert.equal((spec.features.aggregates[0] as { windowMs: number }).windowMs, 90_000);
  assert.deepEqual(spec.model.params, {});
  assert.equal(spec.model.threshold, 0.5);
  assert.deepEqual(spec.training, { minLabels: 500, holdoutFraction: 0.2, scheduleMs: null, segmentBy: null, window: { kind: 'all' } });
  assert.equal(spec.model.search, null);
  assert.equal(spec.model.thresholdSelection, null);
  assert.deepEqual(spec.monitoring, { window: '5m', windowMs: 300_000, alertCooldownMs: 86_400_000, psiBins: 10, psiThreshold: 0.2, thresholds: { ksPValue: null, jensenShannon: null, wasserstein: null }, datasetDrift: { alpha: 0.05, share: 0.5 }, detectors: { labelDelayMs: 3_600_000, warmUp: 1000, adwin: {}, pageHinkley: { threshold: 100 }, ddm: { driftThreshold: 4 } },
    features: { n: { kind: 'numeric', statistic: null, threshold: null, exclude: false } },
    reference: { source: 'training_after_warm_up', warmUpMs: 90_000 },
  });
  // Topics named in the spec win; the rest still derive from the pipeline name.
  const custom = parsePipelineSpec(`${MINIMAL}topics: { raw: app.clicks, models: tiny.models }\ntraining: { schedule: 10m }\n`, join(dir, 'tiny.yaml'));
  assert.equal(topicsFor(custom).raw, 'app.clicks');
  assert.equal(topicsFor(custom).events, 'tiny.events');
  assert.equal(topicsFor(custom).models, 'tiny.models');
  assert.equal(custom.training.scheduleMs, 600_000);
  assert.equal(custom.training.minLabels, 500, 'a partly written section keeps its other defaults');
});

test('durations', () => {
  assert.equal(parseDuration('5m'), 300_000);
  assert.equal(parseDuration('250ms'), 250);
  assert.equal(parseDuration('30s'), 30_000);
  assert.equal(parseDuration('1.5h'), 5_400_000);
  assert.equal(parseDuration('7d'), 7 * 86_400_000);
  assert.equal(parseDuration('1w'), 7 * 86_400_000);
  assert.equal(parseDuration('2w'), parseDuration('14d'));
  assert.equal(parseDuration('0.5w'), 84 * 3_600_000);
  for (const bad of ['1 hour', '0s', '5', 'm', '-1m', '1W', '1wk', 'w', '']) assert.equal(parseDuration(bad), undefined, bad);
  assert.deepEqual([300_000, 86_400_000, 1500, 90_000, 7 * 86_400_000, 14 * 86_400_000, 8 * 86_400_000].map(formatDuration), ['5m', '1d', '1500ms', '90s', '1w', '2w', '8d']);
});

test('a bad duration names the file, the key path, what was expected and what was found', () => {
  assert.throws(() => variant((t) => t.replace('window: 24h }', 'window: 1 hour }')), (e: unknown) => {
    assert.ok(e instanceof SpecError);
    assert.equal(e.message, `${FRAUD}: features.aggregates[1].window: expected a duration like 5m, 1h, 7d, got "1 hour"`);
    return true;
  });
});

test('an unknown key is an error, at any depth', () => {
  assert.deepEqual(problemsOf((t) => t.replace('params: {', 'paramz: {')), ['model.paramz: unknown key']);
  assert.deepEqual(problemsOf((t) => `${t}\nextra: 1\n`), ['extra: unknown key']);
  assert.deepEqual(problemsOf((t) => t.replace('op: log1p, field: amount', 'op: log1p, field: amount, base: 2')), ['features.transforms[1].base: unknown key']);
});

test('every problem is reported at once, each with its key path and the value found', () => {
  const problems = problemsOf((t) => t
    .replace('partitions: 3', 'partitions: three')
    .replace('op: log1p', 'op: log2')
    .replace('threshold: 0.5', 'threshold: 1.5')
    .replace('psi_bins: 10', 'psi_bins: 2.5')
    .replace('algorithm: logistic_regression', 'algorithm: svm')
    .replace('pipeline: fraud', 'pipeline: Fraud!'));
  assert.deepEqual(problems, [
    'pipeline: expected lowercase letters, digits, _ or -, starting with a letter, got "Fraud!"',
    'events.partitions: expected a number, got "three"',
    'features.transforms[1].op: expected one of passthrough, log1p, clip, bucketize, one_hot, hash, hour_of_day, day_of_week, not_equal, ratio, expr, got "log2"',
    'model.algorithm: expected one of logistic_regression, gbdt, got "svm"',
    'model.threshold: expected a number <= 1, got 1.5',
    'monitoring.psi_bins: expected an integer, got 2.5',
  ]);
  assert.throws(() => variant((t) => t.replace('partitions: 3', 'partitions: three').replace('op: log1p', 'op: log2')), (e: unknown) => {
    assert.match((e as Error).message, /fraud\.yaml: 2 problems\n {2}.*fraud\.yaml: events\.partitions: .*\n {2}.*fraud\.yaml: features\.transforms\[1\]\.op: /);
    return true;
  });
  assert.deepEqual(problemsOf((t) => t.replace(/^labels:\n {2}field: is_fraud\n/m, '')), ['labels: required, expected an object']);
  assert.deepEqual(problemsOf((t) => t.replace('- { name: hour_of_day, op: hour_of_day }', '- { name: hour_of_day }')), ['features.transforms[3].op: required, one of passthrough, log1p, clip, bucketize, one_hot, hash, hour_of_day, day_of_week, not_equal, ratio, expr']);
});

test('references are checked against the event schema: existence and type', () => {
  assert.deepEqual(problemsOf((t) => t.replace('entity_field: card_id', 'entity_field: card')), [
    'events.entity_field: the event schema com.example.payments.CardTransaction has no field "card" (it has transaction_id, event_time, card_id, merchant_id, merchant_category, amount, currency, country, is_online, device_id)',
  ]);
  assert.deepEqual(problemsOf((t) => t.replace('entity: merchant_id', 'entity: amount_x').replace('op: log1p, field: amount', 'op: log1p, field: currency')), [
    'features.aggregates[5].entity: the event schema com.example.payments.CardTransaction has no field "amount_x" (it has transaction_id, event_time, card_id, merchant_id, merchant_category, amount, currency, country, is_online, device_id)',
    'features.transforms[1].field: field "currency" is string in the event schema, expected a number (int, long, float, double) or boolean',
  ]);
  assert.deepEqual(problemsOf((t) => t.replace('time_field: event_time', 'time_field: amount')), [
    'events.time_field: field "amount" is double in the event schema, expected a long of epoch milliseconds (logicalType timestamp-millis) that is never null',
  ]);
  assert.deepEqual(problemsOf((t) => t.replace('id_field: transaction_id', 'id_field: device_id')), [
    'events.id_field: field "device_id" is ["null", string] in the event schema, expected a string, int or long that is never null',
  ]);
  assert.deepEqual(problemsOf((t) => t.replace('categories: [grocery,', 'categories: [grocry,').replace('value: NL', 'value: 3')), [
    'features.transforms[4].categories[0]: "grocry" is not a symbol of the enum field "merchant_category" (grocery, fuel, restaurant, electronics, travel, gaming, other)',
    'features.transforms[7].value: expected a string like the field "country" (string), got 3',
  ]);
});

test('ratio operands must be aggregates, earlier one-number transforms or numeric event fields; names must be unique', () => {
  assert.deepEqual(problemsOf((t) => t.replace('denominator: card_amount_mean_24h', 'denominator: nope')), [
    'features.transforms[8].denominator: "nope" is neither an aggregate (card_txn_count_1h, card_txn_count_24h, card_amount_mean_24h, card_amount_max_24h, card_secs_since_last, merchant_txn_count_1h), an earlier transform (amount, log_amount, is_online, hour_of_day, amount_clipped, amount_bucket, foreign) nor an event field (transaction_id, event_time, card_id, merchant_id, merchant_category, amount, currency, country, is_online, device_id)',
  ]);
  // An earlier transform is read like an aggregate; a later one, or one of several columns, is not one number to read.
  const ratioOf = variant((t) => t.replace('numerator: amount, denominator: card_amount_mean_24h', 'numerator: amount_clipped, denominator: log_amount'));
  assert.deepEqual(ratioOf.features.transforms[8], { name: 'amount_vs_card_mean', op: 'ratio', numerator: 'amount_clipped', denominator: 'log_amount' });
  assert.deepEqual(problemsOf((t) => t.replace('denominator: card_amount_mean_24h', 'denominator: category')), [
    'features.transforms[8].denominator: "category" is a one_hot transform (features.transforms[4]) of several columns, not one number',
  ]);
  assert.deepEqual(problemsOf((t) => t.replace('denominator: card_amount_mean_24h', 'denominator: amount_vs_card_mean')), [
    'features.transforms[8].denominator: "amount_vs_card_mean" is features.transforms[8], this transform itself; a transform reads only the transforms before it',
  ]);
  assert.deepEqual(problemsOf((t) => t.replace('{ name: amount_clipped,', '{ name: amount_vs_card_mean_2, op: ratio, numerator: amount, denominator: amount_clip }\n    - { name: amount_clip,')), [
    'features.transforms[5].denominator: "amount_clip" is features.transforms[6], declared after this one; a transform reads only the transforms before it',
  ]);
  assert.deepEqual(problemsOf((t) => t.replace('numerator: amount', 'numerator: country')), [
    'features.transforms[8].numerator: field "country" is string in the event schema, expected a number or boolean',
  ]);
  assert.deepEqual(problemsOf((t) => t.replace('name: log_amount', 'name: amount')), [
    'features.transforms[1].name: feature name "amount" is used twice (also by features.transforms[0].name)',
  ]);
  assert.deepEqual(problemsOf((t) => t.replace('name: card_txn_count_24h', 'name: hour_of_day')), [
    'features.aggregates[1].name: feature name "hour_of_day" is used twice (also by features.transforms[3].name)',
  ]);
  assert.deepEqual(problemsOf((t) => t.replace('boundaries: [10, 50, 200, 1000]', 'boundaries: [10, 500, 200]').replace('min: 0, max: 5000', 'min: 10, max: 5')), [
    'features.transforms[5].min: 10 is above max 5',
    'features.transforms[6].boundaries[2]: expected strictly increasing numbers, got 200 after 500',
  ]);
});

test('topic names: valid Kafka names, one topic per role', () => {
  assert.deepEqual(problemsOf((t) => `${t}\ntopics: { raw: fraud.events }\n`), [
    'topics.raw: "fraud.events" is both the raw and the events topic; every role needs its own topic',
  ]);
  assert.deepEqual(problemsOf((t) => `${t}\ntopics: { raw: "bad topic" }\n`), [
    'topics.raw: expected a Kafka topic name: 1 to 249 letters, digits, ., _ or -, got "bad topic"',
  ]);
});

test('files: unreadable spec, missing schema, invalid YAML, empty document', () => {
  assert.throws(() => loadPipelineSpec('/nonexistent/p.yaml'), /^SpecError: \/nonexistent\/p\.yaml: cannot read the pipeline spec: ENOENT/);
  const dir = tempDir();
  assert.throws(() => parsePipelineSpec(MINIMAL.replace('./event.avsc', './missing.avsc'), join(dir, 'p.yaml')), (e: unknown) => {
    assert.match((e as Error).message, /p\.yaml: events\.schema: expected an Avro schema file at \/.*\/missing\.avsc \(relative to the spec file\), there is none$/);
    return true;
  });
  writeFileSync(join(dir, 'bad.avsc'), '{"type": "record", "name": "B", "fields": [{"name": "a", "type": "strin"}]}');
  assert.throws(() => parsePipelineSpec(MINIMAL.replace('./event.avsc', './bad.avsc'), join(dir, 'p.yaml')), /events\.schema: .*bad\.avsc is not a valid Avro schema: undefined type name: strin/);
  assert.throws(() => parsePipelineSpec('pipeline: [', 'x.yaml'), /^SpecError: x\.yaml: not valid YAML: /);
  assert.throws(() => parsePipelineSpec('a: 1\na: 2\n', 'x.yaml'), /x\.yaml: not valid YAML: Map keys must be unique/);
  assert.throws(() => parsePipelineSpec('', 'x.yaml'), /^SpecError: x\.yaml: \(top level\): expected a mapping, got null$/);
});

test('settings: defaults', () => {
  const s = loadSettings({});
  assert.deepEqual(s.kafkaBrokers, ['127.0.0.1:9092']);
  assert.equal(s.kafkaClientId, 'streamloop');
  assert.equal(s.kafkaSsl, false);
  assert.equal(s.kafkaSasl, undefined);
  assert.equal(s.schemaRegistryUrl, 'http://127.0.0.1:8081');
  assert.equal(s.schemaRegistryExternal, false);
  assert.equal(s.clickhouseUrl, undefined);
  assert.equal(s.clickhouseDataDir, '.streamloop/chdb');
  assert.equal(s.clickhouseDatabase, 'streamloop');
  assert.equal(s.httpPort, 8080);
  assert.equal(s.registryPort, 8081);
  assert.deepEqual(s.pipelineFiles, ['examples/pipelines/fraud.yaml']);
  assert.equal(s.logLevel, 'info');
});

test('settings: values from the environment; empty means unset', () => {
  const s = loadSettings({
    KAFKA_BROKERS: 'k1:9092,k2:9093', KAFKA_CLIENT_ID: 'svc', KAFKA_SSL: 'true', KAFKA_SASL_MECHANISM: 'scram-sha-512',
    KAFKA_SASL_USERNAME: 'u', KAFKA_SASL_PASSWORD: 'p', SCHEMA_REGISTRY_URL: 'http://registry:8081', CLICKHOUSE_URL: 'http://ch:8123',
    CLICKHOUSE_DATABASE: 'ml', PORT: '0', SCHEMA_REGISTRY_PORT: '18081', STREAMLOOP_PIPELINES: 'a.yaml, b.yaml', LOG_LEVEL: 'debug', CLICKHOUSE_DATA_DIR: '',
  });
  assert.deepEqual(s.kafkaBrokers, ['k1:9092', 'k2:9093']);
  assert.deepEqual(s.kafkaSasl, { mechanism: 'scram-sha-512', username: 'u', password: 'p' });
  assert.equal(s.kafkaSsl, true);
  assert.equal(s.schemaRegistryUrl, 'http://registry:8081');
  assert.equal(s.schemaRegistryExternal, true);
  assert.equal(s.clickhouseUrl, 'http://ch:8123');
  assert.equal(s.clickhouseDataDir, '.streamloop/chdb');
  assert.equal(s.httpPort, 0);
  assert.equal(s.registryPort, 18081);
  assert.deepEqual(s.pipelineFiles, ['a.yaml', 'b.yaml']);
  assert.equal(loadSettings({ SCHEMA_REGISTRY_PORT: '9999' }).schemaRegistryUrl, 'http://127.0.0.1:9999');
});

test('settings: errors name every variable, what was expected and what was set', () => {
  assert.throws(() => loadSettings({ KAFKA_BROKERS: 'a b', PORT: '99999', SCHEMA_REGISTRY_URL: 'nope', LOG_LEVEL: 'loud', KAFKA_SSL: 'yes' }), (e: unknown) => {
    assert.ok(e instanceof SettingsError);
    assert.deepEqual(e.problems, [
      'KAFKA_BROKERS: expected host:port[,host:port...], got "a b"',
      'KAFKA_SSL: expected one of true, false, got "yes"',
      'SCHEMA_REGISTRY_URL: expected a URL like http://host:port, got "nope"',
      'PORT: expected a port number 0-65535, got "99999"',
      'LOG_LEVEL: expected one of fatal, error, warn, info, debug, trace, silent, got "loud"',
    ]);
    return true;
  });
  assert.throws(() => loadSettings({ KAFKA_SASL_MECHANISM: 'plain', KAFKA_SASL_USERNAME: 'u' }), /KAFKA_SASL_PASSWORD: required when KAFKA_SASL_MECHANISM is set/);
  assert.throws(() => loadSettings({ KAFKA_SASL_PASSWORD: 'secret' }), (e: unknown) => {
    assert.match((e as Error).message, /KAFKA_SASL_MECHANISM: required when KAFKA_SASL_USERNAME or KAFKA_SASL_PASSWORD is set/);
    assert.doesNotMatch((e as Error).message, /secret/, 'a password never appears in an error');
    return true;
  });
});

test('settings: Kafka TLS files are checked when read (readable, PEM, certificate with key, only with KAFKA_SSL) and kept as paths', () => {
  const dir = mkdtempSync(join(tmpdir(), 'streamloop-tls-'));
  const cert = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
  const files = { ca: join(dir, 'ca.pem'), cert: join(dir, 'client.pem'), key: join(dir, 'client.key'), encrypted: join(dir, 'enc.key'), text: join(dir, 'notes.txt') };
  writeFileSync(files.ca, cert);
  writeFileSync(files.cert, cert);
  writeFileSync(files.key, '-----BEGIN EC PRIVATE KEY-----\nMHc\n-----END EC PRIVATE KEY-----\n');
  writeFileSync(files.encrypted, '-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIH\n-----END ENCRYPTED PRIVATE KEY-----\n');
  writeFileSync(files.text, 'not a certificate');
  const s = loadSettings({ KAFKA_SSL: 'true', KAFKA_SSL_CA_FILE: files.ca, KAFKA_SSL_CERT_FILE: files.cert, KAFKA_SSL_KEY_FILE: files.key });
  assert.deepEqual(s.kafkaTls, { caFile: files.ca, certFile: files.cert, keyFile: files.key });
  assert.equal(loadSettings({ KAFKA_SSL: 'true' }).kafkaTls, undefined);
  assert.equal(loadSettings({ KAFKA_SSL: 'true', KAFKA_SSL_CA_FILE: '' }).kafkaTls, undefined, 'empty means unset');

  const problems = (env: NodeJS.ProcessEnv) => {
    try {
      loadSettings(env);
    } catch (error) {
      assert.ok(error instanceof SettingsError);
      return error.problems;
    }
    assert.fail('expected a SettingsError');
  };
  assert.deepEqual(problems({ KAFKA_SSL_CA_FILE: files.ca }), [`KAFKA_SSL_CA_FILE: set, but KAFKA_SSL is false; set KAFKA_SSL=true to connect with TLS, or unset KAFKA_SSL_CA_FILE`]);
  assert.deepEqual(problems({ KAFKA_SSL: 'true', KAFKA_SSL_CA_FILE: join(dir, 'missing.pem') }), [`KAFKA_SSL_CA_FILE: cannot read ${join(dir, 'missing.pem')} (ENOENT)`]);
  assert.deepEqual(problems({ KAFKA_SSL: 'true', KAFKA_SSL_CA_FILE: files.text }), [`KAFKA_SSL_CA_FILE: ${files.text} holds no PEM certificate (expected a "-----BEGIN CERTIFICATE-----" block)`]);
  assert.deepEqual(problems({ KAFKA_SSL: 'true', KAFKA_SSL_CERT_FILE: files.cert }), ['KAFKA_SSL_KEY_FILE: required with KAFKA_SSL_CERT_FILE (a client certificate and its key go together)']);
  assert.deepEqual(problems({ KAFKA_SSL: 'true', KAFKA_SSL_CERT_FILE: files.cert, KAFKA_SSL_KEY_FILE: files.cert }), [`KAFKA_SSL_KEY_FILE: ${files.cert} holds no PEM private key (expected a "-----BEGIN PRIVATE KEY-----" block)`]);
  assert.deepEqual(problems({ KAFKA_SSL: 'true', KAFKA_SSL_CERT_FILE: files.cert, KAFKA_SSL_KEY_FILE: files.encrypted }), [`KAFKA_SSL_KEY_FILE: ${files.encrypted} is an encrypted key; give it unencrypted (readable by this process only)`]);
});

// --------------------------------------------------------------------------------------------------------
// The richer feature language: std, distinct_count, last, ewm_mean; event-time lateness.

const AGGREGATES_END = '    - { name: merchant_txn_count_1h, entity: merchant_id, op: count, window: 1h }\n';
/** The example with extra aggregates appended and extra keys under `features`. */
const extended = (aggregates: string, features = '') => (t: string) => t.replace(AGGREGATES_END, AGGREGATES_END + aggregates).replace('  version: v1\n', `  version: v1\n${features}`);

test('std, distinct_count, last and ewm_mean load with durations in ms; lateness keys too', () => {
  const spec = variant(extended([
    '    - { name: card_amount_std_1h, entity: card_id, op: std, field: amount, window: 1h }',
    '    - { name: card_merchants_24h, entity: card_id, op: distinct_count, field: merchant_id, window: 24h }',
    '    - { name: card_categories_7d, entity: card_id, op: distinct_count, field: merchant_category, window: 7d }',
    '    - { name: card_last_amount, entity: card_id, op: last, field: amount }',
    '    - { name: card_amount_ewm, entity: card_id, op: ewm_mean, field: amount, half_life: 30m }',
  ].join('\n') + '\n', '  allowed_lateness: 10m\n  late_events: dead_letter\n'));
  assert.deepEqual(spec.features.aggregates.slice(6), [
    { name: 'card_amount_std_1h', entity: 'card_id', op: 'std', field: 'amount', window: '1h', windowMs: 3_600_000 },
    { name: 'card_merchants_24h', entity: 'card_id', op: 'distinct_count', field: 'merchant_id', window: '24h', windowMs: 86_400_000 },
    { name: 'card_categories_7d', entity: 'card_id', op: 'distinct_count', field: 'merchant_category', window: '7d', windowMs: 604_800_000 },
    { name: 'card_last_amount', entity: 'card_id', op: 'last', field: 'amount' },
    { name: 'card_amount_ewm', entity: 'card_id', op: 'ewm_mean', field: 'amount', half_life: '30m', halfLifeMs: 1_800_000 },
  ]);
  assert.equal(spec.features.allowedLatenessMs, 600_000);
  assert.equal(spec.features.lateEvents, 'dead_letter');
  assert.deepEqual(featureNamesOf(spec.features).slice(-5), ['card_amount_std_1h', 'card_merchants_24h', 'card_categories_7d', 'card_last_amount', 'card_amount_ewm']);
  // Defaults: no extra lateness limit, late events dropped.
  const plain = variant((t) => t);
  assert.equal(plain.features.allowedLatenessMs, null);
  assert.equal(plain.features.lateEvents, 'drop');
});

test('the new aggregates and lateness keys: shape errors name the key path and what was expected', () => {
  assert.deepEqual(problemsOf(extended([
    '    - { name: e, entity: card_id, op: ewm_mean, field: amount }',
    '    - { name: l, entity: card_id, op: last }',
    '    - { name: x, entity: card_id, op: median, field: amount, window: 1h }',
    '    - { name: w, entity: card_id, op: ewm_mean, field: amount, half_life: 0s, window: 1h }',
    '    - { name: s, entity: card_id, op: std, field: amount }',
  ].join('\n') + '\n', '  allowed_lateness: 10 minutes\n  late_events: retry\n')), [
    'features.aggregates[6].half_life: required, expected a string',
    'features.aggregates[7].field: required, expected a string',
    'features.aggregates[8].op: expected one of count, sum, mean, min, max, std, distinct_count, time_since_last, last, ewm_mean, got "median"',
    'features.aggregates[9].half_life: expected a duration like 5m, 1h, 7d, got "0s"',
    'features.aggregates[9].window: unknown key',
    'features.aggregates[10].window: required, expected a string',
    'features.allowed_lateness: expected a duration like 5m, 1h, 7d, got "10 minutes"',
    'features.late_events: expected one of drop, dead_letter, got "retry"',
  ]);
});

test('the new aggregates: fields are checked against the event schema', () => {
  assert.deepEqual(problemsOf(extended([
    '    - { name: s, entity: card_id, op: std, field: currency, window: 1h }',
    '    - { name: l, entity: card_id, op: last, field: country }',
    '    - { name: e, entity: card_id, op: ewm_mean, field: merchant_category, half_life: 1h }',
    '    - { name: d, entity: card_id, op: distinct_count, field: nope, window: 1h }',
  ].join('\n') + '\n')), [
    'features.aggregates[6].field: field "currency" is string in the event schema, expected a number (int, long, float, double) or boolean',
    'features.aggregates[7].field: field "country" is string in the event schema, expected a number (int, long, float, double) or boolean',
    'features.aggregates[8].field: field "merchant_category" is enum in the event schema, expected a number (int, long, float, double) or boolean',
    'features.aggregates[9].field: the event schema com.example.payments.CardTransaction has no field "nope" (it has transaction_id, event_time, card_id, merchant_id, merchant_category, amount, currency, country, is_online, device_id)',
  ]);
  // distinct_count takes anything with a stable text: strings, enums, numbers, booleans; not arrays or records.
  const dir = tempDir();
  writeFileSync(join(dir, 'event.avsc'), JSON.stringify({
    type: 'record', name: 'E', fields: [
      { name: 'id', type: 'string' }, { name: 'ts', type: 'long' }, { name: 'user', type: 'string' },
      { name: 'tags', type: { type: 'array', items: 'string' } }, { name: 'ok', type: 'boolean' }, { name: 'n', type: ['null', 'long'] },
    ],
  }));
  const yaml = (field: string) => MINIMAL.replace('aggregates: [{ name: n, entity: user, op: count, window: 90s }]', `aggregates: [{ name: d, entity: user, op: distinct_count, field: ${field}, window: 1h }]`);
  for (const ok of ['user', 'ok', 'n']) assert.equal(parsePipelineSpec(yaml(ok), join(dir, 'tiny.yaml')).features.aggregates[0].op, 'distinct_count');
  assert.throws(() => parsePipelineSpec(yaml('tags'), join(dir, 'tiny.yaml')), (e: unknown) => e instanceof SpecError
    && e.problems.length === 1 && /^features\.aggregates\[0\]\.field: field "tags" is .* in the event schema, expected a string, enum, number or boolean$/.test(e.problems[0]));
});

// --------------------------------------------------------------------------------------------------------
// Model selection: hyperparameter search, chosen thresholds, segment metrics.

/** The example with `model` replaced by the given YAML block (indented two spaces under model:). */
const withModel = (body: string) => (t: string) => t.replace(/^model:\n(?: {2}.*\n)+/m, `model:\n${body}`);
const GBDT_HEAD = '  name: fraud-gbdt\n  algorithm: gbdt\n  params: { max_iter: 40 }\n';

test('model.search: random search with every distribution; defaults for cv, metric and seed', () => {
  const spec = variant(withModel(`${GBDT_HEAD}  threshold: max_f1
  search:
    strategy: random
    trials: 6
    space:
      learning_rate: { log_uniform: [0.02, 0.3] }
      subsample: { uniform: [0.5, 1] }
      max_leaf_nodes: { int: [4, 31] }
      max_bins: { int: [16, 255], log: true }
      l2_regularization: { choice: [0, 0.1, 1] }
      min_samples_leaf: 10
`));
  assert.deepEqual(spec.model.search, {
    strategy: 'random', trials: 6, cv: { kind: 'time_series', folds: 3 }, metric: 'roc_auc', seed: 0,
    space: {
      learning_rate: { type: 'log_uniform', low: 0.02, high: 0.3 },
      subsample: { type: 'uniform', low: 0.5, high: 1 },
      max_leaf_nodes: { type: 'int', low: 4, high: 31 },
      max_bins: { type: 'int', low: 16, high: 255, log: true },
      l2_regularization: { type: 'choice', values: [0, 0.1, 1] },
      min_samples_leaf: 10,
    },
  });
  assert.equal(spec.model.threshold, 0.5, 'the fallback for models without a chosen threshold');
  assert.deepEqual(spec.model.thresholdSelection, { strategy: 'max_f1' });
  assert.deepEqual(spec.model.params, { max_iter: 40 });
});

test('model.search: successive halving over rows or a model param; pr_auc is average precision', () => {
  const rows = variant(withModel(`${GBDT_HEAD}  threshold: { target_precision: 0.9 }
  search: { strategy: successive_halving, candidates: 9, min_resource: 0.25, metric: pr_auc, seed: 3, cv: { kind: stratified_kfold, folds: 4 }, space: { learning_rate: { uniform: [0.05, 0.2] } } }
`));
  assert.deepEqual(rows.model.search, {
    strategy: 'successive_halving', candidates: 9, factor: 3, resource: 'rows', minResource: 0.25, maxResource: 1,
    cv: { kind: 'stratified_kfold', folds: 4 }, metric: 'average_precision', seed: 3, space: { learning_rate: { type: 'uniform', low: 0.05, high: 0.2 } },
  });
  assert.deepEqual(rows.model.thresholdSelection, { strategy: 'target_precision', precision: 0.9 });
  const iters = variant(withModel(`${GBDT_HEAD}  search: { strategy: successive_halving, candidates: 4, factor: 2, resource: max_iter, min_resource: 10, max_resource: 40, space: { max_depth: { int: [2, 6] } } }
`));
  assert.equal(iters.model.search?.strategy, 'successive_halving');
  assert.deepEqual(iters.model.search && { ...iters.model.search, space: undefined, cv: undefined }, {
    strategy: 'successive_halving', candidates: 4, factor: 2, resource: 'max_iter', minResource: 10, maxResource: 40,
    metric: 'roc_auc', seed: 0, space: undefined, cv: undefined,
  });
  assert.equal(iters.model.thresholdSelection, null);
});

test('model.search and model.threshold: every problem names its key path', () => {
  assert.deepEqual(problemsOf(withModel(`${GBDT_HEAD}  threshold: best
  search:
    strategy: random
    trials: 0
    cv: { kind: kfold, folds: 1 }
    metric: auc
    space:
      learning_rate: { uniform: [0.3, 0.1] }
      max_leaf_nodes: { int: [2.5, 8] }
      max_bins: { log_uniform: [0, 10] }
      subsample: { normal: [0, 1] }
      l2_regularization: { choice: [] }
      max_depth: { int: [2, 6], log: yes }
      tol: { uniform: [1e-4, 1e-2], choice: [1] }
      min_samples_leaf: { uniform: [1] }
      colsample: [0.5, 1]
`)), [
    'model.threshold: expected a number in [0, 1], max_f1 or { target_precision: p }, got "best"',
    'model.search.trials: expected a number >= 1, got 0',
    'model.search.cv.kind: expected one of time_series, stratified_kfold, got "kfold"',
    'model.search.cv.folds: expected a number >= 2, got 1',
    'model.search.metric: expected one of roc_auc, pr_auc, average_precision, log_loss, brier, accuracy, precision, recall, f1, got "auc"',
    'model.search.space.learning_rate.uniform: low (0.3) is above high (0.1), got [0.3,0.1]',
    'model.search.space.max_leaf_nodes.int: expected integer bounds, got [2.5,8]',
    'model.search.space.max_bins.log_uniform: a log scale needs low > 0, got [0,10]',
    'model.search.space.subsample: expected a fixed value or one of { uniform: [low, high] }, { log_uniform: [low, high] }, { int: [low, high] }, { choice: [values] }, got {"normal":[0,1]}',
    'model.search.space.l2_regularization.choice: expected a non-empty list of values, got []',
    'model.search.space.max_depth.log: expected true or false, got "yes"',
    'model.search.space.tol: expected one distribution, got uniform and choice, got {"uniform":[0.0001,0.01],"choice":[1]}',
    'model.search.space.min_samples_leaf.uniform: expected [low, high], two finite numbers, got [1]',
    'model.search.space.colsample: expected a fixed value or one of { uniform: [low, high] }, { log_uniform: [low, high] }, { int: [low, high] }, { choice: [values] }, got [0.5,1]',
  ]);
  assert.deepEqual(problemsOf(withModel(`${GBDT_HEAD}  threshold: { target_precision: 0 }\n  search: { strategy: grid, space: {} }\n`)), [
    'model.threshold: expected target_precision in (0, 1], got {"target_precision":0}',
    'model.search.strategy: expected one of random, successive_halving, got "grid"',
  ]);
  assert.deepEqual(problemsOf(withModel(`${GBDT_HEAD}  search: { strategy: random, space: {}, budget: 3 }\n`)), [
    'model.search.space: expected at least one parameter, got {}',
    'model.search.budget: unknown key',
  ]);
  assert.deepEqual(problemsOf(withModel(`${GBDT_HEAD}  search: { strategy: successive_halving, candidates: 8, space: { learning_rate: 0.1 } }\n`)), [
    'model.search.min_resource: required, expected a number',
  ]);
});

test('successive halving budgets are checked against the resource; segment_by against the event schema', () => {
  const halving = (extra: string) => withModel(`${GBDT_HEAD}  search: { strategy: successive_halving, candidates: 8, space: { max_depth: { int: [2, 6] } }, ${extra} }\n`);
  assert.deepEqual(problemsOf(halving('min_resource: 2')), ['model.search.min_resource: a rows budget is a fraction of the training rows, expected a number <= 1, got 2']);
  assert.deepEqual(problemsOf(halving('min_resource: 0.5, max_resource: 0.25')), ['model.search.max_resource: expected at least min_resource (0.5), got 0.25']);
  assert.deepEqual(problemsOf(halving('resource: max_iter, min_resource: 10')), [
    'model.search.max_resource: required when the resource is the model param "max_iter" (the largest budget a rung may use)',
  ]);
  assert.deepEqual(problemsOf(halving('resource: max_depth, min_resource: 2.5, max_resource: 6')), [
    'model.search.resource: "max_depth" is also in model.search.space; the halving budget sets it',
    'model.search.min_resource: a param budget is an integer, got 2.5',
  ]);
  const segmented = variant((t) => t.replace('  holdout_fraction: 0.2\n', '  holdout_fraction: 0.2\n  segment_by: merchant_category\n'));
  assert.equal(segmented.training.segmentBy, 'merchant_category');
  assert.deepEqual(problemsOf((t) => t.replace('  holdout_fraction: 0.2\n', '  holdout_fraction: 0.2\n  segment_by: merchant\n')), [
    'training.segment_by: the event schema com.example.payments.CardTransaction has no field "merchant" (it has transaction_id, event_time, card_id, merchant_id, merchant_category, amount, currency, country, is_online, device_id)',
  ]);
});

test('the gbdt search example loads: the fraud pipeline with a random search, a chosen threshold and segments', () => {
  const spec = loadPipelineSpec(fileURLToPath(new URL('../../../examples/pipelines/fraud-gbdt-search.yaml', import.meta.url)));
  assert.equal(spec.pipeline, 'fraud');
  assert.equal(spec.model.algorithm, 'gbdt');
  assert.equal(spec.model.search?.strategy, 'random');
  assert.deepEqual(spec.model.search?.cv, { kind: 'time_series', folds: 3 });
  assert.deepEqual(spec.model.search?.space.max_leaf_nodes, { type: 'int', low: 7, high: 31 });
  assert.deepEqual(spec.model.thresholdSelection, { strategy: 'max_f1' });
  assert.equal(spec.training.segmentBy, 'merchant_category');
  assert.deepEqual(featureNamesOf(spec.features), featureNamesOf(loadPipelineSpec(FRAUD).features), 'the same features as fraud.yaml');
});

test('monitoring.detectors: parameters in snake_case become camelCase options; false turns a detector off', () => {
  const yaml = readFileSync(FRAUD, 'utf8').replace('  psi_threshold: 0.2', '  psi_threshold: 0.2\n  detectors: { label_delay: 30m, adwin: { delta: 0.01, grace_period: 50 }, page_hinkley: false, ddm: { drift_threshold: 2.5 } }');
  const spec = parsePipelineSpec(yaml, FRAUD);
  assert.deepEqual(spec.monitoring.detectors, { labelDelayMs: 1_800_000, warmUp: 1000, adwin: { delta: 0.01, gracePeriod: 50 }, pageHinkley: null, ddm: { driftThreshold: 2.5 } });
  assert.throws(
    () => parsePipelineSpec(yaml.replace('delta: 0.01', 'delta: 2'), FRAUD),
    (e: Error) => e.message.includes('monitoring.detectors.adwin'),
  );
});

test('monitoring.detectors.warm_up: a whole number ≥ 0 shared by every detector, 1000 by default; 0 is River\'s behaviour', () => {
  const yaml = readFileSync(FRAUD, 'utf8');
  assert.equal(parsePipelineSpec(yaml, FRAUD).monitoring.detectors.warmUp, 1000);
  const withWarmUp = (v: string) => yaml.replace('  psi_threshold: 0.2', `  psi_threshold: 0.2\n  detectors: { warm_up: ${v} }`);
  assert.equal(parsePipelineSpec(withWarmUp('0'), FRAUD).monitoring.detectors.warmUp, 0);
  assert.equal(parsePipelineSpec(withWarmUp('250'), FRAUD).monitoring.detectors.warmUp, 250);
  for (const bad of ['-1', '2.5', 'soon']) {
    assert.throws(() => parsePipelineSpec(withWarmUp(bad), FRAUD), (e: Error) => e.message.includes('monitoring.detectors.warm_up'), bad);
  }
});

test('monitoring.alert_cooldown: a duration in milliseconds, 24h by default; anything else is refused with the hint', () => {
  const yaml = readFileSync(FRAUD, 'utf8');
  assert.equal(parsePipelineSpec(yaml, FRAUD).monitoring.alertCooldownMs, 86_400_000);
  assert.equal(parsePipelineSpec(yaml.replace('  psi_threshold: 0.2', '  psi_threshold: 0.2\n  alert_cooldown: 90m'), FRAUD).monitoring.alertCooldownMs, 5_400_000);
  assert.throws(
    () => parsePipelineSpec(yaml.replace('  psi_threshold: 0.2', '  psi_threshold: 0.2\n  alert_cooldown: soon'), FRAUD),
    (e: Error) => e.message.includes('monitoring.alert_cooldown: expected a duration like 5m, 1h, 7d'),
  );
});

test('one_hot and hash read int, long and boolean fields (nullable too); categories compared as text; float/double refused', () => {
  const dir = tempDir();
  writeFileSync(join(dir, 'event.avsc'), JSON.stringify({
    type: 'record', name: 'E', fields: [
      { name: 'id', type: 'string' }, { name: 'ts', type: 'long' }, { name: 'user', type: 'string' },
      { name: 'mcc', type: 'int' }, { name: 'zip', type: ['null', 'long'] }, { name: 'ok', type: ['null', 'boolean'] }, { name: 'score', type: 'double' },
    ],
  }));
  const withTransforms = (transforms: string) => MINIMAL.replace('  version: v1\n', `  version: v1\n  transforms:\n${transforms}`);
  const parse = (transforms: string) => parsePipelineSpec(withTransforms(transforms), join(dir, 'tiny.yaml'));
  const problems = (transforms: string): string[] => {
    try {
      parse(transforms);
    } catch (e) {
      assert.ok(e instanceof SpecError, `expected a SpecError, got ${String(e)}`);
      return e.problems;
    }
    assert.fail('the spec was accepted');
  };
  const spec = parse([
    '    - { name: mcc, op: one_hot, field: mcc, categories: [5411, "5812", -1] }',
    '    - { name: zip, op: one_hot, field: zip, categories: [1012] }',
    '    - { name: ok, op: one_hot, field: ok, categories: [true, "false"] }',
    '    - { name: mcc_h, op: hash, field: mcc, buckets: 8 }',
    '    - { name: zip_h, op: hash, field: zip, buckets: 8 }',
    '    - { name: ok_h, op: hash, field: ok, buckets: 2 }',
  ].join('\n') + '\n');
  // YAML numbers and booleans become the text the value is compared as.
  assert.deepEqual(spec.features.transforms.map((t) => (t.op === 'one_hot' ? t.categories : t.op)), [['5411', '5812', '-1'], ['1012'], ['true', 'false'], 'hash', 'hash', 'hash']);
  assert.ok(featureNamesOf(spec.features).includes('mcc=5411') && featureNamesOf(spec.features).includes('ok=true'));
  assert.deepEqual(problems([
    '    - { name: s, op: one_hot, field: score, categories: [1] }',
    '    - { name: s_h, op: hash, field: score, buckets: 8 }',
    '    - { name: mcc, op: one_hot, field: mcc, categories: [1.5, 3, "3", x] }',
    '    - { name: ok, op: one_hot, field: ok, categories: [yes] }',
  ].join('\n') + '\n'), [
    // A category listed twice by its text ("3" and 3) also claims its column twice, as for strings.
    'features.transforms[2].name: feature name "mcc=3" is used twice (also by features.transforms[2].name)',
    'features.transforms[0].field: field "score" is double in the event schema, expected a string, enum, int, long or boolean (a float or double has no exact text to compare as a category)',
    'features.transforms[1].field: field "score" is double in the event schema, expected a string, enum, int, long or boolean (a float or double has no exact text to compare as a category)',
    'features.transforms[2].categories[0]: expected an integer like the field "mcc" (int), got "1.5"',
    'features.transforms[2].categories[2]: "3" is listed twice',
    'features.transforms[2].categories[3]: expected an integer like the field "mcc" (int), got "x"',
    'features.transforms[3].categories[0]: expected true or false like the field "ok" (["null", boolean]), got "yes"',
  ]);
});

test('entity keys (events.entity_field, aggregate entity) are a string, enum, int or long; not float, double or boolean', () => {
  const dir = tempDir();
  writeFileSync(join(dir, 'event.avsc'), JSON.stringify({
    type: 'record', name: 'E', fields: [
      { name: 'id', type: 'string' }, { name: 'ts', type: 'long' }, { name: 'user', type: ['null', 'string'] },
      { name: 'n', type: 'int' }, { name: 'account', type: ['null', 'long'] }, { name: 'tier', type: { type: 'enum', name: 'Tier', symbols: ['a', 'b'] } },
      { name: 'score', type: 'double' }, { name: 'ratio', type: ['null', 'float'] }, { name: 'ok', type: 'boolean' },
    ],
  }));
  const yaml = (entityField: string, aggregateEntity: string) => MINIMAL
    .replace('entity_field: user', `entity_field: ${entityField}`)
    .replace('entity: user', `entity: ${aggregateEntity}`);
  for (const key of ['user', 'n', 'account', 'tier']) assert.equal(parsePipelineSpec(yaml(key, key), join(dir, 'tiny.yaml')).events.entityField, key);
  assert.throws(() => parsePipelineSpec(yaml('score', 'ok'), join(dir, 'tiny.yaml')), (e: unknown) => {
    assert.ok(e instanceof SpecError);
    assert.deepEqual(e.problems, [
      'events.entity_field: field "score" is double in the event schema, expected a string, enum, int or long entity key',
      'features.aggregates[0].entity: field "ok" is boolean in the event schema, expected a string, enum, int or long entity key',
    ]);
    assert.ok(e.message.includes(join(dir, 'tiny.yaml')), 'the message names the file');
    return true;
  });
  assert.throws(() => parsePipelineSpec(yaml('user', 'ratio'), join(dir, 'tiny.yaml')),
    /tiny\.yaml: features\.aggregates\[0\]\.entity: field "ratio" is \["null", float\] in the event schema, expected a string, enum, int or long entity key$/);
});

/** fraud.yaml with `lines` added under its monitoring section. */
const withMonitoring = (lines: string) => (t: string) => t.replace('  psi_threshold: 0.2', `  psi_threshold: 0.2\n${lines}`);

test('monitoring.features: per column or per one_hot transform; one_hot and hash columns are categorical; the rest numeric with the defaults', () => {
  const spec = variant(withMonitoring([
    '  features:',
    '    card_txn_count_24h: { exclude: true }',
    '    amount: { statistic: psi, threshold: 0.3 }',
    '    category: { statistic: chi_square, threshold: 0.01 }',
    '    category=travel: { exclude: true }',
    '    hour_of_day: { kind: categorical }',
  ].join('\n')));
  const features = spec.monitoring.features!;
  assert.deepEqual(Object.keys(features), featureNamesOf(spec.features), 'every column, in model order');
  assert.deepEqual(features.card_txn_count_24h, { kind: 'numeric', statistic: null, threshold: null, exclude: true });
  assert.deepEqual(features.amount, { kind: 'numeric', statistic: 'psi', threshold: 0.3, exclude: false });
  assert.deepEqual(features['category=grocery'], { kind: 'categorical', statistic: 'chi_square', threshold: 0.01, exclude: false });
  assert.deepEqual(features['category=travel'], { kind: 'categorical', statistic: 'chi_square', threshold: 0.01, exclude: true }, 'a column key adds to its transform\'s');
  assert.deepEqual(features.hour_of_day, { kind: 'categorical', statistic: null, threshold: null, exclude: false });
  assert.deepEqual(features.log_amount, { kind: 'numeric', statistic: null, threshold: null, exclude: false });
  assert.deepEqual(loadPipelineSpec(FRAUD).monitoring.features!['category=gaming'], { kind: 'categorical', statistic: null, threshold: null, exclude: false });
});

test('monitoring.features: an unknown feature or a setting that does not fit is refused, naming the key and what was expected', () => {
  const problems = problemsOf(withMonitoring([
    '  features:',
    '    amount_eur: { exclude: true }',
    '    amount: { statistic: chi_square }',
    '    category: { kind: numeric }',
    '    category=grocery: { statistic: ks }',
    '    log_amount: { threshold: 0.2 }',
    '    card_txn_count_1h: { statistic: ks, threshold: 2 }',
    '    foreign: { exclude: true, statistic: psi }',
    '    is_online: { statistic: kl }',
  ].join('\n')));
  const expected = [
    /^monitoring\.features\.is_online\.statistic: expected one of psi, ks, wasserstein_normed, jensen_shannon, chi_square, got "kl"$/,
  ];
  // The shape is checked first: a bad statistic name stops the load before the names are checked.
  assert.equal(problems.length, 1, problems.join('\n'));
  assert.match(problems[0], expected[0]);
  const named = problemsOf(withMonitoring([
    '  features:',
    '    amount_eur: { exclude: true }',
    '    amount: { statistic: chi_square }',
    '    category: { kind: numeric }',
    '    category=grocery: { statistic: ks }',
    '    log_amount: { threshold: 0.2 }',
    '    card_txn_count_1h: { statistic: ks, threshold: 2 }',
    '    foreign: { exclude: true, statistic: psi }',
  ].join('\n')));
  const patterns = [
    /^monitoring\.features\.amount_eur: no feature "amount_eur" in this spec; expected a feature column \(amount, log_amount, .*\) or a one_hot\/hash transform name \(category\)$/,
    /^monitoring\.features\.amount\.statistic: chi_square does not fit a numeric feature, expected one of wasserstein_normed, ks, psi, jensen_shannon$/,
    /^monitoring\.features\.category\.kind: "category" is a one_hot column \(a category indicator\), expected categorical or no kind$/,
    /^monitoring\.features\.category=grocery\.statistic: ks does not fit a categorical feature, expected one of jensen_shannon, chi_square, psi$/,
    /^monitoring\.features\.log_amount\.threshold: set statistic too/,
    /^monitoring\.features\.card_txn_count_1h\.threshold: ks is judged by its p-value, expected a number in \(0, 1\), got 2$/,
    /^monitoring\.features\.foreign: exclude: true is never judged; remove statistic and threshold, or exclude$/,
  ];
  assert.equal(named.length, patterns.length, named.join('\n'));
  patterns.forEach((p, i) => assert.match(named[i], p));
});

test('monitoring.reference: the training sample after the warm-up by default (the longest aggregate window), the stored sample, or a fixed window', () => {
  assert.deepEqual(loadPipelineSpec(FRAUD).monitoring.reference, { source: 'training_after_warm_up', warmUpMs: 24 * 3_600_000 });
  assert.deepEqual(variant(withMonitoring('  reference: training')).monitoring.reference, { source: 'training' });
  assert.deepEqual(
    variant(withMonitoring('  reference: { from: 2026-03-01T00:00:00Z, to: "2026-03-08T00:00:00+01:00" }')).monitoring.reference,
    { source: 'window', fromMs: Date.UTC(2026, 2, 1), toMs: Date.UTC(2026, 2, 7, 23) },
  );
  assert.deepEqual(variant(withMonitoring('  reference: { from: 0, to: 1000 }')).monitoring.reference, { source: 'window', fromMs: 0, toMs: 1000 });
  assert.match(problemsOf(withMonitoring('  reference: { from: 2026-03-08T00:00:00Z, to: 2026-03-01T00:00:00Z }'))[0],
    /^monitoring\.reference\.from: expected a time before to \("2026-03-01T00:00:00Z"\), got "2026-03-08T00:00:00Z"$/);
  assert.match(problemsOf(withMonitoring('  reference: { from: 2026-03-01 00:00, to: 2026-03-08T00:00:00Z }')).join('\n'), /monitoring\.reference/);
  assert.match(problemsOf(withMonitoring('  reference: latest')).join('\n'), /monitoring\.reference/);
});

test('serving.challenger: shadow by default; split serves a share strictly between 0 and 1', () => {
  const yaml = readFileSync(FRAUD, 'utf8');
  const withChallenger = (body: string) => `${yaml.trimEnd()}\nserving:\n  challenger:\n${body}`;
  assert.deepEqual(parsePipelineSpec(withChallenger('    mode: split\n    share: 0.25\n'), FRAUD).serving?.challenger, { mode: 'split', share: 0.25 });
  for (const bad of ['    mode: canary\n', '    share: 0\n', '    share: 1\n', '    weight: 0.5\n']) {
    assert.throws(() => parsePipelineSpec(withChallenger(bad), FRAUD), (e: Error) => e.message.includes('serving.challenger'), bad);
  }
  assert.equal(topicsFor(parsePipelineSpec(yaml, FRAUD)).shadow, 'fraud.predictions.shadow');
});

test('serving.max_model_failures: a whole number ≥ 1 of failed rows before a model is demoted, 100 by default', () => {
  const yaml = readFileSync(FRAUD, 'utf8');
  assert.deepEqual(parsePipelineSpec(yaml, FRAUD).serving, {
    maxModelFailures: 100, challenger: { mode: 'shadow', share: 0.1 }, explainTopK: 0,
    batch: { maxRows: DEFAULT_BATCH_MAX_ROWS, maxWaitMs: null }, onnx: { intraOpThreads: DEFAULT_ONNX_INTRA_OP_THREADS, graphOptimizationLevel: DEFAULT_GRAPH_OPTIMIZATION_LEVEL },
  });
  const withServing = (v: string) => `${yaml.trimEnd()}\nserving:\n  max_model_failures: ${v}\n`;
  assert.equal(parsePipelineSpec(withServing('5'), FRAUD).serving?.maxModelFailures, 5);
  for (const bad of ['0', '-1', '2.5', 'many']) {
    assert.throws(() => parsePipelineSpec(withServing(bad), FRAUD), (e: Error) => e.message.includes('serving.max_model_failures'), bad);
  }
  assert.throws(() => parsePipelineSpec(`${yaml.trimEnd()}\nserving:\n  max_failures: 5\n`, FRAUD), (e: Error) => e.message.includes('serving'));
});

test('serving.batch and serving.onnx: micro-batch size and wait, onnxruntime session options; defaults from the serving bench', () => {
  const yaml = readFileSync(FRAUD, 'utf8');
  const serving = parsePipelineSpec(yaml, FRAUD).serving;
  assert.deepEqual(serving?.batch, { maxRows: DEFAULT_BATCH_MAX_ROWS, maxWaitMs: null });
  assert.deepEqual(serving?.onnx, { intraOpThreads: DEFAULT_ONNX_INTRA_OP_THREADS, graphOptimizationLevel: DEFAULT_GRAPH_OPTIMIZATION_LEVEL });
  const withServing = (body: string) => `${yaml.trimEnd()}\nserving:\n${body}`;
  const set = parsePipelineSpec(withServing('  batch:\n    max_rows: 64\n    max_wait: 20ms\n  onnx:\n    intra_op_threads: 2\n    graph_optimization_level: basic\n'), FRAUD).serving;
  assert.deepEqual(set?.batch, { maxRows: 64, maxWaitMs: 20 });
  assert.deepEqual(set?.onnx, { intraOpThreads: 2, graphOptimizationLevel: 'basic' });
  // Setting one key keeps the others' defaults, and the challenger's.
  const one = parsePipelineSpec(withServing('  batch:\n    max_wait: 1s\n'), FRAUD).serving;
  assert.deepEqual(one?.batch, { maxRows: DEFAULT_BATCH_MAX_ROWS, maxWaitMs: 1000 });
  assert.deepEqual(one?.challenger, { mode: 'shadow', share: 0.1 });
  for (const level of GRAPH_OPTIMIZATION_LEVELS) {
    assert.equal(parsePipelineSpec(withServing(`  onnx:\n    graph_optimization_level: ${level}\n`), FRAUD).serving?.onnx?.graphOptimizationLevel, level);
  }
  const bad: Array<[string, string]> = [
    ['  batch:\n    max_rows: 0\n', 'serving.batch.max_rows'],
    ['  batch:\n    max_rows: 2.5\n', 'serving.batch.max_rows'],
    ['  batch:\n    max_wait: 0ms\n', 'serving.batch.max_wait'],
    ['  batch:\n    max_wait: soon\n', 'serving.batch.max_wait'],
    ['  batch:\n    max_wait: 2s\n', 'serving.batch.max_wait'],
    ['  batch:\n    rows: 10\n', 'serving.batch'],
    ['  onnx:\n    intra_op_threads: 0\n', 'serving.onnx.intra_op_threads'],
    ['  onnx:\n    graph_optimization_level: max\n', 'serving.onnx.graph_optimization_level'],
    ['  onnx:\n    inter_op_threads: 2\n', 'serving.onnx'],
  ];
  for (const [body, key] of bad) assert.throws(() => parsePipelineSpec(withServing(body), FRAUD), (e: Error) => e.message.includes(key), body);
});

test('serving.explain_top_k: a whole number ≥ 0 of contributions on every prediction record, 0 (none) by default', () => {
  const yaml = readFileSync(FRAUD, 'utf8');
  assert.equal(parsePipelineSpec(yaml, FRAUD).serving?.explainTopK, 0);
  const withTopK = (v: string) => `${yaml.trimEnd()}\nserving:\n  explain_top_k: ${v}\n`;
  assert.equal(parsePipelineSpec(withTopK('3'), FRAUD).serving?.explainTopK, 3);
  for (const bad of ['-1', '2.5', 'all']) {
    assert.throws(() => parsePipelineSpec(withTopK(bad), FRAUD), (e: Error) => e.message.includes('serving.explain_top_k'), bad);
  }
});

test('training.window and retraining: all, a span of event time or the latest rows; triggers by alert kind and statistic', () => {
  const yaml = readFileSync(FRAUD, 'utf8');
  const withSections = (body: string) => parsePipelineSpec(`${yaml.replace(/^training:\n/m, `training:\n${body}`)}`, FRAUD);
  assert.deepEqual(withSections('  window: 30d\n').training.window, { kind: 'time', lastMs: 30 * 86_400_000 });
  assert.deepEqual(withSections('  window: { last_rows: 50000 }\n').training.window, { kind: 'rows', lastRows: 50_000 });
  const retraining = parsePipelineSpec(`${yaml.trimEnd()}\nretraining:\n  triggers:\n    - kind: performance\n      statistic: adwin\n    - kind: feature_drift\n  cooldown: 6h\n  min_new_labels: 0\n`, FRAUD).retraining;
  assert.deepEqual(retraining, { triggers: [{ kind: 'performance', statistic: 'adwin' }, { kind: 'feature_drift' }], cooldownMs: 6 * 3_600_000, minNewLabels: 0 });
  for (const bad of ['  window: forever\n', '  window: { last_rows: 5 }\n']) {
    assert.throws(() => withSections(bad), (e: Error) => e.message.includes('training.window'), bad);
  }
  assert.throws(() => parsePipelineSpec(`${yaml.trimEnd()}\nretraining:\n  triggers:\n    - kind: data_quality\n`, FRAUD), (e: Error) => e.message.includes('retraining.triggers'));
});

test('data_quality: the defaults when absent; each limit can be set; bad limits are named', () => {
  const yaml = readFileSync(FRAUD, 'utf8');
  assert.deepEqual(parsePipelineSpec(yaml, FRAUD).dataQuality, DEFAULT_DATA_QUALITY);
  const withDq = (body: string) => `${yaml.trimEnd()}\ndata_quality:\n${body}`;
  const set = parsePipelineSpec(withDq('  max_missing_rate: 0.2\n  out_of_range: { tolerance: 0.25 }\n  min_label_rate: 0.01\n  feature_spec_version: warn\n  enabled: false\n'), FRAUD).dataQuality;
  assert.deepEqual(set, {
    ...DEFAULT_DATA_QUALITY, enabled: false, maxMissingRate: 0.2, outOfRange: { tolerance: 0.25, maxShare: DEFAULT_DATA_QUALITY.outOfRange.maxShare },
    minLabelRate: 0.01, featureSpecVersion: 'warn',
  });
  for (const bad of ['  max_missing_rate: 1.5\n', '  out_of_range: { tolerance: -1 }\n', '  min_distinct: 0\n', '  feature_spec_version: maybe\n', '  max_top_value_share: 0\n', '  colour: red\n']) {
    assert.throws(() => parsePipelineSpec(withDq(bad), FRAUD), (e: Error) => e.message.includes('data_quality.'), bad);
  }
  assert.throws(() => parsePipelineSpec(withDq('  min_label_rate: 0.5\n  max_label_rate: 0.1\n'), FRAUD), /data_quality\.min_label_rate: expected at most data_quality\.max_label_rate \(0\.1\), got 0\.5/);
});
