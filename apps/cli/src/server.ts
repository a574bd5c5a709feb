import 'reflect-metadata';
import type { INestApplication } from '@nestjs/common';
import { kafkaConnectionSettings, type Settings } from '@streamloop/config';
import { verifyKafkaAccess } from '@streamloop/kafka';
import { generateToken } from '@streamloop/auth';
import { assertAuthConfigured, Runtime, serveClickHouseHttp, serveModules, type ServiceModule } from '@streamloop/runtime';
import { FeaturesModule } from '@streamloop/features-service';
import { InferenceModule } from '@streamloop/inference';
import { IngestionModule } from '@streamloop/ingestion';
import { MonitoringModule } from '@streamloop/monitoring';
import { schemaRegistryOptions, startSchemaRegistry } from '@streamloop/schema-registry';
import { TrainingModule } from '@streamloop/training';
import { assertTargetsCanRun, CLICKHOUSE_TARGETS, embeddedChdbDir, lockChdbDir, type ServiceTarget } from './targets';

export { SERVICE_TARGETS, parseTargets, type ServiceTarget } from './targets';

// Plain modules: their constructors inject the platform's providers (the global PlatformModule).
export const TARGET_MODULES: Record<Exclude<ServiceTarget, 'schema-registry'>, ServiceModule> = {
  ingestion: IngestionModule,
  features: FeaturesModule,
  training: TrainingModule,
  inference: InferenceModule,
  monitoring: MonitoringModule,
};

export interface RunningStreamloop {
  runtime?: Runtime;
  app?: INestApplication;
  /** Base URL of the HTTP API (ingest, predict, train, drift, /metrics, /health), when a service target runs. */
  url?: string;
  registryUrl?: string;
  /** ClickHouse's HTTP interface over this process's embedded chDB (CLICKHOUSE_HTTP_PORT), when served. */
  clickhouseHttpUrl?: string;
  get<T>(type: new (...args: never[]) => T): T;
  close(): Promise<void>;
}

/**
 * Starts the chosen targets in this process: the registry on its own port, the rest in one Nest app. A combination
 * that cannot work is refused first (TargetConflictError saying why): see ./targets.
 */
export async function startStreamloop(settings: Settings, targets: ServiceTarget[]): Promise<RunningStreamloop> {
  assertTargetsCanRun(settings, targets);
  // Settings are checked before anything is reached: no tokens with auth on is refused without waiting on Kafka.
  assertAuthConfigured(settings);
  // Every target here talks to Kafka: a wrong password or an untrusted broker certificate stops the start now, with
  // the reason, rather than after half the targets are up (or never, as kafkajs retries the TLS failure).
  await verifyKafkaAccess(kafkaConnectionSettings(settings));
  const closers: Array<() => Promise<void>> = [];
  const closing: Array<() => void> = [];
  const close = async () => {
    for (const fn of closing) fn();
    for (const fn of closers.splice(0).reverse()) await fn();
  };
  try {
    const chdbDir = embeddedChdbDir(settings, targets);
    if (chdbDir) {
      const lock = lockChdbDir(chdbDir);
      closers.push(async () => lock.release());
    }
    let registryUrl: string | undefined;
    if (targets.includes('schema-registry')) {
      const options = schemaRegistryOptions(settings);
      if (settings.auth.enabled && !settings.auth.clientToken) {
        // This process's services call its registry: with no STREAMLOOP_TOKEN they use one made for this process alone
        // (held in memory, accepted by this registry only, with the scopes the services need there).
        const internal = generateToken();
        options.auth = { ...options.auth, store: options.auth.store.with('streamloop-internal', internal, ['read', 'schema']) };
        settings = { ...settings, auth: { ...settings.auth, clientToken: internal } };
      }
      const registry = await startSchemaRegistry(options);
      closers.push(() => registry.close());
      registryUrl = registry.url;
    }
    const services = targets.filter((t): t is Exclude<ServiceTarget, 'schema-registry'> => t !== 'schema-registry');
    if (services.length === 0) {
      return { registryUrl, get: () => { throw new Error('no service target runs in this process'); }, close };
    }
    // When the registry runs here, this process's services use it (its port may have been chosen by the OS).
    const runtime = Runtime.fromFiles(registryUrl ? { ...settings, schemaRegistryUrl: registryUrl } : settings);
    runtime.targets = targets;
    runtime.usesClickHouse = targets.some((t) => CLICKHOUSE_TARGETS.includes(t));
    closers.push(() => runtime.close());
    closing.push(() => runtime.beginClosing());
    await runtime.ensureTopics();

    const serving = await serveModules(runtime, services.map((s) => TARGET_MODULES[s]));
    closers.push(() => serving.close());
    // The process that owns the chDB directory serves it over ClickHouse's HTTP protocol (analysts, other processes).
    const clickhouseHttp = chdbDir ? await serveClickHouseHttp(runtime.settings, runtime.logger, runtime.tokens) : undefined;
    if (clickhouseHttp) closers.push(() => clickhouseHttp.close());
    return {
      runtime,
      app: serving.app,
      url: serving.url,
      registryUrl,
      clickhouseHttpUrl: clickhouseHttp?.url,
      get: (type) => serving.app.get(type),
      close,
    };
  } catch (error) {
    await close().catch(() => undefined);
    throw error;
  }
}
