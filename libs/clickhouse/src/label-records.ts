// Label records as the platform reads them, whichever schema the producer wrote them in.
import type { LabelRecord } from '@streamloop/contracts';

/** The fields of a label record holding the event id, the label and its time (null: the Kafka record's timestamp). */
export interface LabelFieldNames {
  eventId: string;
  label: string;
  time: string | null;
}

/** A label record that is not a label of a binary classifier; the sink dead-letters it with this reason. */
export class LabelRecordError extends Error {
  override readonly name = 'LabelRecordError';
}

/**
 * A decoded label record, in the platform's schemas/label.avsc or in a producer's own schema (its fields named by
 * the pipeline spec, see labelFieldsOf in @streamloop/config), as the platform's LabelRecord: the one place labels
 * are read. The event id is the text of the id (as an event's id is); a boolean label is 1 or 0, a number must be
 * 0 or 1. Throws LabelRecordError naming the field and what it held.
 */
export function labelRecordOf(value: Record<string, unknown>, fields: LabelFieldNames, recordTimestamp?: number): LabelRecord {
  const id = value[fields.eventId];
  if (!(typeof id === 'string' && id !== '') && !(typeof id === 'number' && Number.isInteger(id)) && typeof id !== 'bigint') {
    throw new LabelRecordError(`event id field "${fields.eventId}": expected a non-empty string or an integer, got ${describeValue(id)}`);
  }
  const raw = value[fields.label];
  const label = raw === true ? 1 : raw === false ? 0 : raw === 0 || raw === 1 ? raw : Number.NaN;
  if (Number.isNaN(label)) {
    throw new LabelRecordError(`label field "${fields.label}" of event ${String(id)}: expected a boolean or 0 or 1 (a binary classifier's class), got ${describeValue(raw)}`);
  }
  const time = fields.time === null ? recordTimestamp : value[fields.time];
  if (typeof time !== 'number' || !Number.isFinite(time)) {
    const source = fields.time === null ? 'the Kafka record timestamp' : `time field "${fields.time}"`;
    throw new LabelRecordError(`${source} of the label of event ${String(id)}: expected epoch milliseconds, got ${describeValue(time)}`);
  }
  return { event_id: String(id), label, label_time: time };
}

const describeValue = (v: unknown): string => (v === undefined ? 'nothing' : typeof v === 'bigint' ? `${v}n` : JSON.stringify(v) ?? String(v));

/** The event fields a label is read from when labels come from later events (eventLabelFieldsOf in @streamloop/config). */
export interface EventLabelFieldNames {
  /** The field naming the labelled event. */
  eventId: string;
  /** The field holding the label; null: `value` is the label of every event naming another. */
  label: string | null;
  value: 0 | 1 | null;
  /** The event's time field: when the label became known. */
  time: string;
}

/**
 * The label a later event carries for the event it names (a chargeback for its payment), or undefined for an event
 * that names none (the field is null or absent). Read by labelRecordOf, so it is checked the same way; throws
 * LabelRecordError for a label that is not a boolean or 0 or 1.
 */
export function labelFromEvent(event: Record<string, unknown>, fields: EventLabelFieldNames): LabelRecord | undefined {
  const refersTo = event[fields.eventId];
  if (refersTo === null || refersTo === undefined) return undefined;
  if (fields.label !== null) return labelRecordOf(event, { eventId: fields.eventId, label: fields.label, time: fields.time });
  return labelRecordOf({ [fields.eventId]: refersTo, label: fields.value, [fields.time]: event[fields.time] }, { eventId: fields.eventId, label: 'label', time: fields.time });
}
