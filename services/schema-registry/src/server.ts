import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { Module } from '@nestjs/common';
import { AuthGuard, credentialsOf, grants, type AuthPolicy } from '@streamloop/auth';
import { HTTP_DEFAULTS } from '@streamloop/config';
import { SchemaRegistryMetrics } from '@streamloop/observability';
import { REGISTRY_DEFAULTS } from '@streamloop/registry';
import { RegistryErrorFilter } from './error.filter';
import { RegistryRequestTypeGuard } from './request-type.guard';
import { SchemaRegistryModule, type SchemaRegistryModuleOptions } from './schema-registry.module';
import { REGISTRY_REQUEST_TYPES } from './tokens';

/** Where and how the registry serves HTTP. */
export interface RegistryServerOptions {
  /** Default REGISTRY_DEFAULTS.port (Confluent's); 0 picks a free port. */
  port?: number;
  /** Default HTTP_DEFAULTS.host, as the services'. */
  host?: string;
  /** Largest request body, default REGISTRY_DEFAULTS.bodyLimit. */
  bodyLimit?: string | number;
  /**
   * Who may call it: reads (GET, and the POST lookups of a schema and of compatibility) need `read`, changes (register,
   * delete, config) need `schema`; basic auth `name:token` is taken as well as Bearer (Confluent clients'
   * `basic.auth.user.info`). Errors are Confluent's 40101 and 40301.
   */
  auth: AuthPolicy;
}

export type StartSchemaRegistryOptions = SchemaRegistryModuleOptions & RegistryServerOptions;

export interface RunningSchemaRegistry {
  url: string;
  close(): Promise<void>;
}

/**
 * Confluent's HTTP conventions on an app: the AuthGuard (bearer or basic), its request media types parsed as JSON up to `bodyLimit`, a body of another
 * type refused with 415, and every error as Confluent's { error_code, message } (not the platform's error body).
 */
export function useRegistryHttp(app: NestExpressApplication, bodyLimit: string | number, auth: AuthPolicy): void {
  // Confluent clients send application/vnd.schemaregistry.v1+json: parse it (and the others) as JSON, bounded.
  app.useBodyParser('json', { limit: bodyLimit, type: REGISTRY_REQUEST_TYPES });
  app.useGlobalFilters(new RegistryErrorFilter());
  app.useGlobalGuards(new AuthGuard({ ...auth, basic: true }), new RegistryRequestTypeGuard());
}

/** The part of Express' request and response the metrics middleware uses. */
interface MetricsRequest { method: string; path: string; headers: { authorization?: string } }
interface MetricsResponse {
  statusCode: number;
  once(event: 'finish', listener: () => void): void;
  status(code: number): MetricsResponse;
  type(contentType: string): MetricsResponse;
  send(body: string): void;
  setHeader(name: string, value: string): void;
}

/**
 * Whether a request may read /metrics: always when auth is off or /health and /metrics are open
 * (STREAMLOOP_AUTH_OPEN_HEALTH, the default); otherwise a token (bearer or basic) with `read`, as the API's /metrics.
 */
function metricsAllowed(req: MetricsRequest, auth: AuthPolicy): 'ok' | 'unauthorized' | 'forbidden' {
  if (!auth.enabled || auth.openOperational) return 'ok';
  const credentials = credentialsOf(req.headers.authorization, true);
  const principal = credentials && auth.store.verify(credentials.token, credentials.name);
  if (!principal) return 'unauthorized';
  return grants(principal.scopes, 'read') ? 'ok' : 'forbidden';
}

/**
 * GET /metrics in Prometheus' text format (the registry's own metrics and process metrics), and every request counted
 * by method and status code. Plain Express middleware, ahead of Nest's router: /metrics is no Confluent endpoint, so
 * the registry's media-type guard and error body do not apply to it.
 */
function serveRegistryMetrics(app: NestExpressApplication, metrics: SchemaRegistryMetrics, auth: AuthPolicy): void {
  app.use((req: MetricsRequest, res: MetricsResponse, next: () => void) => {
    if (req.method === 'GET' && req.path === '/metrics') {
      const allowed = metricsAllowed(req, auth);
      if (allowed !== 'ok') {
        // Confluent's error body, as every other answer of the registry.
        if (allowed === 'unauthorized') res.setHeader('WWW-Authenticate', 'Basic realm="streamloop", Bearer realm="streamloop"');
        res.status(allowed === 'unauthorized' ? 401 : 403).type('application/json')
          .send(JSON.stringify(allowed === 'unauthorized'
            ? { error_code: 40101, message: 'GET /metrics needs a token with scope read (STREAMLOOP_AUTH_OPEN_HEALTH=false)' }
            : { error_code: 40301, message: 'GET /metrics needs scope read' }));
        return;
      }
      void metrics.exposition().then(({ contentType, body }) => res.status(200).type(contentType).send(body), next);
      return;
    }
    const end = metrics.requestDuration.startTimer({ method: req.method });
    res.once('finish', () => {
      end();
      metrics.requests.inc({ method: req.method, code: String(res.statusCode) });
    });
    next();
  });
}

/** Starts the registry as its own HTTP app (like Confluent's on :8081) and resolves once it serves. */
export async function startSchemaRegistry(opts: StartSchemaRegistryOptions): Promise<RunningSchemaRegistry> {
  const { port = REGISTRY_DEFAULTS.port, host = HTTP_DEFAULTS.host, bodyLimit = REGISTRY_DEFAULTS.bodyLimit, auth, ...storeOptions } = opts;

  @Module({ imports: [SchemaRegistryModule.register(storeOptions as SchemaRegistryModuleOptions)] })
  class SchemaRegistryAppModule {}

  const app = await NestFactory.create<NestExpressApplication>(SchemaRegistryAppModule, { bodyParser: false, logger: ['error', 'warn'] });
  serveRegistryMetrics(app, new SchemaRegistryMetrics(), auth);
  useRegistryHttp(app, bodyLimit, auth);
  await app.listen(port, host);
  const address = app.getHttpServer().address() as { port: number };
  const shownHost = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
  return { url: `http://${shownHost}:${address.port}`, close: () => app.close() };
}
