// The drift job against a real ClickHouse engine (embedded chDB): alerts, gauges and the clock in memory.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { insertRows, migrate, queryRows, TABLES, type FeatureRow, type LabelRow, type PredictionRow } from '@streamloop/clickhouse';
import { openTestClickHouse, type TestClickHouse } from '@streamloop/clickhouse/testing';
import { loadPipelineSpec, type MonitoringSpec } from '@streamloop/config';
import type { AlertRecord } from '@streamloop/contracts';
import { AlertGate } from '@streamloop/drift';
import { evaluateBinary, gaussian, seededRandom } from '@streamloop/ml';
import type { ModelRegistryRecord } from '@streamloop/model-registry';
import { createLogger } from '@streamloop/observability';
import type { MonitoringDeps } from './deps';
import { runDriftJob } from './drift-job';
import { SCORE_FEATURE, type ModelPerformance } from './drift-report';
import { ErrorStreamJob } from './error-stream-job';

const HOUR = 3_600_000;
/** The current window is [T, T + 1 h); the one before it [T − 1 h, T). */
const T = Date.UTC(2026, 2, 1);
const N = 600;
let ch: TestClickHouse;

before(async () => {
  ch = await openTestClickHouse('monitoring');
  await migrate(ch.client, { database: ch.database });
  await insertWindows('drift');
});
after(async () => ch?.close());

const monitoring: MonitoringSpec = {
  ...loadPipelineSpec('examples/pipelines/fraud.yaml').monitoring,
  windowMs: HOUR,
  alertCooldownMs: 24 * HOUR,
  psiThreshold: 0.2,
  thresholds: { ksPValue: null, jensenShannon: null, wasserstein: null },
  detectors: { labelDelayMs: 0, adwin: null, pageHinkley: null, ddm: null },
  // The champion's stored sample, and every feature with its defaults (fraud.yaml's features are not these).
  reference: { source: 'training' },
  features: {},
};

/** The champion: trained where `shifted` and `steady` were both uniform on [0, 1). */
function champion(pipeline: string): ModelRegistryRecord {
  const rnd = seededRandom(7);
  return {
    pipeline, model_name: 'm', model_version: 1, algorithm: 'logistic_regression', stage: 'champion', created_at: T - 2 * HOUR,
    feature_names: ['shifted', 'steady'], feature_spec_version: 'v1', threshold: 0.5, onnx: Buffer.from([1]), onnx_sha256: '00',
    metrics: {}, params: {}, data_window_start: 0, data_window_end: 0, training_rows: 2000,
    reference: { shifted: Array.from({ length: 2000 }, () => rnd()), steady: Array.from({ length: 2000 }, () => rnd()) },
    feature_importance: {}, signature: null, decided_by: '', decided_at: 0, decision_reason: '', decision_metrics: {},
  };
}

/**
 * In the current window `shifted` moved to N(2, 0.5) while `steady` stayed uniform; the champion's scores moved up
 * (uniform on [0, 0.5) before, [0.4, 1) now) and its labels went from 10 % to 50 % positive. A challenger's
 * predictions of the current window look like the previous window: they must not count.
 */
async function insertWindows(pipeline: string): Promise<void> {
  const rnd = seededRandom(11);
  const normal = gaussian(rnd);
  const features: FeatureRow[] = [];
  const predictions: PredictionRow[] = [];
  const labels: LabelRow[] = [];
  const prediction = (id: string, time: number, score: number, role: 'champion' | 'challenger'): PredictionRow => ({
    pipeline, event_id: id, entity_key: 'e', event_time: time, model_name: role === 'champion' ? 'm' : 'c', model_version: 1, role,
    score, label: score >= 0.5 ? 1 : 0, threshold: 0.5, latency_ms: 1, predicted_at: time + 10,
  });
  for (let i = 0; i < N; i++) {
    const before = T - HOUR + i * 5000;
    const now = T + i * 5000;
    features.push({ pipeline, event_id: `c${i}`, entity_key: 'e', event_time: now, feature_spec_version: 'v1', values: { shifted: 2 + 0.5 * normal(), steady: rnd() }, computed_at: now });
    predictions.push(prediction(`p${i}`, before, rnd() * 0.5, 'champion'), prediction(`c${i}`, now, 0.4 + rnd() * 0.6, 'champion'), prediction(`c${i}`, now, rnd() * 0.5, 'challenger'));
    labels.push({ pipeline, event_id: `p${i}`, label: i % 10 === 0 ? 1 : 0, label_time: before + 1 }, { pipeline, event_id: `c${i}`, label: i % 2, label_time: now + 1 });
  }
  await insertRows(ch.client, TABLES.features, features);
  await insertRows(ch.client, TABLES.predictions, predictions);
  await insertRows(ch.client, TABLES.labels, labels);
}

function memoryDeps(computedAt: number) {
  const sent: AlertRecord[][] = [];
  const gauges = new Map<string, number>();
  const deps: MonitoringDeps = {
    clickhouse: ch.client,
    sendAlerts: async (alerts) => void sent.push(alerts),
    gauge: (l, value) => gauges.set(`${l.pipeline}/${l.feature}/${l.statistic}`, value),
    logger: createLogger('monitoring-test', 'silent'),
    now: () => computedAt,
  };
  return { deps, sent, gauges };
}

test('a drift run judges each feature, the scores and the labels of the latest window against the reference, records and alerts', async () => {
  const { deps, sent, gauges } = memoryDeps(T + 2 * HOUR);
  const gate = new AlertGate({ cooldownMs: monitoring.alertCooldownMs });
  const report = await runDriftJob(deps, { pipeline: 'drift', monitoring, model: champion('drift'), alertGate: async () => gate, errorStream: new ErrorStreamJob() });
  assert.ok(report);
  const latest = T + (N - 1) * 5000;
  assert.deepEqual([report.window_start, report.window_end], [latest + 1 - HOUR, latest + 1]);

  const byFeature = new Map(report.features.map((f) => [f.feature, f]));
  // 2000 reference values: judged by the Jensen–Shannon distance (the default for a large reference).
  assert.deepEqual(report.features.map((f) => [f.feature, f.kind, f.statistic, f.threshold]), [['shifted', 'numeric', 'jensen_shannon', 0.1], ['steady', 'numeric', 'jensen_shannon', 0.1]]);
  assert.equal(byFeature.get('shifted')?.drifted, true);
  assert.ok(byFeature.get('steady')!.jensen_shannon < 0.1, `steady Jensen–Shannon ${byFeature.get('steady')!.jensen_shannon}`);
  assert.ok(byFeature.get('shifted')!.psi > 1, `shifted PSI ${byFeature.get('shifted')!.psi}`);
  assert.equal(byFeature.get('steady')?.drifted, false);
  assert.ok(byFeature.get('steady')!.psi < 0.1, `steady PSI ${byFeature.get('steady')!.psi}`);
  assert.deepEqual(report.dataset, { drift: true, share: 0.5, drifted: ['shifted'] });
  assert.equal(report.prediction?.drifted, true, 'the champion scores moved; the challenger ones did not');
  assert.ok(report.label && report.label.psi > 0.2 && report.label.p_value < 1e-6, JSON.stringify(report.label));
  assert.equal(report.performance?.labelled, N);
  assert.equal(report.error_stream, undefined, 'every detector is off');

  // One list of alerts: the drifted feature's statistic, the dataset, the scores' PSI; nothing for the steady feature.
  // The shifted feature also left its reference range: a data_quality alert (the training gate's check, per window).
  assert.equal(sent.length, 1);
  const alerted = sent[0].map((a) => `${a.kind}/${a.feature}/${a.statistic}`).sort();
  assert.deepEqual(alerted, [
    'data_quality/shifted/max_out_of_range_share', 'feature_drift/__dataset__/drifted_share', 'feature_drift/shifted/jensen_shannon', `prediction_drift/${SCORE_FEATURE}/psi`,
  ]);
  assert.equal(report.data_quality?.passed, false);
  assert.deepEqual(report.data_quality?.failed.map((f) => f.split(' ')[0]), ['max_out_of_range_share(shifted)']);
  const dq = await queryRows<{ check: string; feature: string; passed: boolean; scope: string; window_end: string }>(
    ch.client, `SELECT \`check\`, feature, passed, toString(scope) AS scope FROM ${TABLES.data_quality} WHERE pipeline = {p:String} AND run_id = {r:String}`,
    { p: report.pipeline, r: report.data_quality!.run_id },
  );
  assert.equal(dq.length, report.data_quality?.checks, 'every check of the window recorded, passed ones too');
  assert.ok(dq.every((r) => r.scope === 'monitoring'));
  assert.deepEqual(dq.filter((r) => !r.passed).map((r) => `${r.check}/${r.feature}`), ['max_out_of_range_share/shifted']);
  assert.ok(sent[0].every((a) => a.model_name === 'm' && a.model_version === 1 && a.created_at === T + 2 * HOUR && a.window_end === latest + 1));
  assert.equal(gauges.get('drift/shifted/psi'), byFeature.get('shifted')!.psi);

  const rows = await queryRows<{ feature: string; statistic: string; drifted: number; threshold: number }>(
    ch.client, `SELECT feature, statistic, drifted, threshold FROM ${TABLES.drift_metrics} WHERE pipeline = 'drift' AND statistic IN ('psi', 'jensen_shannon') ORDER BY feature, statistic`,
  );
  // PSI is recorded for every feature but judges only where it is the feature's statistic (here: the scores and labels).
  assert.deepEqual(rows.map((r) => `${r.feature}/${r.statistic}:${r.drifted}`), [
    '__label__/psi:1', '__score__/jensen_shannon:0', '__score__/psi:1', 'shifted/jensen_shannon:1', 'shifted/psi:0', 'steady/jensen_shannon:0', 'steady/psi:0',
  ]);

  // The same conditions half a minute later: recorded again, not alerted again (the gate).
  const later = memoryDeps(T + 2 * HOUR + 30_000);
  const again = await runDriftJob(later.deps, { pipeline: 'drift', monitoring, model: champion('drift'), alertGate: async () => gate, errorStream: new ErrorStreamJob() });
  assert.ok(again);
  assert.deepEqual(later.sent, [[]]);
  const [{ n }] = await queryRows<{ n: string }>(ch.client, `SELECT count() AS n FROM ${TABLES.drift_metrics} WHERE pipeline = 'drift' AND feature = 'shifted' AND statistic = 'jensen_shannon'`);
  assert.equal(Number(n), 2);
});

test('live performance and the error stream per model version and role: two champion versions and a challenger in one window, each on its own predictions', async () => {
  // 2400 events 1.5 s apart (one hour). Version 1 served the first half and version 2, trained since, the second; version
  // 3 shadows them as a challenger on every event. The champions are wrong 5 % of the time throughout, the challenger
  // 5 % and then 50 % from the second half on. 90 % of the events have a label (every tenth has none yet).
  const pipeline = 'versions';
  const n = 2400;
  const rnd = seededRandom(31);
  const features: FeatureRow[] = [];
  const predictions: PredictionRow[] = [];
  const labels: LabelRow[] = [];
  const expected = new Map<string, { y: number[]; scores: number[]; predictions: number }>();
  const predict = (key: string, row: PredictionRow, y: number | undefined) => {
    predictions.push(row);
    const e = expected.get(key) ?? { y: [], scores: [], predictions: 0 };
    expected.set(key, e);
    e.predictions++;
    if (y !== undefined) {
      e.y.push(y);
      e.scores.push(row.score);
    }
  };
  for (let i = 0; i < n; i++) {
    const time = T + i * 1500;
    const y = rnd() < 0.3 ? 1 : 0;
    const label = i % 10 === 9 ? undefined : y;
    if (label !== undefined) labels.push({ pipeline, event_id: `v${i}`, label, label_time: time + 1 });
    features.push({ pipeline, event_id: `v${i}`, entity_key: 'e', event_time: time, feature_spec_version: 'v1', values: { shifted: rnd(), steady: rnd() }, computed_at: time });
    const row = (version: number, role: 'champion' | 'challenger', errorRate: number): PredictionRow => {
      const predicted = rnd() < errorRate ? 1 - y : y;
      const score = predicted ? 0.5 + rnd() * 0.5 : rnd() * 0.5;
      return { pipeline, event_id: `v${i}`, entity_key: 'e', event_time: time, model_name: 'm', model_version: version, role, score, label: predicted, threshold: 0.5, latency_ms: 1, predicted_at: time + 10 };
    };
    const championVersion = i < n / 2 ? 1 : 2;
    predict(`m/${championVersion}/champion`, row(championVersion, 'champion', 0.05), label);
    predict('m/3/challenger', row(3, 'challenger', i < n / 2 ? 0.05 : 0.5), label);
  }
  await insertRows(ch.client, TABLES.features, features);
  await insertRows(ch.client, TABLES.predictions, predictions);
  await insertRows(ch.client, TABLES.labels, labels);

  const { deps, sent } = memoryDeps(T + 2 * HOUR);
  const figures = new Map<string, number>();
  deps.modelMetric = (l, value) => figures.set(`${l.model}/${l.version}/${l.role} ${l.metric}`, value);
  const gate = new AlertGate({ cooldownMs: HOUR });
  const model = { ...champion(pipeline), model_version: 2 };
  const settings = { ...monitoring, detectors: { labelDelayMs: 0, adwin: {}, pageHinkley: {}, ddm: {} } };
  const report = await runDriftJob(deps, { pipeline, monitoring: settings, model, alertGate: async () => gate, errorStream: new ErrorStreamJob() });
  assert.ok(report);
  const keys = ['m/1/champion', 'm/2/champion', 'm/3/challenger'];
  assert.deepEqual(report.performance_by_model.map((p) => `${p.model_name}/${p.model_version}/${p.role}`), keys);

  // Each model's rows: its own labelled count, its own metrics (evaluateBinary on its own labelled predictions).
  const rows = await queryRows<{ model_version: number; role: string; metric: string; value: number; labelled_count: number }>(ch.client,
    `SELECT model_version, role, metric, value, labelled_count FROM ${TABLES.performance_metrics} WHERE pipeline = {p:String} ORDER BY model_version, role, metric`, { p: pipeline });
  for (const key of keys) {
    const e = expected.get(key)!;
    const [, version, role] = key.split('/');
    const mine = rows.filter((r) => Number(r.model_version) === Number(version) && r.role === role);
    assert.deepEqual(mine.map((r) => r.metric), ['f1', 'log_loss', 'precision', 'recall', 'roc_auc'], key);
    assert.ok(mine.every((r) => Number(r.labelled_count) === e.y.length), `${key}: labelled_count ${mine.map((r) => r.labelled_count)} vs its own ${e.y.length}`);
    const entry: ModelPerformance = report.performance_by_model.find((p) => `${p.model_name}/${p.model_version}/${p.role}` === key)!;
    assert.equal(entry.labelled, e.y.length, key);
    assert.equal(figures.get(`${key} labelled`), e.y.length);
    const r = evaluateBinary(e.y, e.scores, 0.5);
    for (const [metric, want] of [['roc_auc', r.rocAuc], ['precision', r.precision], ['recall', r.recall], ['f1', r.f1], ['log_loss', r.logLoss]] as const) {
      const row = mine.find((x) => x.metric === metric)!;
      assert.ok(Math.abs(row.value - want) <= 1e-9, `${key} ${metric}: ${row.value} vs ${want}`);
      assert.equal(entry[metric], row.value);
      assert.equal(figures.get(`${key} ${metric}`), row.value);
    }
  }
  assert.deepEqual(keys.map((k) => expected.get(k)!.y.length), [1080, 1080, 2160]);
  // The report's champion figures are version 2's own, as before.
  assert.equal(report.performance?.labelled, 1080);
  assert.equal(report.performance?.roc_auc, report.performance_by_model[1].roc_auc);

  // One error stream per model: each fed its own labelled predictions; only the challenger's error rate jumped.
  const streams = report.error_stream!.models;
  assert.deepEqual(streams.map((m) => [`${m.model_name}/${m.model_version}/${m.role}`, m.fed]), [['m/1/champion', 1080], ['m/2/champion', 1080], ['m/3/challenger', 2160]]);
  assert.equal(report.error_stream!.fed, 1080, "the top level is the champion's (version 2) stream");
  assert.deepEqual(streams.filter((m) => m.detections.length > 0).map((m) => m.model_version), [3], JSON.stringify(streams.map((m) => m.detections)));
  assert.ok(streams[2].recent_error_rate > 0.3 && streams[1].recent_error_rate < 0.15, JSON.stringify(streams));
  assert.equal(figures.get('m/3/challenger recent_error_rate'), streams[2].recent_error_rate);
  const performanceAlerts = sent.flat().filter((a) => a.kind === 'performance');
  assert.ok(performanceAlerts.length > 0);
  assert.ok(performanceAlerts.every((a) => a.model_version === 3 && a.model_role === 'challenger' && a.window_start >= T + (n / 2) * 1500), JSON.stringify(performanceAlerts));
  assert.ok(sent.flat().filter((a) => a.kind !== 'performance').every((a) => a.model_version === 2 && a.model_role === 'champion'));
  const errorRows = await queryRows<{ v: number; role: string }>(ch.client,
    `SELECT DISTINCT model_version AS v, role FROM ${TABLES.drift_metrics} WHERE pipeline = {p:String} AND feature = '__error__'`, { p: pipeline });
  assert.deepEqual(errorRows.map((r) => `${r.v}/${r.role}`), ['3/challenger']);
  const driftRoles = await queryRows<{ role: string }>(ch.client,
    `SELECT DISTINCT role FROM ${TABLES.drift_metrics} WHERE pipeline = {p:String} AND feature != '__error__'`, { p: pipeline });
  assert.deepEqual(driftRoles.map((r) => r.role), ['champion'], 'feature drift is judged for the champion');
});

test('a window where a model has labels of one class only: its undefined metrics are NaN in the report and absent from performance_metrics', async () => {
  const pipeline = 'one-class';
  const at = (i: number) => T + i * 1000;
  await insertRows(ch.client, TABLES.features, Array.from({ length: 20 }, (_, i) => ({ pipeline, event_id: `o${i}`, entity_key: 'e', event_time: at(i), feature_spec_version: 'v1', values: { shifted: 0.5, steady: 0.5 }, computed_at: at(i) })));
  // The challenger predicted 10 events, all negative and all labelled negative: no positive at all.
  await insertRows(ch.client, TABLES.predictions, Array.from({ length: 10 }, (_, i): PredictionRow => ({
    pipeline, event_id: `o${i}`, entity_key: 'e', event_time: at(i), model_name: 'c', model_version: 4, role: 'challenger', score: 0.1, label: 0, threshold: 0.5, latency_ms: 1, predicted_at: at(i) + 1,
  })));
  await insertRows(ch.client, TABLES.labels, Array.from({ length: 10 }, (_, i) => ({ pipeline, event_id: `o${i}`, label: 0, label_time: at(i) + 2 })));
  const { deps } = memoryDeps(T + HOUR);
  const report = await runDriftJob(deps, { pipeline, monitoring, model: champion(pipeline), alertGate: async () => new AlertGate({ cooldownMs: HOUR }), errorStream: new ErrorStreamJob() });
  assert.equal(report?.performance, undefined, 'the champion made no prediction');
  const [entry] = report!.performance_by_model;
  assert.deepEqual([entry.model_name, entry.model_version, entry.role, entry.labelled, entry.positives], ['c', 4, 'challenger', 10, 0]);
  assert.ok([entry.roc_auc, entry.precision, entry.recall, entry.f1].every(Number.isNaN), JSON.stringify(entry));
  const rows = await queryRows<{ metric: string; labelled_count: number; role: string }>(ch.client,
    `SELECT metric, labelled_count, role FROM ${TABLES.performance_metrics} WHERE pipeline = {p:String}`, { p: pipeline });
  assert.deepEqual(rows.map((r) => `${r.metric} ${r.labelled_count} ${r.role}`), ['log_loss 10 challenger']);
});

test('without feature vectors there is no window: no report, and the alert gate is not restored', async () => {
  const { deps, sent } = memoryDeps(T);
  let asked = 0;
  const report = await runDriftJob(deps, {
    pipeline: 'empty', monitoring, model: champion('empty'), errorStream: new ErrorStreamJob(),
    alertGate: async () => {
      asked++;
      return new AlertGate({ cooldownMs: 0 });
    },
  });
  assert.equal(report, undefined);
  assert.equal(asked, 0);
  assert.deepEqual(sent, []);
});

test('per-feature settings: an excluded feature is never judged, a statistic and threshold override the defaults, a one-hot column is judged as a category', async () => {
  const pipeline = 'settings';
  const rnd = seededRandom(23);
  const normal = gaussian(rnd);
  const bernoulli = (p: number) => (rnd() < p ? 1 : 0);
  const rows: FeatureRow[] = Array.from({ length: N }, (_, i) => ({
    pipeline, event_id: `s${i}`, entity_key: 'e', event_time: T + i * 5000, feature_spec_version: 'v1', computed_at: T + i * 5000,
    values: { shifted: 2 + 0.5 * normal(), ignored: 5 + normal(), steady: rnd(), 'cat=a': bernoulli(0.6) },
  }));
  await insertRows(ch.client, TABLES.features, rows);
  const model = (size: number): ModelRegistryRecord => ({
    ...champion(pipeline), feature_names: ['shifted', 'ignored', 'steady', 'cat=a'],
    reference: {
      shifted: Array.from({ length: size }, () => rnd()), ignored: Array.from({ length: size }, () => rnd()),
      steady: Array.from({ length: size }, () => rnd()), 'cat=a': Array.from({ length: size }, () => bernoulli(0.2)),
    },
  });
  const settings: MonitoringSpec = {
    ...monitoring,
    features: {
      ignored: { kind: 'numeric', statistic: null, threshold: null, exclude: true },
      // A PSI threshold no sample of the same distribution stays under: the override is what decides.
      steady: { kind: 'numeric', statistic: 'psi', threshold: 1e-4, exclude: false },
      'cat=a': { kind: 'categorical', statistic: null, threshold: null, exclude: false },
    },
  };
  const run = async (size: number) => {
    const { deps, sent } = memoryDeps(T + 2 * HOUR);
    const report = await runDriftJob(deps, { pipeline, monitoring: settings, model: model(size), alertGate: async () => new AlertGate({ cooldownMs: HOUR }), errorStream: new ErrorStreamJob() });
    assert.ok(report);
    // Drift alerts only (the data-quality checks of the window have a test of their own).
    return { report, alerted: sent.flat().filter((a) => a.kind !== 'data_quality').map((a) => `${a.feature}/${a.statistic}`).sort() };
  };

  // 2000 reference values: the Jensen–Shannon distance (over quantile bins, over categories).
  const large = await run(2000);
  assert.deepEqual(large.report.features.map((f) => [f.feature, f.kind, f.statistic, f.threshold, f.drifted]), [
    ['shifted', 'numeric', 'jensen_shannon', 0.1, true],
    ['steady', 'numeric', 'psi', 1e-4, true],
    ['cat=a', 'categorical', 'jensen_shannon', 0.1, true],
  ]);
  const category = large.report.features.find((f) => f.feature === 'cat=a')!;
  assert.ok(category.chi_square_p_value < 1e-10 && Number.isNaN(category.ks_p_value), JSON.stringify(category));
  assert.deepEqual(large.alerted, ['__dataset__/drifted_share', 'cat=a/jensen_shannon', 'shifted/jensen_shannon', 'steady/psi']);
  assert.deepEqual(large.report.dataset?.drifted, ['shifted', 'cat=a'], 'KS for numeric features, chi-square for categorical ones; the excluded one not at all');
  const [{ n }] = await queryRows<{ n: string }>(ch.client, `SELECT count() AS n FROM ${TABLES.drift_metrics} WHERE pipeline = '${pipeline}' AND feature = 'ignored'`);
  assert.equal(Number(n), 0, 'nothing recorded for an excluded feature');

  // 500 reference values: the tests (KS, chi-square) by their p-values.
  const small = await run(500);
  assert.deepEqual(small.report.features.map((f) => [f.feature, f.statistic, f.threshold]), [['shifted', 'ks_p_value', 0.05], ['steady', 'psi', 1e-4], ['cat=a', 'chi_square_p_value', 0.05]]);
  assert.ok(small.alerted.includes('cat=a/chi_square_p_value') && small.alerted.includes('shifted/ks_p_value'), small.alerted.join());
  assert.ok(!small.alerted.some((a) => a.startsWith('ignored/')));
});

/**
 * A card stream as the features service would write it: one event every 20 s, 1000 cards, lognormal amounts, a
 * category one-hot, and per card the count and mean amount over the last 6 h (the aggregates fill up during the
 * first 6 h). From `shiftAt` on, amounts are 1.5 times larger. Event times from T0.
 */
const T0 = Date.UTC(2026, 5, 1);
const AGGREGATE_WINDOW = 6 * HOUR;
const CATEGORY_SHARES: Array<[string, number]> = [['grocery', 0.4], ['restaurant', 0.25], ['electronics', 0.15], ['gaming', 0.1], ['travel', 0.1]];
function cardStream(pipeline: string, seed: number, shiftAt = Infinity): FeatureRow[] {
  const rnd = seededRandom(seed);
  const normal = gaussian(rnd);
  const history = new Map<number, Array<{ t: number; amount: number }>>();
  const rows: FeatureRow[] = [];
  for (let t = T0, i = 0; t < T0 + 72 * HOUR; t += 20_000, i++) {
    const card = Math.floor(rnd() * 1000);
    const amount = Math.exp(3 + 0.8 * normal()) * (t >= shiftAt ? 1.5 : 1);
    let u = rnd(), k = 0;
    while (k < CATEGORY_SHARES.length - 1 && u >= CATEGORY_SHARES[k][1]) u -= CATEGORY_SHARES[k++][1];
    const recent = (history.get(card) ?? []).filter((e) => e.t > t - AGGREGATE_WINDOW);
    recent.push({ t, amount });
    history.set(card, recent);
    const values: Record<string, number> = { amount, card_count_6h: recent.length, card_mean_6h: recent.reduce((s, e) => s + e.amount, 0) / recent.length };
    CATEGORY_SHARES.forEach(([c], j) => (values[`category=${c}`] = j === k ? 1 : 0));
    rows.push({ pipeline, event_id: `${pipeline}-${i}`, entity_key: `card${card}`, event_time: t, feature_spec_version: 'v1', values, computed_at: t });
  }
  return rows;
}

const CARD_FEATURES = ['amount', 'card_count_6h', 'card_mean_6h', ...CATEGORY_SHARES.map(([c]) => `category=${c}`)];
const cardMonitoring: MonitoringSpec = {
  ...monitoring,
  windowMs: 4 * HOUR,
  reference: { source: 'training_after_warm_up', warmUpMs: AGGREGATE_WINDOW },
  features: Object.fromEntries(CARD_FEATURES.map((f) => [f, { kind: f.startsWith('category=') ? 'categorical' : 'numeric', statistic: null, threshold: null, exclude: false }])),
};

/**
 * The champion trained on the stream's start, its held-out window from `heldOutFrom` on (by default 20 h, the rest
 * of the first day); its stored sample is at most 2000 evenly spaced training vectors (as the training service takes it).
 */
function cardChampion(pipeline: string, rows: FeatureRow[], heldOutFrom = T0 + 20 * HOUR): ModelRegistryRecord {
  const training = rows.filter((r) => Number(r.event_time) < heldOutFrom);
  const size = Math.min(2000, training.length);
  const sample = Array.from({ length: size }, (_, k) => training[Math.floor((k * training.length) / size)]);
  return {
    ...champion(pipeline), feature_names: CARD_FEATURES, data_window_start: T0, data_window_end: T0 + 24 * HOUR - 1,
    params: { holdout_window_start: String(heldOutFrom) },
    reference: Object.fromEntries(CARD_FEATURES.map((f) => [f, sample.map((r) => r.values[f])])),
  };
}

/** Feeds the stream in 4 h steps after the first day and runs the drift job after each: 12 windows, days 2 and 3. */
async function runOverDays(pipeline: string, rows: FeatureRow[], settings: MonitoringSpec, model = cardChampion(pipeline, rows)) {
  const gate = new AlertGate({ cooldownMs: 24 * HOUR });
  const alerts: AlertRecord[] = [];
  const reports = [];
  await insertRows(ch.client, TABLES.features, rows.filter((r) => Number(r.event_time) < T0 + 24 * HOUR));
  for (let end = T0 + 28 * HOUR; end <= T0 + 72 * HOUR; end += 4 * HOUR) {
    await insertRows(ch.client, TABLES.features, rows.filter((r) => Number(r.event_time) >= end - 4 * HOUR && Number(r.event_time) < end));
    const { deps, sent } = memoryDeps(end);
    const report = await runDriftJob(deps, { pipeline, monitoring: settings, model, alertGate: async () => gate, errorStream: new ErrorStreamJob() });
    assert.ok(report);
    reports.push(report);
    alerts.push(...sent.flat());
  }
  return { reports, alerts };
}

test('a stationary stream with per-entity windowed aggregates raises no drift alert over 12 windows; the same stream shifted does, only after the shift', async () => {
  const stationary = await runOverDays('cards-stationary', cardStream('cards-stationary', 5), cardMonitoring);
  assert.equal(stationary.reports.length, 12);
  for (const report of stationary.reports) {
    // Not vacuous: every feature judged, against the training part after the 6 h warm-up.
    assert.deepEqual(report.reference, { source: 'training_after_warm_up', from: T0 + AGGREGATE_WINDOW, to: T0 + 20 * HOUR });
    assert.deepEqual(report.features.map((f) => f.feature), CARD_FEATURES);
    assert.ok(report.features.every((f) => f.statistic === 'jensen_shannon'));
  }
  const worst = Math.max(...stationary.reports.flatMap((r) => r.features.map((f) => f.value)));
  assert.deepEqual(stationary.alerts.map((a) => `${a.feature}/${a.statistic}=${a.value}`), [], `largest Jensen–Shannon distance ${worst}`);

  const shiftAt = T0 + 48 * HOUR;
  const shifted = await runOverDays('cards-shifted', cardStream('cards-shifted', 5, shiftAt), cardMonitoring);
  assert.ok(shifted.alerts.length > 0);
  assert.ok(shifted.alerts.every((a) => a.window_end > shiftAt), 'no alert before the shift');
  assert.deepEqual([...new Set(shifted.alerts.map((a) => a.feature))].sort(), ['amount', 'card_mean_6h']);
  const after = shifted.reports.filter((r) => r.window_start >= shiftAt);
  assert.ok(after.length >= 5 && after.every((r) => r.features.find((f) => f.feature === 'amount')!.drifted), 'every window after the shift has drifted');
});

test('a fixed event-time reference window reads the same vectors as the warm-up reference over the same span', async () => {
  // Runs on the stationary stream the test above stored (its last window).
  const model = cardChampion('cards-stationary', cardStream('cards-stationary', 5));
  const run = async (settings: MonitoringSpec) => {
    const { deps } = memoryDeps(T0 + 72 * HOUR);
    const report = await runDriftJob(deps, { pipeline: 'cards-stationary', monitoring: settings, model, alertGate: async () => new AlertGate({ cooldownMs: HOUR }), errorStream: new ErrorStreamJob() });
    assert.ok(report);
    return report;
  };
  const window = await run({ ...cardMonitoring, reference: { source: 'window', fromMs: T0 + AGGREGATE_WINDOW, toMs: T0 + 20 * HOUR } });
  const warmedUp = await run(cardMonitoring);
  assert.deepEqual(window.reference, { source: 'window', from: T0 + AGGREGATE_WINDOW, to: T0 + 20 * HOUR });
  assert.equal(window.features.length, CARD_FEATURES.length);
  assert.deepEqual(window.features, warmedUp.features);
  // A window of the first hour only (counts still filling up) is another reference.
  const firstHour = await run({ ...cardMonitoring, reference: { source: 'window', fromMs: T0, toMs: T0 + HOUR } });
  const count = firstHour.features.find((f) => f.feature === 'card_count_6h')!;
  assert.ok(count.statistic === 'ks_p_value' && count.drifted, `180 reference vectors: KS, and the counts moved: ${JSON.stringify(count)}`);
});

test('a champion trained while the aggregates filled up: its stored sample alerts on a stationary stream, and the warm-up leaves it unjudged', async () => {
  // Trained on the first 6 h only: its sample is all warm-up (the case of issue 11).
  const rows = cardStream('cards-early', 5);
  const early = cardChampion('cards-early', rows, T0 + 6 * HOUR);
  const sample = await runOverDays('cards-early', rows, { ...cardMonitoring, reference: { source: 'training' } }, early);
  assert.deepEqual(sample.reports[0].reference, { source: 'training' });
  assert.ok(sample.alerts.some((a) => a.feature === 'card_count_6h'), sample.alerts.map((a) => `${a.feature}/${a.statistic}`).join());

  // After the warm-up nothing of its training part is left: no feature is judged, nothing alerts.
  const { deps, sent } = memoryDeps(T0 + 72 * HOUR);
  const report = await runDriftJob(deps, { pipeline: 'cards-early', monitoring: cardMonitoring, model: early, alertGate: async () => new AlertGate({ cooldownMs: HOUR }), errorStream: new ErrorStreamJob() });
  assert.deepEqual(report?.reference, { source: 'training_after_warm_up', from: T0 + AGGREGATE_WINDOW, to: T0 + 6 * HOUR });
  assert.deepEqual(report?.features, []);
  assert.deepEqual(sent.flat().filter((a) => a.kind === 'feature_drift'), []);
});
