// `node apps/apps/dist/migrate.js`: migrates the `apps` schema and exits (the cluster's migrations Job).
import 'reflect-metadata';
import { runMigrationsCommand } from '@launchpad/persistence';
import { appsEntities, appsMigrations } from './apps.module.js';

runMigrationsCommand({ schema: 'apps', entities: appsEntities, migrations: appsMigrations, applicationName: 'launchpad-apps-migrations' }).then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`${JSON.stringify({ level: 'fatal', service: 'apps', msg: 'migrations failed', err: String((error as Error)?.stack ?? error) })}\n`);
    process.exit(1);
  },
);
