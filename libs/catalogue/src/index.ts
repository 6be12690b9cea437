export * from './catalogue.entity.js';
export * from './catalogue.options.js';
export * from './catalogue.projection.js';
export * from './catalogue.service.js';
export * from './create-catalogue.migration.js';
export * from './create-launcher-tombstones.migration.js';
export * from './project-access.js';
