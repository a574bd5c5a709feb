// Runs the schema registry alone: `node --import tsx services/schema-registry/src/main.ts`
// (or `streamloop start --target schema-registry`). Env: KAFKA_BROKERS, SCHEMA_REGISTRY_PORT (8081),
// SCHEMA_REGISTRY_HOST (127.0.0.1), SCHEMA_REGISTRY_TOPIC (_streamloop_schemas).
import { startSchemaRegistry } from './server';

const brokers = process.env.KAFKA_BROKERS?.split(',').map((b) => b.trim()).filter(Boolean);
if (!brokers?.length) {
  console.error('KAFKA_BROKERS is not set (e.g. KAFKA_BROKERS=127.0.0.1:9092)');
  process.exit(2);
}
const registry = await startSchemaRegistry({
  brokers,
  topic: process.env.SCHEMA_REGISTRY_TOPIC || undefined,
  port: Number(process.env.SCHEMA_REGISTRY_PORT ?? 8081),
  host: process.env.SCHEMA_REGISTRY_HOST ?? '127.0.0.1',
});
console.log(`schema registry listening on ${registry.url}`);
const stop = async () => {
  await registry.close();
  process.exit(0);
};
process.once('SIGINT', () => void stop());
process.once('SIGTERM', () => void stop());
