import { createHash } from 'node:crypto';
import type * as k8s from '@kubernetes/client-node';
import { allowedGitProtocols, type RepositoryUrlPolicy, repositoryUrlProblem } from '@launchpad/contracts';
import { RuntimeError, RuntimeErrorCode } from '../runtime-error.js';
import type { AppWorkloadSpec, ResourceSpec, WorkloadKind, WorkloadOwner, WorkloadSpec } from '../runtime.js';
import { keyedHash, workloadSpecHash } from '../spec-hash.js';
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
const SECRETS_VOLUME = 'secrets';
/** Where a container finds its secret files (WorkloadSpec.secretFiles). */
export const SECRETS_DIR = '/secrets';
const SECRET_KEY = /^[-._a-zA-Z0-9]+$/;
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

function mainContainer(spec: Template, env: k8s.V1EnvVar[], secrets: WorkloadSecrets | null): k8s.V1Container {
  return {
    name: MAIN,
    image: spec.image,
    // An empty command runs the image's entrypoint, with args as its arguments (as Kubernetes does).
    ...(spec.command.length > 0 ? { command: spec.command } : {}),
    args: spec.args,
    env,
    ports: [{ name: 'http', containerPort: spec.port, protocol: 'TCP' }],
    workingDir: spec.workingDirectory,
    readinessProbe: { httpGet: { path: readinessPath(spec), port: 'http' }, periodSeconds: 2, failureThreshold: 3, timeoutSeconds: 2 },
    resources: resources(spec.resources),
    securityContext: containerSecurity,
    volumeMounts: [{ name: WORK_VOLUME, mountPath: spec.workingDirectory }, ...(secrets && secrets.files.length > 0 ? [{ name: SECRETS_VOLUME, mountPath: SECRETS_DIR, readOnly: true }] : [])],
  };
}

/** What the runtime sets itself, after (and over) the spec's variables, secret or not. */
function runtimeEnv(spec: Template): Record<string, string> {
  return {
    LAUNCHPAD_HOST: '0.0.0.0',
    LAUNCHPAD_PORT: String(spec.port),
    PORT: String(spec.port),
    LAUNCHPAD_BASE_URL: spec.baseUrl,
    LAUNCHPAD_WORK_DIR: spec.workingDirectory,
  };
}

/**
 * The container's environment: the spec's plain variables as values, its secret ones as
 * `secretKeyRef`s into the workload's Secret (a secret one wins over a plain one of the same name,
 * as on the process driver), then the runtime's own. No secret value is written into the pod template.
 */
function workloadEnv(spec: Template, secrets: WorkloadSecrets | null): k8s.V1EnvVar[] {
  const own = runtimeEnv(spec);
  const secretNames = new Set(secrets?.env.map((e) => e.name) ?? []);
  return [
    ...Object.entries(spec.env)
      .filter(([name]) => !secretNames.has(name) && !(name in own))
      .map(([name, value]) => ({ name, value })),
    ...(secrets?.env ?? []).map(({ name, key }) => ({ name, valueFrom: { secretKeyRef: { name: secrets!.name, key } } })),
    ...Object.entries({ ...own, ...(secrets && secrets.files.length > 0 ? { LAUNCHPAD_SECRETS_DIR: SECRETS_DIR } : {}) }).map(([name, value]) => ({ name, value })),
  ];
}

/** A Secret's keys are `[-._a-zA-Z0-9]+`: a name that is not one (or too long) gets a key made of its hash. */
function secretKey(prefix: 'env' | 'file', name: string): string {
  const key = `${prefix}.${name}`;
  return SECRET_KEY.test(name) && key.length <= 253 ? key : `${prefix}.x-${createHash('sha256').update(name).digest('hex').slice(0, 32)}`;
}

/** What of a workload goes into its Secret, and how its pod refers to it. */
export interface WorkloadSecrets {
  /** `<StatefulSet or Deployment name>-secrets`. */
  name: string;
  /** The Secret's `data`: base64, as the API keeps it. */
  data: Record<string, string>;
  env: { name: string; key: string }[];
  files: { key: string; path: string }[];
  /** keyedHash of the content: on the pod template, so a changed value rolls the pods. */
  hash: string;
}

/** Null when the workload has no secret variables and no secret files: then it has no Secret. */
export function workloadSecrets(spec: Template, secretName: string, key: Buffer): WorkloadSecrets | null {
  const own = runtimeEnv(spec);
  const env = Object.entries(spec.secretEnv ?? {}).filter(([name]) => !(name in own));
  const files = spec.secretFiles ?? [];
  if (env.length === 0 && files.length === 0) return null;
  const data: Record<string, string> = {};
  const refs: WorkloadSecrets['env'] = [];
  for (const [name, value] of env) {
    const k = secretKey('env', name);
    data[k] = Buffer.from(value, 'utf8').toString('base64');
    refs.push({ name, key: k });
  }
  const items: WorkloadSecrets['files'] = [];
  for (const file of files) {
    if (!/^(?!\.\.?$)[^/\0]+$/.test(file.name)) throw new RuntimeError(RuntimeErrorCode.INVALID_SPEC, `secret file name "${file.name}" is not a plain file name`);
    const k = secretKey('file', file.name);
    data[k] = Buffer.from(file.content, 'utf8').toString('base64');
    items.push({ key: k, path: file.name });
  }
  return { name: secretName, data, env: refs, files: items, hash: keyedHash(data, key) };
}

export function secretFor(secrets: WorkloadSecrets, labels: Record<string, string>, namespace: string): k8s.V1Secret {
  return { apiVersion: 'v1', kind: 'Secret', metadata: { name: secrets.name, namespace, labels }, type: 'Opaque', data: secrets.data };
}

function podSpec(spec: Template, settings: ManifestSettings, volume: k8s.V1Volume, secrets: WorkloadSecrets | null): k8s.V1PodSpec {
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
    containers: [mainContainer(spec, workloadEnv(spec, secrets), secrets)],
    volumes: [
      volume,
      // Files 0400 owned by root and the pod's fsGroup (the kubelet adds group read for it), which the program runs in.
      ...(secrets && secrets.files.length > 0 ? [{ name: SECRETS_VOLUME, secret: { secretName: secrets.name, defaultMode: 0o400, items: secrets.files } }] : []),
    ],
  };
}

/** The pod template's annotations: what it runs, and the hash of the Secret it reads (a changed value is a changed template). */
function templateAnnotations(hash: string, secrets: WorkloadSecrets | null): Record<string, string> {
  return { [ANNOTATIONS.specHash]: hash, ...(secrets ? { [ANNOTATIONS.secretsHash]: secrets.hash } : {}) };
}

export interface SessionObjects {
  statefulSet: k8s.V1StatefulSet;
  /** Without owner references: the driver adds the StatefulSet's uid once it knows it. */
  claim: k8s.V1PersistentVolumeClaim;
  service: k8s.V1Service;
  /** Its secret variables and files; null when it has none (and then no Secret). Without owner references, as the claim. */
  secret: k8s.V1Secret | null;
}

/** A session: a StatefulSet of one replica (0 when stopped), its work claim and its Service. */
export function sessionObjects(spec: WorkloadSpec, settings: ManifestSettings, replicas: 0 | 1): SessionObjects {
  const names = sessionNames(spec.id);
  const labels = { ...labelsFor('session', spec.owner), [LABELS.workload]: spec.id };
  const selector = { [LABELS.managedBy]: MANAGED_BY, [LABELS.workload]: spec.id };
  const hash = workloadSpecHash(spec, settings.specHashKey);
  const storageClassName = spec.storageClassName ?? settings.storageClassName;
  const diskGb = Math.max(1, Math.ceil(spec.resources.diskGb));
  const secrets = workloadSecrets(spec, names.secret, settings.specHashKey);
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
        metadata: { labels, annotations: templateAnnotations(hash, secrets) },
        spec: { ...podSpec(spec, settings, { name: WORK_VOLUME, persistentVolumeClaim: { claimName: names.claim } }, secrets), terminationGracePeriodSeconds: 30 },
      },
    },
  };
  return {
    statefulSet,
    claim: claimFor(spec.id, labels, settings.namespace, diskGb, storageClassName),
    service: serviceFor(names.service, labels, selector, spec.port, settings.namespace),
    secret: secrets ? secretFor(secrets, labels, settings.namespace) : null,
  };
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
  /** The template's secret variables and files; null when it has none. */
  secret: k8s.V1Secret | null;
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
  const secrets = workloadSecrets(spec.template, names.secret, settings.specHashKey);
  const pod = podSpec(spec.template, settings, { name: WORK_VOLUME, emptyDir: { sizeLimit: `${Math.max(1, Math.ceil(spec.template.resources.diskGb))}Gi` } }, secrets);
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
        metadata: { labels: podLabels, annotations: templateAnnotations(hash, secrets) },
        spec: { ...pod, terminationGracePeriodSeconds: drainSeconds + 30 },
      },
    },
  };
  return { deployment, service: serviceFor(names.service, labels, selector, spec.template.port, settings.namespace), secret: secrets ? secretFor(secrets, labels, settings.namespace) : null };
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
