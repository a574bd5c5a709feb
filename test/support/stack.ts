import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AvroSerde, HttpRegistryClient } from '@streamloop/avro';
import { loadPipelineSpec, loadSettings, type PipelineSpec, type Settings } from '@streamloop/config';
import { createKafka, readTopicToEnd, type Kafka } from '@streamloop/kafka';
import { Runtime, serveModules, type ServiceModule, type ServingApp } from '@streamloop/runtime';
import { startSchemaRegistry } from '@streamloop/schema-registry';
import { AUTH_OFF } from './auth';

export const FRAUD_SPEC = new URL('../../examples/pipelines/fraud.yaml', import.meta.url).pathname;

export function brokersOrSkip(): string[] | undefined {
  return process.env.KAFKA_BROKERS?.split(',');
}

export function uniqueName(prefix: string): string {
  return `${prefix}_${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
}

/** The example fraud pipeline under a unique name (so its topics are this test's own), with overrides. */
export function testPipeline(name: string, adjust: (spec: PipelineSpec) => void = () => undefined): PipelineSpec {
  const spec = structuredClone(loadPipelineSpec(FRAUD_SPEC));
  spec.pipeline = name;
  spec.topics = {};
  adjust(spec);
  return spec;
}

export interface TestStack {
  runtime: Runtime;
  serving: ServingApp;
  registryUrl: string;
  settings: Settings;
  /** A client of the test's own, as a producer or consumer app would have. */
  kafka: Kafka;
  serde: AvroSerde;
  close(): Promise<void>;
}

/** The real parts for an integration test: the registry on the real broker, embedded ClickHouse, the chosen modules. */
export interface StackOptions {
  /**
   * The settings' auth variables (STREAMLOOP_AUTH, STREAMLOOP_TOKENS, …) for the services and the registry; default
   * STREAMLOOP_AUTH=off, as the tests that use a stack are about something else (test/integration/auth.test.ts is not).
   */
  authEnv?: Record<string, string>;
  /** Settings over the tests' defaults. */
  env?: Record<string, string>;
}

export async function startStack(brokers: string[], specs: PipelineSpec[], modules: ServiceModule[], options: StackOptions = {}): Promise<TestStack> {
  const authEnv = options.authEnv ?? { STREAMLOOP_AUTH: 'off' };
  const env = options.env ?? {};
  const authSettings = loadSettings(authEnv).auth;
  const registryAuth = authSettings.enabled
    ? { enabled: true, store: Runtime.tokenStoreOf(authSettings), openOperational: authSettings.openOperational }
    : AUTH_OFF;
  const registry = await startSchemaRegistry({ brokers, port: 0, host: '127.0.0.1', topic: uniqueName('_schemas'), auth: registryAuth });
  const settings = loadSettings({
    ...authEnv,
    KAFKA_BROKERS: brokers.join(','),
    SCHEMA_REGISTRY_URL: registry.url,
    CLICKHOUSE_DATA_DIR: mkdtempSync(join(tmpdir(), 'streamloop-chdb-')),
    PORT: '0',
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
    STREAMLOOP_DRIFT_INTERVAL: '2s',
    ...env,
  });
  settings.pipelineFiles = [];
  const runtime = new Runtime(settings, specs);
  await runtime.ensureTopics();
  const serving = await serveModules(runtime, modules);
  const kafka = createKafka({ brokers, clientId: uniqueName('test-app') });
  return {
    runtime,
    serving,
    registryUrl: registry.url,
    settings,
    kafka,
    serde: new AvroSerde(new HttpRegistryClient(registry.url, { headers: authSettings.clientToken ? { authorization: `Bearer ${authSettings.clientToken}` } : {} })),
    async close() {
      await serving.close();
      await runtime.close();
      await registry.close();
    },
  };
}

/** Polls until probe returns a value, or fails the test with what it was waiting for. */
export async function eventually<T>(probe: () => Promise<T | undefined> | T | undefined, what: string, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 300));
  }
}

/** Decodes every record of a topic (read_committed) with the given serde. */
export async function readAll<T>(kafka: Kafka, serde: AvroSerde, topic: string): Promise<Array<{ value: T; headers: Record<string, Buffer | undefined>; key: Buffer | null }>> {
  const raw: Array<{ value: Buffer | null; headers: Record<string, Buffer | undefined>; key: Buffer | null }> = [];
  await readTopicToEnd(kafka, topic, (r) => void raw.push(r));
  const out = [];
  for (const r of raw) {
    if (!r.value) continue;
    const { value } = await serde.decode(r.value);
    out.push({ value: value as T, headers: r.headers, key: r.key });
  }
  return out;
}
