// Every HTTP route of every target declares the scope a token needs (the AuthGuard refuses a route that declares
// none): the routes are found from the targets' modules, so a route added anywhere is checked here too.
import 'reflect-metadata';
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RequestMethod, type DynamicModule, type Type } from '@nestjs/common';
import { METHOD_METADATA, PATH_METADATA } from '@nestjs/common/constants';
import { REQUIRED_SCOPE, type RouteScope } from '@streamloop/auth';
import { loadSettings } from '@streamloop/config';
import { PlatformModule, Runtime } from '@streamloop/runtime';
import { SchemaRegistryModule } from '@streamloop/schema-registry';
import { TARGET_MODULES } from './server';

type AnyModule = Type<unknown> | DynamicModule;

/** The controllers of a module and of everything it imports (static metadata and dynamic modules alike). */
function controllersOf(module: AnyModule, seen = new Set<unknown>()): Array<Type<unknown>> {
  if (seen.has(module)) return [];
  seen.add(module);
  const dynamic = typeof module === 'function' ? undefined : module;
  const type = dynamic ? dynamic.module : (module as Type<unknown>);
  const controllers: Array<Type<unknown>> = [...(Reflect.getMetadata('controllers', type) ?? []), ...(dynamic?.controllers ?? [])];
  const imports: AnyModule[] = [...(Reflect.getMetadata('imports', type) ?? []), ...((dynamic?.imports ?? []) as AnyModule[])];
  return [...controllers, ...imports.flatMap((m) => controllersOf(m, seen))];
}

/** Every route of a controller as "METHOD /path" with its declared scope (undefined: none). */
function routesOf(controller: Type<unknown>): Array<{ route: string; scope: RouteScope | undefined }> {
  const base = String(Reflect.getMetadata(PATH_METADATA, controller) ?? '');
  const routes = [];
  for (const name of Object.getOwnPropertyNames(controller.prototype)) {
    const handler = (controller.prototype as Record<string, unknown>)[name];
    if (name === 'constructor' || typeof handler !== 'function') continue;
    const path = Reflect.getMetadata(PATH_METADATA, handler) as string | undefined;
    const method = Reflect.getMetadata(METHOD_METADATA, handler) as RequestMethod | undefined;
    if (path === undefined || method === undefined) continue; // a stream handler or a helper, not an HTTP route
    const full = `/${[base, path].map((p) => p.replace(/^\/+|\/+$/g, '')).filter(Boolean).join('/')}`;
    const scope = (Reflect.getMetadata(REQUIRED_SCOPE, handler) ?? Reflect.getMetadata(REQUIRED_SCOPE, controller)) as RouteScope | undefined;
    routes.push({ route: `${RequestMethod[method]} ${full}`, scope });
  }
  return routes;
}

test('every route of every target declares a scope, and the scopes are the documented ones', async () => {
  const runtime = new Runtime({ ...loadSettings({ STREAMLOOP_PIPELINES: '', LOG_LEVEL: 'error', STREAMLOOP_AUTH: 'off' }), pipelineFiles: [] }, []);
  try {
    const modules: AnyModule[] = [PlatformModule.register(runtime), ...Object.values(TARGET_MODULES), SchemaRegistryModule.register({ log: undefined as never })];
    const controllers = [...new Set(modules.flatMap((m) => controllersOf(m)))];
    const routes = controllers.flatMap(routesOf);
    const undeclared = routes.filter((r) => r.scope === undefined).map((r) => r.route);
    assert.deepEqual(undeclared, [], `routes without @RequiresScope (the guard refuses them): ${undeclared.join(', ')}`);
    const scopes = Object.fromEntries(routes.map((r) => [r.route, typeof r.scope === 'string' ? r.scope : r.scope!.join(' or ')]));
    // The API's routes and what they need (README "Authentication"); the registry's are checked by pattern below.
    const api = Object.fromEntries(Object.entries(scopes).filter(([r]) => / \/(v1|metrics|health)/.test(r)));
    assert.deepEqual(api, {
      'GET /metrics': 'operational',
      'GET /health': 'operational',
      'POST /v1/pipelines/:pipeline/events': 'ingest',
      'POST /v1/pipelines/:pipeline/predict': 'predict',
      'GET /v1/pipelines/:pipeline/model': 'read',
      'GET /v1/pipelines/:pipeline/drift': 'read',
      'POST /v1/pipelines/:pipeline/drift': 'admin',
      'POST /v1/pipelines/:pipeline/train': 'admin',
      'GET /v1/pipelines/:pipeline/retraining': 'read',
      'GET /v1/pipelines/:pipeline/models': 'read',
      'GET /v1/pipelines/:pipeline/models/:version': 'read',
      'GET /v1/pipelines/:pipeline/models/:version/card': 'read',
      'POST /v1/pipelines/:pipeline/models/rollback': 'admin',
      'POST /v1/pipelines/:pipeline/models/:version/promote': 'admin',
      'POST /v1/pipelines/:pipeline/models/:version/archive': 'admin',
      'POST /v1/pipelines/:pipeline/models/external': 'admin',
      'GET /v1/status': 'read',
      'GET /v1/pipelines/:pipeline/report': 'read',
      'GET /v1/console/pipelines': 'read',
      'GET /v1/console/pipelines/:pipeline/lag': 'read',
      'GET /v1/console/pipelines/:pipeline/drift': 'read',
      'GET /v1/console/pipelines/:pipeline/performance': 'read',
      'GET /v1/console/pipelines/:pipeline/experiments': 'read',
      'GET /v1/console/pipelines/:pipeline/model-history': 'read',
      'GET /v1/console/pipelines/:pipeline/dlq': 'read',
      'GET /v1/console/pipelines/:pipeline/predictions/stream': 'read',
    });
    // The console's page and its static files hold no data: a browser loads them without a header.
    assert.equal(scopes['GET /console'], 'public');
    assert.equal(scopes['GET /console/:asset'], 'public');
    const registry = Object.entries(scopes).filter(([r]) => !/ \/(v1|metrics|health|console)/.test(r));
    assert.ok(registry.length >= 20, `the registry's routes were found (${registry.length})`);
    for (const [route, scope] of registry) {
      // Looking a schema up under a subject and testing compatibility are POSTs that change nothing; a producer that
      // registers (schema) reads too (a Confluent client asks for the subject's config first).
      const lookup = route === 'POST /subjects/:subject' || route.startsWith('POST /compatibility/');
      const expected = route.startsWith('GET ') || lookup ? 'read or schema' : 'schema';
      assert.equal(scope, expected, `${route}: reads and lookups need read (or schema), changes need schema`);
    }
  } finally {
    await runtime.close();
  }
});
