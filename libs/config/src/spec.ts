import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { parseDuration } from './duration';
import { describeFieldType, readEventSchema, type EventField, type EventSchemaInfo } from './event-schema';
import { describeIssue, shown } from './issues';
import { topicsFor } from './topics';

/** A pipeline spec that cannot be used; the message names the file and every offending key path. */
export class SpecError extends Error {
  override name = 'SpecError';
  constructor(readonly file: string, readonly problems: string[]) {
    super(problems.length === 1 ? `${file}: ${problems[0]}` : `${file}: ${problems.length} problems\n${problems.map((p) => `  ${file}: ${p}`).join('\n')}`);
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
export const TRANSFORM_OPS = ['passthrough', 'log1p', 'clip', 'bucketize', 'one_hot', 'hour_of_day', 'day_of_week', 'not_equal', 'ratio'] as const;
const transformSchema = z.discriminatedUnion('op', [
  numericOp('passthrough'),
  numericOp('log1p'),
  z.object({ name: featureName, op: z.literal('clip'), field: fieldName, min: z.number(), max: z.number() }).strict(),
  z.object({ name: featureName, op: z.literal('bucketize'), field: fieldName, boundaries: z.array(z.number()).min(1) }).strict(),
  z.object({ name: featureName, op: z.literal('one_hot'), field: fieldName, categories: z.array(z.string().min(1)).min(1) }).strict(),
  z.object({ name: featureName, op: z.literal('hour_of_day') }).strict(),
  z.object({ name: featureName, op: z.literal('day_of_week') }).strict(),
  z.object({ name: featureName, op: z.literal('not_equal'), field: fieldName, value: z.union([z.string(), z.number(), z.boolean()]) }).strict(),
  z.object({ name: featureName, op: z.literal('ratio'), numerator: fieldName, denominator: fieldName }).strict(),
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
    raw: topicName, events: topicName, dlq: topicName, features: topicName, predictions: topicName,
    labels: topicName, alerts: topicName, models: topicName,
  }).partial().strict().default({}),
  features: z.object({
    version: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'expected a version like v1 or 2026-01'),
    transforms: z.array(transformSchema).default([]),
    aggregates: z.array(aggregateSchema).default([]),
    allowed_lateness: duration.optional(),
    late_events: z.enum(LATE_EVENT_POLICIES).default('drop'),
  }).strict(),
  labels: z.object({ field: fieldName }).strict(),
  model: z.object({
    name: modelName,
    algorithm: z.enum(MODEL_ALGORITHMS),
    params: z.record(z.string(), z.union([z.number(), z.string(), z.boolean()])).default({}),
    threshold: z.number().min(0).max(1).default(0.5),
  }).strict(),
  training: z.object({
    min_labels: z.number().int().min(10).default(500),
    holdout_fraction: z.number().gt(0).lt(1).default(0.2),
    schedule: duration.nullable().default(null),
  }).strict().prefault({}),
  monitoring: z.object({
    window: duration.default('5m'),
    psi_bins: z.number().int().min(2).max(100).default(10),
    psi_threshold: z.number().positive().default(0.2),
  }).strict().prefault({}),
}).strict();

// ---------------------------------------------------------------------------------------------------------
// The validated spec as the services use it: camelCase, durations in ms, the schema path absolute.

export type TransformSpec = z.infer<typeof transformSchema>;
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
export const TOPIC_ROLES = ['raw', 'events', 'dlq', 'features', 'predictions', 'labels', 'alerts', 'models'] as const;
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

export interface LabelsSpec {
  /** The target's name, recorded in model metadata. Labels travel as schemas/label.avsc on the labels topic. */
  field: string;
}

export interface ModelSpec {
  name: string;
  algorithm: ModelAlgorithm;
  params: Record<string, number | string | boolean>;
  /** Score at or above which the predicted label is 1. */
  threshold: number;
}

export interface TrainingSpec {
  minLabels: number;
  holdoutFraction: number;
  /** Retrain every so often; null: on alerts and on command only. */
  scheduleMs: number | null;
}

export interface MonitoringSpec {
  /** The drift window as written (e.g. "5m"), for reports. */
  window: string;
  windowMs: number;
  psiBins: number;
  psiThreshold: number;
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
  monitoring: MonitoringSpec;
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
      transforms: raw.features.transforms,
      aggregates: raw.features.aggregates.map((a): AggregateSpec => {
        if ('window' in a) return { ...a, windowMs: parseDuration(a.window)! };
        if (a.op === 'ewm_mean') return { ...a, halfLifeMs: parseDuration(a.half_life)! };
        return a;
      }),
      allowedLatenessMs: raw.features.allowed_lateness === undefined ? null : parseDuration(raw.features.allowed_lateness)!,
      lateEvents: raw.features.late_events,
    },
    labels: raw.labels,
    model: raw.model,
    training: {
      minLabels: raw.training.min_labels,
      holdoutFraction: raw.training.holdout_fraction,
      scheduleMs: raw.training.schedule === null ? null : parseDuration(raw.training.schedule)!,
    },
    monitoring: {
      window: raw.monitoring.window,
      windowMs: parseDuration(raw.monitoring.window)!,
      psiBins: raw.monitoring.psi_bins,
      psiThreshold: raw.monitoring.psi_threshold,
    },
  };
  const problems = crossCheck(spec);
  if (problems.length > 0) throw new SpecError(fileName, problems);
  return spec;
}

/** Feature names in the model's input order: transforms in order (one-hot expanded), then aggregates. */
export function featureNamesOf(features: Pick<FeaturesSpec, 'transforms' | 'aggregates'>): string[] {
  const names: string[] = [];
  for (const t of features.transforms) {
    if (t.op === 'one_hot') names.push(...oneHotColumns(t.name, t.categories));
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

// ---------------------------------------------------------------------------------------------------------

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
  const keyLike = (path: string, name: string) => {
    const f = field(path, name);
    if (f && !['string', 'enum', 'number'].includes(f.kind)) typeProblem(path, f, 'a string, enum or integer entity key');
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
        const f = field(`${path}.field`, t.field);
        if (f && f.kind !== 'string' && f.kind !== 'enum') typeProblem(`${path}.field`, f, 'a string or enum');
        const seen = new Set<string>();
        t.categories.forEach((c, j) => {
          if (seen.has(c)) problems.push(`${path}.categories[${j}]: "${c}" is listed twice`);
          seen.add(c);
          if (c === ONE_HOT_OTHER) problems.push(`${path}.categories[${j}]: "${ONE_HOT_OTHER}" is reserved for values outside the list`);
          else if (f?.symbols && !f.symbols.includes(c)) problems.push(`${path}.categories[${j}]: "${c}" is not a symbol of the enum field "${f.name}" (${f.symbols.join(', ')})`);
        });
        break;
      }
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
          const ref = t[side];
          // An aggregate of that name wins over an event field of the same name.
          if (aggregateNames.has(ref)) continue;
          const f = fields.get(ref);
          if (!f) problems.push(`${path}.${side}: "${ref}" is neither an aggregate (${[...aggregateNames].join(', ') || 'none declared'}) nor an event field (${fieldList()})`);
          else if (f.kind !== 'number' && f.kind !== 'boolean') typeProblem(`${path}.${side}`, f, 'a number or boolean');
        }
        break;
      case 'hour_of_day':
      case 'day_of_week':
        break;
    }
  });
  if (spec.features.transforms.length + spec.features.aggregates.length === 0) problems.push('features: declares no transform and no aggregate; a model needs at least one feature');

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
