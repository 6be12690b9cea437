// `node apps/environments/dist/migrate.js`: migrates the `environments` schema and exits (the cluster's migrations Job).
import 'reflect-metadata';
import { runMigrationsCommand } from '@launchpad/persistence';
import { environmentsEntities, environmentsMigrations } from './environments.module.js';

runMigrationsCommand({ schema: 'environments', entities: environmentsEntities, migrations: environmentsMigrations, applicationName: 'launchpad-environments-migrations' }).then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`${JSON.stringify({ level: 'fatal', service: 'environments', msg: 'migrations failed', err: String((error as Error)?.stack ?? error) })}\n`);
    process.exit(1);
  },
);
