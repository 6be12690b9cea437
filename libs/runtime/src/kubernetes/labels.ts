import { createHash } from 'node:crypto';
import type { WorkloadKind } from '../runtime.js';

/**
 * What the kubernetes driver writes on every object it makes, so that it (and an operator with
 * `kubectl get -l app.kubernetes.io/managed-by=launchpad`) finds them again. The NetworkPolicy
 * in deploy/k8s/base/network-policies.yaml selects workload pods by MANAGED_BY; workload pods never
 * carry `app.kubernetes.io/part-of: launchpad`, which the platform's own pods have.
 */
export const LABELS = {
  managedBy: 'app.kubernetes.io/managed-by',
  component: 'app.kubernetes.io/component',
  /** The session id (sessions) on every object of one session. */
  workload: 'launchpad.io/workload',
  /** The app id on every object of one app. */
  app: 'launchpad.io/app',
  /** Which generation of an app a replica belongs to; a new one rolls every replica. */
  generation: 'launchpad.io/generation',
  ownerService: 'launchpad.io/owner-service',
  ownerId: 'launchpad.io/owner-id',
} as const;

export const MANAGED_BY = 'launchpad';

export const ANNOTATIONS = {
  /** workloadSpecHash of the spec, on the pod template (so each pod says what it runs) and the workload. */
  specHash: 'launchpad.io/spec-hash',
  /** keyedHash of the workload's Secret content, on the pod template: a changed secret value rolls the pods. */
  secretsHash: 'launchpad.io/secrets-hash',
  /** What the driver needs to re-create a deleted Service or claim without the caller: port, disk, class. */
  servicePort: 'launchpad.io/service-port',
  diskGb: 'launchpad.io/disk-gb',
  storageClass: 'launchpad.io/storage-class',
  /** The ReplicaSet controller removes the pods with the lowest cost first on a scale-down. */
  deletionCost: 'controller.kubernetes.io/pod-deletion-cost',
} as const;

/** The selector of everything of one kind the driver made. */
export function kindSelector(kind: WorkloadKind): string {
  return `${LABELS.managedBy}=${MANAGED_BY},${LABELS.component}=${kind}`;
}

/**
 * A name of at most `max` characters starting with `prefix`: Service names must start with a
 * letter (DNS-1035) while ids may start with a digit, and a StatefulSet's name must leave room for
 * its pods' `-<ordinal>` and revision-hash label. Too long an id is cut and given a hash suffix.
 */
export function objectName(prefix: string, id: string, max: number): string {
  const name = `${prefix}${id}`;
  if (name.length <= max) return name;
  const hash = createHash('sha256').update(id).digest('hex').slice(0, 8);
  return `${name.slice(0, max - 9).replace(/-+$/, '')}-${hash}`;
}

/** StatefulSet, Service, claim and Secret of a session. 52: a StatefulSet's controller-revision-hash label is `<name>-<10 chars>` and must fit in 63. */
export const sessionNames = (id: string) => {
  const base = objectName('s-', id, 52);
  return { statefulSet: base, service: base, claim: `${base}-work`, pod: `${base}-0`, secret: `${base}-secrets` };
};

/** Deployment, Service and Secret of an app (app ids are at most 40 characters, so these always fit). */
export const appNames = (appId: string) => {
  const base = objectName('a-', appId, 47);
  return { deployment: base, service: base, secret: `${base}-secrets` };
};
