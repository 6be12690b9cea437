import type { Provider } from '@nestjs/common';
import { ProcessRuntime, processIsolationFor, type Runtime } from '@launchpad/runtime';
import { structuredLogger } from '@launchpad/telemetry';
import { APP_RUNTIME, APPS_CONFIG, type AppsConfig } from '../config.js';
import { ConcurrencyCollector } from '../scaler/concurrency-collector.js';
import { Leadership } from './leadership.js';

/** The longest pause before a crashed replica is started again. */
const MAX_RESTART_BACKOFF_MS = 5 * 60_000;

/** The runtime chosen by configuration; `process` is the one this release ships. */
export const appRuntimeProvider: Provider = {
  provide: APP_RUNTIME,
  inject: [APPS_CONFIG, Leadership, ConcurrencyCollector],
  useFactory: (config: AppsConfig, leadership: Leadership, concurrency: ConcurrencyCollector): Runtime => {
    return new ProcessRuntime({
      dataDir: config.runtime.dataDir,
      readinessTimeoutMs: config.runtime.readinessTimeoutMs,
      // Run as root, every workload gets a uid of its own; a multi-user installation that cannot do that does not start.
      isolation: processIsolationFor(config.runtime),
      limits: config.runtime.limits,
      repositoryPolicy: config.runtime.repositoryPolicy,
      // A cold start holds requests until the replica answers: probe often (a refused connection costs next to nothing).
      readinessIntervalMs: 25,
      logger: structuredLogger('ProcessRuntime'),
      apps: {
        drainMs: config.replicas.drainMs,
        // Requests still in flight on a draining replica are let finish, up to APP_DRAIN_MAX_MS.
        maxDrainMs: config.replicas.drainMaxMs,
        busy: (endpoint) => concurrency.outstanding(endpoint, Date.now()) > 0,
        restart: { backoffMs: config.replicas.crashes.backoffMs, windowMs: config.replicas.crashes.windowMs, maxBackoffMs: MAX_RESTART_BACKOFF_MS },
        // Only the leader runs replicas, as only it ran them before the runtime did.
        leadership,
      },
    });
  },
};
