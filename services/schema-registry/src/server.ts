import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { Module } from '@nestjs/common';
import { RegistryErrorFilter } from './error.filter';
import { RegistryRequestTypeGuard } from './request-type.guard';
import { SchemaRegistryModule, type SchemaRegistryModuleOptions } from './schema-registry.module';
import { REGISTRY_REQUEST_TYPES } from './tokens';

export type StartSchemaRegistryOptions = SchemaRegistryModuleOptions & {
  /** Default 8081 (Confluent's); 0 picks a free port. */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** Largest request body, default '1mb'. */
  bodyLimit?: string | number;
};

export interface RunningSchemaRegistry {
  url: string;
  close(): Promise<void>;
}

/**
 * Confluent's HTTP conventions on an app: its request media types parsed as JSON up to `bodyLimit`, a body of another
 * type refused with 415, and every error as Confluent's { error_code, message } (not the platform's error body).
 */
export function useRegistryHttp(app: NestExpressApplication, bodyLimit: string | number): void {
  // Confluent clients send application/vnd.schemaregistry.v1+json: parse it (and the others) as JSON, bounded.
  app.useBodyParser('json', { limit: bodyLimit, type: REGISTRY_REQUEST_TYPES });
  app.useGlobalFilters(new RegistryErrorFilter());
  app.useGlobalGuards(new RegistryRequestTypeGuard());
}

/** Starts the registry as its own HTTP app (like Confluent's on :8081) and resolves once it serves. */
export async function startSchemaRegistry(opts: StartSchemaRegistryOptions): Promise<RunningSchemaRegistry> {
  const { port = 8081, host = '127.0.0.1', bodyLimit = '1mb', ...storeOptions } = opts;

  @Module({ imports: [SchemaRegistryModule.register(storeOptions as SchemaRegistryModuleOptions)] })
  class SchemaRegistryAppModule {}

  const app = await NestFactory.create<NestExpressApplication>(SchemaRegistryAppModule, { bodyParser: false, logger: ['error', 'warn'] });
  useRegistryHttp(app, bodyLimit);
  await app.listen(port, host);
  const address = app.getHttpServer().address() as { port: number };
  const shownHost = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
  return { url: `http://${shownHost}:${address.port}`, close: () => app.close() };
}
