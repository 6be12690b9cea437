/**
 * The Kubernetes API server stand-in and its fixtures (libs/runtime/testing), for tests outside
 * libs/runtime: services' integration tests and the end-to-end suites that run the sessions or
 * apps service on the kubernetes runtime. The stand-in says, part by part, which real behaviour it
 * keeps (kube-api-standin.ts).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

export { KubeApiStandin, type ImageBehaviour, type StandinOptions } from '../../libs/runtime/testing/kube-api-standin.js';
export { kubeConfigFor, NAMESPACE, startKubernetes } from '../../libs/runtime/testing/kubernetes-fixtures.js';

/**
 * A kubeconfig file for a service started by a test (KUBECONFIG=<it>), pointing at the stand-in
 * with a bearer token, as `kubectl config` would write it (JSON, which is YAML).
 */
export function writeKubeconfig(dir: string, server: string, namespace: string): string {
  const path = join(dir, 'kubeconfig');
  const config = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'standin', cluster: { server, 'insecure-skip-tls-verify': true } }],
    users: [{ name: 'launchpad', user: { token: 'standin-token' } }],
    contexts: [{ name: 'standin', context: { cluster: 'standin', user: 'launchpad', namespace } }],
    'current-context': 'standin',
  };
  writeFileSync(path, JSON.stringify(config), { mode: 0o600 });
  return path;
}
