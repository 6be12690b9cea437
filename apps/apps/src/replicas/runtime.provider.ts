import type { Provider } from '@nestjs/common';
import { ProcessRuntime, type Runtime } from '@launchpad/runtime';
import { structuredLogger } from '@launchpad/telemetry';
import { APP_RUNTIME, APPS_CONFIG, type AppsConfig } from '../config.js';

/** The runtime chosen by configuration; `process` is the one this release ships. */
export const appRuntimeProvider: Provider = {
  provide: APP_RUNTIME,
  inject: [APPS_CONFIG],
  useFactory: (config: AppsConfig): Runtime => {
    return new ProcessRuntime({
      dataDir: config.runtime.dataDir,
      readinessTimeoutMs: config.runtime.readinessTimeoutMs,
      // A cold start holds requests until the replica answers: probe often (a refused connection costs next to nothing).
      readinessIntervalMs: 25,
      logger: structuredLogger('ProcessRuntime'),
    });
  },
};
