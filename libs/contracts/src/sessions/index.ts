export * from './events.js';
export * from './resource-pool.js';
export * from './rpc.js';
export * from './session.js';
export * from './secrets.js';
export * from './data-connectors.js';
