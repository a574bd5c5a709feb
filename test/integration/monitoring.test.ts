// The monitoring service with the real broker and embedded ClickHouse: the sink of every topic, idempotent
// under redelivery, drift computed in ClickHouse against the model's reference (and agreeing with the TypeScript
// statistics on the same values), prediction and label drift against the previous window, live performance,
// alerts, /metrics and /health.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { countRows } from '@streamloop/clickhouse';
import { ErrorStreamMonitor, jensenShannonDistance, ksTest, psi, wasserstein1 } from '@streamloop/drift';
import { evaluateBinary } from '@streamloop/ml';
import { MonitoringModule, MonitoringService } from '@streamloop/monitoring';
import type { ModelRegistryRecord } from '@streamloop/model-registry';
import { serveModules, type AlertRecord, type FeatureVectorRecord, type LabelRecord, type PredictionRecord, type ServingApp } from '@streamloop/runtime';
import { seededRandom } from '@streamloop/testing';
import { brokersOrSkip, eventually, readAll, startStack, testPipeline, uniqueName } from '../support/stack';

const brokers = brokersOrSkip();

test('monitoring sinks the loop into ClickHouse and measures drift against the training reference', { skip: !brokers && 'KAFKA_BROKERS is not set', timeout: 180_000 }, async () => {
  const name = uniqueName('mon');
  const spec = testPipeline(name, (s) => {
    s.topics.models = uniqueName('models');
    s.monitoring.window = '1h';
    s.monitoring.windowMs = 3_600_000;
    s.monitoring.thresholds = { ksPValue: 1e-3, jensenShannon: null, wasserstein: null };
    // The stored sample, and PSI judging both features (the defaults are tested in libs/monitoring).
    s.monitoring.reference = { source: 'training' };
    s.monitoring.features = Object.fromEntries(['amount', 'hour'].map((f) => [f, { kind: 'numeric', statistic: 'psi', threshold: null, exclude: false }]));
  });
  const stack = await startStack(brokers!, [spec], [MonitoringModule]);
  const producer = stack.kafka.producer();
  await producer.connect();
  try {
    const ctx = stack.runtime.pipelines.pipeline(name);
    const types = stack.runtime.types;
    const rnd = seededRandom(9);
    const t0 = Date.UTC(2026, 10, 3, 0, 0, 0);
    const n = 600;
    const vectors: FeatureVectorRecord[] = Array.from({ length: n }, (_, i) => ({
      event_id: `${name}-${i}`, pipeline: name, entity_key: `c${i % 7}`, event_time: t0 + i * 5000, feature_spec_version: 'v1',
      // "amount" shifts upwards in the current window; "hour" does not.
      values: { amount: 50 + rnd() * 50 + (i >= n / 2 ? 60 : 0), hour: Math.floor(rnd() * 24) }, computed_at: Date.now(),
    }));
    const encode = async <T>(topic: string, type: typeof types.label, items: T[], key: (x: T) => string) =>
      Promise.all(items.map(async (x) => ({ key: key(x), value: await stack.serde.encode(`${topic}-value`, type, x) })));
    const featureMessages = await encode(ctx.topics.features, types.featureVector, vectors, (v) => v.entity_key);
    await producer.send({ topic: ctx.topics.features, messages: featureMessages });
    // A redelivered batch (as after a crash before commit) must not duplicate rows.
    await producer.send({ topic: ctx.topics.features, messages: featureMessages.slice(0, 50) });
    const predictions: PredictionRecord[] = vectors.map((v, i) => ({
      event_id: v.event_id, pipeline: name, entity_key: v.entity_key, event_time: v.event_time, model_name: 'm', model_version: 1,
      role: 'champion', score: i % 3 === 0 ? 0.9 : 0.1, label: i % 3 === 0 ? 1 : 0, threshold: 0.5, latency_ms: 1.5, predicted_at: Date.now(), fallback: false, contributions: [],
    }));
    // The hour before the drift window: other scores and fewer positives (prediction and label drift), no features.
    const previous = 300;
    const earlier: PredictionRecord[] = Array.from({ length: previous }, (_, i) => ({
      ...predictions[0], event_id: `${name}-prev-${i}`, event_time: t0 - 4_000_000 + i * 10_000, score: i % 2 === 0 ? 0.3 : 0.7, label: i % 2,
    }));
    // A challenger (version 2) shadowing the champion on the first 200 events: its own figures, not the champion's.
    const shadowed = 200;
    const challenger: PredictionRecord[] = predictions.slice(0, shadowed).map((p, i) => ({ ...p, model_version: 2, role: 'challenger', score: i % 2 === 0 ? 0.8 : 0.2, label: i % 2 === 0 ? 1 : 0 }));
    await producer.send({ topic: ctx.topics.predictions, messages: await encode(ctx.topics.predictions, types.prediction, [...predictions, ...earlier, ...challenger], (p) => p.entity_key) });
    const labels: LabelRecord[] = vectors.map((v, i) => ({ event_id: v.event_id, label: i % 3 === 0 || i % 10 === 1 ? 1 : 0, label_time: v.event_time + 1 }));
    labels.push(...earlier.map((p, i) => ({ event_id: p.event_id, label: i % 5 === 0 ? 1 : 0, label_time: p.event_time + 1 })));
    await producer.send({ topic: ctx.topics.labels, messages: await encode(ctx.topics.labels, types.label, labels, (l) => l.event_id) });
    const reference = { amount: Array.from({ length: 500 }, () => 50 + rnd() * 50), hour: Array.from({ length: 500 }, () => Math.floor(rnd() * 24)) };
    const model: ModelRegistryRecord = {
      pipeline: name, model_name: 'm', model_version: 1, algorithm: 'logistic_regression', stage: 'champion', created_at: Date.now(),
      feature_names: ['amount', 'hour'], feature_spec_version: 'v1', threshold: 0.5, onnx: Buffer.from([1]), onnx_sha256: 'x',
      metrics: { roc_auc: 0.8 }, params: {}, data_window_start: t0, data_window_end: t0, training_rows: 500, reference, feature_importance: {}, signature: null, decided_by: '', decided_at: 0, decision_reason: '', decision_metrics: {},
    };

    const ch = await stack.runtime.clickhouseConnection.client();
    await eventually(async () => ((await countRows(ch, 'features', name)) >= n && (await countRows(ch, 'labels', name)) >= n + previous && (await countRows(ch, 'predictions', name)) >= n + previous + shadowed ? true : undefined), 'all rows in ClickHouse');
    await new Promise((r) => setTimeout(r, 1000));
    assert.equal(await countRows(ch, 'features', name), n, 'the redelivered batch did not duplicate rows');
    // Only now the champion: every drift run (the schedule's and this test's) sees the whole stream.
    await producer.send({ topic: spec.topics.models!, messages: await encode(spec.topics.models!, types.modelRegistry, [model], () => `${name}/m/1`) });

    const monitoring = stack.serving.app.get(MonitoringService);
    const report = await eventually(() => monitoring.driftJob(name), 'a drift report (needs the model record)');
    const amount = report.features.find((f) => f.feature === 'amount')!;
    const hour = report.features.find((f) => f.feature === 'hour')!;
    assert.ok(amount.psi > 0.2 && amount.drifted, `amount PSI ${amount.psi}`);
    assert.ok(hour.psi < 0.2 && !hour.drifted, `hour PSI ${hour.psi}`);
    assert.ok(amount.ks_p_value < 1e-6 && amount.wasserstein > 20 && amount.jensen_shannon > 0.2, JSON.stringify(amount));
    assert.ok(hour.ks_p_value > 0.001, `hour KS p-value ${hour.ks_p_value}`);
    assert.deepEqual(report.dataset?.drifted, ['amount']);
    // The SQL path agrees with the TypeScript statistics on the same values (the whole stream is in the window).
    for (const [feature, f] of [['amount', amount], ['hour', hour]] as const) {
      const ref = reference[feature], cur = vectors.map((v) => v.values[feature]);
      const close = (a: number, b: number, what: string) => assert.ok(Math.abs(a - b) <= 1e-6 * Math.max(1, Math.abs(b)), `${feature} ${what}: ${a} vs ${b}`);
      close(f.psi, psi(ref, cur, { bins: spec.monitoring.psiBins }).value, 'psi');
      close(f.jensen_shannon, jensenShannonDistance(ref, cur, { bins: spec.monitoring.psiBins }), 'jensen-shannon');
      close(f.ks_statistic, ksTest(ref, cur).statistic, 'ks statistic');
      close(f.ks_p_value, ksTest(ref, cur).pValue, 'ks p-value');
      close(f.wasserstein, wasserstein1(ref, cur), 'wasserstein');
    }
    const expected = evaluateBinary(labels.slice(0, n).map((l) => l.label), predictions.map((p) => p.score), model.threshold);
    assert.equal(report.performance?.labelled, n);
    for (const [k, e] of [['roc_auc', expected.rocAuc], ['precision', expected.precision], ['recall', expected.recall], ['f1', expected.f1], ['log_loss', expected.logLoss]] as const) {
      assert.ok(Math.abs(report.performance![k] - e) <= 1e-6, `performance ${k}: ${report.performance![k]} vs ${e}`);
    }
    // Per model version and role, each on its own labelled predictions.
    const own = evaluateBinary(labels.slice(0, shadowed).map((l) => l.label), challenger.map((p) => p.score), 0.5);
    assert.deepEqual(report.performance_by_model.map((p) => [p.model_name, p.model_version, p.role, p.labelled]), [['m', 1, 'champion', n], ['m', 2, 'challenger', shadowed]]);
    assert.ok(Math.abs(report.performance_by_model[1].roc_auc - own.rocAuc) <= 1e-9, `challenger roc_auc ${report.performance_by_model[1].roc_auc} vs ${own.rocAuc}`);
    const counts = await ch.query({
      query: `SELECT model_version, role, uniqExact(metric) AS metrics, any(labelled_count) AS labelled FROM performance_metrics WHERE pipeline = {p:String} GROUP BY model_version, role ORDER BY model_version`,
      query_params: { p: name }, format: 'JSONEachRow', clickhouse_settings: { output_format_json_quote_64bit_integers: 0 },
    });
    assert.deepEqual(await counts.json(), [{ model_version: 1, role: 'champion', metrics: 5, labelled: n }, { model_version: 2, role: 'challenger', metrics: 5, labelled: shadowed }]);
    assert.ok(report.prediction?.drifted && report.prediction.psi > 0.2, `score drift ${JSON.stringify(report.prediction)}`);
    assert.ok(report.label && report.label.p_value < 1e-3, `label drift ${JSON.stringify(report.label)}`);
    const drift = await ch.query({ query: `SELECT feature, value FROM drift_metrics WHERE pipeline = {p:String} AND statistic = 'psi'`, query_params: { p: name }, format: 'JSONEachRow' });
    assert.ok(((await drift.json()) as unknown[]).length >= 2);
    const stats = await ch.query({ query: `SELECT DISTINCT statistic FROM drift_metrics WHERE pipeline = {p:String} ORDER BY statistic`, query_params: { p: name }, format: 'JSONEachRow' });
    assert.deepEqual(((await stats.json()) as Array<{ statistic: string }>).map((r) => r.statistic), [
      'chi_square', 'chi_square_p_value', 'drifted_share', 'jensen_shannon', 'ks_p_value', 'ks_statistic', 'psi', 'wasserstein', 'wasserstein_normed',
    ]);
    const perf = await ch.query({ query: `SELECT DISTINCT metric FROM performance_metrics WHERE pipeline = {p:String} ORDER BY metric`, query_params: { p: name }, format: 'JSONEachRow' });
    assert.deepEqual(((await perf.json()) as Array<{ metric: string }>).map((r) => r.metric), ['f1', 'log_loss', 'precision', 'recall', 'roc_auc']);

    // Scheduled runs and this one saw the same drift: one alert per drifted statistic, however many runs.
    await monitoring.driftJob(name);
    const alerts = await eventually(async () => {
      // Drift alerts here; the window's data-quality checks are checked below.
      const all = (await readAll<AlertRecord>(stack.kafka, stack.serde, ctx.topics.alerts)).map((a) => a.value).filter((a) => a.kind !== 'data_quality');
      return all.length >= 5 ? all : undefined;
    }, 'feature, dataset and prediction drift alerts');
    assert.ok(alerts.every((a) => a.window_start === report.window_start), 'every alert is of the one window');
    // PSI because it is the features' statistic (and the scores'); KS because the spec sets a p-value threshold; the dataset because half the features drifted.
    assert.deepEqual(alerts.map((a) => `${a.kind}:${a.feature}:${a.statistic}:${a.threshold}`).sort(), [
      'feature_drift:__dataset__:drifted_share:0.5', 'feature_drift:amount:ks_p_value:0.001', 'feature_drift:amount:psi:0.2',
      'prediction_drift:__score__:ks_p_value:0.001', 'prediction_drift:__score__:psi:0.2',
    ]);
    // The same window's data-quality checks against the champion's reference: recorded, with the report's summary.
    assert.ok(report.data_quality && report.data_quality.checks > 0, JSON.stringify(report.data_quality));
    const dq = await ch.query({ query: `SELECT count() AS n FROM data_quality WHERE pipeline = {p:String} AND scope = 'monitoring' AND run_id = {r:String}`, query_params: { p: name, r: report.data_quality.run_id }, format: 'JSONEachRow' });
    assert.equal(Number(((await dq.json()) as Array<{ n: string }>)[0].n), report.data_quality.checks);

    const metrics = await (await fetch(`${stack.serving.url}/metrics`)).text();
    assert.match(metrics, new RegExp(`streamloop_drift_score\\{pipeline="${name}",feature="amount",statistic="psi"\\}`));
    assert.match(metrics, new RegExp(`streamloop_drift_score\\{pipeline="${name}",feature="__score__",statistic="psi"\\}`));
    assert.match(metrics, /streamloop_clickhouse_rows_written_total\{table="features"\}/);
    assert.match(metrics, new RegExp(`streamloop_model_labelled_records\\{pipeline="${name}",model="m",version="2",role="challenger"\\} ${shadowed}\\b`));
    assert.match(metrics, new RegExp(`streamloop_model_performance\\{pipeline="${name}",model="m",version="1",role="champion",metric="roc_auc"\\} 0\\.`));
    const health = await fetch(`${stack.serving.url}/health`);
    assert.equal(health.status, 200);
  } finally {
    await producer.disconnect();
    await stack.close();
  }
});

test('monitoring runs ADWIN, Page-Hinkley and DDM on the champion\'s settled error stream and alerts on a change', { skip: !brokers && 'KAFKA_BROKERS is not set', timeout: 180_000 }, async () => {
  const name = uniqueName('errs');
  const labelDelayMs = 60_000;
  const spec = testPipeline(name, (s) => {
    s.topics.models = uniqueName('models');
    s.monitoring.window = '1h';
    s.monitoring.windowMs = 3_600_000;
    s.monitoring.detectors = { labelDelayMs, adwin: {}, pageHinkley: {}, ddm: {} };
  });
  const stack = await startStack(brokers!, [spec], [MonitoringModule]);
  const producer = stack.kafka.producer({ idempotent: true });
  let restarted: ServingApp | undefined;
  await producer.connect();
  try {
    const ctx = stack.runtime.pipelines.pipeline(name);
    const types = stack.runtime.types;
    const rnd = seededRandom(21);
    const t0 = Date.UTC(2026, 10, 4, 0, 0, 0);
    const n = 3000, change = 1500;
    // The model is wrong 10 % of the time, then 45 % from `change` on.
    const wrong = Array.from({ length: n }, (_, i) => (rnd() < (i < change ? 0.1 : 0.45) ? 1 : 0));
    const predicted = Array.from({ length: n }, () => (rnd() < 0.3 ? 1 : 0));
    const encode = async <T>(topic: string, type: typeof types.label, items: T[], key: (x: T) => string) =>
      Promise.all(items.map(async (x) => ({ key: key(x), value: await stack.serde.encode(`${topic}-value`, type, x) })));
    const vectors: FeatureVectorRecord[] = predicted.map((_, i) => ({
      event_id: `${name}-${i}`, pipeline: name, entity_key: `c${i % 7}`, event_time: t0 + i * 1000, feature_spec_version: 'v1', values: { amount: rnd() * 100 }, computed_at: Date.now(),
    }));
    const predictions: PredictionRecord[] = vectors.map((v, i) => ({
      event_id: v.event_id, pipeline: name, entity_key: v.entity_key, event_time: v.event_time, model_name: 'm', model_version: 1,
      role: 'champion', score: predicted[i] ? 0.8 : 0.2, label: predicted[i], threshold: 0.5, latency_ms: 1, predicted_at: Date.now(), fallback: false, contributions: [],
    }));
    const labels: LabelRecord[] = vectors.map((v, i) => ({ event_id: v.event_id, label: wrong[i] ? 1 - predicted[i] : predicted[i], label_time: v.event_time + 1 }));
    await producer.send({ topic: ctx.topics.features, messages: await encode(ctx.topics.features, types.featureVector, vectors, (v) => v.entity_key) });
    await producer.send({ topic: ctx.topics.predictions, messages: await encode(ctx.topics.predictions, types.prediction, predictions, (p) => p.entity_key) });
    await producer.send({ topic: ctx.topics.labels, messages: await encode(ctx.topics.labels, types.label, labels, (l) => l.event_id) });
    const ch = await stack.runtime.clickhouseConnection.client();
    await eventually(async () => ((await countRows(ch, 'features', name)) >= n && (await countRows(ch, 'labels', name)) >= n && (await countRows(ch, 'predictions', name)) >= n ? true : undefined), 'all rows in ClickHouse');
    // Only now the champion: every drift job run sees the whole stream.
    const model: ModelRegistryRecord = {
      pipeline: name, model_name: 'm', model_version: 1, algorithm: 'logistic_regression', stage: 'champion', created_at: Date.now(),
      feature_names: ['amount'], feature_spec_version: 'v1', threshold: 0.5, onnx: Buffer.from([1]), onnx_sha256: 'x',
      metrics: {}, params: {}, data_window_start: t0 - 1, data_window_end: t0 - 1, training_rows: 100, reference: { amount: Array.from({ length: 200 }, () => rnd() * 100) }, feature_importance: {}, signature: null, decided_by: '', decided_at: 0, decision_reason: '', decision_metrics: {},
    };
    await producer.send({ topic: spec.topics.models!, messages: await encode(spec.topics.models!, types.modelRegistry, [model], () => `${name}/m/1`) });
    const monitoring = stack.serving.app.get(MonitoringService);
    const report = await eventually(() => monitoring.driftJob(name), 'a drift report (needs the model record)');
    // Settled: event time older than the newest minus the label delay.
    const settled = wrong.filter((_, i) => t0 + i * 1000 < t0 + (n - 1) * 1000 + 1 - labelDelayMs);
    assert.equal(report.error_stream?.fed, settled.length);
    const expected = new ErrorStreamMonitor({ adwin: {}, pageHinkley: {}, ddm: {} }).feed(settled);
    assert.ok(expected.some((d) => d.index >= change), 'the change is detectable');
    const rows = await ch.query({
      query: `SELECT statistic, toUnixTimestamp64Milli(window_start) AS at, value FROM drift_metrics WHERE pipeline = {p:String} AND feature = '__error__' ORDER BY at, statistic`,
      query_params: { p: name }, format: 'JSONEachRow',
    });
    const found = ((await rows.json()) as Array<{ statistic: string; at: string; value: number }>).map((r) => `${r.statistic}@${(Number(r.at) - t0) / 1000}`).sort();
    assert.deepEqual(found, expected.map((d) => `${d.detector}@${d.index}`).sort(), 'detections in drift_metrics at the indices the detectors give');
    const alerts = await eventually(async () => {
      const all = (await readAll<AlertRecord>(stack.kafka, stack.serde, ctx.topics.alerts)).map((a) => a.value).filter((a) => a.kind === 'performance');
      return all.length >= expected.length ? all : undefined;
    }, 'a performance alert per detection');
    assert.deepEqual(alerts.map((a) => `${a.statistic}@${(a.window_start - t0) / 1000}`).sort(), expected.map((d) => `${d.detector}@${d.index}`).sort());
    assert.ok(alerts.every((a) => a.threshold === null), 'a detection has no threshold: null, not NaN');
    assert.ok(alerts.every((a) => a.model_version === 1 && a.model_role === 'champion'), 'labelled with the model version and role');
    const metrics = await (await fetch(`${stack.serving.url}/metrics`)).text();
    assert.match(metrics, new RegExp(`streamloop_drift_score\\{pipeline="${name}",feature="__error__",statistic="recent_error_rate"\\}`));
    // The labels were sent now for events of a month ago: their delay (Kafka timestamp − event time) dwarfs the
    // 60 s label_delay, which is a warning in the report and in the metrics.
    const labelDelay = report.error_stream?.label_delay;
    assert.equal(labelDelay?.configured_ms, labelDelayMs);
    assert.equal(labelDelay?.observed?.labels, n);
    assert.ok(labelDelay.observed.p50_ms > Date.now() - t0 - n * 1000 - 3_600_000, `p50 ${labelDelay.observed.p50_ms} ms`);
    assert.equal(labelDelay.observed.late_share, 1);
    assert.equal(labelDelay.warning?.kind, 'too_short');
    assert.match(metrics, new RegExp(`streamloop_label_delay_seconds\\{pipeline="${name}",quantile="0.95"\\} \\d`));
    assert.match(metrics, new RegExp(`streamloop_label_delay_warning\\{pipeline="${name}",kind="too_short"\\} 1`));

    // A restarted monitoring service feeds the stream from its start and detects the same changes: no new alert.
    await stack.serving.close();
    restarted = await serveModules(stack.runtime, [MonitoringModule]);
    const again = await eventually(() => restarted!.app.get(MonitoringService).driftJob(name), 'a drift report after the restart');
    assert.equal(again.error_stream?.detections.length, expected.length, 'the same detections');
    const after = (await readAll<AlertRecord>(stack.kafka, stack.serde, ctx.topics.alerts)).map((a) => a.value).filter((a) => a.kind === 'performance');
    assert.equal(after.length, alerts.length, 'no alert again for a detection already alerted on');
  } finally {
    await producer.disconnect();
    await restarted?.close();
    await stack.close();
  }
});
