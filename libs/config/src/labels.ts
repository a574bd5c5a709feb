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

export interface LabelsSpec {
  /** The target's name, recorded in model metadata; with a producer's own label schema, also its label field. */
  field: string;
  /** Labels in the producer's own schema; null or absent: schemas/label.avsc. The loader always sets it. */
  producerSchema?: ProducerLabelSchema | null;
}

export function labelsSpecOf(raw: RawLabels, specFile: string): LabelsSpec {
  if (raw.schema === undefined) return { field: raw.field, producerSchema: null };
  return {
    field: raw.field,
    producerSchema: {
      schemaPath: resolve(dirname(resolve(specFile)), raw.schema),
      // Missing is reported by labelsProblems; '' never names a field.
      eventIdField: raw.event_id_field ?? '',
      labelField: raw.field,
      timeField: raw.time_field ?? null,
    },
  };
}

/** What is wrong with the `labels` section against the producer's label schema (nothing to check without one). */
export function labelsProblems(raw: RawLabels, labels: LabelsSpec): string[] {
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
