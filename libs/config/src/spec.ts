import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { parseDuration } from './duration';

/** A pipeline spec that cannot be used; the message names the file and every offending key. */
export class SpecError extends Error {
  override name = 'SpecError';
  constructor(readonly file: string, readonly problems: string[]) {
    super(`${file}: ${problems.join('\n' + ' '.repeat(file.length + 2))}`);
  }
}

const name = z.string().regex(/^[a-z][a-z0-9_-]*$/, 'expected lowercase letters, digits, _ or -, starting with a letter');
const duration = z.string().refine((s) => parseDuration(s) !== undefined, { message: 'expected a duration like 500ms, 30s, 5m, 1h, 7d' });

const transform = z.discriminatedUnion('op', [
  z.object({ name: z.string().min(1), op: z.literal('passthrough'), field: z.string() }).strict(),
  z.object({ name: z.string().min(1), op: z.literal('log1p'), field: z.string() }).strict(),
  z.object({ name: z.string().min(1), op: z.literal('clip'), field: z.string(), min: z.number(), max: z.number() }).strict(),
  z.object({ name: z.string().min(1), op: z.literal('bucketize'), field: z.string(), boundaries: z.array(z.number()).min(1) }).strict(),
  z.object({ name: z.string().min(1), op: z.literal('one_hot'), field: z.string(), categories: z.array(z.string()).min(1) }).strict(),
  z.object({ name: z.string().min(1), op: z.literal('hour_of_day') }).strict(),
  z.object({ name: z.string().min(1), op: z.literal('day_of_week') }).strict(),
  z.object({ name: z.string().min(1), op: z.literal('ratio'), numerator: z.string(), denominator: z.string() }).strict(),
]);

const aggregate = z.discriminatedUnion('op', [
  z.object({ name: z.string().min(1), op: z.literal('count'), entity: z.string(), window: duration }).strict(),
  ...(['sum', 'mean', 'min', 'max'] as const).map((op) =>
    z.object({ name: z.string().min(1), op: z.literal(op), entity: z.string(), field: z.string(), window: duration }).strict(),
  ),
  z.object({ name: z.string().min(1), op: z.literal('time_since_last'), entity: z.string() }).strict(),
]);

const specSchema = z.object({
  pipeline: name,
  events: z.object({
    schema: z.string(),
    id_field: z.string(),
    time_field: z.string(),
    entity_field: z.string(),
    partitions: z.number().int().min(1).max(1000).default(3),
    dedup_window: duration.default('1h'),
  }).strict(),
  topics: z.object({
    raw: z.string(), events: z.string(), dlq: z.string(), features: z.string(), predictions: z.string(),
    labels: z.string(), alerts: z.string(), models: z.string(),
  }).partial().strict().default({}),
  features: z.object({
    version: z.string().min(1),
    transforms: z.array(transform).default([]),
    aggregates: z.array(aggregate).default([]),
  }).strict(),
  labels: z.object({ field: z.string() }).strict(),
  model: z.object({
    name,
    algorithm: z.enum(['logistic_regression']),
    params: z.record(z.string(), z.union([z.number(), z.string(), z.boolean()])).default({}),
    threshold: z.number().min(0).max(1).default(0.5),
  }).strict(),
  training: z.object({
    min_labels: z.number().int().min(10).default(500),
    holdout_fraction: z.number().gt(0).lt(1).default(0.2),
    schedule: duration.nullable().default(null),
  }).strict().default({ min_labels: 500, holdout_fraction: 0.2, schedule: null }),
  monitoring: z.object({
    window: duration.default('5m'),
    psi_bins: z.number().int().min(2).max(100).default(10),
    psi_threshold: z.number().positive().default(0.2),
  }).strict().default({ window: '5m', psi_bins: 10, psi_threshold: 0.2 }),
}).strict();

type RawSpec = z.infer<typeof specSchema>;
export type TransformSpec = z.infer<typeof transform>;
export type AggregateSpec = z.infer<typeof aggregate>;
export type TopicRole = 'raw' | 'events' | 'dlq' | 'features' | 'predictions' | 'labels' | 'alerts' | 'models';

/** The validated pipeline spec, with durations in milliseconds and paths made absolute. */
export interface PipelineSpec {
  pipeline: string;
  /** The YAML file it was read from. */
  file: string;
  events: {
    schemaPath: string;
    idField: string;
    timeField: string;
    entityField: string;
    partitions: number;
    dedupWindowMs: number;
  };
  topics: Partial<Record<TopicRole, string>>;
  features: { version: string; transforms: TransformSpec[]; aggregates: AggregateSpec[] };
  labels: { field: string };
  model: { name: string; algorithm: RawSpec['model']['algorithm']; params: Record<string, number | string | boolean>; threshold: number };
  training: { minLabels: number; holdoutFraction: number; scheduleMs: number | null };
  monitoring: { window: string; windowMs: number; psiBins: number; psiThreshold: number };
}

export function loadPipelineSpec(file: string): PipelineSpec {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new SpecError(file, [`cannot read the pipeline spec: ${(error as Error).message}`]);
  }
  return parsePipelineSpec(text, file);
}

export function parsePipelineSpec(text: string, file: string): PipelineSpec {
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (error) {
    throw new SpecError(file, [`not valid YAML: ${(error as Error).message}`]);
  }
  const parsed = specSchema.safeParse(doc);
  if (!parsed.success) throw new SpecError(file, parsed.error.issues.flatMap(describeIssue));
  const raw = parsed.data;
  const schemaPath = resolve(dirname(resolve(file)), raw.events.schema);
  const spec: PipelineSpec = {
    pipeline: raw.pipeline,
    file,
    events: {
      schemaPath,
      idField: raw.events.id_field,
      timeField: raw.events.time_field,
      entityField: raw.events.entity_field,
      partitions: raw.events.partitions,
      dedupWindowMs: parseDuration(raw.events.dedup_window)!,
    },
    topics: raw.topics,
    features: raw.features,
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
  if (problems.length > 0) throw new SpecError(file, problems);
  return spec;
}

function describeIssue(issue: z.core.$ZodIssue): string[] {
  const path = formatPath(issue.path);
  if (issue.code === 'unrecognized_keys') return issue.keys.map((k) => `${path ? `${path}.` : ''}${k}: unknown key`);
  if (issue.code === 'invalid_union' && 'note' in issue && issue.note === 'No matching discriminator') {
    return [`${path}.op: expected one of the known operations, got ${JSON.stringify(issue.input ?? undefined)}`];
  }
  return [`${path || '(top level)'}: ${issue.message}`];
}

function formatPath(path: PropertyKey[]): string {
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : `${i === 0 ? '' : '.'}${String(p)}`)).join('');
}

/** Checks that need the whole spec and the event schema: fields exist, names are unique, references resolve. */
function crossCheck(spec: PipelineSpec): string[] {
  const problems: string[] = [];
  let fields: Map<string, unknown>;
  try {
    const schema = JSON.parse(readFileSync(spec.events.schemaPath, 'utf8')) as { type?: string; fields?: Array<{ name: string; type: unknown }> };
    if (schema.type !== 'record' || !Array.isArray(schema.fields)) {
      return [`events.schema: ${spec.events.schemaPath} must be an Avro record schema`];
    }
    fields = new Map(schema.fields.map((f) => [f.name, f.type]));
  } catch (error) {
    return [`events.schema: cannot read ${spec.events.schemaPath}: ${(error as Error).message}`];
  }
  const needField = (path: string, field: string) => {
    if (!fields.has(field)) problems.push(`${path}: the event schema has no field "${field}" (it has ${[...fields.keys()].join(', ')})`);
  };
  needField('events.id_field', spec.events.idField);
  needField('events.time_field', spec.events.timeField);
  needField('events.entity_field', spec.events.entityField);
  const names = new Set<string>();
  const unique = (path: string, n: string) => {
    if (names.has(n)) problems.push(`${path}.name: "${n}" is used twice`);
    names.add(n);
  };
  spec.features.aggregates.forEach((a, i) => {
    const path = `features.aggregates[${i}]`;
    unique(path, a.name);
    needField(`${path}.entity`, a.entity);
    if ('field' in a) needField(`${path}.field`, a.field);
  });
  spec.features.transforms.forEach((t, i) => {
    const path = `features.transforms[${i}]`;
    unique(path, t.name);
    if ('field' in t) needField(`${path}.field`, t.field);
    if (t.op === 'clip' && t.min > t.max) problems.push(`${path}: min ${t.min} is above max ${t.max}`);
    if (t.op === 'bucketize' && t.boundaries.some((b, j) => j > 0 && b <= t.boundaries[j - 1])) {
      problems.push(`${path}.boundaries: expected strictly increasing numbers`);
    }
    if (t.op === 'ratio') {
      for (const side of ['numerator', 'denominator'] as const) {
        const ref = t[side];
        if (!fields.has(ref) && !spec.features.aggregates.some((a) => a.name === ref)) {
          problems.push(`${path}.${side}: "${ref}" is neither an event field nor an aggregate`);
        }
      }
    }
  });
  if (spec.features.transforms.length + spec.features.aggregates.length === 0) problems.push('features: declares no transform and no aggregate');
  return problems;
}

export interface PipelineTopics extends Record<TopicRole, string> {
  /** Prefix of the pipeline's changelog topics (one per stateful processor). */
  changelogPrefix: string;
}

/** Topic names: the spec's, or derived from the pipeline name (P.events.raw, P.events, ...). */
export function topicsFor(spec: PipelineSpec): PipelineTopics {
  const p = spec.pipeline;
  const t = spec.topics;
  return {
    raw: t.raw ?? `${p}.events.raw`,
    events: t.events ?? `${p}.events`,
    dlq: t.dlq ?? `${p}.events.dlq`,
    features: t.features ?? `${p}.features`,
    predictions: t.predictions ?? `${p}.predictions`,
    labels: t.labels ?? `${p}.labels`,
    alerts: t.alerts ?? `${p}.alerts`,
    // Shared by all pipelines: model versions are keyed pipeline/model/version.
    models: t.models ?? 'streamloop.models',
    changelogPrefix: `${p}.changelog`,
  };
}
