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
