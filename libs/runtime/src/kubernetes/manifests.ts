import type * as k8s from '@kubernetes/client-node';
import { allowedGitProtocols, type RepositoryUrlPolicy, repositoryUrlProblem } from '@launchpad/contracts';
import { RuntimeError, RuntimeErrorCode } from '../runtime-error.js';
import type { AppWorkloadSpec, ResourceSpec, WorkloadKind, WorkloadOwner, WorkloadSpec } from '../runtime.js';
import { workloadSpecHash } from '../spec-hash.js';
import { ANNOTATIONS, appNames, LABELS, MANAGED_BY, sessionNames } from './labels.js';

/** What the manifests need from the driver's configuration. */
export interface ManifestSettings {
  namespace: string;
  /** Default storage class of work volumes; null: the cluster's default class. */
  storageClassName: string | null;
  /** Pull secrets for every workload, besides the spec's own. */
  imagePullSecrets: string[];
  /** The image of the init container that clones repositories into /work (needs `git` and `sh`). */
  gitImage: string;
  /** Used when an environment names no uid/gid (the pod never runs as root). */
  defaultUid: number;
  defaultGid: number;
  /** Which remotes the clone may take (REPOSITORY_HOSTS, ALLOW_FILE_REPOSITORIES): the process runtime's rule. */
  repositoryPolicy: RepositoryUrlPolicy;
  /** The key of the spec-hash annotations (RUNTIME_SPEC_HASH_KEY): the same in every replica. */
  specHashKey: Buffer;
}

type Template = Omit<WorkloadSpec, 'id' | 'kind' | 'owner'>;

const MAIN = 'main';
const CLONE = 'clone-repositories';
const WORK_VOLUME = 'work';
/** Repository directory names become paths under /work: one path segment, no dot-dot. */
const REPOSITORY_NAME = /^[A-Za-z0-9._-]+$/;

function labelsFor(kind: WorkloadKind, owner: WorkloadOwner): Record<string, string> {
  return { [LABELS.managedBy]: MANAGED_BY, [LABELS.component]: kind, [LABELS.ownerService]: owner.service, [LABELS.ownerId]: owner.id };
}

/** Kubernetes quantities from the spec's numbers. */
function resources(r: ResourceSpec): k8s.V1ResourceRequirements {
  const requests: Record<string, string> = { cpu: `${Math.max(1, Math.round(r.cpu * 1000))}m`, memory: `${Math.max(1, Math.round(r.memoryMb))}Mi` };
  const limits: Record<string, string> = { memory: `${Math.max(1, Math.round(r.limits?.memoryMb ?? r.memoryMb))}Mi` };
  if (r.limits?.cpu) limits.cpu = `${Math.round(r.limits.cpu * 1000)}m`;
  if (r.gpu > 0) {
    // Extended resources are whole devices and must be equal in requests and limits.
    const name = r.gpuResourceName ?? 'nvidia.com/gpu';
    requests[name] = String(r.gpu);
    limits[name] = String(r.gpu);
  }
  return { requests, limits };
}

/** The user and group: the environment's, never root (runAsNonRoot also makes the kubelet check). */
function podSecurity(spec: Template, settings: ManifestSettings): k8s.V1PodSecurityContext {
  const uid = spec.security?.uid ?? settings.defaultUid;
  const gid = spec.security?.gid ?? settings.defaultGid;
  if (uid === 0) throw new RuntimeError(RuntimeErrorCode.INVALID_SPEC, 'the environment asks to run as uid 0 (root): workloads run as an unprivileged user; set its uid to a non-zero one (e.g. 1000)');
  return {
    runAsNonRoot: true,
    runAsUser: uid,
    runAsGroup: gid,
    fsGroup: spec.security?.fsGroup ?? gid,
    // Only re-chown the volume when its root is not already ours: a big /work mounts quickly.
    fsGroupChangePolicy: 'OnRootMismatch',
    seccompProfile: { type: 'RuntimeDefault' },
  };
}

const containerSecurity: k8s.V1SecurityContext = {
  allowPrivilegeEscalation: false,
  capabilities: { drop: ['ALL'] },
  seccompProfile: { type: 'RuntimeDefault' },
};

function readinessPath(spec: Template): string {
  const base = spec.baseUrl.endsWith('/') ? spec.baseUrl : `${spec.baseUrl}/`;
  const rest = spec.defaultUrl.replace(/^\/+/, '');
  return `${base}${rest}`;
}

/**
 * The init container: clones each repository into /work/<name> once (a resumed session keeps its
 * clone and the user's changes). Names and URLs are passed as arguments, never spliced into the
 * script, so a URL cannot inject shell.
 */
function cloneContainer(spec: Template, settings: ManifestSettings, security: k8s.V1SecurityContext): k8s.V1Container | null {
  if (spec.repositories.length === 0) return null;
  for (const r of spec.repositories) {
    if (!REPOSITORY_NAME.test(r.name) || r.name === '.' || r.name === '..') {
      throw new RuntimeError(RuntimeErrorCode.INVALID_SPEC, `invalid repository directory name "${r.name}": letters, digits, '.', '_' and '-' only`);
    }
    // The same rule the process runtime clones under, and the environments service writes projects under.
    const problem = repositoryUrlProblem(r.url, settings.repositoryPolicy);
    if (problem) throw new RuntimeError(RuntimeErrorCode.INVALID_SPEC, `repository ${r.url} is not cloned: ${problem}`);
  }
  const script = [
    'set -eu',
    'while [ "$#" -gt 0 ]; do',
    '  dir="$WORK/$1"; url="$2"; shift 2',
    '  if [ -d "$dir/.git" ]; then echo "keeping $dir"; continue; fi',
    '  echo "cloning into $dir"',
    '  git clone --quiet -- "$url" "$dir.partial" && mv "$dir.partial" "$dir" || { rm -rf "$dir.partial"; echo "git clone of $url failed" >&2; exit 1; }',
    'done',
  ].join('\n');
  return {
    name: CLONE,
    image: settings.gitImage,
    command: ['sh', '-c', script, 'clone', ...spec.repositories.flatMap((r) => [r.name, r.url])],
    env: [
      { name: 'WORK', value: spec.workingDirectory },
      { name: 'HOME', value: '/tmp' },
      { name: 'GIT_TERMINAL_PROMPT', value: '0' },
      // Nor may a redirect or a submodule switch to another transport.
      { name: 'GIT_ALLOW_PROTOCOL', value: allowedGitProtocols(settings.repositoryPolicy) },
    ],
    workingDir: spec.workingDirectory,
    resources: { requests: { cpu: '100m', memory: '128Mi' }, limits: { memory: '512Mi' } },
    securityContext: security,
    volumeMounts: [{ name: WORK_VOLUME, mountPath: spec.workingDirectory }],
  };
}

function mainContainer(spec: Template, env: Record<string, string>): k8s.V1Container {
  return {
    name: MAIN,
    image: spec.image,
    // An empty command runs the image's entrypoint, with args as its arguments (as Kubernetes does).
    ...(spec.command.length > 0 ? { command: spec.command } : {}),
    args: spec.args,
    env: Object.entries(env).map(([name, value]) => ({ name, value })),
    ports: [{ name: 'http', containerPort: spec.port, protocol: 'TCP' }],
    workingDir: spec.workingDirectory,
    readinessProbe: { httpGet: { path: readinessPath(spec), port: 'http' }, periodSeconds: 2, failureThreshold: 3, timeoutSeconds: 2 },
    resources: resources(spec.resources),
    securityContext: containerSecurity,
    volumeMounts: [{ name: WORK_VOLUME, mountPath: spec.workingDirectory }],
  };
}

function workloadEnv(spec: Template): Record<string, string> {
  return {
    ...spec.env,
    LAUNCHPAD_HOST: '0.0.0.0',
    LAUNCHPAD_PORT: String(spec.port),
    PORT: String(spec.port),
    LAUNCHPAD_BASE_URL: spec.baseUrl,
    LAUNCHPAD_WORK_DIR: spec.workingDirectory,
  };
}

function podSpec(spec: Template, settings: ManifestSettings, volume: k8s.V1Volume): k8s.V1PodSpec {
  const security = podSecurity(spec, settings);
  const clone = cloneContainer(spec, settings, containerSecurity);
  const pullSecrets = [...new Set([...settings.imagePullSecrets, ...(spec.imagePullSecrets ?? [])])];
  return {
    // User code gets no API token and no environment variables describing the platform's Services.
    automountServiceAccountToken: false,
    enableServiceLinks: false,
    securityContext: security,
    ...(pullSecrets.length > 0 ? { imagePullSecrets: pullSecrets.map((name) => ({ name })) } : {}),
    ...(spec.scheduling && Object.keys(spec.scheduling.nodeSelector).length > 0 ? { nodeSelector: spec.scheduling.nodeSelector } : {}),
    ...(spec.scheduling && spec.scheduling.tolerations.length > 0 ? { tolerations: spec.scheduling.tolerations } : {}),
    ...(clone ? { initContainers: [clone] } : {}),
    containers: [mainContainer(spec, workloadEnv(spec))],
    volumes: [volume],
  };
}

export interface SessionObjects {
  statefulSet: k8s.V1StatefulSet;
  /** Without owner references: the driver adds the StatefulSet's uid once it knows it. */
  claim: k8s.V1PersistentVolumeClaim;
  service: k8s.V1Service;
}

/** A session: a StatefulSet of one replica (0 when stopped), its work claim and its Service. */
export function sessionObjects(spec: WorkloadSpec, settings: ManifestSettings, replicas: 0 | 1): SessionObjects {
  const names = sessionNames(spec.id);
  const labels = { ...labelsFor('session', spec.owner), [LABELS.workload]: spec.id };
  const selector = { [LABELS.managedBy]: MANAGED_BY, [LABELS.workload]: spec.id };
  const hash = workloadSpecHash(spec, settings.specHashKey);
  const storageClassName = spec.storageClassName ?? settings.storageClassName;
  const diskGb = Math.max(1, Math.ceil(spec.resources.diskGb));
  const statefulSet: k8s.V1StatefulSet = {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: {
      name: names.statefulSet,
      namespace: settings.namespace,
      labels,
      annotations: {
        [ANNOTATIONS.specHash]: hash,
        [ANNOTATIONS.servicePort]: String(spec.port),
        [ANNOTATIONS.diskGb]: String(diskGb),
        [ANNOTATIONS.storageClass]: storageClassName ?? '',
      },
    },
    spec: {
      replicas,
      serviceName: names.service,
      selector: { matchLabels: selector },
      template: {
        metadata: { labels, annotations: { [ANNOTATIONS.specHash]: hash } },
        spec: { ...podSpec(spec, settings, { name: WORK_VOLUME, persistentVolumeClaim: { claimName: names.claim } }), terminationGracePeriodSeconds: 30 },
      },
    },
  };
  return { statefulSet, claim: claimFor(spec.id, labels, settings.namespace, diskGb, storageClassName), service: serviceFor(names.service, labels, selector, spec.port, settings.namespace) };
}

export function claimFor(id: string, labels: Record<string, string>, namespace: string, diskGb: number, storageClassName: string | null): k8s.V1PersistentVolumeClaim {
  return {
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: { name: sessionNames(id).claim, namespace, labels },
    spec: {
      accessModes: ['ReadWriteOnce'],
      resources: { requests: { storage: `${diskGb}Gi` } },
      ...(storageClassName ? { storageClassName } : {}),
    },
  };
}

export function serviceFor(name: string, labels: Record<string, string>, selector: Record<string, string>, port: number, namespace: string): k8s.V1Service {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace, labels },
    spec: { type: 'ClusterIP', selector, ports: [{ name: 'http', port, targetPort: 'http', protocol: 'TCP' }] },
  };
}

export interface AppObjects {
  deployment: k8s.V1Deployment;
  service: k8s.V1Service;
}

/** An app: a Deployment of `replicas` pods of one template and a Service whose EndpointSlices list them. */
export function appObjects(spec: AppWorkloadSpec, settings: ManifestSettings): AppObjects {
  const names = appNames(spec.appId);
  const owner: WorkloadOwner = { service: 'apps', id: spec.appId };
  const labels = { ...labelsFor('app', owner), [LABELS.app]: spec.appId };
  const podLabels = { ...labels, [LABELS.generation]: String(spec.generation) };
  const selector = { [LABELS.managedBy]: MANAGED_BY, [LABELS.app]: spec.appId };
  const hash = workloadSpecHash(spec.template, settings.specHashKey);
  const drainSeconds = Math.ceil((spec.drainMs ?? 10_000) / 1000);
  // An app replica keeps nothing: its work directory is scratch space, cloned again on each start.
  const pod = podSpec(spec.template, settings, { name: WORK_VOLUME, emptyDir: { sizeLimit: `${Math.max(1, Math.ceil(spec.template.resources.diskGb))}Gi` } });
  // Taken out of the EndpointSlice (terminating) first, then a preStop sleep lets it finish what it serves.
  pod.containers[0]!.lifecycle = { preStop: { sleep: { seconds: drainSeconds } } };
  const deployment: k8s.V1Deployment = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: names.deployment, namespace: settings.namespace, labels: { ...labels, [LABELS.generation]: String(spec.generation) }, annotations: { [ANNOTATIONS.specHash]: hash, [ANNOTATIONS.servicePort]: String(spec.template.port) } },
    spec: {
      replicas: spec.replicas,
      selector: { matchLabels: selector },
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } },
      template: {
        metadata: { labels: podLabels, annotations: { [ANNOTATIONS.specHash]: hash } },
        spec: { ...pod, terminationGracePeriodSeconds: drainSeconds + 30 },
      },
    },
  };
  return { deployment, service: serviceFor(names.service, labels, selector, spec.template.port, settings.namespace) };
}

/**
 * The owner reference that makes the garbage collector delete a dependent with its workload.
 * No blockOwnerDeletion: setting it needs `update` on the owner's finalizers wherever the
 * OwnerReferencesPermissionEnforcement admission plugin runs, and we never delete in the foreground.
 */
export function ownedBy(owner: { apiVersion?: string; kind?: string; metadata?: { name?: string; uid?: string } }): k8s.V1OwnerReference {
  return { apiVersion: owner.apiVersion!, kind: owner.kind!, name: owner.metadata!.name!, uid: owner.metadata!.uid!, controller: true };
}

export const CONTAINERS = { main: MAIN, clone: CLONE } as const;
