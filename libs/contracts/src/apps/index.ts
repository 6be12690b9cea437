export * from './app.js';
export * from './caller.js';
export * from './events.js';
export * from './rpc.js';
export * from './signals.js';
