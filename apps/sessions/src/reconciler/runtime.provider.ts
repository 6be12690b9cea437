import type { Provider } from '@nestjs/common';
import { ProcessRuntime, processIsolationFor, type Runtime } from '@launchpad/runtime';
import { structuredLogger } from '@launchpad/telemetry';
import type { SessionsConfig } from '../config.js';
import { SESSION_RUNTIME } from '../sessions/tokens.js';
import { SESSIONS_CONFIG } from './session-reconciler.js';

/** The runtime chosen by configuration; `process` is the one this release ships. */
export const sessionRuntimeProvider: Provider = {
  provide: SESSION_RUNTIME,
  inject: [SESSIONS_CONFIG],
  useFactory: (config: SessionsConfig): Runtime => {
    return new ProcessRuntime({
      dataDir: config.runtime.dataDir,
      readinessTimeoutMs: config.runtime.readinessTimeoutMs,
      // Run as root, every workload gets a uid of its own; a multi-user installation that cannot do that does not start.
      isolation: processIsolationFor(config.runtime),
      limits: config.runtime.limits,
      repositoryPolicy: config.runtime.repositoryPolicy,
      logger: structuredLogger('ProcessRuntime'),
    });
  },
};
