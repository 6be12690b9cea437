export * from './access-log.js';
export * from './health.js';
export * from './logger.js';
export * from './metrics.js';
export * from './telemetry.module.js';
export * from './tracing.js';
export * from './reconcile-metrics.js';
