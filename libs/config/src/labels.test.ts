import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eventLabelFieldsOf, labelFieldsOf, parsePipelineSpec, PLATFORM_LABEL_FIELDS, SpecError } from './index';

const EVENT = {
  type: 'record', name: 'E', fields: [
    { name: 'id', type: 'string' }, { name: 'ts', type: 'long' }, { name: 'user', type: 'string' },
    // A later event may name an earlier one and carry its label.
    { name: 'disputes', type: ['null', 'string'], default: null }, { name: 'fraud', type: 'boolean', default: false },
    { name: 'fraud_score', type: ['null', 'double'], default: null }, { name: 'kind', type: 'string', default: '' },
    { name: 'amount', type: 'double', default: 0 },
  ],
};
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
  assert.deepEqual(spec.labels, { field: 'churned', producerSchema: null, fromEvents: null });
  assert.equal(eventLabelFieldsOf(spec), null);
  assert.deepEqual(labelFieldsOf(spec.labels), PLATFORM_LABEL_FIELDS);
  assert.deepEqual(labelFieldsOf({ field: 'hand_built' }), { eventId: 'event_id', label: 'label', time: 'label_time' }, 'a hand-built spec without the key');
});

test("labels.schema: the producer's own label records, the path resolved against the spec, the fields it names", () => {
  const spec = parsePipelineSpec(specWith('{ field: is_fraud, schema: ./chargeback.avsc, event_id_field: txn_id, time_field: decided_at }'), FILE);
  assert.deepEqual(spec.labels, {
    field: 'is_fraud',
    producerSchema: { schemaPath: join(dir, 'chargeback.avsc'), eventIdField: 'txn_id', labelField: 'is_fraud', timeField: 'decided_at' },
    fromEvents: null,
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

test('labels.from_events: a later event names the labelled event and carries its label, or every such event gives one', () => {
  const byField = parsePipelineSpec(specWith('{ field: fraud, from_events: { event_id_field: disputes, label_field: fraud } }'), FILE);
  assert.deepEqual(byField.labels, { field: 'fraud', producerSchema: null, fromEvents: { eventIdField: 'disputes', labelField: 'fraud', label: null } });
  assert.deepEqual(eventLabelFieldsOf(byField), { eventId: 'disputes', label: 'fraud', value: null, time: 'ts' });
  // The labels topic stays schemas/label.avsc: the platform writes these records there.
  assert.deepEqual(labelFieldsOf(byField.labels), PLATFORM_LABEL_FIELDS);
  for (const [written, value] of [['1', 1], ['true', 1], ['0', 0], ['false', 0]] as const) {
    const constant = parsePipelineSpec(specWith(`{ field: fraud, from_events: { event_id_field: disputes, label: ${written} } }`), FILE);
    assert.deepEqual(eventLabelFieldsOf(constant), { eventId: 'disputes', label: null, value, time: 'ts' });
  }
});

test('labels.from_events: fields are checked against the event schema; each problem names the key', () => {
  const fields = 'id, ts, user, disputes, fraud, fraud_score, kind, amount';
  assert.deepEqual(problemsOf('{ field: fraud, from_events: { event_id_field: refers, label_field: is_fraud } }'), [
    `labels.from_events.event_id_field: the event schema E has no field "refers" (it has ${fields})`,
    `labels.from_events.label_field: the event schema E has no field "is_fraud" (it has ${fields})`,
  ]);
  assert.deepEqual(problemsOf('{ field: fraud, from_events: { event_id_field: amount, label_field: fraud_score } }'), [
    'labels.from_events.event_id_field: field "amount" is double in the event schema, expected a string, int or long (nullable: an event without it is no label)',
    'labels.from_events.label_field: field "fraud_score" is ["null", double] in the event schema, expected a boolean, or an int, long, float or double of 0 or 1, that is never null',
  ]);
  assert.deepEqual(problemsOf('{ field: fraud, from_events: { event_id_field: id, label_field: kind } }'), [
    'labels.from_events.event_id_field: "id" is events.id_field; expected the field naming another, earlier event',
    'labels.from_events.label_field: field "kind" is string in the event schema, expected a boolean, or an int, long, float or double of 0 or 1, that is never null',
  ]);
  assert.deepEqual(problemsOf('{ field: fraud, from_events: { event_id_field: disputes } }'), [
    'labels.from_events: expected label_field (the event field holding the label) or label (0 or 1: the label every such event gives)',
  ]);
  assert.deepEqual(problemsOf('{ field: fraud, from_events: { event_id_field: disputes, label_field: fraud, label: 1 } }'), [
    'labels.from_events: expected label_field or label, not both',
  ]);
  assert.deepEqual(problemsOf('{ field: fraud, from_events: { event_id_field: disputes, label: 2 } }').length, 1, 'a label other than 0, 1, true or false');
  assert.deepEqual(problemsOf('{ field: is_fraud, schema: ./chargeback.avsc, event_id_field: txn_id, from_events: { event_id_field: disputes, label: 1 } }'), [
    "labels.from_events: not with labels.schema: labels made from events are written in schemas/label.avsc to the labels topic, which labels.schema says holds the producer's records",
  ]);
});
