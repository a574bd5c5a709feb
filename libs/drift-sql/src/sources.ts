import { qualify, TABLES, type ModelRole } from '@streamloop/clickhouse';

/**
 * Where one side (reference or current) of a drift comparison comes from. Each source renders to a SELECT of
 * rows `(key String, x Float64)`: one sample value per row, keyed by feature name ('score', 'predicted_label'
 * or 'label' for the prediction sources). A missing value is `x = nan`.
 *
 * Missing values (the same rule as the TypeScript path in @streamloop/drift): a feature whose key is absent from
 * an event's vector, or whose value is NaN, is missing. ±Infinity is a value, not missing.
 */
export type SampleSource = FeatureWindowSource | ValuesSource | PredictionsSource | LabelsSource;

interface EventWindow {
  pipeline: string;
  /** Event-time window in epoch ms: from <= event_time < to. */
  from: number;
  to: number;
  /** Database of the tables; default: the client's database. */
  database?: string;
}

/** Feature values of the events in a window of the features table: each event's latest vector (by computed_at). */
export interface FeatureWindowSource extends EventWindow {
  kind: 'features';
  features: readonly string[];
  /** Only vectors of this spec version; default: every version (the latest vector per event wins). */
  featureSpecVersion?: string;
}

/** Values held in Node (e.g. a model's reference sample), sent as a query parameter: keep these small. */
export interface ValuesSource {
  kind: 'values';
  values: Readonly<Record<string, ArrayLike<number>>>;
}

interface PredictionFilter extends EventWindow {
  /** Default 'champion'. */
  role?: ModelRole;
  modelName?: string;
  modelVersion?: number;
}

/** The latest prediction per event in a window: its score (key 'score') or the predicted class (key 'predicted_label'). */
export interface PredictionsSource extends PredictionFilter {
  kind: 'predictions';
  /** Default 'score'. */
  column?: 'score' | 'predicted_label';
}

/** The true labels (key 'label') of the events predicted in a window: the latest label per event. */
export interface LabelsSource extends PredictionFilter {
  kind: 'labels';
  /** Only labels known by then (label_time <= labelsKnownAt, epoch ms): the figures as they stood at that time. */
  labelsKnownAt?: number;
}

export interface RenderedQuery {
  sql: string;
  params: Record<string, unknown>;
}

/** Query parameters; a source names all of its own `${prefix}_…` so that both sides share one query. */
type Params = Record<string, unknown>;

/** IEEE-754 bit patterns: the values travel exactly (chDB refuses NaN/Infinity parameters, and text can round). */
export function float64Bits(values: ArrayLike<number>): bigint[] {
  const floats = Float64Array.from(values);
  return Array.from(new BigUint64Array(floats.buffer));
}

function epochMs(value: number, what: string): number {
  if (!Number.isSafeInteger(value)) throw new RangeError(`${what}: expected epoch milliseconds (an integer), got ${value}`);
  return value;
}

function windowParams(src: EventWindow, prefix: string, params: Params, what: string): string {
  const from = epochMs(src.from, `${what} from`);
  const to = epochMs(src.to, `${what} to`);
  if (from > to) throw new RangeError(`${what}: from (${from}) is after to (${to})`);
  if (typeof src.pipeline !== 'string' || src.pipeline === '') throw new RangeError(`${what}: pipeline must be a non-empty string`);
  params[`${prefix}_pipeline`] = src.pipeline;
  params[`${prefix}_from`] = from;
  params[`${prefix}_to`] = to;
  return `pipeline = {${prefix}_pipeline:String}
      AND event_time >= fromUnixTimestamp64Milli({${prefix}_from:Int64}, 'UTC') AND event_time < fromUnixTimestamp64Milli({${prefix}_to:Int64}, 'UTC')`;
}

/**
 * The latest prediction per event in the window (rows event_id, ev_ms Int64, sc Float64, plab Int8). Aliases
 * differ from column names: ClickHouse substitutes SELECT aliases into WHERE.
 *
 * `byModel`: the latest prediction per event of each model and role instead (rows also mname String, mver UInt32,
 * mrole String), every role unless `src.role` names one: each model's own predictions, as its performance needs.
 */
export function latestPredictionsSql(src: PredictionFilter, prefix: string, params: Params, what: string, opts: { byModel?: boolean } = {}): string {
  const where = [windowParams(src, prefix, params, what)];
  if (!opts.byModel || src.role !== undefined) {
    params[`${prefix}_role`] = src.role ?? 'champion';
    where.push(`role = {${prefix}_role:String}`);
  }
  if (src.modelName !== undefined) {
    params[`${prefix}_model`] = src.modelName;
    where.push(`model_name = {${prefix}_model:String}`);
  }
  if (src.modelVersion !== undefined) {
    if (!(Number.isInteger(src.modelVersion) && src.modelVersion >= 0)) throw new RangeError(`${what}: modelVersion must be an integer ≥ 0, got ${src.modelVersion}`);
    params[`${prefix}_version`] = src.modelVersion;
    where.push(`model_version = {${prefix}_version:UInt32}`);
  }
  const model = opts.byModel ? ', model_name AS mname, model_version AS mver, toString(role) AS mrole' : '';
  return `SELECT event_id${model}, toUnixTimestamp64Milli(argMax(event_time, predicted_at)) AS ev_ms, argMax(score, predicted_at) AS sc,
           argMax(label, predicted_at) AS plab
    FROM ${qualify(TABLES.predictions, src.database)}
    WHERE ${where.join(' AND ')}
    GROUP BY event_id${opts.byModel ? ', model_name, model_version, role' : ''}`;
}

/**
 * The latest label per event (rows event_id, lab Int8) among the events of `eventsSql` (a subquery with an
 * event_id column), optionally only labels known by `labelsKnownAt`.
 */
export function latestLabelsSql(src: EventWindow & { labelsKnownAt?: number }, eventIdsSql: string, prefix: string, params: Params): string {
  let known = '';
  if (src.labelsKnownAt !== undefined) {
    params[`${prefix}_known`] = epochMs(src.labelsKnownAt, 'labelsKnownAt');
    known = ` AND label_time <= fromUnixTimestamp64Milli({${prefix}_known:Int64}, 'UTC')`;
  }
  return `SELECT event_id, argMax(label, label_time) AS lab
    FROM ${qualify(TABLES.labels, src.database)}
    WHERE pipeline = {${prefix}_pipeline:String}${known} AND event_id IN (SELECT event_id FROM (${eventIdsSql}))
    GROUP BY event_id`;
}

/** Renders a source as `SELECT key, x`, its parameters named `${prefix}_…`. */
export function renderSource(src: SampleSource, prefix: string): RenderedQuery {
  const params: Params = {};
  switch (src.kind) {
    case 'features': {
      if (src.features.length === 0) throw new RangeError('features source: no feature names given');
      const where = [windowParams(src, prefix, params, 'features source')];
      if (src.featureSpecVersion !== undefined) {
        params[`${prefix}_spec`] = src.featureSpecVersion;
        where.push(`feature_spec_version = {${prefix}_spec:String}`);
      }
      params[`${prefix}_features`] = [...src.features];
      // One scan of the window for every feature. The latest vector per event is taken as an array of just these
      // features (argMax over whole maps costs several times more), then fanned out into one row per feature.
      return {
        sql: `SELECT tupleElement(kx, 1) AS key, tupleElement(kx, 2) AS x
  FROM (
    SELECT arrayJoin(arrayZip({${prefix}_features:Array(String)}, vals)) AS kx
    FROM (
      SELECT argMax(arrayMap(k -> if(mapContains(\`values\`, k), \`values\`[k], nan), {${prefix}_features:Array(String)}), computed_at) AS vals
      FROM ${qualify(TABLES.features, src.database)}
      WHERE ${where.join(' AND ')}
      GROUP BY event_id
    )
  )`,
        params,
      };
    }
    case 'values': {
      const keys = Object.keys(src.values);
      params[`${prefix}_keys`] = keys;
      params[`${prefix}_bits`] = keys.map((k) => float64Bits(src.values[k]));
      return {
        sql: `SELECT tupleElement(kb, 1) AS key, reinterpretAsFloat64(arrayJoin(tupleElement(kb, 2))) AS x
  FROM (SELECT arrayJoin(arrayZip({${prefix}_keys:Array(String)}, {${prefix}_bits:Array(Array(UInt64))})) AS kb)`,
        params,
      };
    }
    case 'predictions': {
      const column = src.column ?? 'score';
      if (column !== 'score' && column !== 'predicted_label') throw new RangeError(`predictions source: column must be 'score' or 'predicted_label', got ${String(column)}`);
      const value = column === 'score' ? 'sc' : 'toFloat64(plab)';
      return { sql: `SELECT '${column}' AS key, ${value} AS x FROM (${latestPredictionsSql(src, prefix, params, 'predictions source')})`, params };
    }
    case 'labels': {
      const predictions = latestPredictionsSql(src, prefix, params, 'labels source');
      return {
        sql: `SELECT 'label' AS key, toFloat64(l.lab) AS x
  FROM (${predictions}) AS p
  INNER JOIN (${latestLabelsSql(src, predictions, prefix, params)}) AS l ON p.event_id = l.event_id`,
        params,
      };
    }
    default:
      throw new RangeError(`unknown sample source kind ${JSON.stringify((src as { kind?: unknown }).kind)}`);
  }
}

/**
 * Both sides as one row set `(key, side, x)`, side 0 the reference and 1 the current sample. Values are
 * normalised for grouping: m = 1 marks a missing value (its v is 0), and -0 becomes 0 (GROUP BY tells them apart).
 */
export function renderSides(reference: SampleSource, current: SampleSource): RenderedQuery {
  const ref = renderSource(reference, 'ref');
  const cur = renderSource(current, 'cur');
  return {
    sql: `SELECT key, side, isNaN(x) AS m, if(m OR x = 0, 0, x) AS v FROM (
  SELECT key, 0 AS side, x FROM (${ref.sql})
  UNION ALL
  SELECT key, 1 AS side, x FROM (${cur.sql})
)`,
    params: { ...ref.params, ...cur.params },
  };
}
