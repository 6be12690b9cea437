export * from './runtime.js';
export * from './process/process-runtime.js';
export * from './reconcile-queue.js';
