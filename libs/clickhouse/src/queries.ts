import type { ClickHouseClient } from '@clickhouse/client';
import { TABLES } from './schema';

// Readers never trust ReplacingMergeTree to have merged: they aggregate by the logical key (GROUP BY event_id
// with argMax by the version column), which is exact whatever duplicates retries left behind.

/** Float64 from JSON output: quoted nan/inf (output_format_json_quote_denormals) and null become NaN/±Infinity. */
export function toNumber(value: unknown): number {
  if (typeof value === 'number') return value;
  if (value === null || value === undefined) return Number.NaN;
  if (typeof value === 'string') {
    const s = value.trim().toLowerCase();
    if (s === 'nan' || s === '-nan' || s === '+nan') return Number.NaN;
    if (s === 'inf' || s === '+inf') return Number.POSITIVE_INFINITY;
    if (s === '-inf') return Number.NEGATIVE_INFINITY;
    return Number(s);
  }
  return Number(value);
}

function toNumberMap(value: unknown): Record<string, number> {
  const out: Record<string, number> = {};
  if (value && typeof value === 'object') for (const [k, v] of Object.entries(value)) out[k] = toNumber(v);
  return out;
}

const READ_SETTINGS = {
  // NaN/Infinity as "nan"/"inf" instead of null, so Infinity and NaN stay apart.
  output_format_json_quote_denormals: 1,
} as const;

/** Runs a SELECT with {name:Type} parameters and returns its rows (JSONEachRow). */
export async function queryRows<T = Record<string, unknown>>(client: ClickHouseClient, sql: string, params?: Record<string, unknown>): Promise<T[]> {
  const rs = await client.query({
    query: sql,
    query_params: params && Object.keys(params).length > 0 ? params : undefined,
    format: 'JSONEachRow',
    clickhouse_settings: READ_SETTINGS,
  });
  return (await rs.json()) as T[];
}

function assertMs(value: unknown, what: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value)) throw new Error(`${what}: expected epoch milliseconds (an integer number), got ${String(value)}`);
  return value;
}

const fromMs = (param: string) => `fromUnixTimestamp64Milli({${param}:Int64}, 'UTC')`;

export type CountedTable = 'events' | 'features' | 'predictions' | 'labels' | 'dlq';

const COUNT_EXPRESSIONS: Record<CountedTable, string> = {
  events: 'uniqExact(event_id)',
  features: 'uniqExact(event_id, feature_spec_version)',
  predictions: 'uniqExact(event_id, model_name, model_version, role)',
  labels: 'uniqExact(event_id)',
  // A dead letter with a source offset is one per source record; one without cannot be told apart, so each counts.
  dlq: 'countIf(source_offset IS NULL) + uniqExactIf(source_topic, coalesce(source_partition, -1), assumeNotNull(source_offset), source_offset IS NOT NULL)',
};

/** Distinct logical rows of one pipeline in a table (duplicates from retries count once). */
export async function countRows(client: ClickHouseClient, table: CountedTable, pipeline: string): Promise<number> {
  const expression = COUNT_EXPRESSIONS[table];
  if (!expression) throw new Error(`countRows: table ${JSON.stringify(table)} is not one of ${Object.keys(COUNT_EXPRESSIONS).join(', ')}`);
  const [row] = await queryRows<{ n: number | string }>(client, `SELECT ${expression} AS n FROM ${TABLES[table]} WHERE pipeline = {pipeline:String}`, { pipeline });
  return Number(row?.n ?? 0);
}

/** Feature vectors of one spec version whose event has a label. */
export async function countLabelledFeatures(client: ClickHouseClient, opts: { pipeline: string; featureSpecVersion: string }): Promise<number> {
  const [row] = await queryRows<{ n: number | string }>(
    client,
    `SELECT uniqExact(event_id) AS n FROM ${TABLES.features}
     WHERE pipeline = {pipeline:String} AND feature_spec_version = {version:String}
       AND event_id IN (SELECT event_id FROM ${TABLES.labels} WHERE pipeline = {pipeline:String})`,
    { pipeline: opts.pipeline, version: opts.featureSpecVersion },
  );
  return Number(row?.n ?? 0);
}

export interface TrainingRow {
  event_id: string;
  event_time: number;
  values: Record<string, number>;
  label: number;
}

/** The latest label per event (a later label_time corrects an earlier label). */
const LATEST_LABELS = `SELECT event_id, argMax(label, label_time) AS lab FROM ${TABLES.labels} WHERE pipeline = {pipeline:String} GROUP BY event_id`;

/**
 * Feature vectors joined with their labels: one row per labelled event (its latest vector, of
 * featureSpecVersion when given), since <= event_time < until, ordered by event_time then event_id.
 */
export async function loadTrainingDataset(
  client: ClickHouseClient,
  opts: { pipeline: string; featureSpecVersion?: string; since?: number; until?: number },
): Promise<TrainingRow[]> {
  const params: Record<string, unknown> = { pipeline: opts.pipeline };
  const where = ['pipeline = {pipeline:String}'];
  if (opts.featureSpecVersion !== undefined) {
    where.push('feature_spec_version = {version:String}');
    params.version = opts.featureSpecVersion;
  }
  if (opts.since !== undefined) {
    where.push(`event_time >= ${fromMs('since')}`);
    params.since = assertMs(opts.since, 'loadTrainingDataset since');
  }
  if (opts.until !== undefined) {
    where.push(`event_time < ${fromMs('until')}`);
    params.until = assertMs(opts.until, 'loadTrainingDataset until');
  }
  // Aliases differ from column names: ClickHouse substitutes SELECT aliases into WHERE.
  const rows = await queryRows<{ event_id: string; event_time: number | string; vals: unknown; lab: number | string }>(
    client,
    `SELECT f.event_id AS event_id, toUnixTimestamp64Milli(f.ev_time) AS event_time, f.vals AS vals, l.lab AS lab
     FROM (
       SELECT event_id, argMax(event_time, computed_at) AS ev_time, argMax(\`values\`, computed_at) AS vals
       FROM ${TABLES.features} WHERE ${where.join(' AND ')} GROUP BY event_id
     ) AS f
     INNER JOIN (${LATEST_LABELS}) AS l ON f.event_id = l.event_id
     ORDER BY event_time, event_id`,
    params,
  );
  return rows.map((r) => ({ event_id: r.event_id, event_time: Number(r.event_time), values: toNumberMap(r.vals), label: Number(r.lab) }));
}

/** One feature's value per event with from <= event_time < to (ms), in event-time order; NaN where the vector lacks it. */
export async function latestFeatureValues(client: ClickHouseClient, opts: { pipeline: string; feature: string; from: number; to: number }): Promise<number[]> {
  const rows = await queryRows<{ v: unknown }>(
    client,
    `SELECT if(mapContains(vals, {feature:String}), vals[{feature:String}], nan) AS v
     FROM (
       SELECT event_id, argMax(event_time, computed_at) AS ev_time, argMax(\`values\`, computed_at) AS vals
       FROM ${TABLES.features}
       WHERE pipeline = {pipeline:String} AND event_time >= ${fromMs('from')} AND event_time < ${fromMs('to')}
       GROUP BY event_id
     )
     ORDER BY ev_time, event_id`,
    { pipeline: opts.pipeline, feature: opts.feature, from: assertMs(opts.from, 'latestFeatureValues from'), to: assertMs(opts.to, 'latestFeatureValues to') },
  );
  return rows.map((r) => toNumber(r.v));
}

export interface LabelledPrediction {
  event_id: string;
  event_time: number;
  score: number;
  label: number;
}

/**
 * Predictions of one role (default champion) joined with labels: one row per labelled event (its latest
 * prediction), from <= event_time < to (ms), ordered by event_time then event_id.
 */
export async function loadLabelledPredictions(
  client: ClickHouseClient,
  opts: { pipeline: string; from: number; to: number; role?: string },
): Promise<LabelledPrediction[]> {
  const rows = await queryRows<{ event_id: string; event_time: number | string; sc: unknown; lab: number | string }>(
    client,
    `SELECT p.event_id AS event_id, toUnixTimestamp64Milli(p.ev_time) AS event_time, p.sc AS sc, l.lab AS lab
     FROM (
       SELECT event_id, argMax(event_time, predicted_at) AS ev_time, argMax(score, predicted_at) AS sc
       FROM ${TABLES.predictions}
       WHERE pipeline = {pipeline:String} AND role = {role:String}
         AND event_time >= ${fromMs('from')} AND event_time < ${fromMs('to')}
       GROUP BY event_id
     ) AS p
     INNER JOIN (${LATEST_LABELS}) AS l ON p.event_id = l.event_id
     ORDER BY event_time, event_id`,
    {
      pipeline: opts.pipeline,
      role: opts.role ?? 'champion',
      from: assertMs(opts.from, 'loadLabelledPredictions from'),
      to: assertMs(opts.to, 'loadLabelledPredictions to'),
    },
  );
  return rows.map((r) => ({ event_id: r.event_id, event_time: Number(r.event_time), score: toNumber(r.sc), label: Number(r.lab) }));
}
