export * from './environment.js';
export * from './events.js';
export * from './launcher.js';
export * from './project.js';
export * from './rpc.js';
export * from './env-variables.js';
export * from './row-version.js';
