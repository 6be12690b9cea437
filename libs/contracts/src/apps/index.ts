export * from './app.js';
export * from './events.js';
export * from './rpc.js';
export * from './signals.js';
