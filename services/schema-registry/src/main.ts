// Runs the schema registry alone: `node --import tsx services/schema-registry/src/main.ts`
// (or `streamloop start --target schema-registry`). It reads the settings schema like every target
// (docs/pipeline-spec.md, "Service settings"): KAFKA_* for its topic's cluster, SCHEMA_REGISTRY_HOST, _PORT and _TOPIC.
import { loadSettings } from '@streamloop/config';
import { startSchemaRegistry } from './server';
import { schemaRegistryOptions } from './settings';

const registry = await startSchemaRegistry(schemaRegistryOptions(loadSettings(process.env)));
console.log(`schema registry listening on ${registry.url}`);
const stop = async () => {
  await registry.close();
  process.exit(0);
};
process.once('SIGINT', () => void stop());
process.once('SIGTERM', () => void stop());
