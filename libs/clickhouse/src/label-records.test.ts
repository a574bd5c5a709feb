import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { loadAvsc, parseSchema } from '@streamloop/avro';
import { labelFromEvent, labelRecordOf, LabelRecordError, type LabelFieldNames } from './label-records';
import { labelsSink } from './sink-mappings';

const PLATFORM_FIELDS: LabelFieldNames = { eventId: 'event_id', label: 'label', time: 'label_time' };
const T0 = Date.UTC(2026, 0, 5, 12);
const ORIGIN = { pipeline: 'labelmap', partition: 1, offset: '9', schemaId: 3, timestamp: T0 + 5 };

/** A producer's own chargeback record: a long transaction id, a boolean label, its own decision time. */
const CHARGEBACK = parseSchema({
  type: 'record', name: 'Chargeback', namespace: 'com.example.payments', fields: [
    { name: 'txn_id', type: 'long' },
    { name: 'is_fraud', type: 'boolean' },
    { name: 'decided_at', type: { type: 'long', logicalType: 'timestamp-millis' } },
    { name: 'reason', type: 'string' },
  ],
});
const CHARGEBACK_FIELDS: LabelFieldNames = { eventId: 'txn_id', label: 'is_fraud', time: 'decided_at' };

/** Decoded as the transport decodes: Avro bytes read with the pipeline's label schema. */
const roundTrip = (type: ReturnType<typeof parseSchema>, value: object) => type.fromBuffer(type.toBuffer(value)) as Record<string, unknown>;

test("the platform's label.avsc maps to itself", () => {
  const type = loadAvsc(fileURLToPath(new URL('../../../schemas/label.avsc', import.meta.url)));
  const record = { event_id: 'e-1', label: 1, label_time: T0 };
  assert.deepEqual(labelRecordOf(roundTrip(type, record), PLATFORM_FIELDS), record);
});

test("a producer's own schema: the id's text, a boolean as 1/0, its own time field", () => {
  assert.deepEqual(labelRecordOf(roundTrip(CHARGEBACK, { txn_id: 42, is_fraud: true, decided_at: T0, reason: 'stolen card' }), CHARGEBACK_FIELDS), {
    event_id: '42', label: 1, label_time: T0,
  });
  assert.deepEqual(labelRecordOf(roundTrip(CHARGEBACK, { txn_id: 7, is_fraud: false, decided_at: T0, reason: '' }), CHARGEBACK_FIELDS).label, 0);
  // Numbers of 0 or 1 are classes whatever their Avro type (a double 1.0 is 1).
  assert.equal(labelRecordOf({ id: 'x', y: 1.0, t: T0 }, { eventId: 'id', label: 'y', time: 't' }).label, 1);
  assert.equal(labelRecordOf({ id: 'x', y: 0, t: T0 }, { eventId: 'id', label: 'y', time: 't' }).label, 0);
});

test('without a time field the Kafka record timestamp is the label time', () => {
  const fields = { ...CHARGEBACK_FIELDS, time: null };
  assert.equal(labelRecordOf({ txn_id: 1, is_fraud: true }, fields, T0 + 5).label_time, T0 + 5);
  assert.throws(() => labelRecordOf({ txn_id: 1, is_fraud: true }, fields), /^LabelRecordError: the Kafka record timestamp of the label of event 1: expected epoch milliseconds, got nothing$/);
});

test('a record that is no binary label is refused, naming the field and what it held', () => {
  const fields: LabelFieldNames = { eventId: 'id', label: 'y', time: 't' };
  const refused = (value: Record<string, unknown>, message: RegExp) => assert.throws(() => labelRecordOf(value, fields), (e: unknown) => {
    assert.ok(e instanceof LabelRecordError);
    assert.match(e.message, message);
    return true;
  });
  refused({ id: 'a', y: 2, t: T0 }, /^label field "y" of event a: expected a boolean or 0 or 1 \(a binary classifier's class\), got 2$/);
  refused({ id: 'a', y: 0.5, t: T0 }, /got 0\.5$/);
  refused({ id: 'a', y: null, t: T0 }, /label field "y" of event a: .*got null$/);
  refused({ id: 'a', y: 'yes', t: T0 }, /got "yes"$/);
  refused({ id: '', y: 1, t: T0 }, /^event id field "id": expected a non-empty string or an integer, got ""$/);
  refused({ y: 1, t: T0 }, /^event id field "id": .*got nothing$/);
  refused({ id: 'a', y: 1, t: null }, /^time field "t" of the label of event a: expected epoch milliseconds, got null$/);
});

test('labelsSink writes the mapped label as a row of the labels table; the pipeline is where it was read', () => {
  const sink = labelsSink({ ...CHARGEBACK_FIELDS, time: null });
  assert.equal(sink.table, 'labels');
  assert.deepEqual(sink.toRow({ txn_id: 42, is_fraud: true, decided_at: 0, reason: 'x' }, ORIGIN), {
    pipeline: 'labelmap', event_id: '42', label: 1, label_time: T0 + 5, arrived_at: T0 + 5,
  });
  assert.throws(() => sink.toRow({ txn_id: 42, is_fraud: null }, ORIGIN), LabelRecordError);
});

test('a later event naming an earlier one gives its label, at its own time; other events give none', () => {
  const byField = { eventId: 'disputes', label: 'fraud', value: null, time: 'ts' } as const;
  assert.deepEqual(labelFromEvent({ id: 'cb-1', ts: T0, disputes: 'tx-1', fraud: true }, byField), { event_id: 'tx-1', label: 1, label_time: T0 });
  assert.deepEqual(labelFromEvent({ id: 'cb-2', ts: T0, disputes: 'tx-2', fraud: 0 }, byField), { event_id: 'tx-2', label: 0, label_time: T0 });
  assert.equal(labelFromEvent({ id: 'tx-3', ts: T0, disputes: null, fraud: false }, byField), undefined);
  assert.equal(labelFromEvent({ id: 'tx-4', ts: T0 }, byField), undefined);
  assert.throws(() => labelFromEvent({ id: 'cb-5', ts: T0, disputes: 'tx-5', fraud: 3 }, byField), /^LabelRecordError: label field "fraud" of event tx-5: expected a boolean or 0 or 1 .*got 3$/);
  assert.throws(() => labelFromEvent({ id: 'cb-6', ts: T0, disputes: '', fraud: true }, byField), /^LabelRecordError: event id field "disputes": expected a non-empty string/);
  // Every event naming another gives the one label the spec states.
  const constant = { eventId: 'disputes', label: null, value: 1, time: 'ts' } as const;
  assert.deepEqual(labelFromEvent({ id: 'cb-7', ts: T0 + 1, disputes: 99, fraud: false }, constant), { event_id: '99', label: 1, label_time: T0 + 1 });
  assert.equal(labelFromEvent({ id: 'tx-8', ts: T0, disputes: null }, constant), undefined);
});
