// `node apps/sessions/dist/migrate.js`: migrates the `sessions` schema and exits (the cluster's migrations Job).
import 'reflect-metadata';
import { runMigrationsCommand } from '@launchpad/persistence';
import { sessionsEntities, sessionsMigrations } from './sessions.module.js';

runMigrationsCommand({ schema: 'sessions', entities: sessionsEntities, migrations: sessionsMigrations, applicationName: 'launchpad-sessions-migrations' }).then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`${JSON.stringify({ level: 'fatal', service: 'sessions', msg: 'migrations failed', err: String((error as Error)?.stack ?? error) })}\n`);
    process.exit(1);
  },
);
