import { Logger, type Provider } from '@nestjs/common';
import { ProcessRuntime, type Runtime } from '@launchpad/runtime';
import { APP_RUNTIME, APPS_CONFIG, type AppsConfig } from '../config.js';

/** The runtime chosen by configuration; `process` is the one this release ships. */
export const appRuntimeProvider: Provider = {
  provide: APP_RUNTIME,
  inject: [APPS_CONFIG],
  useFactory: (config: AppsConfig): Runtime => {
    const logger = new Logger('ProcessRuntime');
    return new ProcessRuntime({
      dataDir: config.runtime.dataDir,
      readinessTimeoutMs: config.runtime.readinessTimeoutMs,
      // Apps wait for their first replica with a request held open: probe often.
      readinessIntervalMs: 100,
      logger: {
        info: (obj: object, msg: string) => logger.log({ ...obj }, msg),
        warn: (obj: object, msg: string) => logger.warn({ ...obj }, msg),
        error: (obj: object, msg: string) => logger.error({ ...obj }, msg),
      },
    });
  },
};
