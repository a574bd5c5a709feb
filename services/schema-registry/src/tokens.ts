/** Injection token for SchemaRegistryModuleOptions. */
export const SCHEMA_REGISTRY_OPTIONS = Symbol('SCHEMA_REGISTRY_OPTIONS');
/** Injection token for the started SchemaRegistryStore. */
export const SCHEMA_REGISTRY_STORE = Symbol('SCHEMA_REGISTRY_STORE');

/** Confluent's response media type; clients also accept application/json. */
export const REGISTRY_CONTENT_TYPE = 'application/vnd.schemaregistry.v1+json';
/** Request media types the registry parses as JSON. */
export const REGISTRY_REQUEST_TYPES = ['application/vnd.schemaregistry.v1+json', 'application/vnd.schemaregistry+json', 'application/json'];
