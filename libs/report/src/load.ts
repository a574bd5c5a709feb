// What the report reads: every figure is computed inside ClickHouse by @streamloop/drift-sql (histograms, PSI, KS,
// chi-square, performance), judged by the same rules as the drift job (@streamloop/monitoring-lib), or read from the
// tables the monitoring and training services write (drift_metrics, data_quality).
import { qualify, queryRows, TABLES, type ClickHouseClient } from '@streamloop/clickhouse';
import type { PipelineSpec } from '@streamloop/config';
import { datasetDrift, type PsiBin } from '@streamloop/drift';
import { categoricalDrift, numericDrift, performanceByModel, type CategoricalDrift, type NumericDrift } from '@streamloop/drift-sql';
import type { ModelRegistryRecord } from '@streamloop/model-registry';
import {
  alertThresholds, categoricalEntry, defaultStatistic, defaultThreshold, directionOf, ERROR_FEATURE, featureDriftSpec, featureStatistics, modelPerformance,
  numericEntry, referenceFor, STATISTIC_COLUMN, type MonitoringDeps,
} from '@streamloop/monitoring-lib';
import {
  finite, REPORT_FORMAT, type ReportBin, type ReportData, type ReportDataQualityRun, type ReportDetection, type ReportModel,
  type ReportPerformanceWindow, type ReportReference,
} from './report-data';

export interface ReportOptions {
  /** Start of the current period (event time, epoch ms, inclusive). Default: `to` minus the monitoring window. */
  from?: number;
  /** End of the current period (exclusive). Default: just after the latest feature vector of the pipeline. */
  to?: number;
  /** The serving champion (the registry's rule, as the monitoring target folds it); absent: no champion yet. */
  champion?: ModelRegistryRecord;
  /** Epoch ms of generated_at. Default Date.now(). */
  now?: number;
  /** For a warning when the reference's training part is empty (the drift job logs the same). */
  logger?: MonitoringDeps['logger'];
  database?: string;
}

/** At most this many windows in the performance chart; a longer period gets longer windows. */
export const MAX_PERFORMANCE_WINDOWS = 48;
/** A period of at most two monitoring windows is cut into this many windows. */
export const SHORT_PERIOD_WINDOWS = 12;
/** Detections listed at most (the newest are kept). */
export const MAX_DETECTIONS = 500;

/** The held-out metrics of the registry record the report shows, where present. */
const MODEL_METRICS = ['roc_auc', 'pr_auc', 'precision', 'recall', 'f1', 'log_loss', 'brier'];

/**
 * Windows of the performance chart: the monitoring window when the period holds at least two of them (at most
 * MAX_PERFORMANCE_WINDOWS, longer windows otherwise), else SHORT_PERIOD_WINDOWS equal slices of the period.
 */
export function performanceWindowMs(periodMs: number, monitoringWindowMs: number): number {
  if (periodMs >= 2 * monitoringWindowMs) return Math.max(monitoringWindowMs, Math.ceil(periodMs / MAX_PERFORMANCE_WINDOWS));
  return Math.max(1, Math.ceil(periodMs / SHORT_PERIOD_WINDOWS));
}

/**
 * The report of one pipeline over [from, to): per feature the champion's reference and the period's distribution with
 * the statistics and thresholds the drift job judges by, the dataset-drift verdict, score and label drift against the
 * period before, live performance per window and model from the labels known now, the error streams' detections and
 * the data-quality runs. Without a champion only performance, detections and data quality are filled.
 */
export async function loadReportData(
  client: ClickHouseClient, spec: Pick<PipelineSpec, 'pipeline' | 'monitoring'>, opts: ReportOptions = {},
): Promise<ReportData> {
  const pipeline = spec.pipeline;
  const monitoring = spec.monitoring;
  const notes: string[] = [];
  let to = opts.to;
  if (to === undefined) {
    const [row] = await queryRows<{ t: number | string; n: number | string }>(client,
      `SELECT toUnixTimestamp64Milli(max(event_time)) AS t, count() AS n FROM ${qualify(TABLES.features, opts.database)} WHERE pipeline = {pipeline:String}`, { pipeline });
    to = row && Number(row.n) > 0 ? Number(row.t) + 1 : (opts.now ?? Date.now());
    if (!(row && Number(row.n) > 0)) notes.push('The features table holds no vector of this pipeline yet.');
  }
  const from = opts.from ?? to - monitoring.windowMs;
  if (!(from < to)) throw new RangeError(`report period: from (${new Date(from).toISOString()}) must be before to (${new Date(to).toISOString()})`);
  const previousFrom = from - (to - from);
  const model = opts.champion;
  const data: ReportData = {
    format: REPORT_FORMAT, pipeline, generated_at: opts.now ?? Date.now(),
    period: { from, to, previous_from: previousFrom, default_period: opts.from === undefined && opts.to === undefined },
    monitoring: {
      window: monitoring.window, window_ms: monitoring.windowMs, psi_bins: monitoring.psiBins, psi_threshold: monitoring.psiThreshold,
      dataset_drift: { alpha: monitoring.datasetDrift.alpha, share: monitoring.datasetDrift.share },
    },
    model: model ? modelOf(model) : null,
    reference: { source: 'training', from: null, to: null, description: 'no champion: nothing to measure against' },
    features: [], dataset: null, score: null, label: null,
    performance: { window_ms: performanceWindowMs(to - from, monitoring.windowMs), windows: [] },
    detections: [], data_quality: { monitoring: null, training: null }, notes,
  };

  if (model) {
    await loadDrift(client, spec, model, data, opts);
  } else {
    notes.push('The pipeline has no champion model yet: no feature, score or label drift.');
  }
  data.performance.windows = await loadPerformance(client, pipeline, from, to, data.performance.window_ms, opts.database);
  if (data.performance.windows.length === 0) notes.push('No prediction in the period: no performance figures.');
  data.detections = await loadDetections(client, pipeline, from, to, opts.database);
  data.data_quality = {
    monitoring: await loadDataQuality(client, pipeline, 'monitoring', { from, to }, opts.database),
    // computed_at is wall-clock time and the period event time: the latest gate, whenever it ran.
    training: await loadDataQuality(client, pipeline, 'training', undefined, opts.database),
  };
  return data;
}

function modelOf(m: ModelRegistryRecord): ReportModel {
  return {
    model_name: m.model_name, model_version: m.model_version, algorithm: m.algorithm, stage: m.stage, created_at: m.created_at,
    feature_spec_version: m.feature_spec_version, threshold: m.threshold, training_rows: m.training_rows,
    data_window_start: m.data_window_start, data_window_end: m.data_window_end, feature_names: [...m.feature_names],
    metrics: Object.fromEntries(MODEL_METRICS.filter((k) => Number.isFinite(m.metrics[k])).map((k) => [k, m.metrics[k]])),
  };
}

function describeReference(r: { source: ReportReference['source']; from?: number; to?: number }, model: ModelRegistryRecord): string {
  const range = r.from !== undefined && r.to !== undefined ? `${iso(r.from)} to ${iso(r.to)}` : '';
  switch (r.source) {
    case 'training': return `the training sample stored with ${model.model_name} v${model.model_version} (up to 2,000 training rows)`;
    case 'training_after_warm_up': return `the training vectors of ${model.model_name} v${model.model_version} after the aggregates' warm-up, ${range}`;
    case 'window': return `the fixed window ${range} (monitoring.reference)`;
  }
}

async function loadDrift(
  client: ClickHouseClient, spec: Pick<PipelineSpec, 'pipeline' | 'monitoring'>, model: ModelRegistryRecord, data: ReportData, opts: ReportOptions,
): Promise<void> {
  const { pipeline, monitoring } = spec;
  const { from, to, previous_from: previousFrom } = data.period;
  const quiet: MonitoringDeps['logger'] = { warn: () => undefined, info: () => undefined };
  const { reference, sourceOf } = await referenceFor({ clickhouse: client, logger: opts.logger ?? quiet }, { pipeline, model, monitoring }, from);
  data.reference = { source: reference.source, from: reference.from ?? null, to: reference.to ?? null, description: describeReference(reference, model) };

  // The features the drift job judges (excluded ones are not computed), each by its kind's statistics.
  const judged = model.feature_names.filter((f) => !featureDriftSpec(monitoring, f).exclude);
  const byKind = (kind: 'numeric' | 'categorical') => judged.filter((f) => featureDriftSpec(monitoring, f).kind === kind);
  const current = (features: string[]) => ({ kind: 'features' as const, pipeline, from, to, features, database: opts.database });
  const numericSide = sourceOf(byKind('numeric'));
  const categoricalSide = sourceOf(byKind('categorical'));
  const numeric = numericSide ? await numericDrift(client, numericSide.source, current(numericSide.features), { bins: monitoring.psiBins }) : new Map<string, NumericDrift>();
  const categorical = categoricalSide ? await categoricalDrift(client, categoricalSide.source, current(categoricalSide.features)) : new Map<string, CategoricalDrift>();
  const pValues: Array<{ feature: string; pValue: number }> = [];
  const missing: string[] = [];
  const limits = alertThresholds(monitoring);
  for (const feature of judged) {
    const settings = featureDriftSpec(monitoring, feature);
    const n = numeric.get(feature), c = categorical.get(feature);
    const entry = settings.kind === 'numeric' ? numericEntry(n) : categoricalEntry(c);
    if (!entry) {
      missing.push(feature);
      continue;
    }
    const statistic = settings.statistic ?? defaultStatistic(settings.kind, entry.referenceSize);
    const column = STATISTIC_COLUMN[statistic];
    const threshold = settings.threshold ?? defaultThreshold(statistic, monitoring);
    const s = entry.statistics;
    const value = s[column as keyof typeof s];
    // As the drift job: the deciding statistic, then the spec's further thresholds (monitoring.thresholds) on the others.
    let drifted = crosses(column, value, threshold);
    for (const [name, v] of Object.entries(s)) {
      const limit = name === column || name === 'psi' ? undefined : limits.get(name);
      if (limit !== undefined && crosses(name, v, limit)) drifted = true;
    }
    const counts = settings.kind === 'numeric'
      ? { reference_count: n!.reference.count, current_count: n!.current.count, reference_missing: n!.reference.missing, current_missing: n!.current.missing }
      : { reference_count: sum(c!.referenceCounts), current_count: sum(c!.currentCounts), reference_missing: c!.referenceCounts.get('NaN') ?? 0, current_missing: c!.currentCounts.get('NaN') ?? 0 };
    data.features.push({
      feature, kind: settings.kind, statistic: column, value: finite(value), threshold, drifted,
      psi: finite(s.psi), ks_statistic: finite(s.ks_statistic), ks_p_value: finite(s.ks_p_value), jensen_shannon: finite(s.jensen_shannon),
      wasserstein: finite(s.wasserstein), wasserstein_normed: finite(s.wasserstein_normed), chi_square: finite(s.chi_square), chi_square_p_value: finite(s.chi_square_p_value),
      ...counts,
      bins: settings.kind === 'numeric' ? numericBins(n!.psi!.bins) : categoricalBins(c!),
    });
    const pValue = settings.kind === 'numeric' ? s.ks_p_value : s.chi_square_p_value;
    if (Number.isFinite(pValue)) pValues.push({ feature, pValue });
  }
  if (missing.length > 0) data.notes.push(`No values to compare on one side (reference or period) for: ${missing.join(', ')}.`);
  if (pValues.length > 0) {
    const { alpha, share } = monitoring.datasetDrift;
    const verdict = datasetDrift(pValues, { alpha, shareThreshold: share });
    data.dataset = {
      drift: verdict.drift, share: verdict.share, share_threshold: share, alpha, judged: pValues.length,
      drifted: verdict.features.filter((f) => f.drifted).map((f) => f.feature),
    };
  }

  // The champion's own predictions and their labels: this period against the one before it, as the drift job does.
  const champion = { pipeline, role: 'champion' as const, modelName: model.model_name, modelVersion: model.model_version, database: opts.database };
  const previous = { ...champion, from: previousFrom, to: from };
  const now = { ...champion, from, to };
  const scores = (await numericDrift(client, { kind: 'predictions', ...previous }, { kind: 'predictions', ...now }, { bins: monitoring.psiBins })).get('score');
  if (scores?.psi) {
    const st = featureStatistics(scores);
    const crossed = Object.entries(st).some(([name, v]) => {
      const limit = limits.get(name);
      return limit !== undefined && crosses(name, v, limit);
    });
    data.score = {
      psi: finite(st.psi), ks_statistic: finite(st.ks_statistic), ks_p_value: finite(st.ks_p_value), jensen_shannon: finite(st.jensen_shannon),
      wasserstein: finite(st.wasserstein), psi_threshold: monitoring.psiThreshold, drifted: crossed,
      reference_count: scores.reference.count, current_count: scores.current.count, bins: numericBins(scores.psi.bins),
    };
  } else {
    data.notes.push(`Score drift needs predictions of ${model.model_name} v${model.model_version} in both the period and the one before it.`);
  }
  const labels = (await categoricalDrift(client, { kind: 'labels', ...previous }, { kind: 'labels', ...now })).get('label');
  if (labels?.chiSquare && labels.psi) {
    data.label = {
      chi_square: finite(labels.chiSquare.statistic), p_value: finite(labels.chiSquare.pValue), psi: finite(labels.psi.value),
      psi_threshold: monitoring.psiThreshold, drifted: labels.psi.value > monitoring.psiThreshold,
      reference_count: sum(labels.referenceCounts), current_count: sum(labels.currentCounts), bins: categoricalBins(labels),
    };
  } else {
    data.notes.push('Label drift needs labelled predictions of the champion in both the period and the one before it.');
  }
}

async function loadPerformance(client: ClickHouseClient, pipeline: string, from: number, to: number, windowMs: number, database?: string): Promise<ReportPerformanceWindow[]> {
  const rows = await performanceByModel(client, { pipeline, from, to, windowMs, database });
  return rows.map((p) => {
    const m = modelPerformance(p);
    return {
      window_start: p.windowStart, window_end: p.windowEnd, model_name: p.modelName, model_version: p.modelVersion, role: p.role,
      predictions: p.predictions, labelled: p.labelled, positives: p.positives,
      roc_auc: finite(m.roc_auc), precision: finite(m.precision), recall: finite(m.recall), f1: finite(m.f1), log_loss: finite(m.log_loss),
    };
  });
}

async function loadDetections(client: ClickHouseClient, pipeline: string, from: number, to: number, database?: string): Promise<ReportDetection[]> {
  // A detection recomputed later is one row (ReplacingMergeTree by its key): the latest value per key, newest first.
  const rows = await queryRows<{ t: number | string; detector: string; rate: unknown; model_name: string; model_version: number | string; role: string }>(client, `
    SELECT toUnixTimestamp64Milli(window_start) AS t, statistic AS detector, argMax(value, computed_at) AS rate,
           model_name, model_version, toString(role) AS role
    FROM ${qualify(TABLES.drift_metrics, database)}
    WHERE pipeline = {pipeline:String} AND feature = {error:String}
      AND window_start >= fromUnixTimestamp64Milli({from:Int64}, 'UTC') AND window_start < fromUnixTimestamp64Milli({to:Int64}, 'UTC')
    GROUP BY window_start, window_end, statistic, model_name, model_version, role
    ORDER BY t DESC, detector
    LIMIT ${MAX_DETECTIONS}`, { pipeline, error: ERROR_FEATURE, from, to });
  return rows.reverse().map((r) => ({
    event_time: Number(r.t), detector: r.detector, recent_error_rate: finite(Number(r.rate)), model_name: r.model_name, model_version: Number(r.model_version), role: r.role,
  }));
}

/**
 * The latest data-quality run of a scope, by computed_at: with `period`, the latest whose window ends in (from, to]
 * (the drift job's window ends just after its latest vector); without, the latest of all. Its checks, failed first.
 */
async function loadDataQuality(
  client: ClickHouseClient, pipeline: string, scope: 'monitoring' | 'training', period: { from: number; to: number } | undefined, database?: string,
): Promise<ReportDataQualityRun | null> {
  const table = qualify(TABLES.data_quality, database);
  const within = period
    ? `AND window_end > fromUnixTimestamp64Milli({from:Int64}, 'UTC') AND window_end <= fromUnixTimestamp64Milli({to:Int64}, 'UTC')` : '';
  const [latest] = await queryRows<{ run_id: string }>(client, `
    SELECT run_id FROM ${table}
    WHERE pipeline = {pipeline:String} AND scope = {scope:String} ${within}
    ORDER BY computed_at DESC LIMIT 1`, { pipeline, scope, from: period?.from ?? 0, to: period?.to ?? 0 });
  if (!latest) return null;
  const rows = await queryRows<{
    check: string; feature: string; value: unknown; limit: unknown; passed: boolean | number; blocking: boolean | number; ws: number | string; we: number | string; at: number | string;
  }>(client, `
    SELECT check, feature, argMax(value, computed_at) AS value, argMax(limit, computed_at) AS limit, argMax(passed, computed_at) AS passed,
           argMax(blocking, computed_at) AS blocking, toUnixTimestamp64Milli(window_start) AS ws, toUnixTimestamp64Milli(window_end) AS we,
           toUnixTimestamp64Milli(max(computed_at)) AS at
    FROM ${table}
    WHERE pipeline = {pipeline:String} AND scope = {scope:String} AND run_id = {run:String}
    GROUP BY check, feature, window_start, window_end
    ORDER BY passed, check, feature`, { pipeline, scope, run: latest.run_id });
  if (rows.length === 0) return null;
  const checks = rows.map((r) => ({
    check: r.check, feature: r.feature, value: finite(Number(r.value)), limit: finite(Number(r.limit)), passed: Boolean(Number(r.passed)), blocking: Boolean(Number(r.blocking)),
  }));
  return {
    run_id: latest.run_id, scope, window_start: Number(rows[0].ws), window_end: Number(rows[0].we), computed_at: Math.max(...rows.map((r) => Number(r.at))),
    passed: checks.every((c) => c.passed || !c.blocking), checks,
  };
}

/** A statistic beyond its limit: a p-value below it, any other statistic above it (the drift job's rule); NaN never. */
function crosses(statistic: string, value: number, limit: number): boolean {
  return Number.isFinite(value) && (directionOf(statistic) === 'below' ? value < limit : value > limit);
}

function numericBins(bins: PsiBin[]): ReportBin[] {
  return bins.map((b) => ({ label: binLabel(b), reference: b.refShare, current: b.curShare }));
}

function categoricalBins(d: CategoricalDrift): ReportBin[] {
  return (d.psi?.categories ?? []).map((c) => ({ label: c.category === 'NaN' ? 'missing' : c.category, reference: c.refShare, current: c.curShare }));
}

/** A right-closed bin as text: ≤ upper, (lower, upper], > lower, or missing. */
export function binLabel(b: Pick<PsiBin, 'lower' | 'upper' | 'missing'>): string {
  if (b.missing) return 'missing';
  if (b.lower === Number.NEGATIVE_INFINITY && b.upper === Number.POSITIVE_INFINITY) return 'all values';
  if (b.lower === Number.NEGATIVE_INFINITY) return `≤ ${short(b.upper)}`;
  if (b.upper === Number.POSITIVE_INFINITY) return `> ${short(b.lower)}`;
  return `(${short(b.lower)}, ${short(b.upper)}]`;
}

function short(x: number): string {
  return Number.isInteger(x) ? String(x) : String(Number(x.toPrecision(4)));
}

function sum(counts: Map<string, number>): number {
  let n = 0;
  for (const v of counts.values()) n += v;
  return n;
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}
