import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { PlatformError } from '@streamloop/errors';
import { parseDuration } from './duration';
import { describeFieldType, readEventSchema, type EventField, type EventSchemaInfo } from './event-schema';
import { exprNames, parseExpr, ExprError, type ExprNode } from './expr';
import { describeIssue, shown } from './issues';
import { labelsProblems, labelsSchema, labelsSpecOf, type LabelsSpec } from './labels';
import { topicsFor } from './topics';

/** A pipeline spec that cannot be used; the message names the file and every offending key path. */
export class SpecError extends PlatformError {
  constructor(readonly file: string, readonly problems: string[]) {
    super('INVALID_PIPELINE_SPEC', problems.length === 1 ? `${file}: ${problems[0]}` : `${file}: ${problems.length} problems\n${problems.map((p) => `  ${file}: ${p}`).join('\n')}`);
  }
}

// ---------------------------------------------------------------------------------------------------------
// The YAML shape. Every object is strict: an unknown key is an error, never silently ignored.

const DURATION_HINT = 'expected a duration like 5m, 1h, 7d';
const pipelineName = z.string().regex(/^[a-z][a-z0-9_-]*$/, 'expected lowercase letters, digits, _ or -, starting with a letter');
const modelName = z.string().regex(/^[A-Za-z][A-Za-z0-9_.-]*$/, 'expected letters, digits, _, . or -, starting with a letter');
// Feature names become ClickHouse map keys, ONNX metadata and one-hot prefixes ("category=grocery").
const featureName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'expected letters, digits or _, not starting with a digit');
const fieldName = z.string().min(1);
const duration = z.string().refine((s) => parseDuration(s) !== undefined, { message: DURATION_HINT });
const topicName = z.string().regex(/^[A-Za-z0-9._-]{1,249}$/, 'expected a Kafka topic name: 1 to 249 letters, digits, ., _ or -');

const numericOp = <Op extends string>(op: Op) => z.object({ name: featureName, op: z.literal(op), field: fieldName }).strict();

/** Per-event transforms; `op` picks the shape. */
export const TRANSFORM_OPS = ['passthrough', 'log1p', 'clip', 'bucketize', 'one_hot', 'hash', 'hour_of_day', 'day_of_week', 'not_equal', 'ratio', 'expr'] as const;
const transformSchema = z.discriminatedUnion('op', [
  numericOp('passthrough'),
  numericOp('log1p'),
  z.object({ name: featureName, op: z.literal('clip'), field: fieldName, min: z.number(), max: z.number() }).strict(),
  z.object({ name: featureName, op: z.literal('bucketize'), field: fieldName, boundaries: z.array(z.number()).min(1) }).strict(),
  // Categories are compared as text (see categoryText in @streamloop/features), so YAML numbers and booleans are kept as
  // their text: `3` and `"3"` are the same category.
  z.object({ name: featureName, op: z.literal('one_hot'), field: fieldName, categories: z.array(z.union([z.string().min(1), z.number(), z.boolean()]).transform(String)).min(1) }).strict(),
  z.object({ name: featureName, op: z.literal('hash'), field: fieldName, buckets: z.number().int().min(2).max(4096) }).strict(),
  z.object({ name: featureName, op: z.literal('hour_of_day') }).strict(),
  z.object({ name: featureName, op: z.literal('day_of_week') }).strict(),
  z.object({ name: featureName, op: z.literal('not_equal'), field: fieldName, value: z.union([z.string(), z.number(), z.boolean()]) }).strict(),
  z.object({ name: featureName, op: z.literal('ratio'), numerator: fieldName, denominator: fieldName }).strict(),
  // Parsed and checked by the loader (parseExpr, crossCheck); the text stays for messages and `streamloop features`.
  z.object({ name: featureName, op: z.literal('expr'), expr: z.string().min(1) }).strict(),
]);

/** Per-entity aggregates; count … distinct_count run over a sliding event-time window, the others keep no window. */
export const AGGREGATE_OPS = ['count', 'sum', 'mean', 'min', 'max', 'std', 'distinct_count', 'time_since_last', 'last', 'ewm_mean'] as const;
/** What a feature computer does with an event later than `features.allowed_lateness`. */
export const LATE_EVENT_POLICIES = ['drop', 'dead_letter'] as const;
const windowedOfField = <Op extends string>(op: Op) =>
  z.object({ name: featureName, op: z.literal(op), entity: fieldName, field: fieldName, window: duration }).strict();
const aggregateSchema = z.discriminatedUnion('op', [
  z.object({ name: featureName, op: z.literal('count'), entity: fieldName, window: duration }).strict(),
  windowedOfField('sum'),
  windowedOfField('mean'),
  windowedOfField('min'),
  windowedOfField('max'),
  windowedOfField('std'),
  windowedOfField('distinct_count'),
  z.object({ name: featureName, op: z.literal('time_since_last'), entity: fieldName }).strict(),
  z.object({ name: featureName, op: z.literal('last'), entity: fieldName, field: fieldName }).strict(),
  z.object({ name: featureName, op: z.literal('ewm_mean'), entity: fieldName, field: fieldName, half_life: duration }).strict(),
]);

export const MODEL_ALGORITHMS = ['logistic_regression', 'gbdt'] as const;
export const SEARCH_STRATEGIES = ['random', 'successive_halving'] as const;
/** Cross-validation inside the training part: time-ordered expanding windows, or class-stratified k folds. */
export const CV_KINDS = ['time_series', 'stratified_kfold'] as const;
/** What a search optimizes; pr_auc is average precision (the step-wise area under the precision-recall curve). */
export const SEARCH_METRICS = ['roc_auc', 'pr_auc', 'average_precision', 'log_loss', 'brier', 'accuracy', 'precision', 'recall', 'f1'] as const;
/** The halving resource that grows a rung's share of each fold's training rows (any other name is a model param). */
export const ROWS_RESOURCE = 'rows';
/**
 * `monitoring.detectors.warm_up` by default: no change detector fires on its first 1000 settled values after it
 * starts (a new champion, a restart) or resets (after a detection). Chosen with `npm run bench:drift`
 * (BENCHMARKS.md): the smallest tried at which DDM's alarms on a fresh start fall below 10 in 100 starts; ADWIN's
 * and Page-Hinkley's detections do not move.
 */
export const DEFAULT_DETECTOR_WARM_UP = 1000;

/**
 * Page-Hinkley's λ and DDM's drift threshold by default, above River's 50 and 3: with them (and the warm-up) neither
 * raised a false alarm before the change or on the controls of `npm run bench:drift` (ADWIN's rate, 0.0 per 100k),
 * where River's gave 1.8 and 0.3 per 100k; they detect the sudden changes later (BENCHMARKS.md, "Detector thresholds").
 */
export const DEFAULT_PAGE_HINKLEY_THRESHOLD = 100;
export const DEFAULT_DDM_DRIFT_THRESHOLD = 4;

/**
 * `serving.max_model_failures` by default: a model is demoted once 100 of its rows failed at serve time (a thrown
 * scoring call counts each row it was given). Until then its failed rows are scored by the last good champion, so
 * waiting costs a little latency, not predictions; 100 is a tenth of a second at 1k events/s for a model that fails
 * on everything, and above the few odd rows (one extreme input) a usable model may fail on in a day.
 */
export const DEFAULT_MAX_MODEL_FAILURES = 100;

/**
 * `promotion.alpha` by default: a retrained model replaces the champion only when it is better with one-sided
 * significance 0.05 (DeLong on ROC AUC), so two equal models are promoted one time in twenty at most
 * (libs/promotion's A/A simulation).
 */
export const DEFAULT_PROMOTION_ALPHA = 0.05;
/**
 * `promotion.online_labels` by default: after passing offline, a model scores in shadow until 1000 labelled live
 * events both it and the champion scored, then the same tests on those events decide. With 1000 events and a few
 * percent positives DeLong's standard error of the AUC difference is about 0.01–0.02.
 */
export const DEFAULT_ONLINE_LABELS = 1000;
/**
 * `promotion.probation_labels` by default: after a promotion by policy the previous champion scores in shadow until
 * 1000 labelled live events both scored; if the new champion's AUC is significantly lower on them, the previous one
 * serves again. As many events as the online decision took, so a model that passed on that many is watched as long.
 */
export const DEFAULT_PROBATION_LABELS = 1000;

/** Alert kinds that may start a retraining run (`retraining.triggers[].kind`): what monitoring raises about a model. */
export const RETRAINING_TRIGGER_KINDS = ['performance', 'feature_drift', 'prediction_drift'] as const;
export type RetrainingTriggerKind = (typeof RETRAINING_TRIGGER_KINDS)[number];
/**
 * `retraining.cooldown` by default: after a run starts, alerts start no other for an hour (a persisting change alerts
 * again and again; one retrain on fresh data answers all of them, and its challenger needs time to prove itself).
 */
export const DEFAULT_RETRAINING_COOLDOWN = '1h';
/** `retraining.min_new_labels` by default: a run needs 500 labelled events newer than the champion's training data. */
export const DEFAULT_MIN_NEW_LABELS = 500;

/** `serving.challenger.mode`: shadow (scores every event, serves none) or split (serves a share of the entities). */
export const CHALLENGER_MODES = ['shadow', 'split'] as const;
export type ChallengerMode = (typeof CHALLENGER_MODES)[number];
/** `serving.challenger.share` by default: the challenger serves a tenth of the entities in split mode. */
export const DEFAULT_CHALLENGER_SHARE = 0.1;

/**
 * `serving.batch.max_rows` by default: the most rows one onnxruntime call scores; a larger consumed batch is scored in
 * several calls. In `npm run bench:serving` (BENCHMARKS.md, "Serving") calls of 64 rows cost 14–18 % of the stage's
 * throughput against 1024 for both exported models, and from 256 on it is flat within noise; a call of 1024 rows
 * takes about 0.2 ms (logistic) to 4 ms (a 100-tree GBDT), which bounds how long one call holds onnxruntime.
 */
export const DEFAULT_BATCH_MAX_ROWS = 1024;
/** `serving.batch.max_wait` at most: a consumer heartbeats between its fetches, so a fetch must not wait long. */
export const MAX_BATCH_WAIT_MS = 1000;
/** onnxruntime's graph optimization levels, as `serving.onnx.graph_optimization_level` names them. */
export const GRAPH_OPTIMIZATION_LEVELS = ['disabled', 'basic', 'extended', 'all'] as const;
export type GraphOptimizationLevel = (typeof GRAPH_OPTIMIZATION_LEVELS)[number];
/**
 * `serving.onnx.intra_op_threads` and `serving.onnx.graph_optimization_level` by default: one thread per session and
 * every optimization, as before. In `npm run bench:serving` a second intra-op thread never sped up our exported models
 * (0.5–0.7× at 64 and 1024 rows: too little work per call to split, and the cores are shared with the other stages)
 * and the four levels were within noise of each other.
 */
export const DEFAULT_ONNX_INTRA_OP_THREADS = 1;
export const DEFAULT_GRAPH_OPTIMIZATION_LEVEL: GraphOptimizationLevel = 'all';

const DISTRIBUTIONS = ['uniform', 'log_uniform', 'int', 'choice'] as const;
type ParamScalar = number | string | boolean;
const isScalar = (v: unknown): v is ParamScalar => typeof v === 'string' || typeof v === 'boolean' || (typeof v === 'number' && Number.isFinite(v));
const isPlainObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/**
 * A search-space entry as written in YAML: a fixed value, or one key naming the distribution with its bounds
 * ({ uniform: [a, b] }, { log_uniform: [a, b] }, { int: [a, b] } with an optional log: true, { choice: [...] }).
 * Returns the problems, each relative to the entry (an empty path means the entry itself).
 */
function distributionProblems(v: unknown): Array<{ path: string[]; message: string; input: unknown }> {
  if (isScalar(v)) return [];
  const expected = `expected a fixed value or one of { uniform: [low, high] }, { log_uniform: [low, high] }, { int: [low, high] }, { choice: [values] }`;
  if (!isPlainObject(v)) return [{ path: [], message: expected, input: v }];
  const kinds = Object.keys(v).filter((k) => (DISTRIBUTIONS as readonly string[]).includes(k));
  if (kinds.length !== 1) return [{ path: [], message: kinds.length === 0 ? expected : `expected one distribution, got ${kinds.join(' and ')}`, input: v }];
  const kind = kinds[0] as (typeof DISTRIBUTIONS)[number];
  const problems: Array<{ path: string[]; message: string; input: unknown }> = [];
  for (const key of Object.keys(v)) {
    if (key !== kind && !(kind === 'int' && key === 'log')) problems.push({ path: [key], message: 'unknown key', input: v[key] });
  }
  const value = v[kind];
  if (kind === 'choice') {
    if (!Array.isArray(value) || value.length === 0) problems.push({ path: [kind], message: 'expected a non-empty list of values', input: value });
    else value.forEach((c, i) => {
      if (!isScalar(c)) problems.push({ path: [kind, String(i)], message: 'expected a number, string or boolean', input: c });
    });
    return problems;
  }
  if (!Array.isArray(value) || value.length !== 2 || !value.every((b) => typeof b === 'number' && Number.isFinite(b))) {
    problems.push({ path: [kind], message: 'expected [low, high], two finite numbers', input: value });
    return problems;
  }
  const [low, high] = value as [number, number];
  const log = kind === 'log_uniform' || (kind === 'int' && v.log === true);
  if (kind === 'int' && v.log !== undefined && typeof v.log !== 'boolean') problems.push({ path: ['log'], message: 'expected true or false', input: v.log });
  if (low > high) problems.push({ path: [kind], message: `low (${low}) is above high (${high})`, input: value });
  else if (kind === 'int' && (!Number.isInteger(low) || !Number.isInteger(high))) problems.push({ path: [kind], message: 'expected integer bounds', input: value });
  else if (log && !(low > 0)) problems.push({ path: [kind], message: 'a log scale needs low > 0', input: value });
  return problems;
}

const searchSpaceSchema = z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'expected a model param name'), z.unknown()).superRefine((space, ctx) => {
  if (Object.keys(space).length === 0) ctx.addIssue({ code: 'custom', message: 'expected at least one parameter', input: space });
  for (const [name, entry] of Object.entries(space)) {
    for (const p of distributionProblems(entry)) ctx.addIssue({ code: 'custom', message: p.message, path: [name, ...p.path], input: p.input });
  }
});

const searchCommon = {
  cv: z.object({ kind: z.enum(CV_KINDS).default('time_series'), folds: z.number().int().min(2).max(20).default(3) }).strict().prefault({}),
  metric: z.enum(SEARCH_METRICS).default('roc_auc'),
  seed: z.number().int().min(0).default(0),
  space: searchSpaceSchema,
};
const searchSchema = z.discriminatedUnion('strategy', [
  z.object({ strategy: z.literal('random'), trials: z.number().int().min(1).max(1000).default(10), ...searchCommon }).strict(),
  z.object({
    strategy: z.literal('successive_halving'),
    candidates: z.number().int().min(2).max(1000),
    factor: z.number().gt(1).default(3),
    resource: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'expected rows or a model param name').default(ROWS_RESOURCE),
    min_resource: z.number().positive(),
    max_resource: z.number().positive().optional(),
    ...searchCommon,
  }).strict(),
]);

/** model.threshold: a fixed number, max_f1, or { target_precision: p }. */
function thresholdProblem(v: unknown): string | undefined {
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) return 'expected a finite number';
    if (v < 0) return 'expected a number >= 0';
    if (v > 1) return 'expected a number <= 1';
    return undefined;
  }
  if (v === 'max_f1') return undefined;
  if (isPlainObject(v) && Object.keys(v).length === 1 && 'target_precision' in v) {
    const p = v.target_precision;
    return typeof p === 'number' && p > 0 && p <= 1 ? undefined : 'expected target_precision in (0, 1]';
  }
  return 'expected a number in [0, 1], max_f1 or { target_precision: p }';
}
/** Drift statistics a feature may be judged by (`monitoring.features.<name>.statistic`). */
export const DRIFT_STATISTICS = ['psi', 'ks', 'wasserstein_normed', 'jensen_shannon', 'chi_square'] as const;
export const FEATURE_KINDS = ['numeric', 'categorical'] as const;
/** `monitoring.reference` as a word: the stored training sample, or the training part read back with the warm-up left out. */
export const REFERENCE_SOURCES = ['training', 'training_after_warm_up'] as const;

/** `data_quality.feature_spec_version`: a window whose feature spec version differs from the champion's fails (require) or only warns. */
export const FEATURE_SPEC_VERSION_RULES = ['require', 'warn'] as const;
export type FeatureSpecVersionRule = (typeof FEATURE_SPEC_VERSION_RULES)[number];

/**
 * The data-quality limits when the spec sets none (`data_quality`): loose enough that normal data of the example
 * pipelines passes (a feature that is NaN for a card's first transaction, sparse one-hot columns, a fraud rate of a
 * few percent, a champion whose training window saw a few hours of the day only), tight enough that a broken feed (a feature mostly missing, constant, far outside its training range,
 * one class only, replayed events) blocks training.
 */
export const DEFAULT_DATA_QUALITY: DataQualitySpec = {
  enabled: true,
  maxMissingRate: 0.5,
  outOfRange: { tolerance: 1, maxShare: 0.25 },
  minDistinct: 2,
  maxTopValueShare: 0.999,
  minLabelRate: 0.001,
  maxLabelRate: 0.999,
  minLabelled: 100,
  maxDuplicateShare: 0.01,
  minRows: 1,
  featureSpecVersion: 'require',
};
// An event-time bound of a reference window: ISO-8601 with an explicit zone (no local-time guess), or epoch ms.
const eventTimeBound = z.union([
  z.number().int().nonnegative(),
  z.string().refine((s) => /(Z|[+-]\d{2}:?\d{2})$/.test(s) && !Number.isNaN(Date.parse(s)), { message: 'expected an ISO-8601 time with a zone, like 2026-03-01T00:00:00Z' }),
]);
const epochMsOf = (v: number | string | Date): number => (typeof v === 'number' ? v : v instanceof Date ? v.getTime() : Date.parse(v));

const thresholdSchema = z.unknown().superRefine((v, ctx) => {
  const problem = thresholdProblem(v);
  if (problem) ctx.addIssue({ code: 'custom', message: problem, input: v });
});

const specSchema = z.object({
  pipeline: pipelineName,
  events: z.object({
    schema: z.string().min(1),
    id_field: fieldName,
    time_field: fieldName,
    entity_field: fieldName,
    partitions: z.number().int().min(1).max(10_000).default(3),
    dedup_window: duration.default('1h'),
  }).strict(),
  topics: z.object({
    raw: topicName, events: topicName, dlq: topicName, features: topicName, predictions: topicName, shadow: topicName,
    labels: topicName, alerts: topicName, models: topicName,
  }).partial().strict().default({}),
  features: z.object({
    version: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'expected a version like v1 or 2026-01'),
    transforms: z.array(transformSchema).default([]),
    aggregates: z.array(aggregateSchema).default([]),
    allowed_lateness: duration.optional(),
    late_events: z.enum(LATE_EVENT_POLICIES).default('drop'),
  }).strict(),
  labels: labelsSchema,
  model: z.object({
    name: modelName,
    algorithm: z.enum(MODEL_ALGORITHMS),
    params: z.record(z.string(), z.union([z.number(), z.string(), z.boolean()])).default({}),
    threshold: thresholdSchema.default(0.5),
    search: searchSchema.optional(),
    // Who answers for the model and what it is for: printed on every version's model card.
    owner: z.string().trim().min(1).max(200).optional(),
    intended_use: z.string().trim().min(1).max(4000).optional(),
  }).strict(),
  training: z.object({
    min_labels: z.number().int().min(10).default(500),
    holdout_fraction: z.number().gt(0).lt(1).default(0.2),
    schedule: duration.nullable().default(null),
    segment_by: fieldName.optional(),
    // The data a run trains on: everything, the latest span of event time, or the latest labelled events.
    window: z.union([z.literal('all'), duration, z.object({ last_rows: z.number().int().min(10) }).strict()]).default('all'),
  }).strict().prefault({}),
  retraining: z.object({
    // Which alerts start a run (about the serving champion); `statistic` narrows one kind to one statistic or detector.
    triggers: z.array(z.object({
      kind: z.enum(RETRAINING_TRIGGER_KINDS),
      statistic: z.string().min(1).optional(),
    }).strict()).default([{ kind: 'performance' }]),
    cooldown: duration.default(DEFAULT_RETRAINING_COOLDOWN),
    min_new_labels: z.number().int().min(0).default(DEFAULT_MIN_NEW_LABELS),
  }).strict().prefault({}),
  promotion: z.object({
    alpha: z.number().gt(0).lt(0.5).default(DEFAULT_PROMOTION_ALPHA),
    min_auc_gain: z.number().min(0).lt(1).default(0),
    online_labels: z.number().int().min(0).max(10_000_000).default(DEFAULT_ONLINE_LABELS),
    probation_labels: z.number().int().min(0).max(10_000_000).default(DEFAULT_PROBATION_LABELS),
  }).strict().prefault({}),
  serving: z.object({
    max_model_failures: z.number().int().min(1).max(1_000_000_000).default(DEFAULT_MAX_MODEL_FAILURES),
    // How the registry's challenger (if any) runs beside the champion; its share matters in split mode only.
    challenger: z.object({
      mode: z.enum(CHALLENGER_MODES).default('shadow'),
      share: z.number().gt(0).lt(1).default(DEFAULT_CHALLENGER_SHARE),
    }).strict().prefault({}),
    // Top contributions (by |value|) on every prediction record; 0: none (explaining costs CPU per row).
    explain_top_k: z.number().int().min(0).max(1000).default(0),
    // Micro-batching: the most rows per onnxruntime call, and how long inference's own consumer lets a fetch wait for
    // rows to gather (unset: a fetch returns as soon as any record is there, the behaviour of every other stage; kept
    // as the default because the wait saves CPU at the cost of median latency, BENCHMARKS.md "Serving" (d)).
    batch: z.object({
      max_rows: z.number().int().min(1).max(1_000_000).default(DEFAULT_BATCH_MAX_ROWS),
      // At most 1 s: the consumer heartbeats between fetches, and a fetch that waits longer delays them.
      max_wait: duration.refine((t) => parseDuration(t)! <= MAX_BATCH_WAIT_MS, { message: 'expected a duration of at most 1s, like 5ms or 50ms' }).nullable().default(null),
    }).strict().prefault({}),
    // onnxruntime session options of every model the pipeline serves.
    onnx: z.object({
      intra_op_threads: z.number().int().min(1).max(64).default(DEFAULT_ONNX_INTRA_OP_THREADS),
      graph_optimization_level: z.enum(GRAPH_OPTIMIZATION_LEVELS).default(DEFAULT_GRAPH_OPTIMIZATION_LEVEL),
    }).strict().prefault({}),
  }).strict().prefault({}),
  monitoring: z.object({
    window: duration.default('5m'),
    // A drift that persists alerts again after this long (or sooner when it worsens).
    alert_cooldown: duration.default('24h'),
    psi_bins: z.number().int().min(2).max(100).default(10),
    psi_threshold: z.number().positive().default(0.2),
    // Further alert thresholds, per statistic; unset ones do not alert.
    thresholds: z.object({
      ks_p_value: z.number().gt(0).lt(1).optional(),
      jensen_shannon: z.number().gt(0).max(1).optional(),
      wasserstein: z.number().positive().optional(),
    }).strict().prefault({}),
    dataset_drift: z.object({
      alpha: z.number().gt(0).lt(1).default(0.05),
      share: z.number().gt(0).max(1).default(0.5),
    }).strict().prefault({}),
    // Per feature (a column name, or a one_hot / hash transform's name for all its columns); names checked by crossCheck.
    features: z.record(z.string(), z.object({
      kind: z.enum(FEATURE_KINDS).optional(),
      statistic: z.enum(DRIFT_STATISTICS).optional(),
      threshold: z.number().positive().optional(),
      exclude: z.boolean().default(false),
    }).strict()).default({}),
    reference: z.union([z.enum(REFERENCE_SOURCES), z.object({ from: eventTimeBound, to: eventTimeBound }).strict()]).default('training_after_warm_up'),
    detectors: z.object({
      label_delay: duration.default('1h'),
      // Settled values a detector must see (after it starts or resets) before it may fire; 0 is River's behaviour.
      warm_up: z.number().int().min(0).default(DEFAULT_DETECTOR_WARM_UP),
      // Each detector runs with River's defaults unless set, but for Page-Hinkley's threshold (100) and DDM's
      // drift_threshold (4), see DEFAULT_PAGE_HINKLEY_THRESHOLD; `false` turns one off.
      adwin: z.union([z.literal(false), z.object({
        delta: z.number().gt(0).lt(1).optional(), clock: z.number().int().min(1).optional(),
        max_buckets: z.number().int().min(2).optional(), min_window_length: z.number().int().min(1).optional(),
        grace_period: z.number().int().min(0).optional(),
      }).strict()]).default({}),
      page_hinkley: z.union([z.literal(false), z.object({
        min_instances: z.number().int().min(1).optional(), delta: z.number().min(0).optional(),
        threshold: z.number().positive().optional(), alpha: z.number().gt(0).max(1).optional(),
        mode: z.enum(['up', 'down', 'both']).optional(),
      }).strict()]).default({}),
      ddm: z.union([z.literal(false), z.object({
        warm_start: z.number().int().min(1).optional(), warning_threshold: z.number().positive().optional(),
        drift_threshold: z.number().positive().optional(),
      }).strict()]).default({}),
    }).strict().prefault({}),
  }).strict().prefault({}),
  // The data-quality gate before every training run, and the same checks on each monitoring window (issue 13).
  data_quality: z.object({
    enabled: z.boolean().default(true),
    max_missing_rate: z.number().min(0).max(1).default(DEFAULT_DATA_QUALITY.maxMissingRate),
    out_of_range: z.object({
      tolerance: z.number().min(0).default(DEFAULT_DATA_QUALITY.outOfRange.tolerance),
      max_share: z.number().min(0).max(1).default(DEFAULT_DATA_QUALITY.outOfRange.maxShare),
    }).strict().prefault({}),
    min_distinct: z.number().int().min(1).default(DEFAULT_DATA_QUALITY.minDistinct),
    max_top_value_share: z.number().gt(0).max(1).default(DEFAULT_DATA_QUALITY.maxTopValueShare),
    min_label_rate: z.number().min(0).max(1).default(DEFAULT_DATA_QUALITY.minLabelRate),
    max_label_rate: z.number().min(0).max(1).default(DEFAULT_DATA_QUALITY.maxLabelRate),
    min_labelled: z.number().int().min(0).default(DEFAULT_DATA_QUALITY.minLabelled),
    max_duplicate_share: z.number().min(0).max(1).default(DEFAULT_DATA_QUALITY.maxDuplicateShare),
    min_rows: z.number().int().min(0).default(DEFAULT_DATA_QUALITY.minRows),
    feature_spec_version: z.enum(FEATURE_SPEC_VERSION_RULES).default(DEFAULT_DATA_QUALITY.featureSpecVersion),
  }).strict().prefault({}),
}).strict();

// ---------------------------------------------------------------------------------------------------------
// The validated spec as the services use it: camelCase, durations in ms, the schema path absolute.

type RawTransformSpec = z.infer<typeof transformSchema>;
/** An `expr` transform; `ast` is its parsed expression, set by the loader (a hand-built spec may carry only the text). */
export type ExprTransformSpec = Extract<RawTransformSpec, { op: 'expr' }> & { ast?: ExprNode };
export type TransformSpec = Exclude<RawTransformSpec, { op: 'expr' }> | ExprTransformSpec;
export type TransformOp = TransformSpec['op'];
/** An aggregate over a sliding event-time window; `windowMs` is `window` in milliseconds. */
export type WindowedAggregateSpec = Extract<z.infer<typeof aggregateSchema>, { window: string }> & { windowMs: number };
export type TimeSinceLastSpec = Extract<z.infer<typeof aggregateSchema>, { op: 'time_since_last' }>;
/** The entity's latest value of `field` (no window). */
export type LastSpec = Extract<z.infer<typeof aggregateSchema>, { op: 'last' }>;
/** Exponentially weighted mean of `field` in event time; `halfLifeMs` is `half_life` in milliseconds. */
export type EwmMeanSpec = Extract<z.infer<typeof aggregateSchema>, { op: 'ewm_mean' }> & { halfLifeMs: number };
export type AggregateSpec = WindowedAggregateSpec | TimeSinceLastSpec | LastSpec | EwmMeanSpec;
export type AggregateOp = AggregateSpec['op'];
export type ModelAlgorithm = (typeof MODEL_ALGORITHMS)[number];
export type LateEventPolicy = (typeof LATE_EVENT_POLICIES)[number];
export const TOPIC_ROLES = ['raw', 'events', 'dlq', 'features', 'predictions', 'shadow', 'labels', 'alerts', 'models'] as const;
export type TopicRole = (typeof TOPIC_ROLES)[number];

export interface EventsSpec {
  /** Absolute path of the event schema (.avsc), resolved against the YAML file's directory. */
  schemaPath: string;
  idField: string;
  timeField: string;
  /** The primary entity: key of the pipeline's topics and `entity_key` of its feature vectors. */
  entityField: string;
  partitions: number;
  /** How long ingestion remembers event ids for deduplication. */
  dedupWindowMs: number;
}

export interface FeaturesSpec {
  version: string;
  transforms: TransformSpec[];
  aggregates: AggregateSpec[];
  /**
   * How far (ms) an event may lag behind its entity's newest event time and still be applied; later events are
   * flagged late and change no state. Absent or null: no limit beyond each window's own reach (see the docs).
   * Optional so hand-built specs stay valid; the loader always sets it.
   */
  allowedLatenessMs?: number | null;
  /** What the service does with a late event: drop it, or send it to the dead-letter topic. Default drop. */
  lateEvents?: LateEventPolicy;
}

export type { LabelsSpec } from './labels';

export type SearchStrategy = (typeof SEARCH_STRATEGIES)[number];
export type CvKind = (typeof CV_KINDS)[number];
/** The metric a search optimizes, as the ML library names it (pr_auc in the YAML is average_precision here). */
export type SearchMetric = Exclude<(typeof SEARCH_METRICS)[number], 'pr_auc'>;

/** How one hyperparameter is drawn; bounds are inclusive. The shape of the ML library's ParamDistribution. */
export type SearchDistribution =
  | { type: 'uniform' | 'log_uniform'; low: number; high: number }
  | { type: 'int'; low: number; high: number; log?: boolean }
  | { type: 'choice'; values: Array<number | string | boolean> };

interface SearchSpecBase {
  /** Folds cut from the training part only; the held-out window never takes part in the search. */
  cv: { kind: CvKind; folds: number };
  metric: SearchMetric;
  seed: number;
  /** Param name → distribution, or a fixed value every trial uses. Sampled values override model.params. */
  space: Record<string, SearchDistribution | number | string | boolean>;
}

export type SearchSpec = SearchSpecBase & (
  | { strategy: 'random'; trials: number }
  | {
    strategy: 'successive_halving';
    candidates: number;
    factor: number;
    /** 'rows' (a fraction of each fold's training rows) or an integer model param such as max_iter. */
    resource: string;
    minResource: number;
    /** The largest budget a rung may use. For rows: 1 unless set. For a param: required. */
    maxResource: number;
  }
);

/** A threshold chosen from data (out-of-fold predictions of the training part): the ML library's ThresholdStrategy. */
export type ThresholdSelection = { strategy: 'max_f1' } | { strategy: 'target_precision'; precision: number };

export interface ModelSpec {
  name: string;
  algorithm: ModelAlgorithm;
  params: Record<string, number | string | boolean>;
  /**
   * Score at or above which the predicted label is 1. When thresholdSelection is set, this is only the fallback
   * (0.5) for models that get no chosen threshold, e.g. external models registered without one.
   */
  threshold: number;
  /** Choose the threshold at training time instead; null or absent: use `threshold`. The loader always sets it. */
  thresholdSelection?: ThresholdSelection | null;
  /** Hyperparameter search before the final fit; null or absent: train with `params` as given. The loader always sets it. */
  search?: SearchSpec | null;
  /** Who answers for the model (a team, a person, an address), for its model cards; null or absent: not said. */
  owner?: string | null;
  /** What the model is for and not for, in words, for its model cards; null or absent: not said. */
  intendedUse?: string | null;
}

export interface TrainingSpec {
  minLabels: number;
  holdoutFraction: number;
  /** Retrain every so often; null: on alerts and on command only. */
  scheduleMs: number | null;
  /** An event field whose values split the held-out metrics into segments; null or absent: none. The loader always sets it. */
  segmentBy?: string | null;
  /** The data a run trains on (`training.window`); absent: all. The loader always sets it. */
  window?: TrainingWindow;
}

/** All labelled data, the latest `lastMs` of event time (before the newest labelled vector), or the latest `lastRows`. */
export type TrainingWindow = { kind: 'all' } | { kind: 'time'; lastMs: number } | { kind: 'rows'; lastRows: number };

/** When monitoring's alerts start a training run (`retraining`); schedules and commands always may. */
export interface RetrainingSpec {
  triggers: Array<{ kind: RetrainingTriggerKind; statistic?: string }>;
  cooldownMs: number;
  /** Labelled events newer than the champion's training data a run needs. */
  minNewLabels: number;
}

/** How a retrained model earns the champion's place (`promotion`): libs/promotion's rule, offline then online. */
export interface PromotionSpec {
  /** One-sided significance of the AUC test (and of the log-loss guard). */
  alpha: number;
  /** Smallest AUC gain worth a promotion. */
  minAucGain: number;
  /** Labelled live events the challenger must share with the champion before the online decision; 0: none (offline only). */
  onlineLabels: number;
  /** Labelled live events the previous champion scores in shadow after a promotion by policy; 0: no probation. */
  probationLabels: number;
}

/** How inference treats a model that fails at serve time (`serving`). */
export interface ServingSpec {
  /** Failed rows (a thrown call counts each of its rows) after which a model is demoted (stage rejected, by policy). */
  maxModelFailures: number;
  /**
   * How the registry's challenger runs: `shadow` scores every event into the shadow topic (role challenger, never
   * served); `split` serves the events of `share` of the entities (a stable hash of the entity key) by the challenger.
   */
  challenger: { mode: ChallengerMode; share: number };
  /** Contributions (largest |value| first) each prediction record carries; 0: none. The loader always sets it. */
  explainTopK?: number;
  /**
   * Micro-batching of inference: at most `maxRows` rows per onnxruntime call (a larger consumed batch is scored in
   * several calls), and how long inference's own consumer lets a fetch wait for records to gather (null: not at all,
   * a fetch returns as soon as any record is there). When inference runs fused into the features stage, its batch is
   * that stage's and `maxWaitMs` does not apply.
   */
  batch?: { maxRows: number; maxWaitMs: number | null };
  /** onnxruntime session options of the models the pipeline serves. */
  onnx?: { intraOpThreads: number; graphOptimizationLevel: GraphOptimizationLevel };
}

export interface MonitoringSpec {
  /** The drift window as written (e.g. "5m"), for reports. */
  window: string;
  windowMs: number;
  /** A condition still crossed alerts again after this long since its last alert (`monitoring.alert_cooldown`). */
  alertCooldownMs: number;
  psiBins: number;
  psiThreshold: number;
  /** Alert thresholds besides PSI's: KS alerts below its p-value threshold, the others above theirs; null: no alert. */
  thresholds: { ksPValue: number | null; jensenShannon: number | null; wasserstein: number | null };
  /** Evidently-style dataset drift: KS p-values corrected by Benjamini-Hochberg at `alpha`; drift when at least `share` of the features drifted. */
  datasetDrift: { alpha: number; share: number };
  detectors: DetectorsSpec;
  /**
   * Per feature column (every column of the spec, one-hot and hash columns one by one): kind, statistic, threshold,
   * exclusion. A column absent here is numeric with the defaults. Optional so hand-built specs stay valid; the loader always sets it.
   */
  features?: Record<string, FeatureDriftSpec>;
  /** What the latest window is compared with. Absent: the stored training sample. The loader always sets it. */
  reference?: ReferenceSpec;
}

/**
 * Data-quality limits (`data_quality`): checked on the candidate training window before every training run (a failed
 * check blocks the run) and on each monitoring window (a failed check alerts), against the champion's reference.
 */
export interface DataQualitySpec {
  /** false: no check runs (training is not gated, monitoring records none). */
  enabled: boolean;
  /** Per feature: the share of rows where it is missing (absent or NaN) may be at most this. */
  maxMissingRate: number;
  /**
   * Per feature: a value outside [ref min − tolerance·range, ref max + tolerance·range] of the champion's reference
   * sample is out of range; the share of such values among the present ones may be at most maxShare.
   */
  outOfRange: { tolerance: number; maxShare: number };
  /** Per feature: at least this many distinct present values. */
  minDistinct: number;
  /** Per feature: the most frequent present value's share may be at most this (near-constant above it). */
  maxTopValueShare: number;
  /** The positive label rate of the labelled rows must lie in [minLabelRate, maxLabelRate]. */
  minLabelRate: number;
  maxLabelRate: number;
  /** The label rate is judged only with at least this many labelled rows (a monitoring window's labels arrive late). */
  minLabelled: number;
  /** Share of event ids that occur with more than one (entity, event time) in the window. */
  maxDuplicateShare: number;
  /** Rows (distinct events) the window must hold. */
  minRows: number;
  /** A window of another feature spec version than the champion's: fail (require) or record a warning (warn). */
  featureSpecVersion: FeatureSpecVersionRule;
}

export type DriftStatistic = (typeof DRIFT_STATISTICS)[number];
export type FeatureKind = (typeof FEATURE_KINDS)[number];

/** How one feature column is judged for drift (`monitoring.features.<name>`). */
export interface FeatureDriftSpec {
  /** categorical: one_hot / hash columns, or declared; numeric otherwise. */
  kind: FeatureKind;
  /** null: the default for its kind and the reference's size (see docs/pipeline-spec.md, Drift monitoring). */
  statistic: DriftStatistic | null;
  /** null: the statistic's default. A p-value statistic (ks, chi_square) alerts below it, the others above. */
  threshold: number | null;
  /** Never judged, never alerted on, left out of dataset drift. */
  exclude: boolean;
}

/**
 * The reference sample (`monitoring.reference`):
 * - training: the sample stored with the champion, as it was taken;
 * - training_after_warm_up: the champion's training part read back from the features table, from `warmUpMs` after
 *   the pipeline's first feature vector on (the longest aggregate window: before that, windowed aggregates were still
 *   filling up); with no windowed aggregate (warmUpMs 0) the stored sample is used;
 * - window: the feature vectors of a fixed event-time window [fromMs, toMs).
 */
export type ReferenceSpec =
  | { source: 'training' }
  | { source: 'training_after_warm_up'; warmUpMs: number }
  | { source: 'window'; fromMs: number; toMs: number };

/** Change detectors on the live error stream (`monitoring.detectors`); null: turned off. */
export interface DetectorsSpec {
  /** A prediction joins the error stream once this much event time has passed after it, so its label can arrive. */
  labelDelayMs: number;
  /** No detector fires on its first warmUp values after it starts or resets; absent: 0 (River's behaviour). */
  warmUp?: number;
  adwin: { delta?: number; clock?: number; maxBuckets?: number; minWindowLength?: number; gracePeriod?: number } | null;
  pageHinkley: { minInstances?: number; delta?: number; threshold?: number; alpha?: number; mode?: 'up' | 'down' | 'both' } | null;
  ddm: { warmStart?: number; warningThreshold?: number; driftThreshold?: number } | null;
}

/** The validated pipeline spec, with durations in milliseconds and paths made absolute. */
export interface PipelineSpec {
  pipeline: string;
  /** The YAML file it was read from, as given. */
  file: string;
  events: EventsSpec;
  /** Topic names the spec sets explicitly; `topicsFor` fills in the rest. */
  topics: Partial<Record<TopicRole, string>>;
  features: FeaturesSpec;
  labels: LabelsSpec;
  model: ModelSpec;
  training: TrainingSpec;
  /** The loader always sets it; absent (a hand-built spec): the defaults. */
  /** Absent in hand-built specs: DEFAULT_PROMOTION_ALPHA, no minimum gain, DEFAULT_ONLINE_LABELS, DEFAULT_PROBATION_LABELS. The loader always sets it. */
  promotion?: PromotionSpec;
  /** Absent in hand-built specs: performance alerts, a cooldown of DEFAULT_RETRAINING_COOLDOWN, DEFAULT_MIN_NEW_LABELS. */
  retraining?: RetrainingSpec;
  serving?: ServingSpec;
  monitoring: MonitoringSpec;
  /** The loader always sets it; absent (a hand-built spec): DEFAULT_DATA_QUALITY. */
  dataQuality?: DataQualitySpec;
}

/** Reads, validates and normalises a pipeline spec file. Throws SpecError naming the file and every problem. */
export function loadPipelineSpec(file: string): PipelineSpec {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new SpecError(file, [`cannot read the pipeline spec: ${(error as Error).message}`]);
  }
  return parsePipelineSpec(text, file);
}

/** Validates YAML text as if read from `fileName` (relative paths resolve against its directory). */
export function parsePipelineSpec(text: string, fileName: string): PipelineSpec {
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (error) {
    throw new SpecError(fileName, [`not valid YAML: ${(error as Error).message.split('\n')[0].replace(/:$/, '')}`]);
  }
  const parsed = specSchema.safeParse(doc, { reportInput: true });
  if (!parsed.success) throw new SpecError(fileName, parsed.error.issues.flatMap((i) => describeIssue(i)));
  const raw = parsed.data;
  const spec: PipelineSpec = {
    pipeline: raw.pipeline,
    file: fileName,
    events: {
      schemaPath: resolve(dirname(resolve(fileName)), raw.events.schema),
      idField: raw.events.id_field,
      timeField: raw.events.time_field,
      entityField: raw.events.entity_field,
      partitions: raw.events.partitions,
      dedupWindowMs: parseDuration(raw.events.dedup_window)!,
    },
    topics: raw.topics,
    features: {
      version: raw.features.version,
      transforms: raw.features.transforms.map((t): TransformSpec => (t.op === 'expr' ? { ...t, ast: parsedOrUndefined(t.expr) } : t)),
      aggregates: raw.features.aggregates.map((a): AggregateSpec => {
        if ('window' in a) return { ...a, windowMs: parseDuration(a.window)! };
        if (a.op === 'ewm_mean') return { ...a, halfLifeMs: parseDuration(a.half_life)! };
        return a;
      }),
      allowedLatenessMs: raw.features.allowed_lateness === undefined ? null : parseDuration(raw.features.allowed_lateness)!,
      lateEvents: raw.features.late_events,
    },
    labels: labelsSpecOf(raw.labels, fileName),
    model: {
      name: raw.model.name,
      algorithm: raw.model.algorithm,
      params: raw.model.params,
      threshold: typeof raw.model.threshold === 'number' ? raw.model.threshold : 0.5,
      thresholdSelection: thresholdSelectionOf(raw.model.threshold),
      search: raw.model.search === undefined ? null : searchSpecOf(raw.model.search),
      owner: raw.model.owner ?? null,
      intendedUse: raw.model.intended_use ?? null,
    },
    training: {
      minLabels: raw.training.min_labels,
      holdoutFraction: raw.training.holdout_fraction,
      scheduleMs: raw.training.schedule === null ? null : parseDuration(raw.training.schedule)!,
      segmentBy: raw.training.segment_by ?? null,
      window: raw.training.window === 'all' ? { kind: 'all' }
        : typeof raw.training.window === 'string' ? { kind: 'time', lastMs: parseDuration(raw.training.window)! }
          : { kind: 'rows', lastRows: raw.training.window.last_rows },
    },
    retraining: {
      triggers: raw.retraining.triggers.map((t) => (t.statistic === undefined ? { kind: t.kind } : { kind: t.kind, statistic: t.statistic })),
      cooldownMs: parseDuration(raw.retraining.cooldown)!,
      minNewLabels: raw.retraining.min_new_labels,
    },
    promotion: { alpha: raw.promotion.alpha, minAucGain: raw.promotion.min_auc_gain, onlineLabels: raw.promotion.online_labels, probationLabels: raw.promotion.probation_labels },
    serving: {
      maxModelFailures: raw.serving.max_model_failures, challenger: { mode: raw.serving.challenger.mode, share: raw.serving.challenger.share }, explainTopK: raw.serving.explain_top_k,
      batch: { maxRows: raw.serving.batch.max_rows, maxWaitMs: raw.serving.batch.max_wait === null ? null : parseDuration(raw.serving.batch.max_wait)! },
      onnx: { intraOpThreads: raw.serving.onnx.intra_op_threads, graphOptimizationLevel: raw.serving.onnx.graph_optimization_level },
    },
    monitoring: {
      window: raw.monitoring.window,
      windowMs: parseDuration(raw.monitoring.window)!,
      alertCooldownMs: parseDuration(raw.monitoring.alert_cooldown)!,
      psiBins: raw.monitoring.psi_bins,
      psiThreshold: raw.monitoring.psi_threshold,
      thresholds: {
        ksPValue: raw.monitoring.thresholds.ks_p_value ?? null,
        jensenShannon: raw.monitoring.thresholds.jensen_shannon ?? null,
        wasserstein: raw.monitoring.thresholds.wasserstein ?? null,
      },
      datasetDrift: { alpha: raw.monitoring.dataset_drift.alpha, share: raw.monitoring.dataset_drift.share },
      detectors: detectorsOf(raw.monitoring.detectors),
    },
  };
  spec.dataQuality = dataQualityOf(raw.data_quality);
  spec.monitoring.features = featureDriftSpecsOf(spec.features, raw.monitoring.features);
  spec.monitoring.reference = referenceOf(spec.features, raw.monitoring.reference);
  const problems = [...crossCheck(spec), ...labelsProblems(raw.labels, spec.labels, spec.events), ...monitoringProblems(spec, raw.monitoring)];
  problems.push(...dataQualityProblems(spec.dataQuality));
  if (problems.length > 0) throw new SpecError(fileName, problems);
  return spec;
}

function dataQualityProblems(dq: DataQualitySpec): string[] {
  return dq.minLabelRate > dq.maxLabelRate
    ? [`data_quality.min_label_rate: expected at most data_quality.max_label_rate (${dq.maxLabelRate}), got ${dq.minLabelRate}`]
    : [];
}

function dataQualityOf(raw: z.infer<typeof specSchema>['data_quality']): DataQualitySpec {
  return {
    enabled: raw.enabled,
    maxMissingRate: raw.max_missing_rate,
    outOfRange: { tolerance: raw.out_of_range.tolerance, maxShare: raw.out_of_range.max_share },
    minDistinct: raw.min_distinct,
    maxTopValueShare: raw.max_top_value_share,
    minLabelRate: raw.min_label_rate,
    maxLabelRate: raw.max_label_rate,
    minLabelled: raw.min_labelled,
    maxDuplicateShare: raw.max_duplicate_share,
    minRows: raw.min_rows,
    featureSpecVersion: raw.feature_spec_version,
  };
}

/** The expression's AST; undefined when it does not parse (crossCheck reports why, with the key). */
function parsedOrUndefined(text: string): ExprNode | undefined {
  try {
    return parseExpr(text);
  } catch (error) {
    if (error instanceof ExprError) return undefined;
    throw error;
  }
}

function thresholdSelectionOf(threshold: unknown): ThresholdSelection | null {
  if (threshold === 'max_f1') return { strategy: 'max_f1' };
  if (isPlainObject(threshold)) return { strategy: 'target_precision', precision: threshold.target_precision as number };
  return null;
}

/** The YAML distribution shorthand as the ML library's distribution objects (already validated by the schema). */
function distributionOf(entry: unknown): SearchDistribution | ParamScalar {
  if (isScalar(entry)) return entry;
  const d = entry as Record<string, unknown>;
  if (Array.isArray(d.choice)) return { type: 'choice', values: [...(d.choice as ParamScalar[])] };
  if (Array.isArray(d.int)) {
    const [low, high] = d.int as [number, number];
    return d.log === true ? { type: 'int', low, high, log: true } : { type: 'int', low, high };
  }
  const type = Array.isArray(d.uniform) ? 'uniform' : 'log_uniform';
  const [low, high] = d[type] as [number, number];
  return { type, low, high };
}

function searchSpecOf(raw: z.infer<typeof searchSchema>): SearchSpec {
  const base: SearchSpecBase = {
    cv: raw.cv,
    metric: raw.metric === 'pr_auc' ? 'average_precision' : raw.metric,
    seed: raw.seed,
    space: Object.fromEntries(Object.entries(raw.space).map(([name, entry]) => [name, distributionOf(entry)])),
  };
  if (raw.strategy === 'random') return { ...base, strategy: 'random', trials: raw.trials };
  return {
    ...base, strategy: 'successive_halving', candidates: raw.candidates, factor: raw.factor, resource: raw.resource,
    minResource: raw.min_resource, maxResource: raw.max_resource ?? (raw.resource === ROWS_RESOURCE ? 1 : Number.NaN),
  };
}

type RawFeatureDrift = z.infer<typeof specSchema>['monitoring']['features'][string];

/**
 * Every column's drift settings: its kind (one_hot / hash columns are categorical) with the settings of its own key
 * or of its transform's name (a column's own key wins). Unknown keys are left to crossCheck.
 */
function featureDriftSpecsOf(features: Pick<FeaturesSpec, 'transforms' | 'aggregates'>, raw: Record<string, RawFeatureDrift>): Record<string, FeatureDriftSpec> {
  const out: Record<string, FeatureDriftSpec> = {};
  const set = (column: string, group: string | undefined, kind: FeatureKind) => {
    const own = raw[column];
    const shared = group === undefined ? undefined : raw[group];
    out[column] = {
      kind: own?.kind ?? shared?.kind ?? kind,
      statistic: own?.statistic ?? shared?.statistic ?? null,
      threshold: own?.threshold ?? shared?.threshold ?? null,
      exclude: own?.exclude ?? shared?.exclude ?? false,
    };
  };
  for (const t of features.transforms) {
    if (t.op === 'one_hot') for (const c of oneHotColumns(t.name, t.categories)) set(c, t.name, 'categorical');
    else if (t.op === 'hash') for (const c of hashColumns(t.name, t.buckets)) set(c, t.name, 'categorical');
    else set(t.name, undefined, 'numeric');
  }
  for (const a of features.aggregates) set(a.name, undefined, 'numeric');
  return out;
}

/** The longest sliding window of the spec's aggregates: how long after the stream's start they are all filled. */
export function longestAggregateWindowMs(features: Pick<FeaturesSpec, 'aggregates'>): number {
  return Math.max(0, ...features.aggregates.map((a) => ('windowMs' in a ? a.windowMs : 0)));
}

function referenceOf(features: Pick<FeaturesSpec, 'aggregates'>, raw: z.infer<typeof specSchema>['monitoring']['reference']): ReferenceSpec {
  if (raw === 'training') return { source: 'training' };
  if (raw === 'training_after_warm_up') return { source: 'training_after_warm_up', warmUpMs: longestAggregateWindowMs(features) };
  return { source: 'window', fromMs: epochMsOf(raw.from), toMs: epochMsOf(raw.to) };
}

function detectorsOf(raw: z.infer<typeof specSchema>['monitoring']['detectors']): DetectorsSpec {
  const camel = (o: Record<string, unknown>) => Object.fromEntries(Object.entries(o).map(([k, v]) => [k.replace(/_([a-z])/g, (_m, c: string) => c.toUpperCase()), v]));
  return {
    labelDelayMs: parseDuration(raw.label_delay)!,
    warmUp: raw.warm_up,
    adwin: raw.adwin === false ? null : camel(raw.adwin),
    pageHinkley: raw.page_hinkley === false ? null : { threshold: DEFAULT_PAGE_HINKLEY_THRESHOLD, ...camel(raw.page_hinkley) },
    ddm: raw.ddm === false ? null : { driftThreshold: DEFAULT_DDM_DRIFT_THRESHOLD, ...camel(raw.ddm) },
  };
}

/** Feature names in the model's input order: transforms in order (one-hot expanded), then aggregates. */
export function featureNamesOf(features: Pick<FeaturesSpec, 'transforms' | 'aggregates'>): string[] {
  const names: string[] = [];
  for (const t of features.transforms) {
    if (t.op === 'one_hot') names.push(...oneHotColumns(t.name, t.categories));
    else if (t.op === 'hash') names.push(...hashColumns(t.name, t.buckets));
    else names.push(t.name);
  }
  for (const a of features.aggregates) names.push(a.name);
  return names;
}

/** The one-hot "other" category: any value outside the listed categories. */
export const ONE_HOT_OTHER = '__other__';

export function oneHotColumns(name: string, categories: readonly string[]): string[] {
  return [...categories, ONE_HOT_OTHER].map((c) => `${name}=${c}`);
}

/** Columns of a hashed categorical: `name=#0` … `name=#<buckets-1>`. */
export function hashColumns(name: string, buckets: number): string[] {
  return Array.from({ length: buckets }, (_, i) => `${name}=#${i}`);
}

// ---------------------------------------------------------------------------------------------------------

/** Which statistics fit which kind of feature: a KS or Wasserstein distance between category indicators means little. */
const STATISTICS_BY_KIND: Record<FeatureKind, readonly DriftStatistic[]> = {
  numeric: ['wasserstein_normed', 'ks', 'psi', 'jensen_shannon'],
  categorical: ['jensen_shannon', 'chi_square', 'psi'],
};

/** `monitoring.features` names real features with settings that fit them; a reference window is not empty. */
function monitoringProblems(spec: PipelineSpec, raw: z.infer<typeof specSchema>['monitoring']): string[] {
  const problems: string[] = [];
  const columns = featureNamesOf(spec.features);
  const grouped = new Map<string, string>();
  for (const t of spec.features.transforms) if (t.op === 'one_hot' || t.op === 'hash') grouped.set(t.name, t.op);
  const known = new Set([...columns, ...grouped.keys()]);
  for (const [name, settings] of Object.entries(raw.features)) {
    const path = `monitoring.features.${name}`;
    if (!known.has(name)) {
      const listed = columns.length > 12 ? `${columns.slice(0, 12).join(', ')}, …` : columns.join(', ');
      problems.push(`${path}: no feature "${name}" in this spec; expected a feature column (${listed})${grouped.size > 0 ? ` or a one_hot/hash transform name (${[...grouped.keys()].join(', ')})` : ''}`);
      continue;
    }
    const op = grouped.get(name) ?? (columns.includes(name) && name.includes('=') ? grouped.get(name.split('=')[0]) : undefined);
    if (op && settings.kind === 'numeric') problems.push(`${path}.kind: "${name}" is a ${op} column (a category indicator), expected categorical or no kind`);
    const kind = settings.kind ?? (op ? 'categorical' : 'numeric');
    if (settings.statistic && !STATISTICS_BY_KIND[kind].includes(settings.statistic)) {
      problems.push(`${path}.statistic: ${settings.statistic} does not fit a ${kind} feature, expected one of ${STATISTICS_BY_KIND[kind].join(', ')}`);
    }
    if (settings.threshold !== undefined) {
      const statistic = settings.statistic;
      if (!statistic) problems.push(`${path}.threshold: set statistic too, since the threshold's meaning depends on it (a p-value, a distance or PSI)`);
      else if ((statistic === 'ks' || statistic === 'chi_square') && !(settings.threshold < 1)) problems.push(`${path}.threshold: ${statistic} is judged by its p-value, expected a number in (0, 1), got ${settings.threshold}`);
      else if (statistic === 'jensen_shannon' && settings.threshold > 1) problems.push(`${path}.threshold: the Jensen–Shannon distance is at most 1, expected a number in (0, 1], got ${settings.threshold}`);
    }
    if (settings.exclude && (settings.statistic || settings.threshold !== undefined)) {
      problems.push(`${path}: exclude: true is never judged; remove statistic and threshold, or exclude`);
    }
  }
  const reference = spec.monitoring.reference;
  if (reference?.source === 'window' && !(reference.fromMs < reference.toMs)) {
    problems.push(`monitoring.reference.from: expected a time before to (${shown(typeof raw.reference === 'object' ? raw.reference.to : undefined)}), got ${shown(typeof raw.reference === 'object' ? raw.reference.from : undefined)}`);
  }
  return problems;
}

/** Checks that need the whole spec and the event schema: fields exist with usable types, names are unique, references resolve. */
function crossCheck(spec: PipelineSpec): string[] {
  let schema: EventSchemaInfo;
  try {
    schema = readEventSchema(spec.events.schemaPath);
  } catch (error) {
    return [`events.schema: ${(error as Error).message}`];
  }
  const problems: string[] = [];
  const { fields } = schema;
  const fieldList = () => [...fields.keys()].join(', ');
  const typeProblem = (path: string, f: EventField, expected: string) =>
    problems.push(`${path}: field "${f.name}" is ${describeFieldType(f)} in the event schema, expected ${expected}`);
  /** The field, or undefined after reporting that the schema lacks it. */
  const field = (path: string, name: string): EventField | undefined => {
    const f = fields.get(name);
    if (!f) problems.push(`${path}: the event schema ${schema.name} has no field "${name}" (it has ${fieldList()})`);
    return f;
  };
  const numeric = (path: string, name: string) => {
    const f = field(path, name);
    if (f && f.kind !== 'number' && f.kind !== 'boolean') typeProblem(path, f, 'a number (int, long, float, double) or boolean');
  };
  /** A field read as category text: strings, enums, int/long (decimal digits) and booleans; not float/double, whose text is not exact. */
  const categorical = (path: string, name: string): EventField | undefined => {
    const f = field(path, name);
    const integer = f?.kind === 'number' && (f.typeName === 'int' || f.typeName === 'long');
    if (f && !integer && f.kind !== 'string' && f.kind !== 'enum' && f.kind !== 'boolean') {
      typeProblem(path, f, 'a string, enum, int, long or boolean (a float or double has no exact text to compare as a category)');
    }
    return f;
  };
  /** An entity key: its text keys state and Kafka partitions, so it must be exact; a float or double (1.0 vs 1) is not. */
  const keyLike = (path: string, name: string) => {
    const f = field(path, name);
    const integer = f?.kind === 'number' && (f.typeName === 'int' || f.typeName === 'long');
    if (f && !integer && f.kind !== 'string' && f.kind !== 'enum') typeProblem(path, f, 'a string, enum, int or long entity key');
  };

  const id = field('events.id_field', spec.events.idField);
  if (id && (id.nullable || !['string', 'int', 'long'].includes(id.typeName))) typeProblem('events.id_field', id, 'a string, int or long that is never null');
  const time = field('events.time_field', spec.events.timeField);
  if (time && (time.nullable || time.typeName !== 'long' || (time.logicalType !== undefined && time.logicalType !== 'timestamp-millis'))) {
    typeProblem('events.time_field', time, 'a long of epoch milliseconds (logicalType timestamp-millis) that is never null');
  }
  keyLike('events.entity_field', spec.events.entityField);

  const names = new Map<string, string>();
  const claim = (path: string, column: string) => {
    const first = names.get(column);
    if (first) problems.push(`${path}: feature name "${column}" is used twice (also by ${first})`);
    else names.set(column, path);
  };

  spec.features.transforms.forEach((t, i) => {
    const path = `features.transforms[${i}]`;
    if (t.op === 'one_hot') for (const column of oneHotColumns(t.name, t.categories)) claim(`${path}.name`, column);
    else if (t.op === 'hash') for (const column of hashColumns(t.name, t.buckets)) claim(`${path}.name`, column);
    else claim(`${path}.name`, t.name);
  });
  const aggregateNames = new Set<string>();
  spec.features.aggregates.forEach((a, i) => {
    const path = `features.aggregates[${i}]`;
    claim(`${path}.name`, a.name);
    aggregateNames.add(a.name);
    keyLike(`${path}.entity`, a.entity);
    if (a.op === 'distinct_count') {
      // Values are told apart by their text, so anything with a stable text form can be counted.
      const f = field(`${path}.field`, a.field);
      if (f && !['string', 'enum', 'number', 'boolean'].includes(f.kind)) typeProblem(`${path}.field`, f, 'a string, enum, number or boolean');
    } else if ('field' in a) numeric(`${path}.field`, a.field);
  });

  /**
   * What is wrong with `name` as a number read by transforms[i] (a ratio operand, a name in an expr), or undefined.
   * It reads, in this order: an aggregate (the entity's state before the event), a one-number transform declared
   * before i, a number or boolean event field; the features computer resolves names the same way.
   */
  const transformsByName = new Map(spec.features.transforms.map((t, j) => [t.name, { t, j }]));
  const oneNumber = (t: TransformSpec) => t.op !== 'one_hot' && t.op !== 'hash';
  const operandProblem = (name: string, i: number): string | undefined => {
    if (aggregateNames.has(name)) return undefined;
    const declared = transformsByName.get(name);
    if (declared && declared.j < i && oneNumber(declared.t)) return undefined;
    const f = fields.get(name);
    if (f) return f.kind === 'number' || f.kind === 'boolean' ? undefined : `field "${f.name}" is ${describeFieldType(f)} in the event schema, expected a number or boolean`;
    if (declared && declared.j >= i) {
      return `"${name}" is features.transforms[${declared.j}], ${declared.j === i ? 'this transform itself' : 'declared after this one'}; a transform reads only the transforms before it`;
    }
    if (declared) return `"${name}" is a ${declared.t.op} transform (features.transforms[${declared.j}]) of several columns, not one number`;
    const earlier = spec.features.transforms.slice(0, i).filter(oneNumber).map((t) => t.name);
    return `"${name}" is neither an aggregate (${[...aggregateNames].join(', ') || 'none declared'}), an earlier transform (${earlier.join(', ') || 'none'}) nor an event field (${fieldList()})`;
  };

  spec.features.transforms.forEach((t, i) => {
    const path = `features.transforms[${i}]`;
    switch (t.op) {
      case 'passthrough':
      case 'log1p':
        numeric(`${path}.field`, t.field);
        break;
      case 'clip':
        numeric(`${path}.field`, t.field);
        if (t.min > t.max) problems.push(`${path}.min: ${t.min} is above max ${t.max}`);
        break;
      case 'bucketize':
        numeric(`${path}.field`, t.field);
        t.boundaries.forEach((b, j) => {
          if (j > 0 && b <= t.boundaries[j - 1]) problems.push(`${path}.boundaries[${j}]: expected strictly increasing numbers, got ${b} after ${t.boundaries[j - 1]}`);
        });
        break;
      case 'one_hot': {
        const f = categorical(`${path}.field`, t.field);
        const seen = new Set<string>();
        t.categories.forEach((c, j) => {
          const at = `${path}.categories[${j}]`;
          if (seen.has(c)) problems.push(`${at}: "${c}" is listed twice`);
          seen.add(c);
          if (c === ONE_HOT_OTHER) problems.push(`${at}: "${ONE_HOT_OTHER}" is reserved for values outside the list`);
          else if (f?.symbols && !f.symbols.includes(c)) problems.push(`${at}: "${c}" is not a symbol of the enum field "${f.name}" (${f.symbols.join(', ')})`);
          // A category the field can never take would be a column that is always 0: almost certainly a typo.
          else if (f?.kind === 'number' && !/^-?\d+$/.test(c)) problems.push(`${at}: expected an integer like the field "${f.name}" (${describeFieldType(f)}), got "${c}"`);
          else if (f?.kind === 'boolean' && c !== 'true' && c !== 'false') problems.push(`${at}: expected true or false like the field "${f.name}" (${describeFieldType(f)}), got "${c}"`);
        });
        break;
      }
      case 'hash':
        categorical(`${path}.field`, t.field);
        break;
      case 'not_equal': {
        const f = field(`${path}.field`, t.field);
        if (!f) break;
        const want = f.kind === 'number' ? 'number' : f.kind === 'boolean' ? 'boolean' : f.kind === 'other' ? undefined : 'string';
        if (!want) typeProblem(`${path}.field`, f, 'a string, enum, number or boolean');
        else if (typeof t.value !== want) problems.push(`${path}.value: expected a ${want} like the field "${f.name}" (${describeFieldType(f)}), got ${shown(t.value)}`);
        else if (f.symbols && !f.symbols.includes(String(t.value))) problems.push(`${path}.value: ${shown(t.value)} is not a symbol of the enum field "${f.name}" (${f.symbols.join(', ')})`);
        break;
      }
      case 'ratio':
        for (const side of ['numerator', 'denominator'] as const) {
          const problem = operandProblem(t[side], i);
          if (problem) problems.push(`${path}.${side}: ${problem}`);
        }
        break;
      case 'expr': {
        // The loader leaves no AST when the text does not parse: parse again for the reason.
        let ast = t.ast;
        if (!ast) {
          try {
            ast = parseExpr(t.expr);
          } catch (error) {
            if (!(error instanceof ExprError)) throw error;
            problems.push(`${path}.expr: ${error.message}`);
            break;
          }
        }
        for (const { name, column } of exprNames(ast)) {
          const problem = operandProblem(name, i);
          if (problem) problems.push(`${path}.expr: column ${column}: ${problem}`);
        }
        break;
      }
      case 'hour_of_day':
      case 'day_of_week':
        break;
    }
  });
  if (spec.features.transforms.length + spec.features.aggregates.length === 0) problems.push('features: declares no transform and no aggregate; a model needs at least one feature');

  const search = spec.model.search;
  if (search?.strategy === 'successive_halving') {
    const { resource, minResource, maxResource } = search;
    if (resource === ROWS_RESOURCE) {
      if (minResource > 1) problems.push(`model.search.min_resource: a rows budget is a fraction of the training rows, expected a number <= 1, got ${minResource}`);
      else if (maxResource > 1) problems.push(`model.search.max_resource: a rows budget is a fraction of the training rows, expected a number <= 1, got ${maxResource}`);
      else if (maxResource < minResource) problems.push(`model.search.max_resource: expected at least min_resource (${minResource}), got ${maxResource}`);
    } else {
      if (resource in search.space) problems.push(`model.search.resource: "${resource}" is also in model.search.space; the halving budget sets it`);
      if (Number.isNaN(maxResource)) problems.push(`model.search.max_resource: required when the resource is the model param "${resource}" (the largest budget a rung may use)`);
      else if (!Number.isInteger(maxResource)) problems.push(`model.search.max_resource: a param budget is an integer, got ${maxResource}`);
      else if (maxResource < minResource) problems.push(`model.search.max_resource: expected at least min_resource (${minResource}), got ${maxResource}`);
      if (!Number.isInteger(minResource)) problems.push(`model.search.min_resource: a param budget is an integer, got ${minResource}`);
    }
  }
  if (spec.training.segmentBy) {
    const f = field('training.segment_by', spec.training.segmentBy);
    if (f && !['string', 'enum', 'number', 'boolean'].includes(f.kind)) typeProblem('training.segment_by', f, 'a string, enum, number or boolean');
  }

  // Checked after defaults: an explicit name may collide with a derived one.
  const topics = topicsFor(spec);
  const topicRoles = new Map<string, TopicRole>();
  for (const role of TOPIC_ROLES) {
    const other = topicRoles.get(topics[role]);
    if (other) problems.push(`topics.${spec.topics[role] !== undefined ? role : other}: "${topics[role]}" is both the ${other} and the ${role} topic; every role needs its own topic`);
    else topicRoles.set(topics[role], role);
  }
  return problems;
}
