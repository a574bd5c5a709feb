import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { insertRows } from './insert';
import { migrate } from './migrate';
import { countLabelledFeatures, countRows, latestEventTime, latestFeatureValues, loadLabelledPredictions, loadPairedOutcomes, loadTrainingDataset, queryRows, type LabelledPrediction } from './queries';
import { TABLES, type FeatureRow, type LabelRow, type PredictionRow } from './schema';
import { decodeFloat } from './serialize';
import { openTestClickHouse, type TestClickHouse } from './test-support';

let ch: TestClickHouse;
before(async () => {
  ch = await openTestClickHouse('queries');
  await migrate(ch.client, { database: ch.database });
});
after(async () => {
  await ch?.close();
});

const DAY = 86_400_000;
const T0 = Date.UTC(2024, 0, 31, 23, 59, 59, 998); // straddles a day (and partition) boundary

function vector(pipeline: string, id: number, values: Record<string, number>, extra: Partial<FeatureRow> = {}): FeatureRow {
  return {
    pipeline, event_id: `ev${id}`, entity_key: `card${id % 3}`, event_time: T0 + id, feature_spec_version: 'v1',
    values, computed_at: T0 + id + 10, source_partition: 0, source_offset: id, ...extra,
  };
}

test('DateTime64(3) round-trips epoch milliseconds exactly, including before 1970 and across days', async () => {
  const times = [T0, T0 + 1, T0 + 2, 0, -1, -DAY - 123, Date.UTC(2299, 11, 31, 23, 59, 59, 999), 1_700_000_000_123];
  const rows: LabelRow[] = times.map((t, i) => ({ pipeline: 'times', event_id: `t${i}`, label: 1, label_time: t }));
  rows.push({ pipeline: 'times', event_id: 'asDate', label: 0, label_time: new Date(T0) });
  rows.push({ pipeline: 'times', event_id: 'asString', label: 0, label_time: '2024-01-31 23:59:59.998' });
  await insertRows(ch.client, TABLES.labels, rows);
  const back = await queryRows<{ event_id: string; ms: number; text: string }>(
    ch.client,
    `SELECT event_id, toUnixTimestamp64Milli(label_time) AS ms, toString(label_time) AS text FROM labels WHERE pipeline = 'times' ORDER BY event_id`,
  );
  const got = new Map(back.map((r) => [r.event_id, Number(r.ms)]));
  times.forEach((t, i) => assert.equal(got.get(`t${i}`), t, `t${i}`));
  assert.equal(got.get('asDate'), T0);
  assert.equal(got.get('asString'), T0, 'strings are UTC');
  assert.equal(back.find((r) => r.event_id === 't0')?.text, '2024-01-31 23:59:59.998');
});

test('Map(String, Float64) round-trips NaN, ±Infinity, tiny and huge values', async () => {
  const values = { nan: Number.NaN, inf: Infinity, ninf: -Infinity, zero: 0, tiny: 5e-324, huge: 1.7976931348623157e308, pi: Math.PI, neg: -12.5 };
  await insertRows(ch.client, TABLES.features, [vector('maps', 1, values)]);
  await insertRows(ch.client, TABLES.labels, [{ pipeline: 'maps', event_id: 'ev1', label: 1, label_time: T0 + 5000 }]);
  const [row] = await loadTrainingDataset(ch.client, { pipeline: 'maps' });
  assert.ok(row, 'one labelled row');
  assert.ok(Number.isNaN(row.values.nan));
  assert.deepEqual({ ...row.values, nan: 0 }, { ...values, nan: 0 });
  // The same through plain queryRows: denormals are null by default, and decodeFloat reads both forms.
  const [raw] = await queryRows<{ v: Record<string, unknown> }>(ch.client, `SELECT \`values\` AS v FROM features WHERE pipeline = 'maps'`);
  assert.equal(raw.v.nan, null);
  assert.ok(Number.isNaN(decodeFloat(raw.v.nan)));
});

test('training dataset: features joined with the latest label, deduplicated, ordered by event time', async () => {
  const p = 'dataset';
  // Event 0..5; event 2 has no label; event 3's vector is written twice (a retry) and recomputed later;
  // event 4's label arrives late and is then corrected; event 5 has a vector of another spec version only.
  await insertRows(ch.client, TABLES.features, [5, 4, 3, 1, 0, 2].map((i) => vector(p, i, { amount: i, hour: 1 })));
  await insertRows(ch.client, TABLES.features, [vector(p, 3, { amount: 3, hour: 1 })], { dedupToken: 'retry-3' });
  await insertRows(ch.client, TABLES.features, [vector(p, 3, { amount: 33, hour: 1 }, { computed_at: T0 + 9000 })]);
  await insertRows(ch.client, TABLES.features, [vector(p, 5, { other: 1 }, { feature_spec_version: 'v0', computed_at: T0 })]);
  const label = (i: number, l: number, at: number): LabelRow => ({ pipeline: p, event_id: `ev${i}`, label: l, label_time: T0 + at });
  await insertRows(ch.client, TABLES.labels, [label(0, 0, 100), label(1, 1, 100), label(3, 1, 100), label(3, 1, 100)]);

  let rows = await loadTrainingDataset(ch.client, { pipeline: p, featureSpecVersion: 'v1' });
  assert.deepEqual(rows.map((r) => r.event_id), ['ev0', 'ev1', 'ev3'], 'only labelled events, once each, in event-time order');
  assert.equal(rows[2].values.amount, 33, 'the latest computed vector wins');
  assert.equal(rows[2].event_time, T0 + 3);

  await insertRows(ch.client, TABLES.labels, [label(4, 1, DAY * 3)]); // late, in another day partition
  await insertRows(ch.client, TABLES.labels, [label(4, 0, DAY * 4)]); // corrected later still
  rows = await loadTrainingDataset(ch.client, { pipeline: p, featureSpecVersion: 'v1' });
  assert.deepEqual(rows.map((r) => [r.event_id, r.label]), [['ev0', 0], ['ev1', 1], ['ev3', 1], ['ev4', 0]]);
  assert.equal(await countLabelledFeatures(ch.client, { pipeline: p, featureSpecVersion: 'v1' }), 4);

  const window = await loadTrainingDataset(ch.client, { pipeline: p, featureSpecVersion: 'v1', since: T0 + 1, until: T0 + 4 });
  assert.deepEqual(window.map((r) => r.event_id), ['ev1', 'ev3'], 'since inclusive, until exclusive');
  const latest = await loadTrainingDataset(ch.client, { pipeline: p, featureSpecVersion: 'v1', lastRows: 2 });
  assert.deepEqual(latest.map((r) => r.event_id), ['ev3', 'ev4'], 'the latest labelled events, in event-time order');
  assert.equal(await countLabelledFeatures(ch.client, { pipeline: p, featureSpecVersion: 'v1', after: T0 + 1 }), 2, 'ev3 and ev4 are later than ev1');

  // Without a version: the most recently computed vector's version (v1 here).
  assert.equal((await loadTrainingDataset(ch.client, { pipeline: p })).length, 4);
  assert.equal(await countRows(ch.client, 'features', p), 7, 'six v1 vectors and one v0, duplicates counted once');
  assert.equal(await countRows(ch.client, 'labels', p), 4);
  await assert.rejects(loadTrainingDataset(ch.client, { pipeline: p, since: 1.5 }), /since: expected epoch milliseconds/);
  assert.equal(await latestEventTime(ch.client, 'features', p), T0 + 5);
  assert.equal(await latestEventTime(ch.client, 'features', 'no-such-pipeline'), undefined);
});

test('latestFeatureValues returns one value per event in the window, skipping missing ones', async () => {
  const p = 'drift';
  await insertRows(ch.client, TABLES.features, [
    vector(p, 0, { amount: 10 }), vector(p, 1, { amount: Number.NaN }), vector(p, 2, { hour: 3 }),
    vector(p, 3, { amount: 30 }), vector(p, 4, { amount: 40 }), vector(p, 9, { amount: 90 }),
  ]);
  await insertRows(ch.client, TABLES.features, [vector(p, 3, { amount: 30 })], { dedupToken: 'again' });
  assert.deepEqual(await latestFeatureValues(ch.client, { pipeline: p, feature: 'amount', from: T0, to: T0 + 5 }), [10, 30, 40]);
  assert.deepEqual(await latestFeatureValues(ch.client, { pipeline: p, feature: 'amount', from: T0 + 4, to: T0 + 100 }), [40, 90]);
  assert.deepEqual(await latestFeatureValues(ch.client, { pipeline: p, feature: 'nope', from: T0, to: T0 + 100 }), []);
});

test('labelled predictions: the champion score per event joined with the latest label', async () => {
  const p = 'perf';
  const prediction = (i: number, role: 'champion' | 'challenger', score: number): PredictionRow => ({
    pipeline: p, event_id: `ev${i}`, entity_key: 'c', event_time: T0 + i, model_name: 'm', model_version: 2, role,
    score, label: score >= 0.5 ? 1 : 0, threshold: 0.5, latency_ms: 1.25, predicted_at: T0 + i + 1,
  });
  await insertRows(ch.client, TABLES.predictions, [prediction(0, 'champion', 0.9), prediction(1, 'champion', 0.2), prediction(1, 'challenger', 0.7), prediction(2, 'champion', 0.6)]);
  await insertRows(ch.client, TABLES.predictions, [prediction(0, 'champion', 0.9)], { dedupToken: 'dup' });
  await insertRows(ch.client, TABLES.labels, [
    { pipeline: p, event_id: 'ev0', label: 1, label_time: T0 + 50 },
    { pipeline: p, event_id: 'ev1', label: 1, label_time: T0 + 50 },
  ]);
  const rows = await loadLabelledPredictions(ch.client, { pipeline: p, from: 0, to: Date.UTC(2100, 0) });
  assert.deepEqual(rows.map((r) => [r.event_id, r.score, r.label, r.predicted_label, r.model_version]), [['ev0', 0.9, 1, 1, 2], ['ev1', 0.2, 1, 0, 2]]);
  const challenger = await loadLabelledPredictions(ch.client, { pipeline: p, from: 0, to: Date.UTC(2100, 0), role: 'challenger' });
  assert.deepEqual(challenger.map((r) => r.score), [0.7]);
  assert.equal(await countRows(ch.client, 'predictions', p), 4);
  assert.deepEqual(rows.map((r) => r.role), ['champion', 'champion']);

  // Per model: each model's own latest prediction of each labelled event. Version 1 predicted ev0 and ev1 before
  // version 2 (as a champion, then re-scored ev1); the challenger predicted ev1.
  await insertRows(ch.client, TABLES.predictions, [
    { ...prediction(0, 'champion', 0.4), model_version: 1, predicted_at: T0 - 10 },
    { ...prediction(1, 'champion', 0.3), model_version: 1, predicted_at: T0 - 10 },
    { ...prediction(1, 'champion', 0.8), model_version: 1, predicted_at: T0 - 5 },
  ]);
  const key = (r: LabelledPrediction) => `${r.event_id} ${r.model_name}/${r.model_version}/${r.role} ${r.score}`;
  const all = await loadLabelledPredictions(ch.client, { pipeline: p, from: 0, to: Date.UTC(2100, 0), byModel: true });
  assert.deepEqual(all.map(key), ['ev0 m/1/champion 0.4', 'ev0 m/2/champion 0.9', 'ev1 m/1/champion 0.8', 'ev1 m/2/challenger 0.7', 'ev1 m/2/champion 0.2']);
  const champions = await loadLabelledPredictions(ch.client, { pipeline: p, from: 0, to: Date.UTC(2100, 0), byModel: true, role: 'champion', modelVersion: 1 });
  assert.deepEqual(champions.map(key), ['ev0 m/1/champion 0.4', 'ev1 m/1/champion 0.8']);
  // Without byModel the latest champion prediction of each event, whichever version made it, as before.
  assert.deepEqual((await loadLabelledPredictions(ch.client, { pipeline: p, from: 0, to: Date.UTC(2100, 0) })).map(key), ['ev0 m/2/champion 0.9', 'ev1 m/2/champion 0.2']);
});

test('every contract table accepts a typical row', async () => {
  const t = T0;
  await insertRows(ch.client, TABLES.events, [{ pipeline: 'all', event_id: 'e', entity_key: 'k', event_time: t, schema_id: 7, payload: '{"a":1}' }]);
  await insertRows(ch.client, TABLES.dlq, [
    { pipeline: 'all', stage: 'ingestion', source_topic: 't', source_partition: 1, source_offset: 2n ** 40n, error_class: 'SchemaError', error_message: 'bad', original_value: 'AAE=', failed_at: t },
    { pipeline: 'all', stage: 'ingestion', source_topic: '', source_partition: null, source_offset: null, error_class: 'HttpError', error_message: 'bad', original_value: 'AAI=', failed_at: t },
  ]);
  await insertRows(ch.client, TABLES.drift_metrics, [{ pipeline: 'all', window_start: t, window_end: t + 1, feature: 'amount', statistic: 'psi', value: 0.3, threshold: 0.2, drifted: 1, model_name: 'm', model_version: 1, role: 'champion', computed_at: t }]);
  await insertRows(ch.client, TABLES.performance_metrics, [{ pipeline: 'all', window_start: t, window_end: t + 1, model_name: 'm', model_version: 1, role: 'challenger', metric: 'roc_auc', value: 0.9, labelled_count: 10, computed_at: t }]);
  await insertRows(ch.client, TABLES.models, [{
    pipeline: 'all', model_name: 'm', model_version: 1, algorithm: 'gbdt', stage: 'champion', created_at: t, feature_names: ['amount'],
    feature_spec_version: 'v1', threshold: 0.5, onnx_sha256: 'ab', metrics: { auc: 0.9 }, params: { depth: '3' },
    data_window_start: t - DAY, data_window_end: t, training_rows: 1000,
  }]);
  await insertRows(ch.client, TABLES.experiments, [{ pipeline: 'all', experiment_id: 'x', run_id: 'r', model_name: 'm', params: {}, metrics: { auc: 0.9 }, started_at: t, duration_ms: 12.5, status: 'finished' }]);
  for (const table of ['events', 'dlq', 'drift_metrics', 'performance_metrics', 'models', 'experiments'] as const) {
    assert.ok((await countRows(ch.client, table, 'all')) >= 1, table);
  }
  assert.equal(await countRows(ch.client, 'dlq', 'all'), 2);
  const [offset] = await queryRows<{ o: number }>(ch.client, `SELECT source_offset AS o FROM dlq WHERE source_topic = 't'`);
  assert.equal(offset.o, 2 ** 40);
  await assert.rejects(insertRows(ch.client, TABLES.models, [{ stage: 'retired' }]), /models row 0 field pipeline/);
  await assert.rejects(
    insertRows(ch.client, TABLES.predictions, [{ pipeline: 'all', event_id: 'e', entity_key: 'k', event_time: t, model_name: 'm', model_version: 1, role: 'shadow', score: 1, label: 1, threshold: 0.5, latency_ms: 1, predicted_at: t }]),
    /predictions row 0 field role .*expected one of "champion", "challenger", got string "shadow"/,
  );
});

test('loadPairedOutcomes: labelled events the champion served and the challenger scored in shadow, earliest first, at most limit', async () => {
  const p = 'paired';
  const prediction = (id: number, model_version: number, role: 'champion' | 'challenger', score: number, shadow: boolean): PredictionRow => ({
    pipeline: p, event_id: `e${id}`, entity_key: 'c', event_time: T0 + id * 1000, model_name: 'm', model_version, role, score,
    label: score >= 0.5 ? 1 : 0, threshold: 0.5, latency_ms: 1, predicted_at: T0 + id * 1000 + 5, shadow,
  });
  const rows: PredictionRow[] = [];
  for (let id = 0; id < 6; id++) {
    rows.push(prediction(id, 1, 'champion', 0.1 * id, false));
    // e2 has no challenger score; e4 was scored by another challenger version.
    if (id !== 2) rows.push(prediction(id, id === 4 ? 3 : 2, 'challenger', 0.2 + 0.1 * id, true));
  }
  // A served challenger row (split mode) of v2 for e5 is not the champion's.
  rows.push({ ...prediction(6, 2, 'challenger', 0.9, false) });
  await insertRows(ch.client, TABLES.predictions, rows);
  // e1 is unlabelled; e3 was relabelled (the latest label wins).
  const labels: LabelRow[] = [0, 2, 3, 4, 5, 6].map((id) => ({ pipeline: p, event_id: `e${id}`, label: id % 2, label_time: T0 + 100_000 }));
  labels.push({ pipeline: p, event_id: 'e3', label: 0, label_time: T0 + 200_000 });
  await insertRows(ch.client, TABLES.labels, labels);
  const args = { pipeline: p, champion: { model_name: 'm', model_version: 1 }, challenger: { model_name: 'm', model_version: 2 } };
  const all = await loadPairedOutcomes(ch.client, { ...args, limit: 100 });
  assert.deepEqual(all.map((o) => [o.event_id, o.label, o.champion_score, o.challenger_score]), [
    ['e0', 0, 0, 0.2], ['e3', 0, 0.30000000000000004, 0.5], ['e5', 1, 0.5, 0.7],
  ]);
  assert.deepEqual((await loadPairedOutcomes(ch.client, { ...args, limit: 2 })).map((o) => o.event_id), ['e0', 'e3']);
  assert.deepEqual((await loadPairedOutcomes(ch.client, { ...args, limit: 100, predictedSince: T0 + 3000 })).map((o) => o.event_id), ['e3', 'e5'], 'predictions made before it are not scanned');
  await assert.rejects(loadPairedOutcomes(ch.client, { ...args, limit: 0 }), /limit must be a whole number > 0, got 0/);
});
