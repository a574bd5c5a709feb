import { qualify, queryRows, TABLES, type ClickHouseClient } from '@streamloop/clickhouse';

export interface SeriesOptions {
  /** Only windows ending at or after this time (epoch ms). */
  since?: number;
  /** Database of the platform's tables; default: the client's. */
  database?: string;
  /** At most this many rows (the newest are kept). */
  limit?: number;
}

export interface DriftPoint {
  /** End of the monitored window, epoch ms. */
  window_end: number;
  window_start: number;
  feature: string;
  statistic: string;
  value: number | null;
  threshold: number | null;
  drifted: number;
  model_name: string;
  model_version: number;
}

export interface PerformancePoint {
  window_end: number;
  window_start: number;
  model_name: string;
  model_version: number;
  role: string;
  metric: string;
  value: number | null;
  labelled_count: number;
}

export interface ExperimentRun {
  experiment_id: string;
  run_id: string;
  model_name: string;
  status: string;
  started_at: number;
  duration_ms: number;
  params: Record<string, string>;
  metrics: Record<string, number | null>;
}

export interface ModelEvent {
  registry_offset: number;
  model_name: string;
  model_version: number;
  stage: string;
  decided_by: string;
  decided_at: number;
  decision_reason: string;
  decision_metrics: Record<string, number | null>;
}

const DEFAULT_LIMIT = 5000;

function limitOf(options: SeriesOptions): number {
  const limit = options.limit ?? DEFAULT_LIMIT;
  if (!Number.isInteger(limit) || limit < 1 || limit > 100_000) throw new RangeError(`limit: expected an integer from 1 to 100000, got ${String(limit)}`);
  return limit;
}

/**
 * Drift statistics per window, feature and statistic: the latest computation of each (a window recomputed with more
 * data replaces its row; argMax reads it before a merge). The error stream's detections (feature `__error__`) are
 * left out: they are points in time, not windows. Oldest first.
 */
// The SELECTs name their epoch-ms columns like the table's DateTime64 columns; ClickHouse resolves a bare name in
// WHERE to the SELECT's alias, so the filters name the table's columns through the table's alias.
export function driftSeries(ch: ClickHouseClient, pipeline: string, options: SeriesOptions = {}): Promise<DriftPoint[]> {
  return queryRows<DriftPoint>(ch, `
    SELECT * FROM (
      SELECT toUnixTimestamp64Milli(window_end) AS window_end, toUnixTimestamp64Milli(window_start) AS window_start, feature, statistic,
             argMax(value, computed_at) AS value, argMax(threshold, computed_at) AS threshold, argMax(drifted, computed_at) AS drifted,
             argMax(model_name, computed_at) AS model_name, argMax(model_version, computed_at) AS model_version
      FROM ${qualify(TABLES.drift_metrics, options.database)} AS m
      WHERE m.pipeline = {pipeline:String} AND m.feature != '__error__' AND m.window_end >= fromUnixTimestamp64Milli({since:Int64}, 'UTC')
      GROUP BY window_start, window_end, feature, statistic
      ORDER BY window_end DESC, feature, statistic
      LIMIT {limit:UInt32}
    ) ORDER BY window_end, feature, statistic`, { pipeline, since: options.since ?? 0, limit: limitOf(options) });
}

/** Live performance per window, model version, role and metric (the latest computation of each), oldest first. */
export function performanceSeries(ch: ClickHouseClient, pipeline: string, options: SeriesOptions = {}): Promise<PerformancePoint[]> {
  return queryRows<PerformancePoint>(ch, `
    SELECT * FROM (
      SELECT toUnixTimestamp64Milli(window_end) AS window_end, toUnixTimestamp64Milli(window_start) AS window_start, model_name, model_version,
             toString(role) AS role, metric, argMax(value, computed_at) AS value, argMax(labelled_count, computed_at) AS labelled_count
      FROM ${qualify(TABLES.performance_metrics, options.database)} AS m
      WHERE m.pipeline = {pipeline:String} AND m.window_end >= fromUnixTimestamp64Milli({since:Int64}, 'UTC')
      GROUP BY window_start, window_end, model_name, model_version, role, metric
      ORDER BY window_end DESC, model_name, model_version, role, metric
      LIMIT {limit:UInt32}
    ) ORDER BY window_end, model_name, model_version, role, metric`, { pipeline, since: options.since ?? 0, limit: limitOf(options) });
}

/**
 * The experiment log: training runs (`published`) and hyperparameter search trials (`trial`, `trial_failed`, sharing
 * the run's `params['search_id']`), newest first.
 */
export function experimentRuns(ch: ClickHouseClient, pipeline: string, options: SeriesOptions = {}): Promise<ExperimentRun[]> {
  return queryRows<ExperimentRun>(ch, `
    SELECT experiment_id, run_id, model_name, status, toUnixTimestamp64Milli(started_at) AS started_at, duration_ms, params, metrics
    FROM ${qualify(TABLES.experiments, options.database)} AS e FINAL
    WHERE e.pipeline = {pipeline:String} AND e.started_at >= fromUnixTimestamp64Milli({since:Int64}, 'UTC')
    ORDER BY started_at DESC, run_id
    LIMIT {limit:UInt32}`, { pipeline, since: options.since ?? 0, limit: limitOf(options) });
}

/** Every registry record of the pipeline (model_events): each version's stage changes, who decided, when and why; in topic order. */
export function modelHistory(ch: ClickHouseClient, pipeline: string, options: SeriesOptions = {}): Promise<ModelEvent[]> {
  return queryRows<ModelEvent>(ch, `
    SELECT registry_offset, model_name, model_version, toString(stage) AS stage, decided_by, toUnixTimestamp64Milli(decided_at) AS decided_at,
           decision_reason, decision_metrics
    FROM ${qualify(TABLES.model_events, options.database)} FINAL
    WHERE pipeline = {pipeline:String}
    ORDER BY registry_offset
    LIMIT {limit:UInt32}`, { pipeline, limit: limitOf(options) });
}
