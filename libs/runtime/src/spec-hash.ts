import { createHash } from 'node:crypto';
import type { AppWorkloadSpec, WorkloadSpec } from './runtime.js';

/** JSON with object keys sorted, so that two equal specs hash the same whatever order their fields were built in. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/**
 * What identifies how a workload runs: the hash of its spec (without its id and owner, which
 * name it rather than say how it runs), 16 hex digits. Stored on the workload when it starts
 * (Kubernetes: an annotation on the pod template) and reported as `WorkloadStatus.specHash`, so
 * that a changed launcher rolls it the way a Deployment's pod-template-hash does.
 */
export function workloadSpecHash(spec: WorkloadSpec | AppWorkloadSpec['template']): string {
  const { id: _id, kind: _kind, owner: _owner, ...rest } = spec as Partial<WorkloadSpec> & AppWorkloadSpec['template'];
  return createHash('sha256').update(canonical(rest)).digest('hex').slice(0, 16);
}
