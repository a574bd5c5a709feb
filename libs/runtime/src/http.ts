import 'reflect-metadata';
import { Module, type DynamicModule, type INestApplication, type INestMicroservice, type Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { loadTokenEntries } from '@streamloop/auth';
import { kafkaConnectionSettings, type Settings } from '@streamloop/config';
import { PlatformError } from '@streamloop/errors';
import { verifyKafkaAccess } from '@streamloop/kafka';
import { StreamServer } from '@streamloop/stream';
import { embeddedChdbDirOf, lockChdbDir } from './chdb-lock';
import { serveClickHouseHttp, type ServedClickHouseHttp } from './clickhouse-http';
import { useJsonHttp, type LargeBodyRoute } from './http-errors';
import { PlatformModule } from './platform.module';
import { advertisedUrlOf, freeTcpPort } from './predict-routing';
import type { Runtime } from './runtime';
import { streamPlatformOf } from './stream-platform';

/** A service module: a plain module class (its providers injected from the global PlatformModule) or a dynamic one. */
export type ServiceModule = Type<unknown> | DynamicModule;

export interface ServingApp {
  app: INestApplication;
  url: string;
  close(): Promise<void>;
}

/**
 * One Nest HTTP application holding the given service modules plus the global PlatformModule (the runtime's
 * providers, /metrics and /health).
 * Used by every service's own main and by the CLI, which composes several targets in one process.
 */
export async function serveModules(runtime: Runtime, modules: ServiceModule[]): Promise<ServingApp> {
  @Module({ imports: [PlatformModule.register(runtime), ...modules] })
  class StreamloopAppModule {}

  const app = await NestFactory.create<NestExpressApplication>(StreamloopAppModule, { bodyParser: false, logger: ['error', 'warn'] });
  useJsonHttp(app, { bodyLimit: runtime.settings.httpBodyLimit, logger: runtime.logger, largeBodies: externalModelBodies(runtime.settings), auth: runtime.authPolicy });
  // The stream handlers of the modules' controllers run on the platform's own Kafka transport, after the modules'
  // bootstrap hooks (a handler may need what they prepare) and before HTTP opens.
  // The consumers advertise this process's address when they join their groups, before HTTP listens: with PORT=0
  // the port is chosen now.
  const { httpHost, httpPort } = runtime.settings;
  const port = httpPort === 0 ? await freeTcpPort(httpHost) : httpPort;
  runtime.advertisedUrl = advertisedUrlOf(runtime.settings, port);
  app.connectMicroservice({ strategy: new StreamServer(streamPlatformOf(runtime), (token) => app.get(token, { strict: false })) });
  await app.init();
  await app.startAllMicroservices();
  await app.listen(port, httpHost);
  const address = app.getHttpServer().address() as { port: number };
  return { app, url: `http://${runtime.settings.httpHost}:${address.port}`, close: () => app.close() };
}

const EXTERNAL_MODEL_ROUTE = /^\/v1\/pipelines\/[^/?]+\/models\/external\/?(?:\?|$)/;
const SIZE = /^(\d+)(b|kb|mb)$/;

/**
 * An external model's registration carries the ONNX file base64 (4/3 of it) with its mapping: that route takes bodies
 * of a file up to STREAMLOOP_EXTERNAL_MODEL_MAX_BYTES, or HTTP_BODY_LIMIT where that is larger; every other route
 * keeps HTTP_BODY_LIMIT.
 */
export function externalModelBodies(settings: Pick<Settings, 'httpBodyLimit' | 'externalModelMaxBytes'>): LargeBodyRoute {
  const [, n, unit] = SIZE.exec(settings.httpBodyLimit) ?? ['', '0', 'b'];
  const bodyLimit = Number(n) * (unit === 'mb' ? 1024 * 1024 : unit === 'kb' ? 1024 : 1);
  // The base64 of a file at the limit, and 64 KiB for the mapping and the rest of the request.
  const modelBody = Math.ceil(settings.externalModelMaxBytes / 3) * 4 + 64 * 1024;
  return { route: EXTERNAL_MODEL_ROUTE, limit: Math.max(bodyLimit, modelBody) };
}

/**
 * Auth on (the default) with no tokens configured would refuse every request: `streamloop start` and a service started
 * alone refuse to start instead, naming the settings to set (the demo configures a token of its own).
 */
export function assertAuthConfigured(settings: Settings): void {
  if (!settings.auth.enabled) return;
  if (loadTokenEntries(settings.auth).length > 0) return;
  throw new PlatformError('INVALID_SETTINGS',
    'STREAMLOOP_AUTH is on (the default) and no tokens are configured: set STREAMLOOP_TOKENS or STREAMLOOP_TOKENS_FILE ' +
    '(`streamloop token create --name ops --scopes admin` prints a token and its entry), or STREAMLOOP_AUTH=off where the network is the boundary');
}

export interface StandaloneOptions {
  /**
   * The target reads or writes ClickHouse (training, monitoring): with embedded chDB (no CLICKHOUSE_URL) it takes the
   * data directory's lock first, as `streamloop start` does, so a second process on the directory is refused (a
   * TargetConflictError naming the holder) instead of failing inside chDB.
   */
  usesClickHouse?: boolean;
}

/** A service target started alone (microservices mode): its module, the shared runtime, signal handling. */
export async function runStandalone(runtime: Runtime, module: ServiceModule, name: string, options: StandaloneOptions = {}): Promise<ServingApp> {
  const chdbDir = options.usesClickHouse ? embeddedChdbDirOf(runtime.settings) : undefined;
  const lock = chdbDir ? lockChdbDir(chdbDir) : undefined;
  runtime.targets = [name];
  runtime.usesClickHouse = options.usesClickHouse === true;
  let serving: ServingApp | undefined;
  let clickhouseHttp: ServedClickHouseHttp | undefined;
  try {
    assertAuthConfigured(runtime.settings);
    // A wrong password or an untrusted broker certificate stops the start here, with the reason (KafkaAccessError).
    await verifyKafkaAccess(kafkaConnectionSettings(runtime.settings));
    await runtime.ensureTopics();
    serving = await serveModules(runtime, [module]);
    // The owner of the chDB directory serves it over ClickHouse's HTTP protocol (CLICKHOUSE_HTTP_PORT).
    if (chdbDir) clickhouseHttp = await serveClickHouseHttp(runtime.settings, runtime.logger, runtime.tokens);
  } catch (error) {
    await serving?.close().catch(() => undefined);
    await runtime.close();
    lock?.release();
    throw error;
  }
  runtime.logger.info({ url: serving.url, target: name }, 'service started');
  const stop = async () => {
    runtime.beginClosing();
    await clickhouseHttp?.close();
    await serving.close();
    await runtime.close();
    lock?.release();
    process.exit(0);
  };
  process.once('SIGINT', () => void stop());
  process.once('SIGTERM', () => void stop());
  return serving;
}

/**
 * The given service modules' stream handlers without HTTP (a bench or a worker that serves no API): a Nest
 * microservice on the platform's Kafka transport.
 */
export async function startStreamHandlers(runtime: Runtime, modules: ServiceModule[]): Promise<{ app: INestMicroservice; close(): Promise<void> }> {
  @Module({ imports: [PlatformModule.register(runtime), ...modules] })
  class StreamloopStreamModule {}

  // The transport resolves state factories from the application, which exists only once the transport is given to it.
  const created: { app?: INestMicroservice } = {};
  const strategy = new StreamServer(streamPlatformOf(runtime), (token) => created.app!.get(token, { strict: false }));
  const app = await NestFactory.createMicroservice(StreamloopStreamModule, { strategy, logger: ['error', 'warn'] });
  created.app = app;
  await app.listen();
  return { app, close: () => app.close() };
}
