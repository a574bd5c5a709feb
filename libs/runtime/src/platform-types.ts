import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { loadAvsc } from '@streamloop/avro';

const SCHEMA_DIR = fileURLToPath(new URL('../../../schemas/', import.meta.url));

/** The path of one of the platform's own schemas (schemas/*.avsc). */
export function platformSchemaPath(file: string): string {
  return `${SCHEMA_DIR}${file}`;
}

/** The platform's own record types (schemas/*.avsc), loaded once per process. */
export function loadPlatformTypes() {
  const load = (file: string) => loadAvsc(platformSchemaPath(file));
  return {
    featureVector: load('feature-vector.avsc'),
    prediction: load('prediction.avsc'),
    label: load('label.avsc'),
    modelRegistry: load('model-registry.avsc'),
    alert: load('alert.avsc'),
    deadLetter: load('dlq-envelope.avsc'),
    featurePartial: load('feature-partial.avsc'),
  };
}
export type PlatformTypes = ReturnType<typeof loadPlatformTypes>;

export function platformSchemaText(file: string): string {
  return readFileSync(`${SCHEMA_DIR}${file}`, 'utf8');
}
