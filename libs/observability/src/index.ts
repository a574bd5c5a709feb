export { StreamloopMetrics, SchemaRegistryMetrics } from './metrics';
export { createLogger, type Logger } from './logger';
export { HealthRegistry, type ComponentState } from './health';
export { OBSERVABILITY_DEFAULTS, LOG_LEVELS, type LogLevel } from './defaults';
