// The drift job: one run over a pipeline's latest event-time window, computed inside ClickHouse.
import { randomUUID } from 'node:crypto';
import { insertRows, latestEventTime, queryRows, TABLES } from '@streamloop/clickhouse';
import { DEFAULT_DATA_QUALITY, type DataQualitySpec, type FeatureKind, type MonitoringSpec } from '@streamloop/config';
import type { AlertRecord } from '@streamloop/contracts';
import { checkDirection, checkWindow, describeCheck } from '@streamloop/data-quality';
import { datasetDrift, type AlertGate } from '@streamloop/drift';
import {
  categoricalDrift, numericDrift, performanceByModel, type CategoricalDrift, type ModelWindowPerformance, type NumericDrift, type SampleSource,
} from '@streamloop/drift-sql';
import type { ModelRegistryRecord } from '@streamloop/model-registry';
import type { MonitoringDeps } from './deps';
import {
  alertThresholds, DATASET_FEATURE, defaultStatistic, defaultThreshold, directionOf, featureDriftSpec, featureStatistics, LABEL_FEATURE,
  SCORE_FEATURE, STATISTIC_COLUMN, type DriftReport, type FeatureDriftEntry, type ModelPerformance, type NumericStatistics,
} from './drift-report';
import type { ErrorStreamJob, ErrorStreamRun } from './error-stream-job';

export interface DriftJobInput {
  pipeline: string;
  monitoring: MonitoringSpec;
  /** The model measured: the pipeline's champion (the registry's rule). */
  model: ModelRegistryRecord;
  /** The pipeline's alert gate (restored from the alerts topic once); asked for only when there is a window to judge. */
  alertGate(): Promise<AlertGate>;
  /** The pipeline's error stream, kept between runs (one run at a time: it must be fed once). */
  errorStream: ErrorStreamJob;
  /** The spec's data_quality limits; absent: the defaults. */
  dataQuality?: DataQualitySpec;
  /** Each model version's training-data end (ErrorStreamRun.trainedUntil): its in-sample predictions stay out of its error stream. */
  trainedUntil?: ErrorStreamRun['trainedUntil'];
}

/**
 * One run of the drift job for a pipeline, computed inside ClickHouse (@streamloop/drift-sql): per feature PSI,
 * KS, Jensen–Shannon and Wasserstein-1 between the champion's reference sample and the latest event-time window;
 * the champion's score drift and the true labels' drift against the window before; live performance from the
 * labels that have arrived so far, per model version and role, each model on its own predictions; the error streams'
 * change detectors, one stream per model version and role. Writes drift_metrics and performance_metrics rows,
 * data_quality rows (the training gate's checks on the window), alerts through the gate (a persisting condition once,
 * again when worse or after the cooldown). Only per-feature
 * summaries come back to Node. Undefined while the features table has no row.
 */
export async function runDriftJob(deps: MonitoringDeps, input: DriftJobInput): Promise<DriftReport | undefined> {
  const { pipeline, monitoring, model } = input;
  const ch = deps.clickhouse;
  const latest = await latestEventTime(ch, TABLES.features, pipeline);
  if (latest === undefined) return undefined;
  const windowEnd = latest + 1;
  const windowStart = windowEnd - monitoring.windowMs;
  const computedAt = deps.now();
  const report: DriftReport = {
    pipeline, model_name: model.model_name, model_version: model.model_version, window_start: windowStart, window_end: windowEnd,
    reference: { source: 'training' }, features: [], performance_by_model: [],
  };
  const rows: Record<string, unknown>[] = [];
  const alerts: AlertRecord[] = [];
  const record = (feature: string, statistic: string, value: number, threshold = Number.NaN, drifted = false) => {
    if (!Number.isFinite(value)) return;
    deps.gauge?.({ pipeline, feature, statistic }, value);
    rows.push({
      pipeline, window_start: windowStart, window_end: windowEnd, feature, statistic, value, threshold, drifted: drifted ? 1 : 0,
      model_name: model.model_name, model_version: model.model_version, role: 'champion', computed_at: computedAt,
    });
  };
  const gate = await input.alertGate();
  // Every judged statistic goes through the gate, crossed or not: one not crossed clears its key.
  const alert = (kind: AlertRecord['kind'], feature: string, statistic: string, value: number, threshold: number, crossed: boolean) => {
    const key = { pipeline, kind, feature, statistic, modelName: model.model_name, modelVersion: model.model_version, modelRole: 'champion' };
    if (!gate.observe(key, { crossed, value, direction: directionOf(statistic), at: computedAt })) return;
    alerts.push({
      alert_id: randomUUID(), pipeline, kind, feature, statistic, value, threshold,
      window_start: windowStart, window_end: windowEnd, model_name: model.model_name, model_version: model.model_version, model_role: 'champion',
      created_at: computedAt,
    });
  };
  // Each statistic with a configured threshold: recorded with it, and alerted on when it is crossed.
  const limits = alertThresholds(monitoring);
  const judge = (kind: AlertRecord['kind'], feature: string, statistics: NumericStatistics | Partial<Record<string, number>>, opts: { except?: string } = {}): boolean => {
    let drifted = false;
    for (const [statistic, v = Number.NaN] of Object.entries(statistics as Partial<Record<string, number>>)) {
      const limit = statistic === opts.except ? undefined : limits.get(statistic);
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

  // Each feature by its own statistic and threshold (monitoring.features; defaults by kind and reference size);
  // excluded features are not computed at all. Missing values (absent or NaN) count in PSI's and JS's missing bin
  // and as a category; KS and Wasserstein compare finite values.
  const judged = model.feature_names.filter((f) => !featureDriftSpec(monitoring, f).exclude);
  const { reference, sourceOf } = await referenceFor(deps, input, windowStart);
  report.reference = reference;
  const byKind = (kind: FeatureKind) => judged.filter((f) => featureDriftSpec(monitoring, f).kind === kind);
  const current = (features: string[]) => ({ kind: 'features' as const, pipeline, from: windowStart, to: windowEnd, features });
  const numericSide = sourceOf(byKind('numeric'));
  const categoricalSide = sourceOf(byKind('categorical'));
  const numeric = numericSide ? await numericDrift(ch, numericSide.source, current(numericSide.features), { bins: monitoring.psiBins }) : new Map<string, NumericDrift>();
  const categorical = categoricalSide ? await categoricalDrift(ch, categoricalSide.source, current(categoricalSide.features)) : new Map<string, CategoricalDrift>();
  const pValues: Array<{ feature: string; pValue: number }> = [];
  for (const feature of judged) {
    const settings = featureDriftSpec(monitoring, feature);
    const entry = settings.kind === 'numeric' ? numericEntry(numeric.get(feature)) : categoricalEntry(categorical.get(feature));
    // No row, or no value at all on a side: nothing to compare.
    if (!entry) continue;
    const statistic = settings.statistic ?? defaultStatistic(settings.kind, entry.referenceSize);
    const column = STATISTIC_COLUMN[statistic];
    const threshold = settings.threshold ?? defaultThreshold(statistic, monitoring);
    const statistics: Record<string, number> = { ...entry.statistics };
    // The deciding statistic, then the spec's further thresholds (monitoring.thresholds) on the others.
    let drifted = false;
    const value = statistics[column];
    if (Number.isFinite(value)) {
      const crossed = directionOf(column) === 'below' ? value < threshold : value > threshold;
      record(feature, column, value, threshold, crossed);
      alert('feature_drift', feature, column, value, threshold, crossed);
      drifted = crossed;
    }
    delete statistics[column];
    if (judge('feature_drift', feature, statistics, { except: 'psi' })) drifted = true;
    report.features.push({ feature, kind: settings.kind, statistic: column, value, threshold, drifted, ...entry.statistics });
    const pValue = settings.kind === 'numeric' ? entry.statistics.ks_p_value : entry.statistics.chi_square_p_value;
    if (Number.isFinite(pValue)) pValues.push({ feature, pValue });
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
  // Data quality of the window (the training gate's checks against the champion's reference): data_quality rows,
  // and each blocking check through the alert gate (one failing alerts as data_quality, one passing clears its key).
  const dq = input.dataQuality ?? DEFAULT_DATA_QUALITY;
  if (dq.enabled) {
    const runId = randomUUID();
    const { outcome } = await checkWindow(ch, {
      pipeline, scope: 'monitoring', runId, from: windowStart, to: windowEnd, features: model.feature_names, limits: dq, computedAt,
      champion: { name: model.model_name, version: model.model_version, featureSpecVersion: model.feature_spec_version, reference: model.reference },
    });
    report.data_quality = {
      run_id: runId, passed: outcome.passed, checks: outcome.checks.length, failed: outcome.failed.map(describeCheck), warnings: outcome.warnings.map(describeCheck),
    };
    for (const c of outcome.checks) {
      deps.dataQualityCheck?.({ pipeline, scope: 'monitoring', check: c.check, result: c.passed ? 'passed' : c.blocking ? 'failed' : 'warning' });
      if (!c.blocking) continue;
      const feature = c.feature || DATASET_FEATURE;
      const key = { pipeline, kind: 'data_quality', feature, statistic: c.check, modelName: model.model_name, modelVersion: model.model_version, modelRole: 'champion' };
      if (!gate.observe(key, { crossed: !c.passed, value: c.value, direction: checkDirection(c.check), at: computedAt })) continue;
      alerts.push({
        alert_id: randomUUID(), pipeline, kind: 'data_quality', feature, statistic: c.check, value: c.value, threshold: c.limit,
        window_start: windowStart, window_end: windowEnd, model_name: model.model_name, model_version: model.model_version, model_role: 'champion',
        created_at: computedAt,
      });
    }
  }
  if (rows.length > 0) await insertRows(ch, TABLES.drift_metrics, rows);
  await deps.sendAlerts(alerts);

  // Live performance from the labels known so far (they arrive late: a later run of the same window sees more), per
  // model: each model that predicted in the window (the champion, an earlier one, a challenger) on its own predictions.
  const perf = await performanceByModel(ch, { pipeline, from: windowStart, to: windowEnd, windowMs: windowEnd - windowStart });
  const perfRows: Record<string, unknown>[] = [];
  for (const p of perf) {
    if (p.labelled === 0) continue;
    const entry = modelPerformance(p);
    report.performance_by_model.push(entry);
    const labels = { pipeline, model: entry.model_name, version: entry.model_version, role: entry.role };
    deps.modelMetric?.({ ...labels, metric: 'labelled' }, entry.labelled);
    for (const metric of PERFORMANCE_METRICS) {
      const value = entry[metric];
      if (!Number.isFinite(value)) continue;
      deps.modelMetric?.({ ...labels, metric }, value);
      perfRows.push({
        pipeline, window_start: windowStart, window_end: windowEnd, model_name: entry.model_name, model_version: entry.model_version, role: entry.role,
        metric, value, labelled_count: entry.labelled, computed_at: computedAt,
      });
    }
    // The champion's figures also where they always were, when its labels hold both classes.
    if (entry.role === 'champion' && entry.model_name === model.model_name && entry.model_version === model.model_version && p.positives > 0 && p.positives < p.labelled) {
      report.performance = { labelled: entry.labelled, roc_auc: entry.roc_auc, precision: entry.precision, recall: entry.recall, f1: entry.f1, log_loss: entry.log_loss };
    }
  }
  if (perfRows.length > 0) await insertRows(ch, TABLES.performance_metrics, perfRows);
  report.error_stream = await input.errorStream.run(deps, { pipeline, detectors: monitoring.detectors, model, latest, computedAt, gate, trainedUntil: input.trainedUntil });
  return report;
}

/** The performance_metrics metrics, in the order they are written. */
const PERFORMANCE_METRICS = ['roc_auc', 'precision', 'recall', 'f1', 'log_loss'] as const;

/**
 * A model's window as the report and performance_metrics show it: NaN where a metric is undefined on its labelled
 * predictions (performanceByModel gives scikit-learn's zero_division 0 there; a row of 0 would read as a bad model):
 * ROC AUC needs both classes, recall a positive label, precision a predicted positive, F1 either.
 */
export function modelPerformance(p: ModelWindowPerformance): ModelPerformance {
  const predictedPositives = p.tp + p.fp;
  return {
    model_name: p.modelName, model_version: p.modelVersion, role: p.role, labelled: p.labelled, positives: p.positives,
    roc_auc: p.rocAuc,
    precision: predictedPositives > 0 ? p.precision : Number.NaN,
    recall: p.positives > 0 ? p.recall : Number.NaN,
    f1: p.positives + predictedPositives > 0 ? p.f1 : Number.NaN,
    log_loss: p.logLoss,
  };
}

export type EntryStatistics = Omit<FeatureDriftEntry, 'feature' | 'kind' | 'statistic' | 'value' | 'threshold' | 'drifted'>;
const NO_CATEGORIES = { chi_square: Number.NaN, chi_square_p_value: Number.NaN };

/** A numeric feature's statistics as the report holds them (undefined: a side has no value at all); exported for the HTML report. */
export function numericEntry(d: NumericDrift | undefined): { statistics: EntryStatistics; referenceSize: number } | undefined {
  if (!d?.psi) return undefined;
  return { statistics: { ...featureStatistics(d), ...NO_CATEGORIES }, referenceSize: d.reference.finite };
}

/** A categorical feature's statistics as the report holds them (undefined: a side is empty); exported for the HTML report. */
export function categoricalEntry(d: CategoricalDrift | undefined): { statistics: EntryStatistics; referenceSize: number } | undefined {
  if (!d?.chiSquare || !d.psi) return undefined;
  const none = Number.NaN;
  return {
    statistics: {
      psi: d.psi.value, jensen_shannon: d.jensenShannon ?? none, ks_statistic: none, ks_p_value: none, wasserstein: none, wasserstein_normed: none,
      chi_square: d.chiSquare.statistic, chi_square_p_value: d.chiSquare.pValue,
    },
    referenceSize: [...d.referenceCounts.values()].reduce((a, b) => a + b, 0),
  };
}

/**
 * The reference of this run (monitoring.reference) and, per subset of features, the source to read it from:
 * the champion's stored sample, its training part from the features table after the warm-up, or a fixed window.
 * A side is undefined when it has nothing to compare (no feature, or an empty stored sample).
 */
export async function referenceFor(
  deps: Pick<MonitoringDeps, 'clickhouse' | 'logger'>, input: Pick<DriftJobInput, 'pipeline' | 'model' | 'monitoring'>, windowStart: number,
): Promise<{
  reference: DriftReport['reference'];
  sourceOf(features: string[]): { source: SampleSource; features: string[] } | undefined;
}> {
  const { pipeline, model, monitoring } = input;
  const spec = monitoring.reference ?? { source: 'training' as const };
  const window = (from: number, to: number) => (features: string[]) => (features.length === 0 ? undefined : {
    source: { kind: 'features' as const, pipeline, from, to, features, featureSpecVersion: model.feature_spec_version }, features,
  });
  if (spec.source === 'window') return { reference: { source: 'window', from: spec.fromMs, to: spec.toMs }, sourceOf: window(spec.fromMs, spec.toMs) };
  if (spec.source === 'training' || spec.warmUpMs === 0) {
    return {
      reference: { source: spec.source },
      sourceOf(features) {
        const stored = features.filter((f) => model.reference[f]?.length > 0);
        return stored.length === 0 ? undefined : { source: { kind: 'values', values: Object.fromEntries(stored.map((f) => [f, model.reference[f]])) }, features: stored };
      },
    };
  }
  // The training part (up to the held-out window) from the first moment every aggregate window was full: the
  // pipeline's first feature vector plus the longest window. The features table keeps the entity key of the
  // pipeline's primary entity only, so an entity's own first event (for aggregates keyed otherwise) is not known.
  const [first] = await queryRows<{ t: string | number; n: string | number }>(deps.clickhouse,
    `SELECT toUnixTimestamp64Milli(min(event_time)) AS t, count() AS n FROM ${TABLES.features} WHERE pipeline = {pipeline:String}`, { pipeline });
  const heldOut = Number(model.params.holdout_window_start);
  const to = Math.min(Number.isFinite(heldOut) ? heldOut : model.data_window_end + 1, windowStart);
  const from = Math.max(model.data_window_start, Number(first?.t ?? 0) + spec.warmUpMs);
  if (!(from < to)) {
    deps.logger.warn({ pipeline, model: model.model_name, version: model.model_version, from, to },
      'drift: the champion was trained before the warm-up ended (the longest aggregate window after the first vector); no feature drift until a later model');
    return { reference: { source: 'training_after_warm_up', from, to }, sourceOf: () => undefined };
  }
  return { reference: { source: 'training_after_warm_up', from, to }, sourceOf: window(from, to) };
}
