// The registry target reads the one settings schema: its Kafka clients connect as the platform's others do.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HTTP_DEFAULTS, loadSettings, SettingsError } from '@streamloop/config';
import { KAFKA_DEFAULTS, tlsOptions } from '@streamloop/kafka';
import { registryKafkaConfig, REGISTRY_DEFAULTS } from '@streamloop/registry';
import { schemaRegistryOptions } from './settings';

const SECURED = {
  KAFKA_BROKERS: 'k1.example:9093,k2.example:9093',
  KAFKA_CLIENT_ID: 'payments',
  KAFKA_SSL: 'true',
  KAFKA_SASL_MECHANISM: 'scram-sha-512',
  KAFKA_SASL_USERNAME: 'registry',
  KAFKA_SASL_PASSWORD: 's3cret',
};

test('registry target: brokers, TLS and SASL come from the KAFKA_* settings', () => {
  const options = schemaRegistryOptions(loadSettings(SECURED));
  assert.deepEqual(options.brokers, ['k1.example:9093', 'k2.example:9093']);
  assert.equal(options.ssl, true);
  assert.deepEqual(options.sasl, { mechanism: 'scram-sha-512', username: 'registry', password: 's3cret' });
  assert.equal(options.clientId, 'payments-schema-registry');
});

test('registry target: the kafkajs client of its store gets TLS and SASL', () => {
  const config = registryKafkaConfig(schemaRegistryOptions(loadSettings(SECURED)));
  assert.deepEqual(config.brokers, ['k1.example:9093', 'k2.example:9093']);
  assert.equal(config.ssl, true);
  assert.deepEqual(config.sasl, { mechanism: 'scram-sha-512', username: 'registry', password: 's3cret' });
  assert.equal(config.clientId, 'payments-schema-registry');
  const plain = registryKafkaConfig(schemaRegistryOptions(loadSettings({})));
  assert.equal(plain.ssl, false);
  assert.equal(plain.sasl, undefined);
});

test('registry target: the CA and client certificate files (KAFKA_SSL_*_FILE) reach its store\'s client, read when it is made', () => {
  const dir = mkdtempSync(join(tmpdir(), 'streamloop-registry-tls-'));
  const pem = (label: string, body: string) => `-----BEGIN ${label}-----\n${body}\n-----END ${label}-----\n`;
  writeFileSync(join(dir, 'ca.pem'), pem('CERTIFICATE', 'Q0E='));
  writeFileSync(join(dir, 'client.pem'), pem('CERTIFICATE', 'Q0xJRU5U'));
  writeFileSync(join(dir, 'client.key'), pem('PRIVATE KEY', 'S0VZ'));
  const options = schemaRegistryOptions(loadSettings({
    ...SECURED, KAFKA_SSL_CA_FILE: join(dir, 'ca.pem'), KAFKA_SSL_CERT_FILE: join(dir, 'client.pem'), KAFKA_SSL_KEY_FILE: join(dir, 'client.key'),
  }));
  const config = registryKafkaConfig(options);
  assert.deepEqual(config.tls, { caFile: join(dir, 'ca.pem'), certFile: join(dir, 'client.pem'), keyFile: join(dir, 'client.key') });
  const tls = tlsOptions(config) as { ca: Buffer[]; cert: Buffer; key: Buffer };
  assert.deepEqual(tls.ca.map(String), [pem('CERTIFICATE', 'Q0E=')]);
  assert.equal(String(tls.cert), pem('CERTIFICATE', 'Q0xJRU5U'));
  assert.equal(String(tls.key), pem('PRIVATE KEY', 'S0VZ'));
  assert.equal(tlsOptions({ ssl: true }), true, 'TLS without files: the system\'s CAs');
  assert.throws(() => tlsOptions({ ssl: false, tls: { caFile: join(dir, 'ca.pem') } }), /TLS files are given but ssl is off/);
});

test('registry target: defaults are the libraries\' (same brokers as every target, Confluent\'s port, its own topic)', () => {
  const { auth, ...options } = schemaRegistryOptions(loadSettings({}));
  // Auth on by default, with the tokens every target accepts (none configured here).
  assert.deepEqual([auth.enabled, auth.openOperational, auth.store.size], [true, true, 0]);
  assert.deepEqual(options, {
    brokers: [...KAFKA_DEFAULTS.brokers],
    clientId: REGISTRY_DEFAULTS.clientId,
    ssl: false,
    tls: undefined,
    sasl: undefined,
    topic: REGISTRY_DEFAULTS.topic,
    host: HTTP_DEFAULTS.host,
    port: REGISTRY_DEFAULTS.port,
  });
});

test('registry target: SCHEMA_REGISTRY_HOST, _PORT and _TOPIC; HOST when SCHEMA_REGISTRY_HOST is unset', () => {
  const own = schemaRegistryOptions(loadSettings({ HOST: '0.0.0.0', SCHEMA_REGISTRY_HOST: '10.0.0.5', SCHEMA_REGISTRY_PORT: '18081', SCHEMA_REGISTRY_TOPIC: '_schemas_eu' }));
  assert.deepEqual([own.host, own.port, own.topic], ['10.0.0.5', 18081, '_schemas_eu']);
  assert.equal(schemaRegistryOptions(loadSettings({ HOST: '0.0.0.0' })).host, '0.0.0.0');
});

test('registry target: a bad setting stops it with the variable named', () => {
  assert.throws(() => schemaRegistryOptions(loadSettings({ SCHEMA_REGISTRY_TOPIC: 'no spaces allowed' })), (e: unknown) => {
    assert.ok(e instanceof SettingsError);
    assert.match(e.message, /SCHEMA_REGISTRY_TOPIC: expected a Kafka topic name/);
    return true;
  });
  assert.throws(() => loadSettings({ KAFKA_SASL_MECHANISM: 'plain', KAFKA_SASL_USERNAME: 'u' }), /KAFKA_SASL_PASSWORD: required when KAFKA_SASL_MECHANISM is set/);
});
