// `node apps/builds/dist/migrate.js`: migrates the `builds` schema and exits (the cluster's migrations Job).
import 'reflect-metadata';
import { runMigrationsCommand } from '@launchpad/persistence';
import { buildsEntities, buildsMigrations } from './builds.module.js';

runMigrationsCommand({ schema: 'builds', entities: buildsEntities, migrations: buildsMigrations, applicationName: 'launchpad-builds-migrations' }).then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`${JSON.stringify({ level: 'fatal', service: 'builds', msg: 'migrations failed', err: String((error as Error)?.stack ?? error) })}\n`);
    process.exit(1);
  },
);
