import type { Type } from 'avsc';
import avro from 'avsc';
import { parseSchema } from './schema';

export const COMPATIBILITY_LEVELS = [
  'NONE', 'BACKWARD', 'BACKWARD_TRANSITIVE', 'FORWARD', 'FORWARD_TRANSITIVE', 'FULL', 'FULL_TRANSITIVE',
] as const;
export type CompatibilityLevel = (typeof COMPATIBILITY_LEVELS)[number];

export function isCompatibilityLevel(v: unknown): v is CompatibilityLevel {
  return typeof v === 'string' && (COMPATIBILITY_LEVELS as readonly string[]).includes(v);
}

export interface CompatibilityResult {
  compatible: boolean;
  messages: string[];
}

export type SchemaInput = Type | string | object;

function toType(s: SchemaInput): Type {
  return avro.Type.isType(s) ? (s as Type) : parseSchema(s as string | object);
}

/** Why `reader` cannot read data written with `writer`, or undefined when it can (Avro schema resolution). */
export function resolutionError(reader: Type, writer: Type): string | undefined {
  try {
    reader.createResolver(writer);
    return undefined;
  } catch (error) {
    return (error as Error).message;
  }
}

/**
 * Confluent's compatibility rules, checked with Avro schema resolution (avsc's createResolver):
 * BACKWARD = the new schema reads data written with the latest one (consumers upgrade first),
 * FORWARD = the latest reads data written with the new one (producers upgrade first), FULL = both;
 * the _TRANSITIVE forms check every existing schema instead of the latest only.
 * `existing` is ordered oldest to newest; `labels` (same order) name them in messages, e.g. "version 3".
 */
export function checkCompatibility(
  newSchema: SchemaInput,
  existing: SchemaInput[],
  level: CompatibilityLevel,
  labels?: string[],
): CompatibilityResult {
  if (level === 'NONE' || existing.length === 0) return { compatible: true, messages: [] };
  const candidate = toType(newSchema);
  const transitive = level.endsWith('_TRANSITIVE');
  const indexes = transitive ? existing.map((_, i) => i) : [existing.length - 1];
  const backward = level.startsWith('BACKWARD') || level.startsWith('FULL');
  const forward = level.startsWith('FORWARD') || level.startsWith('FULL');
  const messages: string[] = [];
  for (const i of indexes) {
    const old = toType(existing[i]);
    const label = labels?.[i] ?? (transitive ? `existing schema #${i + 1}` : 'the latest schema');
    if (backward) {
      const why = resolutionError(candidate, old);
      if (why) messages.push(`${level}: the new schema cannot read data written with ${label}: ${why}`);
    }
    if (forward) {
      const why = resolutionError(old, candidate);
      if (why) messages.push(`${level}: ${label} cannot read data written with the new schema: ${why}`);
    }
  }
  return { compatible: messages.length === 0, messages };
}
