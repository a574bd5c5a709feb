import { parseRegistryKey } from './key';
import type { ModelRegistryRecord } from './records';
import type { RegistryMessage } from './registry-state';

/** A registry topic record as a consumer gets it: where it is, its key and value bytes. */
export interface RawRegistryRecord {
  offset: string | bigint;
  key: Buffer | null;
  value: Buffer | null;
}

/**
 * What one consumed record means to the registry: its decoded value (`record`, when it could be decoded), a
 * tombstone (no value bytes), or an unreadable value that still takes its key's version number. Undefined for a
 * keyless record that could not be read: it names no version.
 */
export function registryMessageOf(raw: RawRegistryRecord, record: ModelRegistryRecord | undefined): RegistryMessage | undefined {
  const offset = BigInt(raw.offset);
  if (record) return { kind: 'version', offset, record };
  const key = raw.key?.toString('utf8');
  if (key === undefined) return undefined;
  if (!raw.value || raw.value.length === 0) return { kind: 'tombstone', offset, key };
  return { kind: 'unreadable', offset, key };
}

/** The pipeline a registry message belongs to: its value's, else its key's (undefined for a key of another form). */
export function pipelineOfMessage(message: RegistryMessage): string | undefined {
  return message.kind === 'version' ? message.record.pipeline : parseRegistryKey(message.key)?.pipeline;
}
