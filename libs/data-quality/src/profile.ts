// A window's data-quality profile, computed inside ClickHouse over the features (and labels) tables: only the
// per-feature counts come back to Node.
import { decodeFloat, qualify, queryRows, TABLES, type ClickHouseClient } from '@streamloop/clickhouse';
import type { FeatureProfile, ReferenceRange, WindowProfile } from './checks';

export interface ProfileWindow {
  pipeline: string;
  /** Event-time window in epoch ms: from <= event_time < to. */
  from: number;
  to: number;
  /** The features to profile (the champion's, or the spec's, columns). */
  features: readonly string[];
  /** Only vectors of this spec version (the training dataset's rule); default: each event's latest vector, any version. */
  featureSpecVersion?: string;
  /** Vectors of another version count in otherVersionRows; default: none is counted. */
  expectedVersion?: string;
  /** Only events that have a label (the training dataset: features ⨝ labels). */
  labelledOnly?: boolean;
  /** Reference ranges per feature; a feature without one has no out-of-range count. */
  ranges?: ReadonlyMap<string, ReferenceRange>;
  /** Database of the tables; default: the client's. */
  database?: string;
}

export interface RenderedQuery {
  sql: string;
  params: Record<string, unknown>;
}

function epochMs(value: number, what: string): number {
  if (!Number.isSafeInteger(value)) throw new RangeError(`${what}: expected epoch milliseconds (an integer), got ${value}`);
  return value;
}

/** The latest label per event of the pipeline (rows event_id, lab). */
const latestLabels = (w: ProfileWindow) =>
  `SELECT event_id, argMax(label, label_time) AS lab FROM ${qualify(TABLES.labels, w.database)} WHERE pipeline = {pipeline:String} GROUP BY event_id`;

/**
 * `latest`: one row per event of the window (its latest vector by computed_at, as the training dataset and the drift
 * job read it) with the features as an array (NaN where absent), its spec version, and how many (entity, event time)
 * pairs its id occurs with.
 */
function latestSql(w: ProfileWindow, params: Record<string, unknown>): string {
  if (typeof w.pipeline !== 'string' || w.pipeline === '') throw new RangeError('data-quality window: pipeline must be a non-empty string');
  const from = epochMs(w.from, 'data-quality window from');
  const to = epochMs(w.to, 'data-quality window to');
  if (from > to) throw new RangeError(`data-quality window: from (${from}) is after to (${to})`);
  Object.assign(params, { pipeline: w.pipeline, from, to, features: [...w.features] });
  const where = [
    'pipeline = {pipeline:String}',
    "event_time >= fromUnixTimestamp64Milli({from:Int64}, 'UTC') AND event_time < fromUnixTimestamp64Milli({to:Int64}, 'UTC')",
  ];
  if (w.featureSpecVersion !== undefined) {
    params.version = w.featureSpecVersion;
    where.push('feature_spec_version = {version:String}');
  }
  if (w.labelledOnly) where.push(`event_id IN (SELECT event_id FROM ${qualify(TABLES.labels, w.database)} WHERE pipeline = {pipeline:String})`);
  // Aliases differ from column names: ClickHouse substitutes SELECT aliases into WHERE.
  return `SELECT event_id AS eid,
      argMax(arrayMap(k -> if(mapContains(\`values\`, k), \`values\`[k], nan), {features:Array(String)}), computed_at) AS vals,
      argMax(feature_spec_version, computed_at) AS ver,
      uniqExact(entity_key, event_time) AS variants
    FROM ${qualify(TABLES.features, w.database)}
    WHERE ${where.join(' AND ')}
    GROUP BY event_id`;
}

/** Dataset-level counts: rows, duplicated ids, other-version rows, labelled and positive rows. */
export function datasetQuery(w: ProfileWindow): RenderedQuery {
  const params: Record<string, unknown> = { expected: w.expectedVersion ?? '' };
  const other = w.expectedVersion === undefined ? '0' : 'countIf(ver != {expected:String})';
  const sql = `WITH latest AS (${latestSql(w, params)})
SELECT count() AS n, countIf(variants > 1) AS dup, ${other} AS other,
  (SELECT count() FROM (${latestLabels(w)}) WHERE event_id IN (SELECT eid FROM latest)) AS labelled,
  (SELECT countIf(lab = 1) FROM (${latestLabels(w)}) WHERE event_id IN (SELECT eid FROM latest)) AS positives
FROM latest`;
  return { sql, params };
}

/**
 * Per feature (by its position in `features`): rows, missing values, distinct present values, the count of the
 * most frequent present value and the present values outside the reference range. Values are grouped once per
 * (feature, value); −0 is 0, as the drift queries group them.
 */
export function featuresQuery(w: ProfileWindow): RenderedQuery {
  const params: Record<string, unknown> = {};
  const latest = latestSql(w, params);
  const ranges = w.features.map((f) => w.ranges?.get(f));
  // chDB refuses NaN parameters: a feature without a range has has = 0 and bounds 0.
  params.has = ranges.map((r) => (r ? 1 : 0));
  params.lo = ranges.map((r) => r?.lo ?? 0);
  params.hi = ranges.map((r) => r?.hi ?? 0);
  const sql = `SELECT i, sum(c) AS n, sumIf(c, m) AS missing, countIf(NOT m) AS dist, maxIf(c, NOT m) AS top,
  sumIf(c, NOT m AND ({has:Array(UInt8)}[i] = 1) AND (v < {lo:Array(Float64)}[i] OR v > {hi:Array(Float64)}[i])) AS outside
FROM (
  SELECT i, isNaN(x) AS m, if(m OR x = 0, 0, x) AS v, count() AS c
  FROM (SELECT tupleElement(ix, 1) AS i, tupleElement(ix, 2) AS x FROM (SELECT arrayJoin(arrayZip(arrayEnumerate(vals), vals)) AS ix FROM (${latest})))
  GROUP BY i, m, v
)
GROUP BY i
ORDER BY i`;
  return { sql, params };
}

const SETTINGS = { settings: { output_format_json_quote_denormals: 1 } } as const;
const num = (v: unknown) => (typeof v === 'number' ? v : decodeFloat(v));

/** The window's profile, computed in ClickHouse (two queries); features with no row read as all missing. */
export async function dataQualityProfile(ch: ClickHouseClient, w: ProfileWindow): Promise<WindowProfile> {
  const d = datasetQuery(w);
  const [dataset] = await queryRows<Record<string, unknown>>(ch, d.sql, d.params, SETTINGS);
  const rows = num(dataset?.n ?? 0);
  const byIndex = new Map<number, Record<string, unknown>>();
  if (w.features.length > 0 && rows > 0) {
    const f = featuresQuery(w);
    for (const r of await queryRows<Record<string, unknown>>(ch, f.sql, f.params, SETTINGS)) byIndex.set(num(r.i), r);
  }
  const features: FeatureProfile[] = w.features.map((feature, k) => {
    const r = byIndex.get(k + 1);
    const profile: FeatureProfile = {
      feature, rows, missing: r ? num(r.missing) : rows, distinct: r ? num(r.dist) : 0, topCount: r ? num(r.top) : 0,
    };
    if (w.ranges?.has(feature)) profile.outOfRange = r ? num(r.outside) : 0;
    return profile;
  });
  return {
    rows,
    duplicateEvents: num(dataset?.dup ?? 0),
    labelled: num(dataset?.labelled ?? 0),
    positives: num(dataset?.positives ?? 0),
    otherVersionRows: num(dataset?.other ?? 0),
    features,
  };
}
