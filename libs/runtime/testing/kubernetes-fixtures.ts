import * as k8s from '@kubernetes/client-node';
import type { AppWorkloadSpec, WorkloadSpec } from '../src/runtime.js';
import { KubernetesRuntime, type KubernetesRuntimeOptions } from '../src/kubernetes/kubernetes-runtime.js';
import { KubeApiStandin, type StandinOptions } from './kube-api-standin.js';

export const NAMESPACE = 'launchpad-test';

/** A kubeconfig pointing at the stand-in, as `kubectl config` would write it. */
export function kubeConfigFor(url: string): k8s.KubeConfig {
  const kc = new k8s.KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'standin', server: url, skipTLSVerify: true }],
    users: [{ name: 'launchpad', token: 'standin-token' }],
    contexts: [{ name: 'standin', cluster: 'standin', user: 'launchpad', namespace: NAMESPACE }],
    currentContext: 'standin',
  });
  return kc;
}

export async function startKubernetes(
  standinOptions: StandinOptions = {},
  runtimeOptions: Partial<KubernetesRuntimeOptions> = {},
): Promise<{ api: KubeApiStandin; runtime: KubernetesRuntime; close: () => Promise<void> }> {
  const api = new KubeApiStandin({ unbindableStorageClasses: ['never-binds'], ...standinOptions });
  const url = await api.start();
  const runtime = new KubernetesRuntime({
    kubeConfig: kubeConfigFor(url),
    namespace: NAMESPACE,
    kinds: ['session', 'app'],
    specHashKey: Buffer.alloc(32, 7),
    gitImage: 'alpine/git:2.49.1',
    storageClassName: 'standard',
    repairIntervalMs: 200,
    orphanGraceMs: 0,
    ...runtimeOptions,
  });
  await runtime.synced();
  return {
    api,
    runtime,
    close: async () => {
      await runtime.close();
      await api.stop();
    },
  };
}

export function sessionSpec(id: string, overrides: Partial<WorkloadSpec> = {}): WorkloadSpec {
  return {
    id,
    kind: 'session',
    owner: { service: 'sessions', id },
    image: 'quay.io/jupyter/base-notebook:2025-01-01',
    command: ['jupyter', 'lab'],
    args: ['--ServerApp.base_url=$(LAUNCHPAD_BASE_URL)'],
    env: { JUPYTER_TOKEN: 'secret' },
    port: 8888,
    baseUrl: `/sessions/${id}/`,
    defaultUrl: '/lab',
    workingDirectory: '/work',
    repositories: [{ name: 'analysis', url: 'https://gitlab.example.com/group/analysis.git' }],
    resources: { cpu: 1, memoryMb: 2048, gpu: 0, diskGb: 5 },
    security: { uid: 1000, gid: 100, fsGroup: 100 },
    ...overrides,
  };
}

export function appSpec(appId: string, overrides: Partial<AppWorkloadSpec> = {}): AppWorkloadSpec {
  return {
    appId,
    generation: 1,
    replicas: 1,
    template: {
      image: 'python:3.12-slim',
      command: ['sh', '-c', 'python -m http.server $PORT'],
      args: [],
      env: {},
      port: 8000,
      baseUrl: '/',
      defaultUrl: '/',
      workingDirectory: '/work',
      repositories: [],
      resources: { cpu: 0.5, memoryMb: 512, gpu: 0, diskGb: 1 },
      security: { uid: 1000, gid: 1000, fsGroup: 1000 },
    },
    ...overrides,
  };
}

export async function waitFor<T>(what: string, probe: () => Promise<T | undefined | null | false> | T | undefined | null | false, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
