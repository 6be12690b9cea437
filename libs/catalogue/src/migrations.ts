import { CreateCatalogue1764000000100 } from './create-catalogue.migration.js';
import { CreateLauncherTombstones1764000000200 } from './create-launcher-tombstones.migration.js';
import { VersionCatalogue1764000009100 } from './version-catalogue.migration.js';

/** The read model's migrations, for a service's own list (TypeORM runs every list in timestamp order). */
export const catalogueMigrations = [CreateCatalogue1764000000100, CreateLauncherTombstones1764000000200, VersionCatalogue1764000009100];
