import { queryRows, type ClickHouseClient, type ModelRole } from '@streamloop/clickhouse';
import { decodeNumber, QUERY_SETTINGS } from './rows';
import { latestLabelsSql, latestPredictionsSql, type RenderedQuery } from './sources';

export interface PerformanceOptions {
  pipeline: string;
  /** Event-time range in epoch ms (from <= event_time < to), cut into windows of windowMs starting at from. */
  from: number;
  to: number;
  windowMs: number;
  /** Predicted class is 1 when score ≥ threshold (as evaluateBinary). Default 0.5. */
  threshold?: number;
  /** Default 'champion'. */
  role?: ModelRole;
  modelName?: string;
  modelVersion?: number;
  /** Only labels known by then (label_time <= labelsKnownAt, epoch ms): performance as it stood at that time. */
  labelsKnownAt?: number;
  database?: string;
}

/** performanceByModel's options: every role unless `role` names one; the predicted class is each model's own. */
export type ModelPerformanceOptions = Omit<PerformanceOptions, 'threshold' | 'role'> & { role?: ModelRole };

export interface ModelWindowPerformance extends WindowPerformance {
  modelName: string;
  modelVersion: number;
  role: ModelRole;
}

export interface WindowPerformance {
  windowStart: number;
  /** Exclusive; the last window ends at `to`. */
  windowEnd: number;
  /** Predictions in the window (the latest per event), labelled or not. */
  predictions: number;
  /** Predictions with a label (0 or 1) and a score: the rows the metrics are computed on. */
  labelled: number;
  positives: number;
  tp: number;
  fp: number;
  tn: number;
  fn: number;
  /** NaN when one class is absent. */
  rocAuc: number;
  /** 0 when undefined (no predicted / no actual positive), as scikit-learn's zero_division=0. */
  precision: number;
  recall: number;
  f1: number;
  /** NaN without labelled rows, or when a score lies outside [0, 1]. */
  logLoss: number;
}

/** Float64 eps, sklearn's log-loss clip. */
const LOG_LOSS_EPS = Number.EPSILON;

function check(opts: PerformanceOptions | ModelPerformanceOptions, what: string): void {
  if (!(Number.isSafeInteger(opts.windowMs) && opts.windowMs > 0)) throw new RangeError(`${what}: windowMs must be a positive integer, got ${opts.windowMs}`);
  if (!('threshold' in opts)) return;
  const threshold = opts.threshold ?? 0.5;
  if (!Number.isFinite(threshold)) throw new RangeError(`${what}: threshold must be a finite number, got ${threshold}`);
}

/**
 * Predictions (latest per event) left-joined with the latest labels, grouped per (window, score) with positive and
 * negative counts; running sums of negatives in score order give the Mann–Whitney ROC AUC with ties counted one
 * half (scikit-learn's roc_auc_score), and the same groups give the confusion counts and the clipped log loss.
 * Predictions with a NaN score are left out of the metrics (counted in `predictions` only).
 */
export function performanceQuery(opts: PerformanceOptions): RenderedQuery {
  check(opts, 'performanceOverTime');
  return renderPerformance(opts, false);
}

/** The same, per model version and role (rows also mname, mver, mrole); the predicted class is the stored one. */
export function performanceByModelQuery(opts: ModelPerformanceOptions): RenderedQuery {
  check(opts, 'performanceByModel');
  return renderPerformance(opts, true);
}

function renderPerformance(opts: PerformanceOptions | ModelPerformanceOptions, byModel: boolean): RenderedQuery {
  const params: Record<string, unknown> = {};
  const what = byModel ? 'performanceByModel' : 'performanceOverTime';
  const predictions = latestPredictionsSql(opts, 'perf', params, what, { byModel });
  const labels = latestLabelsSql(opts, predictions, 'perf', params);
  params.window_ms = opts.windowMs;
  params.eps = LOG_LOSS_EPS;
  // The predicted class: at the given threshold, or (per model) the class each model predicted at its own threshold.
  let predictedPositive = 'p.plab = 1';
  if (!byModel) {
    params.threshold = (opts as PerformanceOptions).threshold ?? 0.5;
    predictedPositive = 'p.sc >= {threshold:Float64}';
  }
  // Every level is grouped (and the ROC running sums partitioned) by window, and per model by model and role too.
  const key = byModel ? 'w, mname, mver, mrole' : 'w';
  const q = `greatest(least(s, 1 - {eps:Float64}), {eps:Float64})`;
  const sql = `
SELECT ${key}, predictions, bad_labels, labelled, positives, negatives, tp, fp,
  if(positives > 0 AND negatives > 0, auc_u / (positives * negatives), nan) AS roc_auc,
  if(tp + fp = 0, 0, tp / (tp + fp)) AS precision_,
  if(positives = 0, 0, tp / positives) AS recall_,
  if(2 * tp + fp + (positives - tp) = 0, 0, 2 * tp / (2 * tp + fp + (positives - tp))) AS f1_,
  if(labelled > 0 AND non_probabilities = 0, loss_sum / labelled, nan) AS log_loss
FROM (
  SELECT ${key}, sum(n) AS predictions, sum(bad) AS bad_labels,
    sumIf(pos + neg, scored) AS labelled, sumIf(pos, scored) AS positives, sumIf(neg, scored) AS negatives,
    sumIf(tpn, scored) AS tp, sumIf(fpn, scored) AS fp,
    sumIf(pos * (neg_below + neg / 2), scored) AS auc_u,
    sumIf(pos + neg, scored AND NOT (s >= 0 AND s <= 1)) AS non_probabilities,
    sumIf(pos * -log(${q}) + neg * -log1p(-${q}), scored) AS loss_sum
  FROM (
    SELECT ${key}, scored, s, n, pos, neg, bad, tpn, fpn,
      sum(neg) OVER (PARTITION BY ${key}, scored ORDER BY s ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS neg_below
    FROM (
      SELECT intDiv(p.ev_ms - {perf_from:Int64}, {window_ms:Int64}) AS w,${byModel ? ' p.mname AS mname, p.mver AS mver, p.mrole AS mrole,' : ''}
        NOT isNaN(p.sc) AS scored, if(NOT scored OR p.sc = 0, 0, p.sc) AS s,
        count() AS n, countIf(l.has_label AND l.lab = 1) AS pos, countIf(l.has_label AND l.lab = 0) AS neg,
        countIf(l.has_label AND l.lab NOT IN (0, 1)) AS bad,
        countIf(l.has_label AND l.lab = 1 AND ${predictedPositive}) AS tpn, countIf(l.has_label AND l.lab = 0 AND ${predictedPositive}) AS fpn
      FROM (${predictions}) AS p
      LEFT JOIN (SELECT event_id, lab, 1 AS has_label FROM (${labels})) AS l ON p.event_id = l.event_id
      GROUP BY ${key}, scored, s
    )
  )
  GROUP BY ${key}
)
ORDER BY ${key}`;
  return { sql, params };
}

interface PerformanceRow {
  w: number; predictions: number; bad_labels: number; labelled: number; positives: number; negatives: number; tp: number; fp: number;
  roc_auc: unknown; precision_: unknown; recall_: unknown; f1_: unknown; log_loss: unknown;
  mname?: string; mver?: number; mrole?: string;
}

/**
 * Live model quality per event-time window from predictions joined with labels that arrive late (the latest label
 * per event wins; labelsKnownAt replays what was known at a time): labelled count, ROC AUC, precision, recall,
 * F1 and log loss, computed in ClickHouse. Agrees with evaluateBinary (@streamloop/ml) on each window's labelled
 * predictions. Windows without any prediction are absent; a label other than 0/1 is an error.
 */
export async function performanceOverTime(client: ClickHouseClient, opts: PerformanceOptions): Promise<WindowPerformance[]> {
  const { sql, params } = performanceQuery(opts);
  const rows = await queryRows<PerformanceRow>(client, sql, params, { settings: QUERY_SETTINGS });
  return rows.map((row) => windowOf(row, opts, 'performanceOverTime', ''));
}

/**
 * performanceOverTime for every model at once: one entry per window and (model name, version, role) that made
 * predictions in it, each judged on its own predictions only (the latest per event of that model and role) joined
 * with the labels by event id, its predicted class the one it served (the predictions' `label`, at its threshold).
 * An earlier champion whose predictions are still being labelled, the current champion and a challenger shadowing
 * it are three entries with their own labelled counts. Ordered by window, model name, version, role.
 */
export async function performanceByModel(client: ClickHouseClient, opts: ModelPerformanceOptions): Promise<ModelWindowPerformance[]> {
  const { sql, params } = performanceByModelQuery(opts);
  const rows = await queryRows<PerformanceRow>(client, sql, params, { settings: QUERY_SETTINGS });
  return rows.map((row) => {
    const model = { modelName: String(row.mname), modelVersion: Number(row.mver), role: row.mrole as ModelRole };
    return { ...model, ...windowOf(row, opts, 'performanceByModel', ` ${model.modelName} v${model.modelVersion} ${model.role}`) };
  });
}

function windowOf(row: PerformanceRow, opts: PerformanceOptions | ModelPerformanceOptions, fn: string, model: string): WindowPerformance {
  const windowStart = opts.from + Number(row.w) * opts.windowMs;
  const what = `${opts.pipeline}${model} window ${new Date(windowStart).toISOString()}`;
  if (Number(row.bad_labels) > 0) throw new RangeError(`${fn}: ${what} has ${row.bad_labels} labels other than 0 or 1`);
  const positives = Number(row.positives), negatives = Number(row.negatives), tp = Number(row.tp), fp = Number(row.fp);
  return {
    windowStart,
    windowEnd: Math.min(windowStart + opts.windowMs, opts.to),
    predictions: Number(row.predictions),
    labelled: Number(row.labelled),
    positives,
    tp,
    fp,
    tn: negatives - fp,
    fn: positives - tp,
    rocAuc: decodeNumber(row.roc_auc, `${what} roc_auc`),
    precision: decodeNumber(row.precision_, `${what} precision`),
    recall: decodeNumber(row.recall_, `${what} recall`),
    f1: decodeNumber(row.f1_, `${what} f1`),
    logLoss: decodeNumber(row.log_loss, `${what} log_loss`),
  };
}
