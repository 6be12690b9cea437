import type { Provider } from '@nestjs/common';
import { loadKubernetesRuntime, containWorkloads, ProcessRuntime, type Runtime } from '@launchpad/runtime';
import { structuredLogger } from '@launchpad/telemetry';
import type { SessionsConfig } from '../config.js';
import { SESSION_RUNTIME } from '../sessions/tokens.js';
import { SESSIONS_CONFIG } from './session-reconciler.js';

/** The runtime chosen by SESSION_RUNTIME: child processes on this machine, or cluster objects. */
export const sessionRuntimeProvider: Provider = {
  provide: SESSION_RUNTIME,
  inject: [SESSIONS_CONFIG],
  useFactory: async (config: SessionsConfig): Promise<Runtime> => {
    if (config.runtime.kind === 'kubernetes') {
      const [{ KubernetesRuntime }, { KubeConfig }] = await Promise.all([loadKubernetesRuntime(), import('@kubernetes/client-node')]);
      // In a pod: its ServiceAccount's token and CA; elsewhere KUBECONFIG or ~/.kube/config.
      const kubeConfig = new KubeConfig();
      kubeConfig.loadFromDefault();
      return new KubernetesRuntime({
        kubeConfig,
        kinds: ['session'],
        // Required with this runtime (checkKubernetesRuntime).
        specHashKey: config.runtime.specHashKey!,
        ...config.kubernetes,
        repositoryPolicy: config.runtime.repositoryPolicy,
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
      logger: structuredLogger('ProcessRuntime'),
    });
  },
};
