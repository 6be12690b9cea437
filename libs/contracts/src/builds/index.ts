export * from './build.js';
export * from './events.js';
export * from './gitlab.js';
export * from './rpc.js';
