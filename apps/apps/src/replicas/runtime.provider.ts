import type { Provider } from '@nestjs/common';
import { loadKubernetesRuntime, containWorkloads, ProcessRuntime, type Runtime } from '@launchpad/runtime';
import { structuredLogger } from '@launchpad/telemetry';
import { APP_RUNTIME, APPS_CONFIG, type AppsConfig } from '../config.js';
import { ConcurrencyCollector } from '../scaler/concurrency-collector.js';
import { Leadership } from './leadership.js';

/** The longest pause before a crashed replica is started again. */
const MAX_RESTART_BACKOFF_MS = 5 * 60_000;

/**
 * The runtime chosen by APP_RUNTIME: child processes on this machine, or a Deployment and a Service
 * per app in the cluster. Either way the replica reconciler drives apps as a whole (ensureApp,
 * scaleApp, appStatus, removeApp) and the activator routes to the endpoints appStatus reports.
 */
export const appRuntimeProvider: Provider = {
  provide: APP_RUNTIME,
  inject: [APPS_CONFIG, Leadership, ConcurrencyCollector],
  useFactory: async (config: AppsConfig, leadership: Leadership, concurrency: ConcurrencyCollector): Promise<Runtime> => {
    if (config.runtime.kind === 'kubernetes') {
      const [{ KubernetesRuntime }, { KubeConfig }] = await Promise.all([loadKubernetesRuntime(), import('@kubernetes/client-node')]);
      // In a pod: its ServiceAccount's token and CA; elsewhere KUBECONFIG or ~/.kube/config.
      const kubeConfig = new KubeConfig();
      kubeConfig.loadFromDefault();
      // Every replica of this service watches (its activator needs the endpoints); only the
      // leader's reconciler writes. Restarts after a crash are the kubelet's, drains a preStop
      // sleep of APP_DRAIN_MS after the pod leaves its EndpointSlice.
      return new KubernetesRuntime({
        kubeConfig,
        kinds: ['app'],
        ...config.kubernetes,
        repositoryPolicy: config.runtime.repositoryPolicy,
        // Required with this runtime (checkKubernetesRuntime).
        specHashKey: config.runtime.specHashKey!,
        logger: structuredLogger('KubernetesRuntime'),
      });
    }
    return new ProcessRuntime({
      dataDir: config.runtime.dataDir,
      readinessTimeoutMs: config.runtime.readinessTimeoutMs,
      // Run as root, every workload gets a uid of its own, kept off the platform's ports and Postgres's
      // socket; a multi-user installation that cannot have all of that does not start.
      isolation: await containWorkloads({
        multiUser: config.runtime.multiUser,
        uidRange: config.runtime.uidRange,
        platform: { databaseUrl: config.database.url, natsUrl: config.nats.url, ports: [config.http.port, ...config.runtime.blockedPorts] },
        hiddenPaths: config.runtime.hiddenPaths,
        dataDir: config.runtime.dataDir,
        logger: structuredLogger('WorkloadContainment'),
      }),
      limits: config.runtime.limits,
      repositoryPolicy: config.runtime.repositoryPolicy,
      specHashKey: config.runtime.specHashKey,
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
