export * from './runtime.js';
export * from './runtime-error.js';
export * from './workload-name.js';
export * from './spec-hash.js';
export * from './process/process-runtime.js';
export * from './reconcile-queue.js';
export * from './reconcile-controller.js';
export * from './fake-runtime.js';
