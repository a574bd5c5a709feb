// The drift job against a real ClickHouse engine (embedded chDB): alerts, gauges and the clock in memory.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { insertRows, migrate, queryRows, TABLES, type FeatureRow, type LabelRow, type PredictionRow } from '@streamloop/clickhouse';
import { openTestClickHouse, type TestClickHouse } from '@streamloop/clickhouse/testing';
import { loadPipelineSpec, type MonitoringSpec } from '@streamloop/config';
import type { AlertRecord } from '@streamloop/contracts';
import { AlertGate } from '@streamloop/drift';
import { gaussian, seededRandom } from '@streamloop/ml';
import type { ModelRegistryRecord } from '@streamloop/model-registry';
import { createLogger } from '@streamloop/observability';
import type { MonitoringDeps } from './deps';
import { runDriftJob } from './drift-job';
import { SCORE_FEATURE } from './drift-report';
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
    feature_importance: {}, signature: null,
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
  assert.equal(sent.length, 1);
  const alerted = sent[0].map((a) => `${a.kind}/${a.feature}/${a.statistic}`).sort();
  assert.deepEqual(alerted, ['feature_drift/__dataset__/drifted_share', 'feature_drift/shifted/jensen_shannon', `prediction_drift/${SCORE_FEATURE}/psi`]);
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
    return { report, alerted: sent.flat().map((a) => `${a.feature}/${a.statistic}`).sort() };
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
