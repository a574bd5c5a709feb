import { PlatformError } from '@streamloop/errors';
import type { ModelRegistryRecord } from './records';

/** Model and pipeline names become parts of the record key `pipeline/model/version`: they must not hold '/'. */
const KEY_SEPARATOR = '/';

export interface ModelVersionId {
  pipeline: string;
  model_name: string;
  model_version: number;
}

/** The registry topic's key of a model version: `pipeline/model/version` (the compaction key: one record per version). */
export function registryKey(id: ModelVersionId): string {
  return `${id.pipeline}${KEY_SEPARATOR}${id.model_name}${KEY_SEPARATOR}${id.model_version}`;
}

/** A key as `registryKey` writes it, or undefined for anything else. */
export function parseRegistryKey(key: string): ModelVersionId | undefined {
  const parts = key.split(KEY_SEPARATOR);
  if (parts.length !== 3) return undefined;
  const [pipeline, model_name, version] = parts;
  const model_version = Number(version);
  if (pipeline === '' || model_name === '' || !/^\d+$/.test(version) || !Number.isSafeInteger(model_version)) return undefined;
  return { pipeline, model_name, model_version };
}

export class InvalidModelRecordError extends PlatformError {
  constructor(message: string) {
    super('INVALID_MODEL', message);
  }
}

/** Refuses a record whose key would be ambiguous or whose version is not a positive integer. */
export function checkPublishable(record: ModelRegistryRecord): void {
  const where = `model ${record.pipeline}/${record.model_name} v${record.model_version}`;
  for (const [field, value] of [['pipeline', record.pipeline], ['model_name', record.model_name]] as const) {
    if (value === '' || value.includes(KEY_SEPARATOR)) throw new InvalidModelRecordError(`${where}: ${field} must be non-empty and without '${KEY_SEPARATOR}'`);
  }
  if (!(Number.isSafeInteger(record.model_version) && record.model_version >= 1)) {
    throw new InvalidModelRecordError(`${where}: model_version must be an integer ≥ 1`);
  }
}
