export { SchemaRegistryModule, type SchemaRegistryModuleOptions } from './schema-registry.module';
export { SchemaRegistryController } from './registry.controller';
export { RegistryErrorFilter } from './error.filter';
export { SCHEMA_REGISTRY_OPTIONS, SCHEMA_REGISTRY_STORE, REGISTRY_CONTENT_TYPE, REGISTRY_REQUEST_TYPES } from './tokens';
export { startSchemaRegistry, type StartSchemaRegistryOptions, type RunningSchemaRegistry } from './server';
