import type { Provider } from '@nestjs/common';
import { loadKubernetesRuntime, ProcessRuntime, processIsolationFor, type Runtime } from '@launchpad/runtime';
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
      // Run as root, every workload gets a uid of its own; a multi-user installation that cannot do that does not start.
      isolation: processIsolationFor(config.runtime),
      limits: config.runtime.limits,
      repositoryPolicy: config.runtime.repositoryPolicy,
      specHashKey: config.runtime.specHashKey,
      logger: structuredLogger('ProcessRuntime'),
    });
  },
};
