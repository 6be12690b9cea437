export * from './data-source.js';
export * from './persistence.module.js';
export * from './leader-election.js';
export * from './migrate-command.js';
export * from './secret-box.js';
export * from './advisory-lock.js';
export * from './transient-errors.js';
export * from './service-roles.js';
