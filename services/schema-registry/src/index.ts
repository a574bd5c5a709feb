export { SchemaRegistryModule, type SchemaRegistryModuleOptions } from './schema-registry.module';
export { SchemaRegistryController } from './registry.controller';
export { RegistryErrorFilter } from './error.filter';
export { SCHEMA_REGISTRY_OPTIONS, SCHEMA_REGISTRY_STORE, REGISTRY_CONTENT_TYPE, REGISTRY_REQUEST_TYPES } from './tokens';
export { startSchemaRegistry, type StartSchemaRegistryOptions, type RegistryServerOptions, type RunningSchemaRegistry } from './server';
export { schemaRegistryOptions, type SchemaRegistryTargetOptions } from './settings';
