// The drift job: one run over a pipeline's latest event-time window, computed inside ClickHouse.
import { randomUUID } from 'node:crypto';
import { insertRows, latestEventTime, TABLES } from '@streamloop/clickhouse';
import type { MonitoringSpec } from '@streamloop/config';
import type { AlertRecord } from '@streamloop/contracts';
import { datasetDrift, type AlertGate } from '@streamloop/drift';
import { categoricalDrift, numericDrift, performanceOverTime, type NumericDrift } from '@streamloop/drift-sql';
import type { ModelRegistryRecord } from '@streamloop/model-registry';
import type { MonitoringDeps } from './deps';
import {
  alertThresholds, DATASET_FEATURE, directionOf, featureStatistics, LABEL_FEATURE, SCORE_FEATURE, type DriftReport, type NumericStatistics,
} from './drift-report';
import type { ErrorStreamJob } from './error-stream-job';

export interface DriftJobInput {
  pipeline: string;
  monitoring: MonitoringSpec;
  /** The model measured: the pipeline's champion (the registry's rule). */
  model: ModelRegistryRecord;
  /** The pipeline's alert gate (restored from the alerts topic once); asked for only when there is a window to judge. */
  alertGate(): Promise<AlertGate>;
  /** The pipeline's error stream, kept between runs (one run at a time: it must be fed once). */
  errorStream: ErrorStreamJob;
}

/**
 * One run of the drift job for a pipeline, computed inside ClickHouse (@streamloop/drift-sql): per feature PSI,
 * KS, Jensen–Shannon and Wasserstein-1 between the champion's reference sample and the latest event-time window;
 * the champion's score drift and the true labels' drift against the window before; live performance from the
 * labels that have arrived so far; the error stream's change detectors. Writes drift_metrics and
 * performance_metrics rows, alerts through the gate (a persisting condition once, again when worse or after the
 * cooldown). Only per-feature summaries come back to Node. Undefined while the features table has no row.
 */
export async function runDriftJob(deps: MonitoringDeps, input: DriftJobInput): Promise<DriftReport | undefined> {
  const { pipeline, monitoring, model } = input;
  const ch = deps.clickhouse;
  const latest = await latestEventTime(ch, TABLES.features, pipeline);
  if (latest === undefined) return undefined;
  const windowEnd = latest + 1;
  const windowStart = windowEnd - monitoring.windowMs;
  const computedAt = deps.now();
  const report: DriftReport = { pipeline, model_name: model.model_name, model_version: model.model_version, window_start: windowStart, window_end: windowEnd, features: [] };
  const rows: Record<string, unknown>[] = [];
  const alerts: AlertRecord[] = [];
  const record = (feature: string, statistic: string, value: number, threshold = Number.NaN, drifted = false) => {
    if (!Number.isFinite(value)) return;
    deps.gauge?.({ pipeline, feature, statistic }, value);
    rows.push({
      pipeline, window_start: windowStart, window_end: windowEnd, feature, statistic, value, threshold, drifted: drifted ? 1 : 0,
      model_name: model.model_name, model_version: model.model_version, computed_at: computedAt,
    });
  };
  const gate = await input.alertGate();
  // Every judged statistic goes through the gate, crossed or not: one not crossed clears its key.
  const alert = (kind: AlertRecord['kind'], feature: string, statistic: string, value: number, threshold: number, crossed: boolean) => {
    const key = { pipeline, kind, feature, statistic, modelName: model.model_name, modelVersion: model.model_version };
    if (!gate.observe(key, { crossed, value, direction: directionOf(statistic), at: computedAt })) return;
    alerts.push({
      alert_id: randomUUID(), pipeline, kind, feature, statistic, value, threshold,
      window_start: windowStart, window_end: windowEnd, model_name: model.model_name, model_version: model.model_version, created_at: computedAt,
    });
  };
  // Each statistic with a configured threshold: recorded with it, and alerted on when it is crossed.
  const limits = alertThresholds(monitoring);
  const judge = (kind: AlertRecord['kind'], feature: string, statistics: NumericStatistics): boolean => {
    let drifted = false;
    for (const [statistic, v] of Object.entries(statistics)) {
      const limit = limits.get(statistic);
      if (limit === undefined || !Number.isFinite(v)) {
        record(feature, statistic, v);
        continue;
      }
      const crossed = directionOf(statistic) === 'below' ? v < limit : v > limit;
      record(feature, statistic, v, limit, crossed);
      alert(kind, feature, statistic, v, limit, crossed);
      drifted ||= crossed;
    }
    return drifted;
  };

  // Missing values (absent or NaN) count in PSI's and JS's missing bin; KS and Wasserstein compare finite values.
  const reference = Object.fromEntries(model.feature_names.filter((f) => model.reference[f]?.length > 0).map((f) => [f, model.reference[f]]));
  const features = Object.keys(reference);
  const current = { kind: 'features' as const, pipeline, from: windowStart, to: windowEnd, features };
  const drift = features.length > 0 ? await numericDrift(ch, { kind: 'values', values: reference }, current, { bins: monitoring.psiBins }) : new Map<string, NumericDrift>();
  const pValues: Array<{ feature: string; pValue: number }> = [];
  for (const feature of features) {
    const d = drift.get(feature);
    // No row, or no value at all in the window: nothing to compare.
    if (!d?.psi) continue;
    const statistics = featureStatistics(d);
    const drifted = judge('feature_drift', feature, statistics);
    report.features.push({ feature, drifted, ...statistics });
    if (Number.isFinite(statistics.ks_p_value)) pValues.push({ feature, pValue: statistics.ks_p_value });
  }
  if (pValues.length > 0) {
    const { alpha, share } = monitoring.datasetDrift;
    const dataset = datasetDrift(pValues, { alpha, shareThreshold: share });
    report.dataset = { drift: dataset.drift, share: dataset.share, drifted: dataset.features.filter((f) => f.drifted).map((f) => f.feature) };
    record(DATASET_FEATURE, 'drifted_share', dataset.share, share, dataset.drift);
    alert('feature_drift', DATASET_FEATURE, 'drifted_share', dataset.share, share, dataset.drift);
  }

  // The champion's scores and the true labels: this window against the one just before it. The champion's own
  // predictions only (name and version, as the registry names it): another model's scores are not its drift.
  const champion = { role: 'champion' as const, modelName: model.model_name, modelVersion: model.model_version };
  const window = (from: number, to: number) => ({ pipeline, from, to, ...champion });
  const previous = window(windowStart - monitoring.windowMs, windowStart);
  const now = window(windowStart, windowEnd);
  const scores = (await numericDrift(ch, { kind: 'predictions', ...previous }, { kind: 'predictions', ...now }, { bins: monitoring.psiBins })).get('score');
  if (scores?.psi) {
    const statistics = featureStatistics(scores);
    const drifted = judge('prediction_drift', SCORE_FEATURE, statistics);
    report.prediction = { drifted, ...statistics };
  }
  const labels = (await categoricalDrift(ch, { kind: 'labels', ...previous }, { kind: 'labels', ...now })).get('label');
  if (labels?.chiSquare && labels.psi) {
    report.label = { chi_square: labels.chiSquare.statistic, p_value: labels.chiSquare.pValue, psi: labels.psi.value };
    record(LABEL_FEATURE, 'chi_square', labels.chiSquare.statistic);
    record(LABEL_FEATURE, 'chi_square_p_value', labels.chiSquare.pValue);
    record(LABEL_FEATURE, 'psi', labels.psi.value, monitoring.psiThreshold, labels.psi.value > monitoring.psiThreshold);
  }
  if (rows.length > 0) await insertRows(ch, TABLES.drift_metrics, rows);
  await deps.sendAlerts(alerts);

  // Live performance from the labels known so far (they arrive late: a later run of the same window sees more).
  const [perf] = await performanceOverTime(ch, { pipeline, from: windowStart, to: windowEnd, windowMs: windowEnd - windowStart, threshold: model.threshold, ...champion });
  if (perf && perf.positives > 0 && perf.positives < perf.labelled) {
    report.performance = { labelled: perf.labelled, roc_auc: perf.rocAuc, precision: perf.precision, recall: perf.recall, f1: perf.f1, log_loss: perf.logLoss };
    await insertRows(ch, TABLES.performance_metrics, Object.entries(report.performance)
      .filter(([k, value]) => k !== 'labelled' && Number.isFinite(value))
      .map(([metric, value]) => ({
        pipeline, window_start: windowStart, window_end: windowEnd, model_name: model.model_name, model_version: model.model_version,
        metric, value, labelled_count: perf.labelled, computed_at: computedAt,
      })));
  }
  report.error_stream = await input.errorStream.run(deps, { pipeline, detectors: monitoring.detectors, model, latest, computedAt, gate });
  return report;
}
