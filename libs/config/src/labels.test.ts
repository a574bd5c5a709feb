import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { labelFieldsOf, parsePipelineSpec, PLATFORM_LABEL_FIELDS, SpecError } from './index';

const EVENT = { type: 'record', name: 'E', fields: [{ name: 'id', type: 'string' }, { name: 'ts', type: 'long' }, { name: 'user', type: 'string' }] };
const CHARGEBACK = {
  type: 'record', name: 'Chargeback', namespace: 'com.example', fields: [
    { name: 'txn_id', type: 'long' },
    { name: 'is_fraud', type: 'boolean' },
    { name: 'score', type: 'double' },
    { name: 'outcome', type: 'string' },
    { name: 'maybe_fraud', type: ['null', 'int'] },
    { name: 'note_id', type: ['null', 'string'] },
    { name: 'amount', type: 'float' },
    { name: 'decided_at', type: { type: 'long', logicalType: 'timestamp-millis' } },
    { name: 'decided_on', type: { type: 'int', logicalType: 'date' } },
  ],
};

const dir = mkdtempSync(join(tmpdir(), 'streamloop-labels-'));
writeFileSync(join(dir, 'event.avsc'), JSON.stringify(EVENT));
writeFileSync(join(dir, 'chargeback.avsc'), JSON.stringify(CHARGEBACK));
writeFileSync(join(dir, 'enum.avsc'), JSON.stringify({ type: 'enum', name: 'Outcome', symbols: ['A'] }));
const FILE = join(dir, 'p.yaml');

const specWith = (labels: string) => `
pipeline: tiny
events: { schema: ./event.avsc, id_field: id, time_field: ts, entity_field: user }
features: { version: v1, aggregates: [{ name: n, entity: user, op: count, window: 90s }] }
labels: ${labels}
model: { name: tiny-lr, algorithm: logistic_regression }
`;

function problemsOf(labels: string): string[] {
  try {
    parsePipelineSpec(specWith(labels), FILE);
  } catch (e) {
    assert.ok(e instanceof SpecError, `expected a SpecError, got ${String(e)}`);
    assert.equal(e.file, FILE);
    return e.problems;
  }
  assert.fail('the spec was accepted');
}

test("without labels.schema, labels are the platform's label.avsc and labels.field is only the target's name", () => {
  const spec = parsePipelineSpec(specWith('{ field: churned }'), FILE);
  assert.deepEqual(spec.labels, { field: 'churned', producerSchema: null });
  assert.deepEqual(labelFieldsOf(spec.labels), PLATFORM_LABEL_FIELDS);
  assert.deepEqual(labelFieldsOf({ field: 'hand_built' }), { eventId: 'event_id', label: 'label', time: 'label_time' }, 'a hand-built spec without the key');
});

test("labels.schema: the producer's own label records, the path resolved against the spec, the fields it names", () => {
  const spec = parsePipelineSpec(specWith('{ field: is_fraud, schema: ./chargeback.avsc, event_id_field: txn_id, time_field: decided_at }'), FILE);
  assert.deepEqual(spec.labels, {
    field: 'is_fraud',
    producerSchema: { schemaPath: join(dir, 'chargeback.avsc'), eventIdField: 'txn_id', labelField: 'is_fraud', timeField: 'decided_at' },
  });
  assert.deepEqual(labelFieldsOf(spec.labels), { eventId: 'txn_id', label: 'is_fraud', time: 'decided_at' });
  // Without a time field, the Kafka record's timestamp says when the label became known.
  const untimed = parsePipelineSpec(specWith('{ field: score, schema: ./chargeback.avsc, event_id_field: txn_id }'), FILE);
  assert.deepEqual(labelFieldsOf(untimed.labels), { eventId: 'txn_id', label: 'score', time: null });
  // Any number may carry the class (each record's value must be 0 or 1), nullable too (a null label is dead-lettered).
  for (const field of ['maybe_fraud', 'amount']) {
    assert.equal(parsePipelineSpec(specWith(`{ field: ${field}, schema: ./chargeback.avsc, event_id_field: txn_id }`), FILE).labels.field, field);
  }
});

test('labels.schema: fields exist with usable types; each problem names the key and what was expected', () => {
  const withSchema = (rest: string) => problemsOf(`{ schema: ./chargeback.avsc, ${rest} }`);
  const fields = 'txn_id, is_fraud, score, outcome, maybe_fraud, note_id, amount, decided_at, decided_on';
  assert.deepEqual(withSchema('field: fraud, event_id_field: txn, time_field: decided'), [
    `labels.event_id_field: the label schema com.example.Chargeback has no field "txn" (it has ${fields})`,
    `labels.field: the label schema com.example.Chargeback has no field "fraud" (it has ${fields})`,
    `labels.time_field: the label schema com.example.Chargeback has no field "decided" (it has ${fields})`,
  ]);
  assert.deepEqual(withSchema('field: outcome, event_id_field: note_id, time_field: decided_on'), [
    'labels.event_id_field: field "note_id" is ["null", string] in the label schema, expected a string, int or long that is never null',
    'labels.field: field "outcome" is string in the label schema, expected a boolean, or an int, long, float or double of 0 or 1',
    'labels.time_field: field "decided_on" is int (date) in the label schema, expected a long of epoch milliseconds (logicalType timestamp-millis) that is never null',
  ]);
  assert.deepEqual(withSchema('field: is_fraud, event_id_field: score'), [
    'labels.event_id_field: field "score" is double in the label schema, expected a string, int or long that is never null',
  ]);
  assert.deepEqual(withSchema('field: is_fraud'), [
    'labels.event_id_field: required with labels.schema: the field of the label record naming the event it labels',
  ]);
});

test('labels.schema: a missing, invalid or non-record schema; the keys it needs are refused without it', () => {
  assert.deepEqual(problemsOf('{ field: y, schema: ./missing.avsc, event_id_field: id }'), [
    `labels.schema: expected an Avro schema file at ${join(dir, 'missing.avsc')} (relative to the spec file), there is none`,
  ]);
  assert.deepEqual(problemsOf('{ field: y, schema: ./enum.avsc, event_id_field: id }'), [`labels.schema: ${join(dir, 'enum.avsc')} must be an Avro record schema, it is enum`]);
  assert.deepEqual(problemsOf('{ field: y, event_id_field: txn_id, time_field: t }'), [
    "labels.event_id_field: only with labels.schema (the producer's own label schema); without it labels are schemas/label.avsc, read by its own fields",
    "labels.time_field: only with labels.schema (the producer's own label schema); without it labels are schemas/label.avsc, read by its own fields",
  ]);
  assert.deepEqual(problemsOf('{ field: y, schema: "" }'), ['labels.schema: expected at least 1 character(s), got ""']);
  // Shape errors are reported with the rest of the spec's, before any schema is read.
  const problems = problemsOf('{ field: y, schema: ./chargeback.avsc, event_id: txn_id }');
  assert.deepEqual(problems, ['labels.event_id: unknown key']);
});
