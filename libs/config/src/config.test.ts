import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { loadPipelineSpec, loadSettings, parseDuration, parsePipelineSpec, SpecError, topicsFor } from './index';

const FRAUD = fileURLToPath(new URL('../../../examples/pipelines/fraud.yaml', import.meta.url));
const text = readFileSync(FRAUD, 'utf8');
/** Parses a variant of the example as if it lived beside it (so the schema path still resolves). */
const variant = (edit: (t: string) => string) => parsePipelineSpec(edit(text), FRAUD);

test('the example pipeline loads, with durations in ms and an absolute schema path', () => {
  const spec = loadPipelineSpec(FRAUD);
  assert.equal(spec.pipeline, 'fraud');
  assert.match(spec.events.schemaPath, /examples\/schemas\/card_transaction\.avsc$/);
  assert.equal(spec.events.dedupWindowMs, 3_600_000);
  assert.equal(spec.monitoring.windowMs, 6 * 3_600_000);
  assert.deepEqual(topicsFor(spec).raw, 'fraud.events.raw');
  assert.deepEqual(topicsFor(spec).models, 'streamloop.models');
});

test('durations', () => {
  assert.equal(parseDuration('5m'), 300_000);
  assert.equal(parseDuration('250ms'), 250);
  assert.equal(parseDuration('7d'), 7 * 86_400_000);
  assert.equal(parseDuration('1 hour'), undefined);
  assert.equal(parseDuration('0s'), undefined);
});

test('an unknown key is an error naming the file and the key path', () => {
  assert.throws(() => variant((t) => t.replace('params: {', 'paramz: {')), (e: unknown) => {
    assert.ok(e instanceof SpecError);
    assert.match(e.message, /fraud\.yaml: /);
    assert.match(e.message, /model\.paramz: unknown key/);
    return true;
  });
});

test('a wrong type or a bad duration names the key and what was expected', () => {
  assert.throws(() => variant((t) => t.replace('window: 1h }', 'window: 1 hour }')), /features\.aggregates\[0\]\.window: expected a duration like/);
  assert.throws(() => variant((t) => t.replace('partitions: 3', 'partitions: three')), /events\.partitions: .*number/i);
  assert.throws(() => variant((t) => t.replace('op: log1p', 'op: log2')), /features\.transforms\[1\]\.op/);
});

test('references are checked against the event schema and the aggregates', () => {
  assert.throws(() => variant((t) => t.replace('entity_field: card_id', 'entity_field: card')), /events\.entity_field: the event schema has no field "card"/);
  assert.throws(() => variant((t) => t.replace('denominator: card_amount_mean_24h', 'denominator: nope')), /transforms\[7\]\.denominator: "nope" is neither/);
  assert.throws(() => variant((t) => t.replace('name: log_amount', 'name: amount')), /"amount" is used twice/);
});

test('settings come from the environment with clear errors', () => {
  const s = loadSettings({ KAFKA_BROKERS: 'a:1,b:2', PORT: '0' });
  assert.deepEqual(s.kafkaBrokers, ['a:1', 'b:2']);
  assert.equal(s.httpPort, 0);
  assert.equal(s.schemaRegistryUrl, 'http://127.0.0.1:8081');
  assert.throws(() => loadSettings({ KAFKA_BROKERS: 'nohost' }), /KAFKA_BROKERS: expected host:port/);
  assert.throws(() => loadSettings({ PORT: 'eighty' }), /PORT/);
  assert.throws(() => loadSettings({ KAFKA_SASL_MECHANISM: 'plain' }), /KAFKA_SASL_USERNAME/);
});
