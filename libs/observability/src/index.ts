export { StreamloopMetrics } from './metrics';
export { createLogger, type Logger } from './logger';
export { HealthRegistry, type ComponentState } from './health';
