import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { loadAvsc } from '@streamloop/avro';
import { insertRows } from './insert';
import { migrate } from './migrate';
import { queryRows } from './queries';
import { eventsSink, PLATFORM_RECORD_SINKS, type RecordOrigin, type SinkMapping } from './sink-mappings';
import { count, openTestClickHouse, type TestClickHouse } from './test-support';

const SCHEMAS = fileURLToPath(new URL('../../../schemas/', import.meta.url));
const T0 = Date.UTC(2026, 0, 5, 12);
const ORIGIN: RecordOrigin = { pipeline: 'sinkmap', partition: 2, offset: '41', schemaId: 7 };

type PlatformSinks = typeof PLATFORM_RECORD_SINKS;
type ValueOf<K extends keyof PlatformSinks> = Parameters<PlatformSinks[K]['toRow']>[0];

/**
 * One record per platform sink and the schema it follows. Typed by the generated record types, so a new field in a
 * schema or a new sink without a case here does not compile.
 */
const CASES: { [K in keyof PlatformSinks]: { schema: string; record: ValueOf<K> } } = {
  features: {
    schema: 'feature-vector.avsc',
    record: { event_id: 'e1', pipeline: ORIGIN.pipeline, entity_key: 'card-1', event_time: T0, feature_spec_version: 'v1', values: { amount: 12.5, missing: Number.NaN }, computed_at: T0 + 5 },
  },
  predictions: {
    schema: 'prediction.avsc',
    record: {
      event_id: 'e1', pipeline: ORIGIN.pipeline, entity_key: 'card-1', event_time: T0, model_name: 'fraud', model_version: 3, role: 'challenger',
      score: 0.91, label: 1, threshold: 0.5, latency_ms: 1.25, predicted_at: T0 + 9, fallback: true,
      contributions: [{ feature: 'amount', value: 1.5 }, { feature: 'hour', value: -0.25 }],
    },
  },
  labels: { schema: 'label.avsc', record: { event_id: 'e1', label: 1, label_time: T0 + 60_000 } },
  dlq: {
    schema: 'dlq-envelope.avsc',
    record: {
      pipeline: ORIGIN.pipeline, stage: 'ingestion.decode', source_topic: 'sinkmap.events.raw', source_partition: 0, source_offset: 17,
      error_class: 'AvroDecodeError', error_message: 'bad bytes', original_key: Buffer.from('k'), original_value: Buffer.from([0, 1, 255]),
      failed_at: T0, original_size: 4096,
    },
  },
  models: {
    schema: 'model-registry.avsc',
    record: {
      pipeline: ORIGIN.pipeline, model_name: 'fraud', model_version: 3, algorithm: 'external', stage: 'champion', created_at: T0,
      feature_names: ['amount', 'hour'], feature_spec_version: 'v1', threshold: 0.5, onnx: Buffer.from([8, 1]), onnx_sha256: 'ab'.repeat(32),
      metrics: { roc_auc: 0.9 }, params: { depth: '4' }, data_window_start: T0 - 86_400_000, data_window_end: T0, training_rows: 1200,
      reference: { amount: [1, 2] }, feature_importance: { amount: 0.7, hour: 0.3 },
      signature: { input_name: 'float_input', probability_output: 'probabilities', positive_class_index: 1 }, decided_by: '', decided_at: 0, decision_reason: '', decision_metrics: {},
    },
  },
  model_events: {
    schema: 'model-registry.avsc',
    record: {
      pipeline: ORIGIN.pipeline, model_name: 'fraud', model_version: 3, algorithm: 'external', stage: 'rejected', created_at: T0,
      feature_names: ['amount', 'hour'], feature_spec_version: 'v1', threshold: 0.5, onnx: Buffer.from([8, 1]), onnx_sha256: 'ab'.repeat(32),
      metrics: { roc_auc: 0.9 }, params: { depth: '4' }, data_window_start: T0 - 86_400_000, data_window_end: T0, training_rows: 1200,
      reference: { amount: [1, 2] }, feature_importance: { amount: 0.7, hour: 0.3 },
      signature: { input_name: 'float_input', probability_output: 'probabilities', positive_class_index: 1 }, decided_by: 'cli', decided_at: T0 + 1, decision_reason: 'rolled back', decision_metrics: { roc_auc: 0.61 },
    },
  },
};

const EVENTS = eventsSink({ id: 'txn_id', time: 'ts', entity: 'card_id' });
const EVENT = { txn_id: 't-1', ts: T0, card_id: 'card-1', amount: 12.5 };

/** Every sink with a record of its input: the platform records, and a user event. */
const SINKS: Array<{ name: string; mapping: SinkMapping<never, keyof PlatformSinks | 'events'>; record: unknown; schema?: string }> = [
  ...(Object.keys(CASES) as Array<keyof PlatformSinks>).map((name) => ({
    name, mapping: PLATFORM_RECORD_SINKS[name] as SinkMapping<never, keyof PlatformSinks>, record: CASES[name].record, schema: CASES[name].schema,
  })),
  { name: 'events', mapping: EVENTS as SinkMapping<never, 'events'>, record: EVENT },
];
const rowOf = (sink: (typeof SINKS)[number]) => sink.mapping.toRow(sink.record as never, ORIGIN) as Record<string, unknown>;

let ch: TestClickHouse;
/** Column name → ClickHouse type, per table, as the migrations left them. */
const columns = new Map<string, Map<string, string>>();
before(async () => {
  ch = await openTestClickHouse('sinkmap');
  await migrate(ch.client, { database: ch.database });
  for (const { mapping } of SINKS) {
    const described = await queryRows<{ name: string; type: string }>(ch.client, `DESCRIBE TABLE ${mapping.table}`);
    columns.set(mapping.table, new Map(described.map((c) => [c.name, c.type])));
  }
});
after(async () => {
  await ch?.close();
});

test('every platform sink has a case here and writes a table of its own', () => {
  assert.deepEqual(Object.keys(CASES).sort(), Object.keys(PLATFORM_RECORD_SINKS).sort());
  for (const [name, mapping] of Object.entries(PLATFORM_RECORD_SINKS)) assert.equal(mapping.table, name);
});

test("each sink's row has a value for every column of its table (DESCRIBE after the migrations) and no field the table lacks", () => {
  for (const sink of SINKS) {
    const table = columns.get(sink.mapping.table)!;
    assert.ok(table.size > 0, `${sink.mapping.table} has columns`);
    const row = rowOf(sink);
    const produced = Object.keys(row).filter((k) => row[k] !== undefined);
    const missing = [...table.keys()].filter((c) => !produced.includes(c));
    const unknown = produced.filter((k) => !table.has(k));
    assert.deepEqual(missing, [], `${sink.name} sink: columns of ${sink.mapping.table} the row has no value for`);
    assert.deepEqual(unknown, [], `${sink.name} sink: fields of the row that ${sink.mapping.table} has no column for`);
  }
});

test("each sink's row is accepted by its table", async () => {
  for (const sink of SINKS) {
    await insertRows(ch.client, sink.mapping.table, [rowOf(sink)]);
    assert.equal(await count(ch.client, `SELECT count() AS n FROM ${sink.mapping.table} WHERE pipeline = {p:String}`, { p: ORIGIN.pipeline }), 1, sink.name);
  }
  const [dlq] = await queryRows<{ original_value: string; original_size: string | number }>(ch.client, `SELECT original_value, original_size FROM dlq WHERE pipeline = {p:String}`, { p: ORIGIN.pipeline });
  assert.equal(Buffer.from(dlq.original_value, 'base64').toString('hex'), '0001ff', 'the original bytes, base64');
  assert.equal(Number(dlq.original_size), 4096);
});

test("every field of a platform record is a column of its sink's table, or one the sink says it omits", () => {
  for (const sink of SINKS.filter((s) => s.schema)) {
    const fields = (loadAvsc(`${SCHEMAS}${sink.schema}`) as unknown as { fields: Array<{ name: string }> }).fields.map((f) => f.name);
    const table = columns.get(sink.mapping.table)!;
    const omits: readonly string[] = sink.mapping.omits;
    const unplaced = fields.filter((f) => !table.has(f) && !omits.includes(f));
    assert.deepEqual(unplaced, [], `${sink.schema}: fields neither stored in ${sink.mapping.table} nor listed in ${sink.name} sink's omits`);
    assert.deepEqual(omits.filter((f) => !fields.includes(f)), [], `${sink.name} sink omits fields ${sink.schema} does not have`);
    assert.deepEqual(omits.filter((f) => table.has(f)), [], `${sink.name} sink omits fields ${sink.mapping.table} has a column for`);
  }
});

test('an Avro enum stored in an Enum column: the column has every symbol, so every decoded value is insertable', () => {
  let checked = 0;
  for (const sink of SINKS.filter((s) => s.schema)) {
    const record = loadAvsc(`${SCHEMAS}${sink.schema}`) as unknown as { fields: Array<{ name: string; type: { typeName: string; symbols?: string[] } }> };
    for (const field of record.fields.filter((f) => f.type.typeName === 'enum')) {
      const type = columns.get(sink.mapping.table)!.get(field.name);
      if (!type?.startsWith('Enum')) continue;
      const symbols = [...type.matchAll(/'((?:[^'\\]|\\.)*)'\s*=/g)].map((m) => m[1]);
      assert.deepEqual(field.type.symbols!.filter((s) => !symbols.includes(s)), [], `${sink.schema} ${field.name}: symbols ${sink.mapping.table}.${field.name} (${type}) lacks`);
      checked += 1;
    }
  }
  assert.equal(checked, 3, 'predictions.role, models.stage and model_events.stage');
});

test('a fallback-scored prediction keeps its flag; an ordinary one writes false', () => {
  const prediction = CASES.predictions.record as ValueOf<'predictions'>;
  assert.equal(PLATFORM_RECORD_SINKS.predictions.toRow({ ...prediction, fallback: true }, ORIGIN).fallback, true);
  assert.equal(PLATFORM_RECORD_SINKS.predictions.toRow({ ...prediction, fallback: false }, ORIGIN).fallback, false);
});

test('a prediction\'s top contributions become a feature → value map, largest first; none: an empty map', () => {
  const prediction = CASES.predictions.record as ValueOf<'predictions'>;
  const row = PLATFORM_RECORD_SINKS.predictions.toRow({ ...prediction, contributions: [{ feature: 'hour', value: -2 }, { feature: 'amount', value: 0.5 }] }, ORIGIN);
  assert.deepEqual(Object.entries(row.contributions), [['hour', -2], ['amount', 0.5]]);
  assert.deepEqual(PLATFORM_RECORD_SINKS.predictions.toRow({ ...prediction, contributions: [] }, ORIGIN).contributions, {});
});

test("labels keep the record's Kafka timestamp as arrived_at; a reader without one writes NULL", () => {
  const label = { event_id: 'e1', label: 1, label_time: T0 + 60_000 };
  assert.equal(PLATFORM_RECORD_SINKS.labels.toRow(label, { ...ORIGIN, timestamp: T0 + 90_000 }).arrived_at, T0 + 90_000);
  assert.equal(PLATFORM_RECORD_SINKS.labels.toRow(label, ORIGIN).arrived_at, null);
});
