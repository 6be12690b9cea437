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
      // A cold start holds requests until the replica answers: probe often (a refused connection costs next to nothing).
      readinessIntervalMs: 25,
      logger: {
        info: (obj: object, msg: string) => logger.log({ ...obj }, msg),
        warn: (obj: object, msg: string) => logger.warn({ ...obj }, msg),
        error: (obj: object, msg: string) => logger.error({ ...obj }, msg),
      },
    });
  },
};
