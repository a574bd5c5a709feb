// The `labels` section: where ground truth comes from and how it is read. The platform's schemas/label.avsc is the
// default; a producer may instead publish its own label records, named by their schema and the fields that matter.
import { dirname, resolve } from 'node:path';
import { z } from 'zod';
import { describeFieldType, readEventSchema, type EventField, type EventSchemaInfo } from './event-schema';

const fieldName = z.string().min(1);

export const labelsSchema = z.object({
  field: fieldName,
  schema: z.string().min(1).optional(),
  event_id_field: fieldName.optional(),
  time_field: fieldName.optional(),
  from_events: z.object({
    event_id_field: fieldName,
    label_field: fieldName.optional(),
    label: z.union([z.literal(0), z.literal(1), z.boolean()]).optional(),
  }).strict().optional(),
}).strict();
type RawLabels = z.infer<typeof labelsSchema>;

/** Label records in the producer's own schema on the labels topic. */
export interface ProducerLabelSchema {
  /** Absolute path of the label record schema (.avsc), resolved against the YAML file's directory. */
  schemaPath: string;
  /** The field naming the labelled event: its text is the event's `events.id_field` text. */
  eventIdField: string;
  /** The field holding the label: a boolean, or a number that is 0 or 1. Same as `labels.field`. */
  labelField: string;
  /** A long of epoch ms saying when the label became known; null: the Kafka record's timestamp. */
  timeField: string | null;
}

/**
 * Labels carried by later events of the pipeline (a chargeback naming the payment it disputes): ingestion writes a
 * label record (schemas/label.avsc) for each such event, in the transaction that forwards it.
 */
export interface EventLabelSpec {
  /** The event field naming the labelled event's id; an event where it is null is no label. */
  eventIdField: string;
  /** The event field holding the label (a boolean, or a number of 0 or 1); null: every such event labels `label`. */
  labelField: string | null;
  /** The label of every referring event when labelField is null. */
  label: 0 | 1 | null;
}

export interface LabelsSpec {
  /** The target's name, recorded in model metadata; with a producer's own label schema, also its label field. */
  field: string;
  /** Labels in the producer's own schema; null or absent: schemas/label.avsc. The loader always sets it. */
  producerSchema?: ProducerLabelSchema | null;
  /** Labels made from later events; null or absent: none. The loader always sets it. */
  fromEvents?: EventLabelSpec | null;
}

export function labelsSpecOf(raw: RawLabels, specFile: string): LabelsSpec {
  const from = raw.from_events;
  const fromEvents = from === undefined ? null : {
    eventIdField: from.event_id_field,
    labelField: from.label_field ?? null,
    label: from.label === undefined ? null : from.label === true ? 1 : from.label === false ? 0 : from.label,
  };
  if (raw.schema === undefined) return { field: raw.field, producerSchema: null, fromEvents };
  return {
    field: raw.field,
    fromEvents,
    producerSchema: {
      schemaPath: resolve(dirname(resolve(specFile)), raw.schema),
      // Missing is reported by labelsProblems; '' never names a field.
      eventIdField: raw.event_id_field ?? '',
      labelField: raw.field,
      timeField: raw.time_field ?? null,
    },
  };
}

/**
 * What is wrong with the `labels` section: against the producer's label schema, and for labels from events against
 * the event schema (whose own problems crossCheck reports).
 */
export function labelsProblems(raw: RawLabels, labels: LabelsSpec, events: { schemaPath: string; idField: string }): string[] {
  return [...producerSchemaProblems(raw, labels), ...fromEventsProblems(raw, labels, events)];
}

function producerSchemaProblems(raw: RawLabels, labels: LabelsSpec): string[] {
  const own = labels.producerSchema;
  if (!own) {
    // The platform's label.avsc has its own fields; naming others would silently do nothing.
    return (['event_id_field', 'time_field'] as const)
      .filter((key) => raw[key] !== undefined)
      .map((key) => `labels.${key}: only with labels.schema (the producer's own label schema); without it labels are schemas/label.avsc, read by its own fields`);
  }
  let schema: EventSchemaInfo;
  try {
    schema = readEventSchema(own.schemaPath);
  } catch (error) {
    return [`labels.schema: ${(error as Error).message}`];
  }
  const problems: string[] = [];
  const field = (path: string, name: string): EventField | undefined => {
    const f = schema.fields.get(name);
    if (!f) problems.push(`${path}: the label schema ${schema.name} has no field "${name}" (it has ${[...schema.fields.keys()].join(', ')})`);
    return f;
  };
  const typeProblem = (path: string, f: EventField, expected: string) =>
    problems.push(`${path}: field "${f.name}" is ${describeFieldType(f)} in the label schema, expected ${expected}`);

  if (raw.event_id_field === undefined) {
    problems.push('labels.event_id_field: required with labels.schema: the field of the label record naming the event it labels');
  } else {
    const id = field('labels.event_id_field', own.eventIdField);
    if (id && (id.nullable || !['string', 'int', 'long'].includes(id.typeName))) typeProblem('labels.event_id_field', id, 'a string, int or long that is never null');
  }
  // A binary classifier learns 0/1: a boolean, or a number whose values are 0 or 1 (checked per record). A null label
  // (a nullable field) is a record without ground truth, dead-lettered when read.
  const label = field('labels.field', own.labelField);
  if (label && label.kind !== 'boolean' && label.kind !== 'number') typeProblem('labels.field', label, 'a boolean, or an int, long, float or double of 0 or 1');
  if (own.timeField !== null) {
    const time = field('labels.time_field', own.timeField);
    if (time && (time.nullable || time.typeName !== 'long' || (time.logicalType !== undefined && time.logicalType !== 'timestamp-millis'))) {
      typeProblem('labels.time_field', time, 'a long of epoch milliseconds (logicalType timestamp-millis) that is never null');
    }
  }
  return problems;
}

function fromEventsProblems(raw: RawLabels, labels: LabelsSpec, events: { schemaPath: string; idField: string }): string[] {
  const from = labels.fromEvents;
  if (!from) return [];
  const problems: string[] = [];
  // The platform writes these labels in label.avsc; a labels topic in the producer's schema could not hold them.
  if (raw.schema !== undefined) problems.push('labels.from_events: not with labels.schema: labels made from events are written in schemas/label.avsc to the labels topic, which labels.schema says holds the producer\'s records');
  if ((from.labelField === null) === (from.label === null)) {
    problems.push(from.labelField === null
      ? 'labels.from_events: expected label_field (the event field holding the label) or label (0 or 1: the label every such event gives)'
      : 'labels.from_events: expected label_field or label, not both');
  }
  let schema: EventSchemaInfo;
  try {
    schema = readEventSchema(events.schemaPath);
  } catch {
    return problems;
  }
  const field = (path: string, name: string): EventField | undefined => {
    const f = schema.fields.get(name);
    if (!f) problems.push(`${path}: the event schema ${schema.name} has no field "${name}" (it has ${[...schema.fields.keys()].join(', ')})`);
    return f;
  };
  const typeProblem = (path: string, f: EventField, expected: string) =>
    problems.push(`${path}: field "${f.name}" is ${describeFieldType(f)} in the event schema, expected ${expected}`);
  const path = 'labels.from_events.event_id_field';
  if (from.eventIdField === events.idField) {
    problems.push(`${path}: "${from.eventIdField}" is events.id_field; expected the field naming another, earlier event`);
  } else {
    // Nullable on purpose: an event without it is an ordinary event.
    const id = field(path, from.eventIdField);
    if (id && !['string', 'int', 'long'].includes(id.typeName)) typeProblem(path, id, 'a string, int or long (nullable: an event without it is no label)');
  }
  if (from.labelField !== null) {
    const label = field('labels.from_events.label_field', from.labelField);
    if (label && (label.nullable || (label.kind !== 'boolean' && label.kind !== 'number'))) {
      typeProblem('labels.from_events.label_field', label, 'a boolean, or an int, long, float or double of 0 or 1, that is never null');
    }
  }
  return problems;
}

/** The fields of a label record holding the event id, the label and when it became known (null: the Kafka record's timestamp). */
export interface LabelFields {
  eventId: string;
  label: string;
  time: string | null;
}

/** The fields of the platform's schemas/label.avsc. */
export const PLATFORM_LABEL_FIELDS: Readonly<LabelFields> = { eventId: 'event_id', label: 'label', time: 'label_time' };

/** Where the pipeline's label records keep their event id, label and time: the producer's fields, or label.avsc's. */
export function labelFieldsOf(labels: LabelsSpec): LabelFields {
  const own = labels.producerSchema;
  return own ? { eventId: own.eventIdField, label: own.labelField, time: own.timeField } : { ...PLATFORM_LABEL_FIELDS };
}

/** The event fields a label is read from, when the pipeline's labels come from later events (else null). */
export interface EventLabelFields {
  /** The field naming the labelled event. */
  eventId: string;
  /** The field holding the label; null: `value` is every such event's label. */
  label: string | null;
  value: 0 | 1 | null;
  /** The later event's time (events.time_field): when the label became known. */
  time: string;
}

export function eventLabelFieldsOf(spec: { events: { timeField: string }; labels: LabelsSpec }): EventLabelFields | null {
  const from = spec.labels.fromEvents;
  return from ? { eventId: from.eventIdField, label: from.labelField, value: from.label, time: spec.events.timeField } : null;
}
