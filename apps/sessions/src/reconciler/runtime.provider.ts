import { Logger, type Provider } from '@nestjs/common';
import { ProcessRuntime, type Runtime } from '@launchpad/runtime';
import type { SessionsConfig } from '../config.js';
import { SESSION_RUNTIME } from '../sessions/tokens.js';
import { SESSIONS_CONFIG } from './session-reconciler.js';

/** The runtime chosen by configuration; `process` is the one this release ships. */
export const sessionRuntimeProvider: Provider = {
  provide: SESSION_RUNTIME,
  inject: [SESSIONS_CONFIG],
  useFactory: (config: SessionsConfig): Runtime => {
    const logger = new Logger('ProcessRuntime');
    return new ProcessRuntime({
      dataDir: config.runtime.dataDir,
      readinessTimeoutMs: config.runtime.readinessTimeoutMs,
      logger: {
        info: (obj: object, msg: string) => logger.log({ ...obj }, msg),
        warn: (obj: object, msg: string) => logger.warn({ ...obj }, msg),
        error: (obj: object, msg: string) => logger.error({ ...obj }, msg),
      },
    });
  },
};
