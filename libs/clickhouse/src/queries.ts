import type { ClickHouseClient } from '@clickhouse/client';
import type { ModelRole } from '@streamloop/contracts';
import { qualify, TABLES, type TableName } from './schema';
import { decodeFloat } from './serialize';

// Readers do not rely on ReplacingMergeTree having merged (FINAL would also work): they dedupe by the logical key
// with argMax over the version column or uniqExact, which is exact whatever duplicates retries left behind, even
// across partitions.

export interface QueryRowsOptions {
  /** Extra ClickHouse settings for this query. */
  settings?: Record<string, string | number | boolean>;
}

/**
 * Runs a SELECT with {name:Type} parameters and returns its rows (JSONEachRow). 64-bit integers come back as
 * numbers on both backends (a server quotes them by default). NaN/Infinity in Float64 come back as null, or as
 * "nan"/"inf" strings with output_format_json_quote_denormals=1; decodeFloat turns either into numbers.
 */
export async function queryRows<T = Record<string, unknown>>(
  client: ClickHouseClient,
  sql: string,
  params?: Record<string, unknown>,
  opts: QueryRowsOptions = {},
): Promise<T[]> {
  const rs = await client.query({
    query: sql,
    query_params: params && Object.keys(params).length > 0 ? params : undefined,
    format: 'JSONEachRow',
    clickhouse_settings: { output_format_json_quote_64bit_integers: 0, ...opts.settings },
  });
  return (await rs.json()) as T[];
}

/** Quoted nan/inf so that NaN and ±Infinity stay apart when read back. */
const FLOAT_SETTINGS = { output_format_json_quote_denormals: 1 } as const;

function decodeMap(value: unknown): Record<string, number> {
  const out: Record<string, number> = {};
  if (value && typeof value === 'object') for (const [k, v] of Object.entries(value)) out[k] = decodeFloat(v);
  return out;
}

function ms(value: unknown, what: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value)) throw new Error(`${what}: expected epoch milliseconds (an integer number), got ${String(value)}`);
  return value;
}

const fromMs = (param: string) => `fromUnixTimestamp64Milli({${param}:Int64}, 'UTC')`;

interface Scope {
  database?: string;
}
const t = (table: TableName, scope: Scope) => qualify(table, scope.database);

/** Logical-row identity per table: countRows counts each once however many copies retries left. */
const COUNT_EXPRESSIONS: Record<TableName, string> = {
  events: 'uniqExact(event_id)',
  features: 'uniqExact(event_id, feature_spec_version)',
  predictions: 'uniqExact(event_id, model_name, model_version, role)',
  labels: 'uniqExact(event_id)',
  dlq: 'uniqExact(stage, failed_at, source_topic, ifNull(source_partition, -1), ifNull(source_offset, -1), cityHash64(original_value))',
  drift_metrics: 'uniqExact(window_start, window_end, feature, statistic, model_name, model_version, role)',
  performance_metrics: 'uniqExact(window_start, window_end, model_name, model_version, role, metric)',
  models: 'uniqExact(model_name, model_version)',
  model_events: 'uniqExact(registry_offset)',
  experiments: 'uniqExact(experiment_id, run_id)',
  retraining_decisions: 'uniqExact(decided_at, trigger, alert_id, decision, reason)',
  data_quality: 'uniqExact(scope, run_id, `check`, feature)',
};

/** Distinct logical rows of one pipeline in a table (duplicates from retries count once). */
export async function countRows(client: ClickHouseClient, table: TableName, pipeline: string, scope: Scope = {}): Promise<number> {
  const expression = COUNT_EXPRESSIONS[table];
  if (!expression) throw new Error(`countRows: table ${JSON.stringify(table)} is not one of ${Object.keys(COUNT_EXPRESSIONS).join(', ')}`);
  const [row] = await queryRows<{ n: number }>(client, `SELECT ${expression} AS n FROM ${t(table, scope)} WHERE pipeline = {pipeline:String}`, { pipeline });
  return Number(row?.n ?? 0);
}

/** The newest event time (ms) among a pipeline's rows of a table with an event_time column; undefined when empty. */
export async function latestEventTime(client: ClickHouseClient, table: 'events' | 'features' | 'predictions', pipeline: string, scope: Scope = {}): Promise<number | undefined> {
  const [row] = await queryRows<{ t: number | string; n: number | string }>(
    client,
    `SELECT toUnixTimestamp64Milli(max(event_time)) AS t, count() AS n FROM ${t(table, scope)} WHERE pipeline = {pipeline:String}`,
    { pipeline },
  );
  return row && Number(row.n) > 0 ? Number(row.t) : undefined;
}

/** The latest label per event: a later label_time corrects an earlier label. */
const latestLabels = (scope: Scope) =>
  `SELECT event_id, argMax(label, label_time) AS lab FROM ${t(TABLES.labels, scope)} WHERE pipeline = {pipeline:String} GROUP BY event_id`;

/** Feature vectors of one spec version whose event has a label; with `after`, only events later than it (epoch ms). */
export async function countLabelledFeatures(client: ClickHouseClient, opts: Scope & { pipeline: string; featureSpecVersion: string; after?: number }): Promise<number> {
  const params: Record<string, unknown> = { pipeline: opts.pipeline, version: opts.featureSpecVersion };
  let after = '';
  if (opts.after !== undefined) {
    after = ` AND event_time > ${fromMs('after')}`;
    params.after = ms(opts.after, 'countLabelledFeatures after');
  }
  const [row] = await queryRows<{ n: number }>(
    client,
    `SELECT uniqExact(event_id) AS n FROM ${t(TABLES.features, opts)}
     WHERE pipeline = {pipeline:String} AND feature_spec_version = {version:String}${after}
       AND event_id IN (SELECT event_id FROM ${t(TABLES.labels, opts)} WHERE pipeline = {pipeline:String})`,
    params,
  );
  return Number(row?.n ?? 0);
}

export interface TrainingRow {
  event_id: string;
  /** Epoch milliseconds. */
  event_time: number;
  /** Feature values; NaN where the feature was missing. */
  values: Record<string, number>;
  label: number;
}

export interface TrainingDatasetOptions extends Scope {
  pipeline: string;
  /** Feature spec version; default: the version of the most recently computed vector of the pipeline. */
  featureSpecVersion?: string;
  /** Event time window in epoch ms, since <= event_time < until. */
  since?: number;
  until?: number;
  /** Only the latest this many labelled events (by event time, then event id) of the window. */
  lastRows?: number;
}

/**
 * Feature vectors joined with labels on event id: one row per labelled event (its latest vector of the spec
 * version, its latest label), ordered by event_time then event_id. Point-in-time correct by construction:
 * a vector is computed from events up to its own event.
 */
export async function loadTrainingDataset(client: ClickHouseClient, opts: TrainingDatasetOptions): Promise<TrainingRow[]> {
  const params: Record<string, unknown> = { pipeline: opts.pipeline };
  const where = ['pipeline = {pipeline:String}'];
  if (opts.featureSpecVersion !== undefined) {
    where.push('feature_spec_version = {version:String}');
    params.version = opts.featureSpecVersion;
  } else {
    // One spec version per dataset: vectors of different versions hold different features.
    where.push(`feature_spec_version = (SELECT argMax(feature_spec_version, computed_at) FROM ${t(TABLES.features, opts)} WHERE pipeline = {pipeline:String})`);
  }
  if (opts.since !== undefined) {
    where.push(`event_time >= ${fromMs('since')}`);
    params.since = ms(opts.since, 'loadTrainingDataset since');
  }
  if (opts.until !== undefined) {
    where.push(`event_time < ${fromMs('until')}`);
    params.until = ms(opts.until, 'loadTrainingDataset until');
  }
  // Aliases differ from column names because ClickHouse substitutes SELECT aliases into WHERE.
  let query = `SELECT f.event_id AS event_id, toUnixTimestamp64Milli(f.ev_time) AS event_time, f.vals AS vals, l.lab AS lab
     FROM (
       SELECT event_id, argMax(event_time, computed_at) AS ev_time, argMax(\`values\`, computed_at) AS vals
       FROM ${t(TABLES.features, opts)} WHERE ${where.join(' AND ')} GROUP BY event_id
     ) AS f
     INNER JOIN (${latestLabels(opts)}) AS l ON f.event_id = l.event_id`;
  if (opts.lastRows !== undefined) {
    if (!(Number.isInteger(opts.lastRows) && opts.lastRows > 0)) throw new RangeError(`loadTrainingDataset: lastRows must be a whole number > 0, got ${opts.lastRows}`);
    query = `SELECT * FROM (${query} ORDER BY event_time DESC, event_id DESC LIMIT {last_rows:UInt64})`;
    params.last_rows = opts.lastRows;
  }
  const rows = await queryRows<{ event_id: string; event_time: number; vals: unknown; lab: number }>(
    client, `${query}\n     ORDER BY event_time, event_id`, params, { settings: FLOAT_SETTINGS },
  );
  return rows.map((r) => ({ event_id: r.event_id, event_time: Number(r.event_time), values: decodeMap(r.vals), label: Number(r.lab) }));
}

export interface FeatureWindowOptions extends Scope {
  pipeline: string;
  feature: string;
  /** Event time window in epoch ms, from <= event_time < to. */
  from: number;
  to: number;
  featureSpecVersion?: string;
}

/**
 * One feature's values over an event-time window (one per event, its latest vector), in event-time order,
 * for drift statistics. Events whose vector lacks the feature or holds NaN (missing) are left out.
 */
export async function latestFeatureValues(client: ClickHouseClient, opts: FeatureWindowOptions): Promise<number[]> {
  const params: Record<string, unknown> = {
    pipeline: opts.pipeline, feature: opts.feature,
    from: ms(opts.from, 'latestFeatureValues from'), to: ms(opts.to, 'latestFeatureValues to'),
  };
  let version = '';
  if (opts.featureSpecVersion !== undefined) {
    version = ' AND feature_spec_version = {version:String}';
    params.version = opts.featureSpecVersion;
  }
  const rows = await queryRows<{ v: unknown }>(
    client,
    `SELECT vals[{feature:String}] AS v
     FROM (
       SELECT event_id, argMax(event_time, computed_at) AS ev_time, argMax(\`values\`, computed_at) AS vals
       FROM ${t(TABLES.features, opts)}
       WHERE pipeline = {pipeline:String} AND event_time >= ${fromMs('from')} AND event_time < ${fromMs('to')}${version}
       GROUP BY event_id
     )
     WHERE mapContains(vals, {feature:String}) AND NOT isNaN(vals[{feature:String}])
     ORDER BY ev_time, event_id`,
    params,
    { settings: FLOAT_SETTINGS },
  );
  return rows.map((r) => decodeFloat(r.v));
}

export interface LabelledPrediction {
  event_id: string;
  /** Epoch milliseconds. */
  event_time: number;
  score: number;
  /** True label. */
  label: number;
  /** Label the model predicted. */
  predicted_label: number;
  model_name: string;
  model_version: number;
  /** The role the model predicted it in. */
  role: ModelRole;
}

export interface LabelledPredictionsOptions extends Scope {
  pipeline: string;
  /** Event-time range in epoch ms: from <= event_time < to. */
  from: number;
  to: number;
  /** Default 'champion'; with byModel, every role unless given. */
  role?: ModelRole;
  modelName?: string;
  modelVersion?: number;
  /**
   * One row per labelled event and model (name, version, role) that predicted it, its latest prediction, instead
   * of one per labelled event (the latest prediction of the role, whichever model made it): each model's own stream.
   */
  byModel?: boolean;
}

/**
 * Predictions of one role (default champion) joined with the latest labels: one row per labelled event (its
 * latest prediction), or per labelled event and model with `byModel`, from <= event_time < to (epoch ms), ordered
 * by event_time then event_id (then model name, version and role).
 */
export async function loadLabelledPredictions(client: ClickHouseClient, opts: LabelledPredictionsOptions): Promise<LabelledPrediction[]> {
  const params: Record<string, unknown> = {
    pipeline: opts.pipeline,
    from: ms(opts.from, 'loadLabelledPredictions from'), to: ms(opts.to, 'loadLabelledPredictions to'),
  };
  let model = '';
  if (!opts.byModel || opts.role !== undefined) {
    model += ' AND role = {role:String}';
    params.role = opts.role ?? 'champion';
  }
  if (opts.modelName !== undefined) {
    model += ' AND model_name = {model:String}';
    params.model = opts.modelName;
  }
  if (opts.modelVersion !== undefined) {
    model += ' AND model_version = {version:UInt32}';
    params.version = opts.modelVersion;
  }
  // Per model, the model is part of the key; otherwise the latest prediction's model names it.
  const [keys, modelColumns] = opts.byModel
    ? [', model_name, model_version, role', 'model_name AS mname, model_version AS mver, toString(role) AS mrole']
    : ['', 'argMax(model_name, predicted_at) AS mname, argMax(model_version, predicted_at) AS mver, toString(argMax(role, predicted_at)) AS mrole'];
  const rows = await queryRows<{ event_id: string; event_time: number; sc: unknown; plab: number; lab: number; mname: string; mver: number; mrole: ModelRole }>(
    client,
    `SELECT p.event_id AS event_id, toUnixTimestamp64Milli(p.ev_time) AS event_time, p.sc AS sc, p.plab AS plab, l.lab AS lab,
            p.mname AS mname, p.mver AS mver, p.mrole AS mrole
     FROM (
       SELECT event_id, argMax(event_time, predicted_at) AS ev_time, argMax(score, predicted_at) AS sc,
              argMax(label, predicted_at) AS plab, ${modelColumns}
       FROM ${t(TABLES.predictions, opts)}
       WHERE pipeline = {pipeline:String}
         AND event_time >= ${fromMs('from')} AND event_time < ${fromMs('to')}${model}
       GROUP BY event_id${keys}
     ) AS p
     INNER JOIN (${latestLabels(opts)}) AS l ON p.event_id = l.event_id
     ORDER BY event_time, event_id, mname, mver, mrole`,
    params,
    { settings: FLOAT_SETTINGS },
  );
  return rows.map((r) => ({
    event_id: r.event_id, event_time: Number(r.event_time), score: decodeFloat(r.sc), label: Number(r.lab),
    predicted_label: Number(r.plab), model_name: r.mname, model_version: Number(r.mver), role: r.mrole,
  }));
}

/** One labelled event both models scored: the champion's served prediction and the challenger's. */
export interface PairedOutcome {
  event_id: string;
  event_time: number;
  label: number;
  champion_score: number;
  challenger_score: number;
}

export interface PairedOutcomesOptions extends Scope {
  pipeline: string;
  champion: { model_name: string; model_version: number };
  challenger: { model_name: string; model_version: number };
  /** At most this many events, the earliest by event time (the fixed horizon of an online comparison). */
  limit: number;
  /** Only predictions made from then on (epoch ms; the challenger's start): the scan skips the champion's older history. */
  predictedSince?: number;
}

/**
 * The labelled events that the champion served (role champion, not shadow) and the challenger scored too (in shadow),
 * each model's latest prediction of the event, with the event's latest label; the earliest `limit` by event time
 * (then event id), so the same events are compared whenever it is asked once enough exist.
 */
export async function loadPairedOutcomes(client: ClickHouseClient, opts: PairedOutcomesOptions): Promise<PairedOutcome[]> {
  if (!(Number.isInteger(opts.limit) && opts.limit > 0)) throw new RangeError(`loadPairedOutcomes: limit must be a whole number > 0, got ${opts.limit}`);
  const since = opts.predictedSince === undefined ? '' : ` AND predicted_at >= ${fromMs('since')}`;
  const scored = (role: 'champion' | 'challenger', prefix: string, served: string) =>
    `SELECT event_id, argMax(event_time, predicted_at) AS ev_time, argMax(score, predicted_at) AS sc
     FROM ${t(TABLES.predictions, opts)}
     WHERE pipeline = {pipeline:String} AND role = '${role}' AND model_name = {${prefix}_name:String} AND model_version = {${prefix}_version:UInt32}${served}${since}
     GROUP BY event_id`;
  const rows = await queryRows<{ event_id: string; event_time: number; lab: number; c: unknown; s: unknown }>(
    client,
    `SELECT c.event_id AS event_id, toUnixTimestamp64Milli(c.ev_time) AS event_time, l.lab AS lab, c.sc AS c, s.sc AS s
     FROM (${scored('champion', 'champion', ' AND NOT shadow')}) AS c
     INNER JOIN (${scored('challenger', 'challenger', '')}) AS s ON c.event_id = s.event_id
     INNER JOIN (${latestLabels(opts)}) AS l ON c.event_id = l.event_id
     ORDER BY event_time, event_id
     LIMIT {limit:UInt32}`,
    {
      pipeline: opts.pipeline, limit: opts.limit, ...(opts.predictedSince === undefined ? {} : { since: ms(opts.predictedSince, 'loadPairedOutcomes predictedSince') }),
      champion_name: opts.champion.model_name, champion_version: opts.champion.model_version,
      challenger_name: opts.challenger.model_name, challenger_version: opts.challenger.model_version,
    },
    { settings: FLOAT_SETTINGS },
  );
  return rows.map((r) => ({
    event_id: r.event_id, event_time: Number(r.event_time), label: Number(r.lab), champion_score: decodeFloat(r.c), challenger_score: decodeFloat(r.s),
  }));
}
