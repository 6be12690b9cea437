import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ROOT } from '../harness.js';

/** The stand-in app (see app-program.mjs). */
export const APP_PROGRAM = join(ROOT, 'tools', 'testing', 'programs', 'app-program.mjs');

/** A repository file that runs the stand-in app, for a Procfile's `web: node app.js`. */
export const APP_JS = `import(${JSON.stringify(pathToFileURL(APP_PROGRAM).href)});\n`;

/** An app launcher's environment that runs the stand-in app with `env`. */
export const appProgramEnvironment = (env: Record<string, string> = {}) => ({
  kind: 'custom',
  image: 'ghcr.io/lab/app:1',
  port: 8000,
  command: [process.execPath],
  args: [APP_PROGRAM],
  env,
});

/** The apps service of a test: replicas under `dataDir`, windows and intervals of a second or less, so that it scales within seconds. */
export function quickAppsEnv(dataDir: string, overrides: Record<string, string> = {}): Record<string, string> {
  return {
    RUNTIME_DATA_DIR: dataDir,
    APP_STABLE_WINDOW_MS: '2000',
    APP_PANIC_WINDOW_MS: '1000',
    APP_IDLE_GRACE_MS: '2000',
    APP_SCALER_TICK_MS: '250',
    // Longer than the route refresh plus a report interval, as the service requires.
    APP_DRAIN_MS: '1000',
    ACTIVATOR_REPORT_INTERVAL_MS: '250',
    ACTIVATOR_ROUTE_REFRESH_MS: '500',
    APP_RECONCILE_INTERVAL_MS: '1000',
    APP_RESTART_BACKOFF_MS: '100',
    LEADER_ELECTION_INTERVAL_MS: '500',
    ...overrides,
  };
}
