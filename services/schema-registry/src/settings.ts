import { kafkaConnectionSettings, type Settings } from '@streamloop/config';
import { loadTokenEntries, TokenStore } from '@streamloop/auth';
import type { KafkaRegistryLogOptions } from '@streamloop/registry';
import type { RegistryServerOptions } from './server';

/** What the registry target runs with: its store on the platform's Kafka cluster, and where it serves. */
export type SchemaRegistryTargetOptions = KafkaRegistryLogOptions & Required<Pick<RegistryServerOptions, 'host' | 'port' | 'auth'>>;

/**
 * The registry target's options from the process settings, the same schema every target reads: its Kafka clients
 * connect as the platform's others do (brokers, TLS with its CA and client certificate, SASL), under the client id
 * KAFKA_CLIENT_ID-schema-registry, and it
 * accepts the tokens every target accepts (STREAMLOOP_AUTH, STREAMLOOP_TOKENS, STREAMLOOP_TOKENS_FILE).
 */
export function schemaRegistryOptions(settings: Settings): SchemaRegistryTargetOptions {
  return {
    ...kafkaConnectionSettings(settings, '-schema-registry'),
    topic: settings.registryTopic,
    host: settings.registryHost,
    port: settings.registryPort,
    auth: {
      enabled: settings.auth.enabled,
      store: new TokenStore(settings.auth.enabled ? loadTokenEntries(settings.auth) : []),
      openOperational: settings.auth.openOperational,
    },
  };
}
