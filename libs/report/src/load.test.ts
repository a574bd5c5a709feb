// loadReportData over embedded ClickHouse (chDB) with the Streamloop tables: the feature statistics agree with the
// TypeScript path on the same values, the bins are each side's shares, the verdicts follow the spec's thresholds,
// performance windows count the labelled predictions, and detections and data-quality runs are read back.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { closeClickHouse, createClickHouse, insertRows, migrate, TABLES } from '@streamloop/clickhouse';
import { loadPipelineSpec } from '@streamloop/config';
import { psi, ksTest } from '@streamloop/drift';
import type { ModelRegistryRecord } from '@streamloop/model-registry';
import { seededRandom } from '@streamloop/ml';
import { loadReportData, performanceWindowMs, renderReportHtml } from './index';

const FRAUD = new URL('../../../examples/pipelines/fraud.yaml', import.meta.url).pathname;

test('loadReportData reads drift, performance, detections and data quality from ClickHouse', { timeout: 120_000 }, async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'streamloop-report-'));
  const ch = await createClickHouse({ dataDir, database: 'report_test' });
  try {
    await migrate(ch, { database: 'report_test' });
    const spec = structuredClone(loadPipelineSpec(FRAUD));
    spec.pipeline = 'rep';
    spec.monitoring.window = '1h';
    spec.monitoring.windowMs = 3_600_000;
    spec.monitoring.reference = { source: 'training' };
    spec.monitoring.features = {
      amount: { kind: 'numeric', statistic: 'psi', threshold: null, exclude: false },
      hour: { kind: 'numeric', statistic: null, threshold: null, exclude: false },
    };
    const rnd = seededRandom(3);
    const t0 = Date.UTC(2026, 10, 3);
    const n = 400;
    // The period's hour: amount shifted upwards (some missing), hour unchanged.
    const amounts = Array.from({ length: n }, (_, i) => (i % 40 === 0 ? Number.NaN : 80 + rnd() * 50));
    const hours = Array.from({ length: n }, () => Math.floor(rnd() * 24));
    await insertRows(ch, TABLES.features, amounts.map((a, i) => ({
      pipeline: 'rep', event_id: `e${i}`, entity_key: `c${i % 9}`, event_time: t0 + i * 9000, feature_spec_version: 'v1',
      values: { amount: a, hour: hours[i] }, computed_at: t0 + i * 9000 + 5,
    })));
    // Predictions of the champion in the period and the hour before, with labels for most.
    const predictions = [...Array.from({ length: n }, (_, i) => ({ id: `e${i}`, t: t0 + i * 9000, score: i % 4 === 0 ? 0.8 : 0.2 })),
      ...Array.from({ length: 200 }, (_, i) => ({ id: `p${i}`, t: t0 - 3_600_000 + i * 18_000, score: i % 2 === 0 ? 0.6 : 0.3 }))];
    await insertRows(ch, TABLES.predictions, predictions.map((p) => ({
      pipeline: 'rep', event_id: p.id, entity_key: 'c', event_time: p.t, model_name: 'm', model_version: 2, role: 'champion', score: p.score,
      label: p.score >= 0.5 ? 1 : 0, threshold: 0.5, latency_ms: 1, predicted_at: p.t + 10,
    })));
    const labelled = predictions.filter((_, i) => i % 5 !== 4);
    await insertRows(ch, TABLES.labels, labelled.map((p, i) => ({ pipeline: 'rep', event_id: p.id, label: (p.score > 0.5) !== (i % 7 === 0) ? 1 : 0, label_time: p.t + 1000 })));
    await insertRows(ch, TABLES.drift_metrics, [{
      pipeline: 'rep', window_start: t0 + 1_000_000, window_end: t0 + 1_000_000, feature: '__error__', statistic: 'adwin', value: 0.42, threshold: Number.NaN, drifted: 1,
      model_name: 'm', model_version: 2, role: 'champion', computed_at: t0 + 4_000_000,
    }]);
    const dq = (scope: 'monitoring' | 'training', run: string, at: number, passed: boolean) => ({
      pipeline: 'rep', scope, run_id: run, window_start: t0, window_end: t0 + (n - 1) * 9000 + 1, // the drift job's window ends just after the latest vector
      model_name: 'm', model_version: 2, feature_spec_version: 'v1',
      check: 'max_missing_rate', feature: 'amount', value: 0.025, limit: passed ? 0.05 : 0.01, passed, blocking: true, computed_at: at,
    });
    await insertRows(ch, TABLES.data_quality, [dq('monitoring', 'old', t0 + 3_000_000, true), dq('monitoring', 'new', t0 + 3_700_000, false), dq('training', 'gate', t0 - 10, true)]);

    const reference = { amount: Array.from({ length: 500 }, () => 50 + rnd() * 50), hour: Array.from({ length: 500 }, () => Math.floor(rnd() * 24)) };
    const champion: ModelRegistryRecord = {
      pipeline: 'rep', model_name: 'm', model_version: 2, algorithm: 'logistic_regression', stage: 'champion', created_at: t0 - 10, feature_names: ['amount', 'hour'],
      feature_spec_version: 'v1', threshold: 0.5, onnx: Buffer.from([1]), onnx_sha256: 'x', metrics: { roc_auc: 0.8, precision: 0.5 }, params: {},
      data_window_start: t0 - 86_400_000, data_window_end: t0 - 3_600_000, training_rows: 500, reference, feature_importance: {}, signature: null,
      decided_by: 'training', decided_at: t0, decision_reason: '', decision_metrics: {},
    };

    const data = await loadReportData(ch, spec, { champion, now: t0 + 5_000_000 });
    const to = t0 + (n - 1) * 9000 + 1;
    assert.deepEqual(data.period, { from: to - 3_600_000, to, previous_from: to - 7_200_000, default_period: true });
    assert.equal(data.model?.model_version, 2);
    assert.deepEqual(data.model?.metrics, { roc_auc: 0.8, precision: 0.5 });
    assert.equal(data.reference.source, 'training');

    // Feature statistics as the TypeScript path computes them on the same values (the period's vectors).
    const inPeriod = (i: number) => t0 + i * 9000 >= data.period.from;
    const curAmount = amounts.filter((_, i) => inPeriod(i));
    const amount = data.features.find((f) => f.feature === 'amount')!;
    const expected = psi(reference.amount, curAmount, { bins: spec.monitoring.psiBins });
    assert.ok(Math.abs(amount.psi! - expected.value) < 1e-9, `PSI ${amount.psi} against ${expected.value}`);
    assert.equal(amount.statistic, 'psi');
    assert.equal(amount.threshold, spec.monitoring.psiThreshold);
    assert.equal(amount.drifted, expected.value > spec.monitoring.psiThreshold);
    assert.ok(amount.drifted, 'the shifted amount drifted');
    assert.equal(amount.current_count, curAmount.length);
    assert.equal(amount.current_missing, curAmount.filter(Number.isNaN).length);
    assert.deepEqual(amount.bins.map((b) => b.current), expected.bins.map((b) => b.curShare), 'bins are the period\'s shares');
    assert.deepEqual(amount.bins.map((b) => b.reference), expected.bins.map((b) => b.refShare));
    assert.equal(amount.bins.at(-1)?.label, 'missing');
    const hour = data.features.find((f) => f.feature === 'hour')!;
    assert.equal(hour.statistic, 'ks_p_value', 'a 500-value reference is judged by KS (Evidently\'s rule)');
    const ks = ksTest(reference.hour, hours.filter((_, i) => inPeriod(i)));
    assert.ok(Math.abs(hour.ks_p_value! - ks.pValue) < 1e-6);
    assert.deepEqual(data.dataset?.judged, 2);

    assert.ok(data.score && data.score.current_count > 0 && data.score.reference_count === 200, 'score drift against the hour before');
    assert.ok(data.label && data.label.bins.length === 2, 'label drift over the two classes');

    // Performance: every window of the period, each labelled count as inserted.
    assert.equal(data.performance.window_ms, performanceWindowMs(3_600_000, 3_600_000));
    const labelledInPeriod = labelled.filter((p) => p.t >= data.period.from && p.id.startsWith('e')).length;
    assert.equal(data.performance.windows.reduce((s, w) => s + w.labelled, 0), labelledInPeriod);
    assert.ok(data.performance.windows.length >= 10, `${data.performance.windows.length} windows`);
    assert.ok(data.performance.windows.every((w) => w.model_name === 'm' && w.role === 'champion' && w.roc_auc !== null));

    assert.deepEqual(data.detections, [{ event_time: t0 + 1_000_000, detector: 'adwin', recent_error_rate: 0.42, model_name: 'm', model_version: 2, role: 'champion' }]);
    assert.equal(data.data_quality.monitoring?.run_id, 'new', 'the latest monitoring run in the period');
    assert.equal(data.data_quality.monitoring?.passed, false);
    assert.equal(data.data_quality.training?.run_id, 'gate');

    // An explicit period before any prediction: no score, no performance, and notes saying why.
    const early = await loadReportData(ch, spec, { champion, from: t0 - 20_000_000, to: t0 - 10_000_000 });
    assert.equal(early.score, null);
    assert.equal(early.performance.windows.length, 0);
    assert.ok(early.notes.some((n) => /Score drift needs/.test(n)));
    await assert.rejects(loadReportData(ch, spec, { champion, from: t0, to: t0 }), /from .* must be before to/);

    // Without a champion: performance only, and the page still renders.
    const none = await loadReportData(ch, spec, {});
    assert.equal(none.model, null);
    assert.equal(none.features.length, 0);
    assert.ok(none.performance.windows.length > 0);
    assert.match(renderReportHtml(none), /No champion model serves this pipeline yet/);
  } finally {
    await closeClickHouse(ch);
    rmSync(dataDir, { recursive: true, force: true });
  }
});
