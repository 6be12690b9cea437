export * from './data-source.js';
export * from './persistence.module.js';
