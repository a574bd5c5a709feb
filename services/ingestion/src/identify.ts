import type { PipelineSpec } from '@streamloop/config';
import { PlatformError } from '@streamloop/errors';

/** An event that fails its pipeline's checks; `details` (HTTP ingest) carries the reasons per record. */
export class InvalidEventError extends PlatformError {
  constructor(message: string, options?: { details?: unknown }) {
    super('INVALID_EVENT', message, options);
  }
}

/** The event id and entity key of an event, checked: a non-empty id, a finite event time, an entity key. */
export function identifyEvent(spec: PipelineSpec, event: Record<string, unknown>): { id: string; entity: string } {
  const { idField, timeField, entityField } = spec.events;
  const id = event[idField];
  if (typeof id !== 'string' || id.length === 0) {
    throw new InvalidEventError(`field ${idField}: expected a non-empty event id string, got ${JSON.stringify(id)}`);
  }
  const time = event[timeField];
  if (typeof time !== 'number' || !Number.isFinite(time)) {
    throw new InvalidEventError(`record ${id}: field ${timeField}: expected an event time in epoch milliseconds, got ${JSON.stringify(time)}`);
  }
  const entity = event[entityField];
  if (entity === null || entity === undefined || entity === '') {
    throw new InvalidEventError(`record ${id}: field ${entityField}: expected an entity key, got ${JSON.stringify(entity)}`);
  }
  return { id, entity: String(entity) };
}
