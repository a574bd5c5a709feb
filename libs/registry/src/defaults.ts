// A type import only, so that libs/config reads this file (@streamloop/registry/defaults) without loading the
// registry, Avro or kafkajs.
import type { CompatibilityLevel } from '@streamloop/avro';

/**
 * What the built-in schema registry uses when nobody says otherwise: the one place these values and their reasons
 * live. The settings schema (libs/config) takes its SCHEMA_REGISTRY_* defaults from here.
 */
export const REGISTRY_DEFAULTS = {
  /** Confluent Schema Registry's port, so a client set up for a local Confluent registry finds this one. */
  port: 8081,
  /**
   * The compacted single-partition topic holding the registry's state (like Confluent's `_schemas`), named apart so
   * that a Confluent registry on the same cluster keeps its own.
   */
  topic: '_streamloop_schemas',
  /** Client id of the registry's Kafka clients; the replay's throwaway consumer group is named after it too. */
  clientId: 'streamloop-schema-registry',
  /** How long replaying the topic on start may take before the registry gives up. */
  startTimeoutMs: 60_000,
  /** Largest request body: a schema is text, and Confluent clients send one schema per request. */
  bodyLimit: '1mb',
  /** Compatibility of subjects without a level of their own: Confluent's default. */
  compatibility: 'BACKWARD' as CompatibilityLevel,
} as const;
