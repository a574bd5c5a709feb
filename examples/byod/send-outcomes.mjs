// The shop's returns service, as docs/byod.md stands it in: publishes each order's outcome to the pipeline's labels
// topic in the shop's own schema (order-return.avsc), Avro in the Confluent wire format under the topic's value
// subject, as any Confluent-compatible producer would.
//   node examples/byod/send-outcomes.mjs FILE.jsonl... [--topic TOPIC]    env: KAFKA_BROKERS, SCHEMA_REGISTRY_URL
import { readFileSync } from 'node:fs';
import { SchemaRegistry, SchemaType } from '@kafkajs/confluent-schema-registry';
import { Kafka, logLevel } from 'kafkajs';

const args = process.argv.slice(2);
const files = [];
let topic = 'orders.labels';
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--topic') topic = args[++i];
  else files.push(args[i]);
}
if (files.length === 0 || !topic) {
  console.error('usage: node examples/byod/send-outcomes.mjs FILE.jsonl... [--topic TOPIC]');
  process.exit(2);
}
const brokers = (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');
// Confluent clients' basic.auth.user.info, `name:token` for Streamloop's registry with auth on.
const userInfo = process.env.SCHEMA_REGISTRY_BASIC_AUTH_USER_INFO;
const auth = userInfo ? { username: userInfo.slice(0, userInfo.indexOf(':')), password: userInfo.slice(userInfo.indexOf(':') + 1) } : undefined;
const registry = new SchemaRegistry({ host: process.env.SCHEMA_REGISTRY_URL ?? 'http://127.0.0.1:8081', ...(auth ? { auth } : {}) });
const schema = readFileSync(new URL('./order-return.avsc', import.meta.url), 'utf8');
const { id } = await registry.register({ type: SchemaType.AVRO, schema }, { subject: `${topic}-value` });
const outcomes = files.flatMap((file) => readFileSync(file, 'utf8').split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l)));
const producer = new Kafka({ clientId: 'shop-returns', brokers, logLevel: logLevel.ERROR }).producer({ idempotent: true });
await producer.connect();
for (let i = 0; i < outcomes.length; i += 500) {
  const messages = await Promise.all(outcomes.slice(i, i + 500).map(async (o) => ({ key: o.order_id, value: await registry.encode(id, o) })));
  await producer.send({ topic, acks: -1, messages });
}
await producer.disconnect();
console.log(`${outcomes.length} outcomes sent to ${topic} (schema id ${id})`);
