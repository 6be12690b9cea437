/**
 * The Kubernetes API server stand-in and its fixtures (libs/runtime/testing), for tests outside
 * libs/runtime: services' integration tests and the end-to-end suites that run the sessions or
 * apps service on the kubernetes runtime. The stand-in says, part by part, which real behaviour it
 * keeps (kube-api-standin.ts).
 */
export { KubeApiStandin, type ImageBehaviour, type StandinOptions } from '../../libs/runtime/testing/kube-api-standin.js';
export { kubeConfigFor, NAMESPACE, startKubernetes } from '../../libs/runtime/testing/kubernetes-fixtures.js';
