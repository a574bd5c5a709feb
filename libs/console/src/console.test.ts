// The console's logic without a broker: lag arithmetic, group names, DLQ rendering, SSE framing, the asset
// allowlist; its ClickHouse series against a real engine (embedded chDB).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { insertRows, migrate, TABLES } from '@streamloop/clickhouse';
import { openTestClickHouse, type TestClickHouse } from '@streamloop/clickhouse/testing';
import type { DeadLetterRecord } from '@streamloop/contracts';
import { consoleAsset, CONSOLE_ASSETS } from './assets';
import { deadLetterView, showBytes, SHOWN_BYTES } from './dead-letters';
import { lagOf, stageOfGroup } from './lag';
import { parseSse, sseEvent } from './live';
import { driftSeries, experimentRuns, modelHistory, performanceSeries } from './queries';

test('lagOf: end − committed per partition; a partition the group never committed counts from the log start', () => {
  const ends = [{ partition: 0, low: '0', high: '10' }, { partition: 1, low: '4', high: '9' }, { partition: 2, low: '0', high: '3' }];
  assert.deepEqual(lagOf(ends, [{ partition: 0, offset: '7' }, { partition: 2, offset: '-1' }]), [
    { partition: 0, committed: 7, end: 10, lag: 3 },
    { partition: 1, committed: null, end: 9, lag: 5 },
    { partition: 2, committed: null, end: 3, lag: 3 },
  ]);
  assert.equal(lagOf([{ partition: 0, low: '0', high: '5' }], [{ partition: 0, offset: '5' }])[0]!.lag, 0);
});

test('stageOfGroup: the stage between streamloop- and the topic; the longest topic wins; other groups are not ours', () => {
  const topics = new Map([['fraud.events', 'events'], ['fraud.events.dlq', 'dlq'], ['fraud.features', 'features'], ['fraud.predictions', 'predictions']]);
  assert.deepEqual(stageOfGroup('streamloop-features-fraud.events', topics), { stage: 'features', topic: 'fraud.events', role: 'events' });
  assert.deepEqual(stageOfGroup('streamloop-monitoring-fraud.events.dlq', topics), { stage: 'monitoring', topic: 'fraud.events.dlq', role: 'dlq' });
  assert.deepEqual(stageOfGroup('streamloop-inference-fraud.features', topics), { stage: 'inference', topic: 'fraud.features', role: 'features' });
  assert.equal(stageOfGroup('analytics-fraud.events', topics), undefined);
  assert.equal(stageOfGroup('streamloop-monitoring-streamloop.models-host-1-17', topics), undefined, 'a broadcast group');
  assert.equal(stageOfGroup('streamloop--fraud.events', topics), undefined, 'no stage');
});

test('showBytes: UTF-8 text and hex; bytes that are not text show as hex only; long values are cut', () => {
  assert.deepEqual(showBytes(Buffer.from('{"a":"é"}')), { text: '{"a":"é"}', hex: '7b 22 61 22 3a 22 c3 a9 22 7d', size: 10, shown: 10 });
  const avro = showBytes(Buffer.from([0, 0, 0, 0, 1, 0xff, 0x02]))!;
  assert.equal(avro.text, null);
  assert.equal(avro.hex, '00 00 00 00 01 ff 02');
  const long = showBytes(Buffer.alloc(SHOWN_BYTES + 10, 0x61))!;
  assert.deepEqual([long.size, long.shown, long.text!.length], [SHOWN_BYTES + 10, SHOWN_BYTES, SHOWN_BYTES]);
  assert.equal(showBytes(null), null);
});

const envelope: DeadLetterRecord = {
  pipeline: 'fraud', stage: 'ingestion', source_topic: 'fraud.events.raw', source_partition: 2, source_offset: 41, error_class: 'AvroDecodeError',
  error_message: 'field amount: expected double', original_key: Buffer.from('card-1'), original_value: Buffer.from('<script>alert(1)</script>'), failed_at: 1_700_000_000_000,
  original_size: null,
};

test('deadLetterView: reason and source from the Connect headers and the envelope, the original bytes as text and hex', async () => {
  const headers = {
    '__connect.errors.stage': Buffer.from('ingestion'), '__connect.errors.exception.class.name': Buffer.from('AvroDecodeError'),
    '__connect.errors.topic': Buffer.from('fraud.events.raw'), '__connect.errors.partition': Buffer.from('2'), '__connect.errors.offset': Buffer.from('41'),
  };
  const view = await deadLetterView({ partition: 1, offset: '5', timestamp: '1700000000100', key: Buffer.from('card-1'), value: Buffer.from('envelope'), headers }, async () => envelope);
  assert.deepEqual(view.dlq, { partition: 1, offset: '5', timestamp: 1_700_000_000_100 });
  assert.deepEqual([view.stage, view.error_class, view.error_message], ['ingestion', 'AvroDecodeError', 'field amount: expected double']);
  assert.deepEqual(view.source, { topic: 'fraud.events.raw', partition: 2, offset: 41 });
  assert.equal(view.original_value?.text, '<script>alert(1)</script>', 'kept as text: the page shows it with textContent');
  assert.equal(view.original_key?.text, 'card-1');
  assert.equal(view.headers['__connect.errors.offset'], '41');
  assert.equal(view.decode_error, undefined);

  // An envelope that does not decode: the headers still give the reason, the raw value is shown.
  const broken = await deadLetterView({ partition: 0, offset: '0', timestamp: '1', key: null, value: Buffer.from([1, 2]), headers }, async () => {
    throw new Error('unknown schema id 9');
  });
  assert.equal(broken.stage, 'ingestion');
  assert.equal(broken.original_value?.hex, '01 02');
  assert.match(broken.decode_error!, /could not be decoded: unknown schema id 9/);
});

test('sseEvent and parseSse: named JSON events, comments skipped, a partial event kept for the next chunk', () => {
  const stream = `${sseEvent({ topic: 't' }, 'ready')}: keep-alive\n\n${sseEvent({ score: 0.5, text: 'a\nb' }, 'prediction')}data: {"x"`;
  const { events, rest } = parseSse(stream);
  assert.deepEqual(events.map((e) => [e.event, JSON.parse(e.data)]), [['ready', { topic: 't' }], ['prediction', { score: 0.5, text: 'a\nb' }]]);
  assert.equal(rest, 'data: {"x"');
});

test('consoleAsset: the page, its script and style, chart.js from its package; nothing else', () => {
  assert.deepEqual([...CONSOLE_ASSETS].sort(), ['chart.umd.min.js', 'console.css', 'console.js', 'index.html']);
  assert.match(consoleAsset('index.html')!.body.toString(), /<script src="console.js" defer><\/script>/);
  assert.match(consoleAsset('chart.umd.min.js')!.body.toString().slice(0, 300), /Chart\.js v4/);
  for (const name of ['../assets/index.html', 'console.test.ts', '__proto__', 'constructor', '']) assert.equal(consoleAsset(name), undefined, name);
});

let ch: TestClickHouse;
before(async () => {
  ch = await openTestClickHouse('console');
  await migrate(ch.client, { database: ch.database });
});
after(async () => ch?.close());

test('ClickHouse series: the latest computation of each window, oldest first; other pipelines and the error stream left out', async () => {
  const T = Date.UTC(2026, 5, 1);
  const H = 3_600_000;
  const drift = (pipeline: string, w: number, feature: string, value: number, computedAt: number) => ({
    pipeline, window_start: T + w * H, window_end: T + (w + 1) * H, feature, statistic: 'psi', value, threshold: 0.2, drifted: value > 0.2 ? 1 : 0,
    model_name: 'm', model_version: 1, role: 'champion', computed_at: computedAt,
  });
  await insertRows(ch.client, TABLES.drift_metrics, [
    drift('p', 0, 'amount', 0.1, T + H), drift('p', 0, 'amount', 0.15, T + 2 * H), drift('p', 1, 'amount', 0.3, T + 3 * H),
    drift('p', 1, '__error__', 0.4, T + 3 * H), drift('other', 1, 'amount', 0.9, T + 3 * H),
  ], { database: ch.database });
  const points = await driftSeries(ch.client, 'p', { database: ch.database });
  assert.deepEqual(points.map((x) => [x.window_end - T, x.feature, x.value, x.drifted]), [[H, 'amount', 0.15, 0], [2 * H, 'amount', 0.3, 1]]);
  assert.deepEqual((await driftSeries(ch.client, 'p', { database: ch.database, since: T + 2 * H })).length, 1);
  assert.deepEqual((await driftSeries(ch.client, 'p', { database: ch.database, limit: 1 })).map((x) => x.value), [0.3], 'the newest kept');

  const perf = (w: number, version: number, value: number, computedAt: number) => ({
    pipeline: 'p', window_start: T + w * H, window_end: T + (w + 1) * H, model_name: 'm', model_version: version, role: 'champion', metric: 'roc_auc', value,
    labelled_count: 100 + w, computed_at: computedAt,
  });
  await insertRows(ch.client, TABLES.performance_metrics, [perf(0, 1, 0.7, T + H), perf(0, 1, 0.8, T + 2 * H), perf(1, 2, 0.9, T + 3 * H)], { database: ch.database });
  const series = await performanceSeries(ch.client, 'p', { database: ch.database });
  assert.deepEqual(series.map((x) => [x.model_version, x.role, x.value, x.labelled_count]), [[1, 'champion', 0.8, 100], [2, 'champion', 0.9, 101]]);

  await insertRows(ch.client, TABLES.experiments, [
    { pipeline: 'p', experiment_id: 'p/m', run_id: 'r1', model_name: 'm', params: { search_id: 's' }, metrics: { roc_auc: 0.8 }, started_at: T, duration_ms: 5, status: 'trial' },
    { pipeline: 'p', experiment_id: 'p/m', run_id: 'r2', model_name: 'm', params: { search_id: 's' }, metrics: { roc_auc: 0.85 }, started_at: T + 1, duration_ms: 50, status: 'published' },
  ], { database: ch.database });
  assert.deepEqual((await experimentRuns(ch.client, 'p', { database: ch.database })).map((r) => [r.run_id, r.status, r.metrics.roc_auc]), [['r2', 'published', 0.85], ['r1', 'trial', 0.8]]);

  assert.deepEqual(await modelHistory(ch.client, 'p', { database: ch.database }), []);
  assert.throws(() => driftSeries(ch.client, 'p', { limit: 0 }), /limit: expected an integer from 1 to 100000, got 0/);
});
