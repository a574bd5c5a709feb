// The error-stream job against a real ClickHouse engine (embedded chDB): settled labelled predictions through the
// change detectors, detections recorded and alerted once.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { insertRows, migrate, queryRows, TABLES, type LabelRow, type PredictionRow } from '@streamloop/clickhouse';
import { openTestClickHouse, type TestClickHouse } from '@streamloop/clickhouse/testing';
import type { AlertRecord } from '@streamloop/contracts';
import { AlertGate } from '@streamloop/drift';
import { seededRandom } from '@streamloop/ml';
import type { ModelRegistryRecord } from '@streamloop/model-registry';
import { createLogger } from '@streamloop/observability';
import type { MonitoringDeps } from './deps';
import { ERROR_FEATURE } from './drift-report';
import { ErrorStreamJob, type ErrorStreamRun } from './error-stream-job';

const T = Date.UTC(2026, 3, 1);
/** Predictions one second apart: errors 5 % of the time, then 50 % from CHANGE on. */
const N = 2000;
const CHANGE = 1000;
const DETECTORS = { labelDelayMs: 60_000, adwin: {}, pageHinkley: {}, ddm: {} };
let ch: TestClickHouse;

before(async () => {
  ch = await openTestClickHouse('errorstream');
  await migrate(ch.client, { database: ch.database });
  const rnd = seededRandom(5);
  const predictions: PredictionRow[] = [];
  const labels: LabelRow[] = [];
  for (let i = 0; i < N; i++) {
    const time = T + i * 1000;
    const wrong = rnd() < (i < CHANGE ? 0.05 : 0.5);
    predictions.push({
      pipeline: 'p', event_id: `e${i}`, entity_key: 'x', event_time: time, model_name: 'm', model_version: 1, role: 'champion',
      score: 0.1, label: 0, threshold: 0.5, latency_ms: 1, predicted_at: time,
    });
    labels.push({ pipeline: 'p', event_id: `e${i}`, label: wrong ? 1 : 0, label_time: time + 1 });
  }
  await insertRows(ch.client, TABLES.predictions, predictions);
  await insertRows(ch.client, TABLES.labels, labels);
});
after(async () => ch?.close());

const model = (version: number) => ({ pipeline: 'p', model_name: 'm', model_version: version }) as ModelRegistryRecord;
/** The newest feature vector's event time such that every prediction up to `index` has settled. */
const settledThrough = (index: number) => T + index * 1000 + DETECTORS.labelDelayMs;

function memoryDeps() {
  const sent: AlertRecord[][] = [];
  const deps: MonitoringDeps = {
    clickhouse: ch.client,
    sendAlerts: async (alerts) => void sent.push(alerts),
    logger: createLogger('error-stream-test', 'silent'),
    now: () => T,
  };
  return { deps, sent };
}

const run = (over: Partial<ErrorStreamRun> & Pick<ErrorStreamRun, 'gate'>): ErrorStreamRun =>
  ({ pipeline: 'p', detectors: DETECTORS, model: model(1), latest: settledThrough(N - 1), computedAt: T + N * 1000, ...over });

test('settled predictions only, in event-time order: the detectors fire after the change, each detection alerts once', async () => {
  const job = new ErrorStreamJob();
  const gate = new AlertGate({ cooldownMs: 0 });
  const { deps, sent } = memoryDeps();

  // Only predictions older than the newest event time minus the label delay are in the stream.
  const early = await job.run(deps, run({ gate, latest: settledThrough(CHANGE - 1) }));
  assert.equal(early?.fed, CHANGE);
  assert.deepEqual(early?.detections, [], 'no false alarm on the stable 5 % stretch');

  const report = await job.run(deps, run({ gate }));
  assert.ok(report);
  assert.equal(report.fed, N, 'fed once each: the cursor moved on');
  assert.ok(report.detections.length > 0, 'the detectors saw the error rate jump');
  for (const d of report.detections) assert.ok(d.event_time >= T + CHANGE * 1000, `${d.detector} fired at ${d.event_time - T} ms, before the change`);
  assert.ok(report.recent_error_rate > 0.3, `recent error rate ${report.recent_error_rate}`);
  assert.deepEqual(sent.flat().map((a) => [a.kind, a.feature, a.statistic, a.threshold, a.window_start]), report.detections.map((d) => ['performance', ERROR_FEATURE, d.detector, null, d.event_time]));
  const rows = await queryRows<{ n: string }>(ch.client, `SELECT count() AS n FROM ${TABLES.drift_metrics} WHERE pipeline = 'p' AND feature = {f:String} AND drifted = 1`, { f: ERROR_FEATURE });
  assert.equal(Number(rows[0].n), report.detections.length);

  // Nothing new has settled: nothing fed, nothing detected.
  const idle = await job.run(deps, run({ gate }));
  assert.deepEqual([idle?.fed, idle?.detections], [N, []]);

  // A restarted monitor (a new job, the gate restored with what was alerted) replays the stream: the same
  // detections are reported, none is alerted again.
  const restored = new AlertGate({ cooldownMs: 0 });
  for (const a of sent.flat()) {
    restored.restoreDetection({ pipeline: 'p', kind: a.kind, feature: a.feature, statistic: a.statistic, modelName: a.model_name, modelVersion: a.model_version, modelRole: a.model_role }, a.window_start);
  }
  const again = memoryDeps();
  const replay = await new ErrorStreamJob().run(again.deps, run({ gate: restored }));
  assert.deepEqual(replay?.detections, report.detections);
  assert.deepEqual(again.sent, [[]]);
});

test("a challenger's error stream is its own: its change is detected and alerted under its version and role, once, also after a restart", async () => {
  // Pipeline r: the champion (version 1) is wrong 5 % of the time throughout; the challenger (version 2, shadowing it on
  // every event) 5 % and then 50 % from CHANGE on. Every event is labelled.
  const rnd = seededRandom(8);
  const predictions: PredictionRow[] = [];
  const labels: LabelRow[] = [];
  for (let i = 0; i < N; i++) {
    const time = T + i * 1000;
    const row = (version: number, role: 'champion' | 'challenger', wrong: boolean): PredictionRow => ({
      pipeline: 'r', event_id: `r${i}`, entity_key: 'x', event_time: time, model_name: 'm', model_version: version, role,
      score: wrong ? 0.9 : 0.1, label: wrong ? 1 : 0, threshold: 0.5, latency_ms: 1, predicted_at: time,
    });
    predictions.push(row(1, 'champion', rnd() < 0.05), row(2, 'challenger', rnd() < (i < CHANGE ? 0.05 : 0.5)));
    labels.push({ pipeline: 'r', event_id: `r${i}`, label: 0, label_time: time + 1 });
  }
  await insertRows(ch.client, TABLES.predictions, predictions);
  await insertRows(ch.client, TABLES.labels, labels);

  const { deps, sent } = memoryDeps();
  const gate = new AlertGate({ cooldownMs: 0 });
  const report = await new ErrorStreamJob().run(deps, run({ gate, pipeline: 'r' }));
  assert.ok(report);
  assert.deepEqual(report.models.map((m) => [m.model_version, m.role, m.fed]), [[1, 'champion', N], [2, 'challenger', N]]);
  assert.deepEqual(report.detections, [], "the champion's stream is steady");
  const challenger = report.models[1];
  assert.ok(challenger.detections.length > 0 && challenger.detections.every((d) => d.event_time >= T + CHANGE * 1000), JSON.stringify(challenger.detections));
  assert.deepEqual(sent.flat().map((a) => [a.model_version, a.model_role, a.statistic, a.window_start]), challenger.detections.map((d) => [2, 'challenger', d.detector, d.event_time]));
  const rows = await queryRows<{ v: number; role: string; n: string }>(ch.client,
    `SELECT model_version AS v, role, count() AS n FROM ${TABLES.drift_metrics} WHERE pipeline = 'r' AND feature = {f:String} GROUP BY v, role`, { f: ERROR_FEATURE });
  assert.deepEqual(rows.map((r) => [Number(r.v), r.role, Number(r.n)]), [[2, 'challenger', challenger.detections.length]]);

  // Restarted: the streams are fed again from the start and detect the same; the gate, restored from the alerts, alerts nothing.
  const restored = new AlertGate({ cooldownMs: 0 });
  for (const a of sent.flat()) restored.restoreDetection({ pipeline: 'r', kind: a.kind, feature: a.feature, statistic: a.statistic, modelName: a.model_name, modelVersion: a.model_version, modelRole: a.model_role }, a.window_start);
  const again = memoryDeps();
  const replay = await new ErrorStreamJob().run(again.deps, run({ gate: restored, pipeline: 'r' }));
  assert.deepEqual(replay?.models, report.models);
  assert.deepEqual(again.sent, [[]]);
});

test('monitoring.detectors.warm_up reaches the detectors: none fires on its first warm_up settled predictions', async () => {
  const { deps } = memoryDeps();
  const report = await new ErrorStreamJob().run(deps, run({ gate: new AlertGate({ cooldownMs: 0 }), detectors: { ...DETECTORS, warmUp: N } }));
  assert.equal(report?.fed, N);
  assert.deepEqual(report?.detections, [], 'the change at 1000 falls inside a warm-up of 2000');
  const shorter = await new ErrorStreamJob().run(deps, run({ gate: new AlertGate({ cooldownMs: 0 }), detectors: { ...DETECTORS, warmUp: 1200 } }));
  assert.ok(shorter && shorter.detections.length > 0, 'after a warm-up of 1200 the change is seen');
  for (const d of shorter.detections) assert.ok(d.event_time >= T + 1200 * 1000, `${d.detector} fired at ${(d.event_time - T) / 1000}`);
});

test("a new champion's errors are a new stream; with every detector off there is no stream", async () => {
  const job = new ErrorStreamJob();
  const { deps } = memoryDeps();
  const gate = new AlertGate({ cooldownMs: 0 });
  assert.equal((await job.run(deps, run({ gate })))?.fed, N);
  const next = await job.run(deps, run({ gate, model: model(2) }));
  assert.equal(next?.fed, 0, 'version 2 has no predictions');
  assert.deepEqual(next?.models.map((m) => [m.model_version, m.role, m.fed]), [[1, 'champion', N]], "version 1's stream is kept, apart");
  assert.equal(await job.run(deps, run({ gate, detectors: { labelDelayMs: 0, adwin: null, pageHinkley: null, ddm: null } })), undefined);
});

test('each run measures the label delay from the labels\' arrival times and warns (log once, report, hook) when label_delay is far off', async () => {
  // Pipeline q: 300 predictions a second apart whose labels arrive 10–30 minutes after the event (p50 20 min, p95 29 min).
  const MIN = 60_000;
  const predictions: PredictionRow[] = [];
  const labels: LabelRow[] = [];
  for (let i = 0; i < 300; i++) {
    const time = T + i * 1000;
    predictions.push({
      pipeline: 'q', event_id: `q${i}`, entity_key: 'x', event_time: time, model_name: 'm', model_version: 1, role: 'champion',
      score: 0.1, label: 0, threshold: 0.5, latency_ms: 1, predicted_at: time,
    });
    const delay = Math.round((10 + ((i * 7) % 300) * (20 / 299)) * MIN);
    labels.push({ pipeline: 'q', event_id: `q${i}`, label: 0, label_time: time, arrived_at: time + delay });
  }
  // A label corrected 5 hours later: the label in effect (the latest label_time, as the join uses) has the correction's
  // delay. A label with no arrival time is not measured.
  labels.push({ pipeline: 'q', event_id: 'q0', label: 1, label_time: T + 1, arrived_at: T + 5 * 3_600_000 });
  labels.push({ pipeline: 'q', event_id: 'q-old', label: 1, label_time: T });
  await insertRows(ch.client, TABLES.predictions, predictions);
  await insertRows(ch.client, TABLES.labels, labels);

  const logged: Array<{ level: string; message: string }> = [];
  const seen: unknown[] = [];
  const { deps } = memoryDeps();
  deps.logger = {
    info: (_o: unknown, message?: string) => void logged.push({ level: 'info', message: message ?? '' }),
    warn: (_o: unknown, message?: string) => void logged.push({ level: 'warn', message: message ?? '' }),
  } as MonitoringDeps['logger'];
  deps.labelDelay = (pipeline, status) => void seen.push([pipeline, status.warning?.kind]);
  const job = new ErrorStreamJob();
  const gate = new AlertGate({ cooldownMs: 0 });
  const runWith = (labelDelayMs: number) => job.run(deps, run({ gate, pipeline: 'q', latest: T + 400_000, detectors: { ...DETECTORS, labelDelayMs } }));

  const long = (await runWith(3_600_000))?.label_delay;
  assert.ok(long?.observed);
  assert.equal(long.configured_ms, 3_600_000);
  assert.equal(long.observed.labels, 300);
  assert.ok(Math.abs(long.observed.p50_ms - 20 * MIN) < MIN, `p50 ${long.observed.p50_ms / MIN} min`);
  assert.ok(Math.abs(long.observed.p95_ms - 29 * MIN) < MIN, `p95 ${long.observed.p95_ms / MIN} min`);
  assert.equal(long.observed.late_share, 1 / 300, 'the corrected label only');
  assert.equal(long.warning?.kind, 'too_long');
  await runWith(3_600_000);
  assert.deepEqual(logged.map((l) => l.level), ['warn'], 'the same warning is logged once, not on every run');
  assert.match(logged[0].message, /label_delay 1h is longer than the observed p95/);

  const short = (await runWith(15 * MIN))?.label_delay;
  assert.equal(short?.warning?.kind, 'too_short');
  assert.ok(short.observed && short.observed.late_share > 0.7);
  assert.equal((await runWith(25 * MIN))?.label_delay.warning, undefined);
  assert.deepEqual(logged.map((l) => l.level), ['warn', 'warn', 'info']);
  assert.deepEqual(seen, [['q', 'too_long'], ['q', 'too_long'], ['q', 'too_short'], ['q', undefined]]);
});

test("a model's predictions of its own training events stay out of its stream: it starts after its data window", async () => {
  const gate = new AlertGate({ cooldownMs: 0 });
  const { deps } = memoryDeps();
  // Trained on the events up to the change: only the 50 % stretch after it is out of sample, and it is one level.
  const trainedUntil = (m: { model_name: string; model_version: number }) => (m.model_version === 1 ? T + (CHANGE - 1) * 1000 : undefined);
  const report = await new ErrorStreamJob().run(deps, run({ gate, trainedUntil }));
  assert.equal(report?.fed, N - CHANGE, 'the in-sample predictions are not fed');
  assert.deepEqual(report?.detections, [], 'the end of the training data is not a change');
});
