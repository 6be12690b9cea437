export * from './runtime.js';
export * from './runtime-error.js';
export * from './workload-name.js';
export * from './spec-hash.js';
export * from './process/process-runtime.js';
export * from './reconcile-controller.js';
export * from './fake-runtime.js';
export { parseReplicaId, replicaId } from './process/app-replicas-plan.js';
export { processIsolationFor, type ProcessIsolationOptions } from './process/workload-sandbox.js';
export { containWorkloads, type ContainmentInput } from './process/workload-containment.js';
export type { WorkloadFirewall, BlockedPort } from './process/workload-network.js';
export type { UidRange } from './process/workload-users.js';
export type { ResourceLimitSettings } from './process/resource-limits.js';
// The kubernetes driver is loaded on demand: @kubernetes/client-node is large, and a service on the
// process runtime (every developer machine, every test) should not pay for loading it.
export type { KubernetesRuntime, KubernetesRuntimeOptions, KubernetesRuntimeLogger } from './kubernetes/kubernetes-runtime.js';
export const loadKubernetesRuntime = () => import('./kubernetes/kubernetes-runtime.js');
