// Runs the schema registry alone: `node --import tsx services/schema-registry/src/main.ts`
// (or `streamloop start --target schema-registry`). It reads the settings schema like every target
// (docs/pipeline-spec.md, "Service settings"): KAFKA_* for its topic's cluster, SCHEMA_REGISTRY_HOST, _PORT and _TOPIC.
import { loadSettings } from '@streamloop/config';
import { registryKafkaConfig } from '@streamloop/registry';
import { verifyKafkaAccess } from '@streamloop/kafka';
import { startSchemaRegistry } from './server';
import { schemaRegistryOptions } from './settings';

const options = schemaRegistryOptions(loadSettings(process.env));
// A wrong password or an untrusted broker certificate stops the registry here, with the reason, before it serves.
await verifyKafkaAccess(registryKafkaConfig(options));
const registry = await startSchemaRegistry(options);
console.log(`schema registry listening on ${registry.url}`);
const stop = async () => {
  await registry.close();
  process.exit(0);
};
process.once('SIGINT', () => void stop());
process.once('SIGTERM', () => void stop());
