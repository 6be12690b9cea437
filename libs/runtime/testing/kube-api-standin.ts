/**
 * A small stand-in for the Kubernetes API server (and the few controllers behind it) for tests of
 * the `kubernetes` runtime driver: CI has no cluster. It speaks the real REST API over HTTP, so the
 * driver under test uses @kubernetes/client-node unchanged. Each part keeps the semantics of the
 * real thing for what the driver uses, and says which (API conventions:
 * https://github.com/kubernetes/community/blob/master/contributors/devel/sig-architecture/api-conventions.md):
 *
 * - Paths: `/api/v1/namespaces/{ns}/{resource}[/{name}[/{subresource}]]` and
 *   `/apis/{group}/{version}/namespaces/{ns}/...`, for pods, services, persistentvolumeclaims,
 *   secrets, apps/v1 statefulsets and deployments, discovery.k8s.io/v1 endpointslices. Errors are `Status`
 *   objects with `reason` and `code` (NotFound 404, AlreadyExists 409, Conflict 409, Gone 410,
 *   BadRequest 400, UnsupportedMediaType 415, MethodNotAllowed 405), as the API server sends them.
 * - resourceVersion: one counter for every object, as etcd's revision; a list carries the
 *   revision it was read at. `metadata.uid`, `creationTimestamp`, `generation` (bumped when `spec`
 *   changes, as for every kind with a spec) are set by the server.
 * - create (POST): 201; 409 AlreadyExists for a taken name; `generateName`.
 * - replace (PUT) and patches with `metadata.resourceVersion`: optimistic concurrency, 409
 *   Conflict "the object has been modified; please apply your changes to the latest version".
 * - patch (PATCH), by Content-Type: `application/merge-patch+json` (RFC 7386),
 *   `application/strategic-merge-patch+json` (merge; lists of containers, env, ports, volumes,
 *   volumeMounts, ownerReferences merged by their key, other lists replaced), `application/json-patch+json`
 *   (RFC 6902: add, remove, replace, test), and server-side apply `application/apply-patch+yaml`
 *   (the body may be JSON, which is YAML) with a required `fieldManager`: creates a missing object;
 *   fields this manager applied before and omits now are removed; a field another manager owns with
 *   a different value is a 409 Conflict unless `force=true`. Ownership is tracked per leaf field,
 *   lists being atomic (the real server merges associative lists by key; our driver always applies
 *   whole objects with force, where the outcome is the same). `managedFields` are not returned.
 * - delete (DELETE): `propagationPolicy` Background (the default for these kinds): the object goes
 *   at once and the garbage collector then deletes every object whose ownerReferences name its uid;
 *   Foreground: dependents first; Orphan: dependents lose the reference. A dependent whose owners
 *   are all gone is collected too (dangling owner), as the garbage collector does.
 * - list (GET on the collection): `labelSelector` (=, ==, !=, in, notin, exists, !key) and
 *   `fieldSelector` on metadata.name. A `resourceVersion` older than the compacted revision with
 *   `resourceVersionMatch=Exact` answers HTTP 410 Gone (Expired), as the real server does.
 * - watch (`?watch=true`): newline-delimited JSON events `{type, object}` ADDED/MODIFIED/DELETED
 *   from the given resourceVersion (history kept since the last compaction); from a compacted one,
 *   HTTP 200 then one `{"type":"ERROR","object":{kind:"Status",code:410,reason:"Expired"}}` and the
 *   end of the stream — exactly what the real server sends. `allowWatchBookmarks` gets BOOKMARK
 *   events on `bookmark()`. `expireWatches()` does what a restarted API server or a watch cache
 *   that fell behind does: every open watch gets that ERROR 410 and ends, and history is compacted.
 * - scale subresource (`/scale` of statefulsets and deployments): GET, PUT, PATCH (merge) of an
 *   `autoscaling/v1` Scale whose `spec.replicas` is the workload's, `status.selector` its selector.
 * - `pods/{name}/log`: text/plain, `tailLines`, `timestamps`, `previous` (ignored: one log per pod),
 *   `follow` (the stream stays open for what the program writes next, and ends with the pod).
 * - Discovery (`/api/v1`, `/apis/{group}/{version}`): APIResourceLists for the kinds above.
 * - Secrets: `data` values are base64 (anything else is 400 BadRequest, as the server's decoding
 *   of `[]byte` fails); `stringData` is write-only: on create, update and patch its entries are
 *   encoded into `data` (winning over a key of the same name) and it is never stored or returned;
 *   `type` defaults to `Opaque`.
 *
 * Behind the API, `controllers: true` (the default) runs simplified stand-ins of what a cluster
 * runs, one pass after every change:
 * - the StatefulSet controller: pods `<name>-<ordinal>` from the template, ownerReference to the
 *   StatefulSet, replaced when the template changes; status replicas/readyReplicas/observedGeneration;
 * - the Deployment controller: pods `<name>-<template hash>-<suffix>` owned by the Deployment (a real
 *   one goes through a ReplicaSet; the driver looks at pods by label, never at ReplicaSets), scaled
 *   down lowest `controller.kubernetes.io/pod-deletion-cost` first, as the ReplicaSet controller does;
 * - the persistent volume controller: a claim becomes Bound, unless its storage class is one of
 *   `unbindableStorageClasses` (then it stays Pending, like a class with no provisioner);
 * - the scheduler and kubelet of one node with `node` capacity: a pod whose requests do not fit is
 *   Pending with PodScheduled=False/Unschedulable and the scheduler's message ("0/1 nodes are
 *   available: 1 Insufficient cpu."); one whose claim is missing or unbound is Pending, Unschedulable
 *   "pod has unbound immediate PersistentVolumeClaims"; otherwise it runs, per its image's behaviour
 *   (`images`): ready (the default), `ErrImagePull`/`ImagePullBackOff`, `CrashLoopBackOff` (with
 *   log lines and the last termination), or running but not ready. The kubelet resolves
 *   `env[].valueFrom.secretKeyRef` from the pod's namespace: a missing Secret or key (not `optional`)
 *   leaves the container waiting with `CreateContainerConfigError` (`secret "x" not found`,
 *   `couldn't find key k in Secret ns/x`), and a missing Secret of a `secret` volume in
 *   `ContainerCreating` (the volume cannot be mounted), until it appears;
 * - the EndpointSlice controller: one slice per Service with a selector, with the Service's labels
 *   and `kubernetes.io/service-name`, owned by the Service, listing each matching pod's IP with
 *   ready/serving/terminating conditions.
 */
import { randomUUID, createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

type Json = Record<string, unknown>;
type Obj = Json & { apiVersion: string; kind: string; metadata: Meta };
interface Meta {
  name: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  ownerReferences?: { apiVersion: string; kind: string; name: string; uid: string; controller?: boolean; blockOwnerDeletion?: boolean }[];
  generateName?: string;
  [key: string]: unknown;
}

interface ResourceType {
  group: string; // '' for core
  version: string;
  resource: string;
  kind: string;
  subresources: string[];
}

const TYPES: ResourceType[] = [
  { group: '', version: 'v1', resource: 'pods', kind: 'Pod', subresources: ['log', 'status'] },
  { group: '', version: 'v1', resource: 'services', kind: 'Service', subresources: ['status'] },
  { group: '', version: 'v1', resource: 'persistentvolumeclaims', kind: 'PersistentVolumeClaim', subresources: ['status'] },
  { group: '', version: 'v1', resource: 'secrets', kind: 'Secret', subresources: [] },
  { group: 'apps', version: 'v1', resource: 'statefulsets', kind: 'StatefulSet', subresources: ['scale', 'status'] },
  { group: 'apps', version: 'v1', resource: 'deployments', kind: 'Deployment', subresources: ['scale', 'status'] },
  { group: 'discovery.k8s.io', version: 'v1', resource: 'endpointslices', kind: 'EndpointSlice', subresources: [] },
];
const apiVersionOf = (t: ResourceType) => (t.group ? `${t.group}/${t.version}` : t.version);

/** How the simulated kubelet runs a pod whose (first) container has this image. */
/** What the program prints at start: fixed lines, or lines made from its container's environment. */
export type PodLog = string[] | ((env: Record<string, string>) => string[]);

export type ImageBehaviour =
  | { kind: 'ready'; log?: PodLog }
  | { kind: 'not-ready'; log?: PodLog }
  | { kind: 'pull-failure' }
  | { kind: 'crash-loop'; exitCode?: number; log: PodLog };

export interface StandinOptions {
  controllers?: boolean;
  /** The one node's allocatable resources (cpu in cores, memory in MiB, GPUs by resource name). */
  node?: { cpu: number; memoryMb: number; gpus?: Record<string, number> };
  unbindableStorageClasses?: string[];
  /**
   * Every pod's IP. Unset: one of 10.244.0.0/24, reachable by nobody. A test that serves a pod's
   * program itself (on 127.0.0.1 at the container port) sets 127.0.0.1, as if every pod ran with
   * `hostNetwork: true` on the test's machine: then an activator that dials a pod's EndpointSlice
   * address reaches that program.
   */
  podIP?: string;
}

interface WatchClient {
  type: ResourceType;
  namespace: string;
  selector: Selector;
  fieldName: string | null;
  res: ServerResponse;
  bookmarks: boolean;
}

interface HistoryEvent {
  rv: number;
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  object: Obj;
}

class HttpError extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
    readonly details?: Json,
  ) {
    super(message);
  }
}

const clone = <T>(v: T): T => structuredClone(v);
const isPlain = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

export class KubeApiStandin {
  private server: Server | null = null;
  private revision = 0;
  /** Revisions at or below this one are compacted: a list or watch from them is answered with 410. */
  private compactedRevision = 0;
  private readonly objects = new Map<string, Obj>(); // key: type/namespace/name
  private readonly history: HistoryEvent[] = [];
  private readonly watchers = new Set<WatchClient>();
  /** Per object key: field manager → the leaf paths it applied last. */
  private readonly managed = new Map<string, Map<string, Set<string>>>();
  private readonly podLogs = new Map<string, string[]>();
  /** Open `follow=true` log requests per pod key. */
  private readonly logFollowers = new Map<string, Set<{ res: ServerResponse; stamp: boolean }>>();
  private controllersPending = false;
  private readonly options: Required<Omit<StandinOptions, 'podIP'>> & Pick<StandinOptions, 'podIP'>;
  /** Image → how the simulated kubelet runs it; unlisted images become ready. */
  readonly images = new Map<string, ImageBehaviour>();
  /** Every request seen, `METHOD path?query content-type`, for tests that check which calls the driver made. */
  readonly requests: { method: string; path: string; query: URLSearchParams; contentType: string | null }[] = [];
  /** Answer the next N requests matching a predicate with this status (e.g. 500, 409) instead: for failure tests. */
  private readonly faults: { match: (method: string, path: string) => boolean; code: number; remaining: number }[] = [];

  constructor(options: StandinOptions = {}) {
    this.options = {
      controllers: options.controllers ?? true,
      node: options.node ?? { cpu: 16, memoryMb: 65536, gpus: {} },
      unbindableStorageClasses: options.unbindableStorageClasses ?? [],
      ...(options.podIP ? { podIP: options.podIP } : {}),
    };
  }

  async start(): Promise<string> {
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    return this.url;
  }

  get url(): string {
    const address = this.server?.address() as AddressInfo | null;
    if (!address) throw new Error('the stand-in is not started');
    return `http://127.0.0.1:${address.port}`;
  }

  async stop(): Promise<void> {
    for (const w of this.watchers) w.res.end();
    this.watchers.clear();
    if (!this.server) return;
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server!.close(() => resolve()));
    this.server = null;
  }

  // --- test controls -------------------------------------------------------------------------

  /** Objects of a resource (e.g. 'statefulsets') in a namespace, as the server holds them. */
  list(resource: string, namespace: string): Obj[] {
    const type = this.typeOf(resource);
    return [...this.objects.values()].filter((o) => o.kind === type.kind && o.metadata.namespace === namespace).map(clone);
  }

  get(resource: string, namespace: string, name: string): Obj | undefined {
    const o = this.objects.get(this.key(this.typeOf(resource), namespace, name));
    return o ? clone(o) : undefined;
  }

  /** Deletes as `kubectl delete` would (background propagation; `Orphan` is `--cascade=orphan`): for drift tests. */
  delete(resource: string, namespace: string, name: string, propagationPolicy: 'Background' | 'Foreground' | 'Orphan' = 'Background'): boolean {
    const type = this.typeOf(resource);
    const existing = this.objects.get(this.key(type, namespace, name));
    if (!existing) return false;
    this.remove(type, existing, propagationPolicy);
    return true;
  }

  /** Creates or overwrites an object as another client would (e.g. an orphan a crashed driver left). */
  put(resource: string, object: Json): Obj {
    const type = this.typeOf(resource);
    const obj = { apiVersion: apiVersionOf(type), kind: type.kind, ...clone(object) } as Obj;
    const ns = obj.metadata.namespace ?? 'default';
    obj.metadata.namespace = ns;
    const existing = this.objects.get(this.key(type, ns, obj.metadata.name));
    return existing ? this.store(type, obj, existing) : this.create(type, ns, obj);
  }

  /** Every open watch gets ERROR 410 (Expired) and ends; history is compacted (see the file's comment). */
  expireWatches(): void {
    this.compactedRevision = this.revision;
    this.history.length = 0;
    for (const w of this.watchers) {
      this.writeEvent(w, 'ERROR', this.status(410, 'Expired', `too old resource version: ${this.revision}`));
      w.res.end();
    }
    this.watchers.clear();
  }

  /** Ends every open watch normally, as the server does when a watch's timeoutSeconds is up. */
  endWatches(): void {
    for (const w of this.watchers) w.res.end();
    this.watchers.clear();
  }

  /** Drops history (as etcd compaction does) without touching open watches. */
  compact(): void {
    this.compactedRevision = this.revision;
    this.history.length = 0;
  }

  bookmark(): void {
    for (const w of this.watchers) {
      if (!w.bookmarks) continue;
      this.writeEvent(w, 'BOOKMARK', { apiVersion: apiVersionOf(w.type), kind: w.type.kind, metadata: { resourceVersion: String(this.revision) } });
    }
  }

  get openWatches(): number {
    return this.watchers.size;
  }

  /** The next `count` requests for which `match(method, path)` holds answer `code` (500: InternalError, 409: Conflict, 429, ...). */
  injectFault(match: (method: string, path: string) => boolean, code: number, count = 1): void {
    this.faults.push({ match, code, remaining: count });
  }

  /** The program in a pod writes a line (to its log, and to whoever follows it). */
  appendLog(namespace: string, pod: string, line: string): void {
    const key = this.key(this.typeOf('Pod'), namespace, pod);
    const obj = this.objects.get(key);
    if (!obj) throw new Error(`no pod ${namespace}/${pod}`);
    this.podLogs.set(key, [...(this.podLogs.get(key) ?? []), line]);
    for (const f of this.logFollowers.get(key) ?? []) f.res.write(`${f.stamp ? `${new Date().toISOString()} ` : ''}${line}\n`);
  }

  /** Re-runs the simulated controllers (after a test changed `images`). */
  kick(): void {
    this.scheduleControllers();
  }

  // --- HTTP ----------------------------------------------------------------------------------

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://standin');
    const method = req.method ?? 'GET';
    const contentType = (req.headers['content-type'] ?? '').split(';')[0]!.trim() || null;
    this.requests.push({ method, path: url.pathname, query: url.searchParams, contentType });
    try {
      const fault = this.faults.find((f) => f.remaining > 0 && f.match(method, url.pathname));
      if (fault) {
        fault.remaining--;
        const reasons: Record<number, string> = { 409: 'Conflict', 429: 'TooManyRequests', 500: 'InternalError', 503: 'ServiceUnavailable', 403: 'Forbidden' };
        throw new HttpError(fault.code, reasons[fault.code] ?? 'InternalError', `injected fault ${fault.code}`);
      }
      const body = method === 'POST' || method === 'PUT' || method === 'PATCH' ? await readBody(req) : '';
      await this.route(method, url, contentType, body, res);
    } catch (error) {
      const e = error instanceof HttpError ? error : new HttpError(500, 'InternalError', String((error as Error)?.stack ?? error));
      if (!res.headersSent) this.send(res, e.code, this.status(e.code, e.reason, e.message, e.details));
      else res.end();
    }
  }

  private async route(method: string, url: URL, contentType: string | null, body: string, res: ServerResponse): Promise<void> {
    const parts = url.pathname.split('/').filter(Boolean);
    // Discovery.
    if (method === 'GET' && (url.pathname === '/api/v1' || (parts[0] === 'apis' && parts.length === 3))) {
      const group = parts[0] === 'api' ? '' : parts[1]!;
      const version = parts[0] === 'api' ? 'v1' : parts[2]!;
      const types = TYPES.filter((t) => t.group === group && t.version === version);
      if (types.length === 0) throw new HttpError(404, 'NotFound', `the server could not find the requested resource`);
      return this.send(res, 200, {
        kind: 'APIResourceList',
        apiVersion: 'v1',
        groupVersion: group ? `${group}/${version}` : version,
        resources: types.flatMap((t) => [
          { name: t.resource, singularName: t.kind.toLowerCase(), namespaced: true, kind: t.kind, verbs: ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'] },
          ...t.subresources.map((s) => ({ name: `${t.resource}/${s}`, namespaced: true, kind: s === 'scale' ? 'Scale' : t.kind, verbs: ['get', 'patch', 'update'] })),
        ]),
      });
    }
    const parsed = this.parsePath(parts);
    if (!parsed) throw new HttpError(404, 'NotFound', `the server could not find the requested resource (${url.pathname})`);
    const { type, namespace, name, subresource } = parsed;
    const q = url.searchParams;

    if (!name) {
      if (method === 'GET' && (q.get('watch') === 'true' || q.get('watch') === '1')) return this.watch(type, namespace, q, res);
      if (method === 'GET') return this.send(res, 200, this.listResponse(type, namespace, q));
      if (method === 'POST') {
        const obj = parseJson(body) as Obj;
        this.checkKind(type, obj);
        return this.send(res, 201, this.create(type, namespace, obj));
      }
      throw new HttpError(405, 'MethodNotAllowed', `${method} is not supported on a collection here`);
    }

    const key = this.key(type, namespace, name);
    if (subresource === 'log') {
      if (type.kind !== 'Pod' || method !== 'GET') throw new HttpError(405, 'MethodNotAllowed', 'only GET on pods/log');
      const pod = this.objects.get(key);
      if (!pod) throw new HttpError(404, 'NotFound', `pods "${name}" not found`);
      let lines = this.podLogs.get(key) ?? [];
      const tail = q.get('tailLines');
      if (tail !== null) lines = lines.slice(Math.max(0, lines.length - Number(tail)));
      const stamp = q.get('timestamps') === 'true' ? `${(pod.metadata.creationTimestamp as string) ?? new Date().toISOString()} ` : '';
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write(lines.map((l) => `${stamp}${l}\n`).join(''));
      if (q.get('follow') !== 'true') return void res.end();
      // `follow=true`: the kubelet keeps the stream open and sends what the container writes next,
      // until the client goes or the pod does.
      const followers = this.logFollowers.get(key) ?? new Set();
      const follower = { res, stamp: stamp !== '' };
      followers.add(follower);
      this.logFollowers.set(key, followers);
      res.on('close', () => followers.delete(follower));
      return;
    }
    if (subresource === 'scale') return this.scale(type, namespace, name, method, contentType, body, res);
    if (subresource && subresource !== 'status') throw new HttpError(404, 'NotFound', `no subresource ${subresource}`);

    const existing = this.objects.get(key);
    switch (method) {
      case 'GET':
        if (!existing) throw this.notFound(type, name);
        return this.send(res, 200, existing);
      case 'DELETE': {
        if (!existing) throw this.notFound(type, name);
        const options = body ? (parseJson(body) as Json) : {};
        const policy = String(q.get('propagationPolicy') ?? options.propagationPolicy ?? 'Background');
        this.remove(type, existing, policy);
        return this.send(res, 200, this.status(200, '', 'deleted', { name, kind: type.resource, uid: existing.metadata.uid }));
      }
      case 'PUT': {
        if (!existing) throw this.notFound(type, name);
        const obj = parseJson(body) as Obj;
        this.checkKind(type, obj);
        this.checkVersion(type, existing, obj.metadata?.resourceVersion);
        if (subresource === 'status') return this.send(res, 200, this.store(type, { ...existing, status: obj.status } as Obj, existing));
        return this.send(res, 200, this.store(type, { ...obj, status: existing.status } as Obj, existing));
      }
      case 'PATCH':
        return this.send(res, existing ? 200 : 201, this.patch(type, namespace, name, existing, contentType, body, q, subresource === 'status'));
      default:
        throw new HttpError(405, 'MethodNotAllowed', `${method} not allowed`);
    }
  }

  private parsePath(parts: string[]): { type: ResourceType; namespace: string; name?: string; subresource?: string } | null {
    let group: string;
    let version: string;
    let rest: string[];
    if (parts[0] === 'api' && parts[1] === 'v1') {
      group = '';
      version = 'v1';
      rest = parts.slice(2);
    } else if (parts[0] === 'apis' && parts.length >= 3) {
      group = parts[1]!;
      version = parts[2]!;
      rest = parts.slice(3);
    } else return null;
    if (rest[0] !== 'namespaces' || !rest[1] || !rest[2]) return null;
    const type = TYPES.find((t) => t.group === group && t.version === version && t.resource === rest[2]);
    if (!type) return null;
    return { type, namespace: rest[1], name: rest[3], subresource: rest[4] };
  }

  // --- verbs ---------------------------------------------------------------------------------

  private create(type: ResourceType, namespace: string, input: Obj): Obj {
    const obj = clone(input);
    obj.apiVersion = apiVersionOf(type);
    obj.kind = type.kind;
    obj.metadata = { ...(obj.metadata ?? {}) } as Meta;
    if (!obj.metadata.name && obj.metadata.generateName) obj.metadata.name = `${obj.metadata.generateName}${randomSuffix()}`;
    if (!obj.metadata.name) throw new HttpError(422, 'Invalid', `${type.kind} "": metadata.name: Required value: name or generateName is required`);
    if (obj.metadata.namespace && obj.metadata.namespace !== namespace) {
      throw new HttpError(400, 'BadRequest', `the namespace of the provided object does not match the namespace sent on the request`);
    }
    if (!/^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/.test(obj.metadata.name)) {
      throw new HttpError(422, 'Invalid', `${type.kind} "${obj.metadata.name}" is invalid: metadata.name: Invalid value: a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.'`);
    }
    const key = this.key(type, namespace, obj.metadata.name);
    if (this.objects.has(key)) throw new HttpError(409, 'AlreadyExists', `${type.resource}${type.group ? `.${type.group}` : ''} "${obj.metadata.name}" already exists`, { name: obj.metadata.name, kind: type.resource });
    obj.metadata.namespace = namespace;
    obj.metadata.uid = randomUUID();
    obj.metadata.creationTimestamp = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    if ('spec' in obj) obj.metadata.generation = 1;
    this.defaults(type, obj);
    obj.metadata.resourceVersion = String(++this.revision);
    this.objects.set(key, obj);
    this.emit(type, 'ADDED', obj);
    this.scheduleControllers();
    return clone(obj);
  }

  /** Replaces an existing object, bumping generation when spec changed. */
  private store(type: ResourceType, next: Obj, existing: Obj): Obj {
    const obj = clone(next);
    obj.apiVersion = apiVersionOf(type);
    obj.kind = type.kind;
    obj.metadata = {
      ...obj.metadata,
      name: existing.metadata.name,
      namespace: existing.metadata.namespace,
      uid: existing.metadata.uid,
      creationTimestamp: existing.metadata.creationTimestamp,
      generation: existing.metadata.generation,
    };
    this.defaults(type, obj);
    if ('spec' in obj && JSON.stringify(obj.spec) !== JSON.stringify(existing.spec)) obj.metadata.generation = (existing.metadata.generation ?? 0) + 1;
    const { resourceVersion: _a, ...before } = existing.metadata;
    const { resourceVersion: _b, ...after } = obj.metadata;
    if (JSON.stringify({ ...existing, metadata: before }) === JSON.stringify({ ...obj, metadata: after })) return clone(existing); // a no-op write keeps its version
    obj.metadata.resourceVersion = String(++this.revision);
    this.objects.set(this.key(type, obj.metadata.namespace!, obj.metadata.name), obj);
    this.emit(type, 'MODIFIED', obj);
    this.scheduleControllers();
    return clone(obj);
  }

  private remove(type: ResourceType, obj: Obj, policy: string): void {
    const key = this.key(type, obj.metadata.namespace!, obj.metadata.name);
    if (!this.objects.has(key)) return;
    const dependents = [...this.objects.entries()].filter(([, o]) => o.metadata.ownerReferences?.some((r) => r.uid === obj.metadata.uid));
    if (policy === 'Foreground') {
      for (const [, d] of dependents) this.remove(this.typeOf(d.kind), d, 'Foreground');
    } else if (policy === 'Orphan') {
      for (const [, d] of dependents) {
        const refs = d.metadata.ownerReferences!.filter((r) => r.uid !== obj.metadata.uid);
        this.store(this.typeOf(d.kind), { ...d, metadata: { ...d.metadata, ownerReferences: refs.length ? refs : undefined } } as Obj, d);
      }
    }
    this.objects.delete(key);
    this.managed.delete(key);
    this.podLogs.delete(key);
    for (const f of this.logFollowers.get(key) ?? []) f.res.end();
    this.logFollowers.delete(key);
    const gone = clone(obj);
    gone.metadata.resourceVersion = String(++this.revision);
    this.emit(type, 'DELETED', gone);
    // Background: the garbage collector follows, asynchronously, as in a cluster.
    setImmediate(() => this.collectGarbage());
    this.scheduleControllers();
  }

  /** Deletes every object that has owner references and none of whose owners exists. */
  private collectGarbage(): void {
    const uids = new Set([...this.objects.values()].map((o) => o.metadata.uid));
    for (const o of [...this.objects.values()]) {
      const refs = o.metadata.ownerReferences;
      if (refs && refs.length > 0 && refs.every((r) => !uids.has(r.uid))) this.remove(this.typeOf(o.kind), o, 'Background');
    }
  }

  private patch(type: ResourceType, namespace: string, name: string, existing: Obj | undefined, contentType: string | null, body: string, q: URLSearchParams, statusOnly: boolean): Obj {
    const patch = parseJson(body);
    const key = this.key(type, namespace, name);
    if (contentType === 'application/apply-patch+yaml') {
      const manager = q.get('fieldManager');
      if (!manager) throw new HttpError(400, 'BadRequest', 'PATCH with application/apply-patch+yaml requires the fieldManager query parameter');
      const applied = patch as Obj;
      this.checkKind(type, applied);
      if (applied.metadata?.name && applied.metadata.name !== name) throw new HttpError(400, 'BadRequest', 'the name of the object does not match the name on the URL');
      const leaves = leafPaths(applied, '');
      const managers = this.managed.get(key) ?? new Map<string, Set<string>>();
      if (!existing) {
        const created = this.create(type, namespace, { ...applied, metadata: { ...applied.metadata, name } } as Obj);
        managers.set(manager, leaves);
        this.managed.set(key, managers);
        return created;
      }
      if (applied.metadata?.resourceVersion) this.checkVersion(type, existing, applied.metadata.resourceVersion);
      const force = q.get('force') === 'true';
      const conflicts: string[] = [];
      for (const [other, owned] of managers) {
        if (other === manager) continue;
        for (const path of leaves) {
          if (owned.has(path) && JSON.stringify(getPath(existing, path)) !== JSON.stringify(getPath(applied, path))) conflicts.push(`.${path} (owned by "${other}")`);
        }
      }
      if (conflicts.length && !force) {
        throw new HttpError(409, 'Conflict', `Apply failed with ${conflicts.length} conflict(s): ${conflicts.join(', ')}`, { causes: conflicts.map((c) => ({ reason: 'FieldManagerConflict', message: `conflict with ${c}` })) });
      }
      if (force) for (const [other, owned] of managers) if (other !== manager) for (const p of leaves) owned.delete(p);
      const next = clone(existing) as Json;
      const before = managers.get(manager) ?? new Set<string>();
      const ownedByOthers = new Set([...managers].filter(([m]) => m !== manager).flatMap(([, s]) => [...s]));
      for (const path of before) if (!leaves.has(path) && !ownedByOthers.has(path)) deletePath(next, path);
      const merged = deepMerge(next, applied as Json, false);
      managers.set(manager, leaves);
      this.managed.set(key, managers);
      return this.store(type, merged as Obj, existing);
    }
    if (!existing) throw this.notFound(type, name);
    let next: Json;
    switch (contentType) {
      case 'application/merge-patch+json':
        next = mergePatch(clone(existing), patch) as Json;
        break;
      case 'application/strategic-merge-patch+json':
        next = deepMerge(clone(existing), patch as Json, true);
        break;
      case 'application/json-patch+json':
        next = jsonPatch(clone(existing), patch as JsonPatchOp[]);
        break;
      default:
        throw new HttpError(415, 'UnsupportedMediaType', `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml, application/strategic-merge-patch+json`);
    }
    const version = (patch as { metadata?: { resourceVersion?: string } })?.metadata?.resourceVersion;
    if (version) this.checkVersion(type, existing, version);
    if (statusOnly) next = { ...existing, status: next.status };
    // An Update-style write takes ownership of the fields it changed away from other managers.
    const managers = this.managed.get(key);
    const manager = q.get('fieldManager') ?? 'unknown-patch';
    if (managers) for (const [other, owned] of managers) if (other !== manager) for (const p of [...owned]) if (JSON.stringify(getPath(next, p)) !== JSON.stringify(getPath(existing, p))) owned.delete(p);
    return this.store(type, next as Obj, existing);
  }

  private scale(type: ResourceType, namespace: string, name: string, method: string, contentType: string | null, body: string, res: ServerResponse): void {
    if (type.kind !== 'StatefulSet' && type.kind !== 'Deployment') throw new HttpError(404, 'NotFound', `${type.resource} have no scale subresource`);
    const existing = this.objects.get(this.key(type, namespace, name));
    if (!existing) throw this.notFound(type, name);
    const toScale = (o: Obj) => ({
      kind: 'Scale',
      apiVersion: 'autoscaling/v1',
      metadata: { name, namespace, uid: o.metadata.uid, resourceVersion: o.metadata.resourceVersion, creationTimestamp: o.metadata.creationTimestamp },
      spec: { replicas: (o.spec as Json).replicas ?? 1 },
      status: { replicas: (o.status as Json | undefined)?.replicas ?? 0, selector: selectorString(((o.spec as Json).selector as Json | undefined)?.matchLabels as Record<string, string> | undefined) },
    });
    if (method === 'GET') return this.send(res, 200, toScale(existing));
    let scale: Json;
    if (method === 'PUT') scale = parseJson(body) as Json;
    else if (method === 'PATCH') {
      const current = toScale(existing) as Json;
      const patch = parseJson(body);
      if (contentType === 'application/json-patch+json') scale = jsonPatch(current, patch as JsonPatchOp[]);
      else if (contentType === 'application/merge-patch+json' || contentType === 'application/strategic-merge-patch+json') scale = mergePatch(current, patch) as Json;
      else throw new HttpError(415, 'UnsupportedMediaType', `unsupported patch type ${contentType} on scale`);
    } else throw new HttpError(405, 'MethodNotAllowed', `${method} on scale`);
    const version = (scale.metadata as Json | undefined)?.resourceVersion as string | undefined;
    if (version && method === 'PUT') this.checkVersion(type, existing, version);
    const replicas = (scale.spec as Json | undefined)?.replicas;
    if (typeof replicas !== 'number' || !Number.isInteger(replicas) || replicas < 0) throw new HttpError(422, 'Invalid', `Scale.autoscaling "${name}" is invalid: spec.replicas: Invalid value: must be greater than or equal to 0`);
    const stored = this.store(type, { ...existing, spec: { ...(existing.spec as Json), replicas } } as Obj, existing);
    return this.send(res, 200, toScale(stored));
  }

  private listResponse(type: ResourceType, namespace: string, q: URLSearchParams): Json {
    const rv = q.get('resourceVersion');
    if (rv && rv !== '0' && q.get('resourceVersionMatch') === 'Exact' && Number(rv) <= this.compactedRevision) {
      throw new HttpError(410, 'Expired', `The resourceVersion for the provided list is too old.`);
    }
    const selector = parseSelector(q.get('labelSelector'));
    const fieldName = parseFieldSelector(q.get('fieldSelector'));
    const items = [...this.objects.values()]
      .filter((o) => o.kind === type.kind && o.metadata.namespace === namespace && matches(selector, o.metadata.labels) && (!fieldName || o.metadata.name === fieldName))
      .sort((a, b) => a.metadata.name.localeCompare(b.metadata.name));
    return { kind: `${type.kind}List`, apiVersion: apiVersionOf(type), metadata: { resourceVersion: String(this.revision) }, items };
  }

  private watch(type: ResourceType, namespace: string, q: URLSearchParams, res: ServerResponse): void {
    const client: WatchClient = {
      type,
      namespace,
      selector: parseSelector(q.get('labelSelector')),
      fieldName: parseFieldSelector(q.get('fieldSelector')),
      res,
      bookmarks: q.get('allowWatchBookmarks') === 'true',
    };
    res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
    res.flushHeaders();
    const rvParam = q.get('resourceVersion');
    const from = rvParam && rvParam !== '0' ? Number(rvParam) : null;
    if (from !== null && from < this.compactedRevision) {
      this.writeEvent(client, 'ERROR', this.status(410, 'Expired', `too old resource version: ${from} (${this.compactedRevision})`));
      res.end();
      return;
    }
    if (from === null) {
      // No version: the current state as ADDED events, then changes (the API server's "Get State and Start at Most Recent").
      for (const o of this.objects.values()) if (this.watches(client, o)) this.writeEvent(client, 'ADDED', o);
    } else {
      for (const e of this.history) if (e.rv > from && this.watches(client, e.object)) this.writeEvent(client, e.type, e.object);
    }
    this.watchers.add(client);
    res.on('close', () => this.watchers.delete(client));
    const timeout = Number(q.get('timeoutSeconds') ?? 0);
    if (timeout > 0) setTimeout(() => res.end(), timeout * 1000).unref();
  }

  private watches(w: WatchClient, o: Obj): boolean {
    return o.kind === w.type.kind && o.metadata.namespace === w.namespace && matches(w.selector, o.metadata.labels) && (!w.fieldName || o.metadata.name === w.fieldName);
  }

  private emit(type: ResourceType, eventType: HistoryEvent['type'], obj: Obj): void {
    const event = { rv: Number(obj.metadata.resourceVersion), type: eventType, object: clone(obj) };
    this.history.push(event);
    for (const w of this.watchers) if (w.type === type && this.watches(w, obj)) this.writeEvent(w, eventType, obj);
  }

  private writeEvent(w: WatchClient, type: string, object: Json): void {
    if (!w.res.writableEnded) w.res.write(`${JSON.stringify({ type, object })}\n`);
  }

  // --- helpers -------------------------------------------------------------------------------

  private typeOf(resourceOrKind: string): ResourceType {
    const t = TYPES.find((x) => x.resource === resourceOrKind || x.kind === resourceOrKind);
    if (!t) throw new Error(`the stand-in has no resource ${resourceOrKind}`);
    return t;
  }

  private key(type: ResourceType, namespace: string, name: string): string {
    return `${type.resource}/${namespace}/${name}`;
  }

  private checkKind(type: ResourceType, obj: Obj): void {
    if (!isPlain(obj)) throw new HttpError(400, 'BadRequest', 'the body is not an object');
    if (obj.kind && obj.kind !== type.kind) throw new HttpError(400, 'BadRequest', `the kind ${obj.kind} does not match ${type.resource} (${type.kind})`);
    if (obj.apiVersion && obj.apiVersion !== apiVersionOf(type)) throw new HttpError(400, 'BadRequest', `the apiVersion ${obj.apiVersion} does not match ${apiVersionOf(type)}`);
  }

  private checkVersion(type: ResourceType, existing: Obj, version: unknown): void {
    if (version !== undefined && version !== null && version !== '' && String(version) !== existing.metadata.resourceVersion) {
      throw new HttpError(409, 'Conflict', `Operation cannot be fulfilled on ${type.resource}${type.group ? `.${type.group}` : ''} "${existing.metadata.name}": the object has been modified; please apply your changes to the latest version and try again`, { name: existing.metadata.name, kind: type.resource });
    }
  }

  private notFound(type: ResourceType, name: string): HttpError {
    return new HttpError(404, 'NotFound', `${type.resource}${type.group ? `.${type.group}` : ''} "${name}" not found`, { name, kind: type.resource });
  }

  private status(code: number, reason: string, message: string, details?: Json): Json {
    return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: code < 400 ? 'Success' : 'Failure', message, reason, details, code };
  }

  private send(res: ServerResponse, code: number, body: unknown): void {
    res.writeHead(code, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  }

  /** Server-side defaults the driver may read back. */
  private defaults(type: ResourceType, obj: Obj): void {
    const spec = obj.spec as Json | undefined;
    if ((type.kind === 'StatefulSet' || type.kind === 'Deployment') && spec && spec.replicas === undefined) spec.replicas = 1;
    if (type.kind === 'Service' && spec && !spec.clusterIP) spec.clusterIP = `10.96.${(this.revision >> 8) & 255}.${this.revision & 255}`;
    if (type.kind === 'PersistentVolumeClaim' && !obj.status) obj.status = { phase: 'Pending' };
    if (type.kind === 'Secret') {
      const data = { ...((obj.data as Record<string, unknown> | undefined) ?? {}) };
      for (const [k, v] of Object.entries(data)) {
        if (typeof v !== 'string' || !/^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/.test(v)) {
          throw new HttpError(400, 'BadRequest', `Secret in version "v1" cannot be handled as a Secret: illegal base64 data in data.${k}`);
        }
      }
      for (const [k, v] of Object.entries((obj.stringData as Record<string, unknown> | undefined) ?? {})) data[k] = Buffer.from(String(v), 'utf8').toString('base64');
      delete obj.stringData;
      if (Object.keys(data).length > 0) obj.data = data;
      else delete obj.data;
      if (!obj.type) obj.type = 'Opaque';
    }
  }

  // --- simulated controllers -----------------------------------------------------------------

  private scheduleControllers(): void {
    if (!this.options.controllers || this.controllersPending) return;
    this.controllersPending = true;
    setImmediate(() => {
      this.controllersPending = false;
      if (!this.server) return;
      this.runControllers();
    });
  }

  private runControllers(): void {
    for (const o of [...this.objects.values()]) {
      if (o.kind === 'StatefulSet') this.reconcileStatefulSet(o);
      else if (o.kind === 'Deployment') this.reconcileDeployment(o);
      else if (o.kind === 'PersistentVolumeClaim') this.reconcileClaim(o);
    }
    for (const o of [...this.objects.values()]) if (o.kind === 'Pod') this.reconcilePod(o);
    for (const o of [...this.objects.values()]) if (o.kind === 'StatefulSet' || o.kind === 'Deployment') this.updateWorkloadStatus(o);
    for (const o of [...this.objects.values()]) if (o.kind === 'Service') this.reconcileEndpointSlice(o);
  }

  private podsOf(owner: Obj): Obj[] {
    return [...this.objects.values()].filter((o) => o.kind === 'Pod' && o.metadata.ownerReferences?.some((r) => r.uid === owner.metadata.uid));
  }

  private templateHash(owner: Obj): string {
    return createHash('sha256').update(JSON.stringify((owner.spec as Json).template)).digest('hex').slice(0, 10);
  }

  private newPod(owner: Obj, name: string, hashLabel: Record<string, string>): void {
    const template = clone((owner.spec as Json).template as Json);
    const meta = (template.metadata ?? {}) as Meta;
    const pod = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        name,
        labels: { ...(meta.labels ?? {}), ...hashLabel },
        annotations: meta.annotations,
        ownerReferences: [{ apiVersion: owner.apiVersion, kind: owner.kind, name: owner.metadata.name, uid: owner.metadata.uid!, controller: true, blockOwnerDeletion: true }],
      },
      spec: template.spec,
      status: { phase: 'Pending' },
    } as unknown as Obj;
    this.create(this.typeOf('Pod'), owner.metadata.namespace!, pod);
  }

  private reconcileStatefulSet(sts: Obj): void {
    const replicas = Number((sts.spec as Json).replicas ?? 1);
    const hash = this.templateHash(sts);
    const pods = this.podsOf(sts);
    for (const pod of pods) {
      const ordinal = Number(pod.metadata.name.slice(sts.metadata.name.length + 1));
      if (ordinal >= replicas || pod.metadata.labels?.['controller-revision-hash'] !== `${sts.metadata.name}-${hash}`) this.remove(this.typeOf('Pod'), pod, 'Background');
    }
    for (let i = 0; i < replicas; i++) {
      const name = `${sts.metadata.name}-${i}`;
      if (!this.objects.has(this.key(this.typeOf('Pod'), sts.metadata.namespace!, name))) {
        this.newPod(sts, name, { 'controller-revision-hash': `${sts.metadata.name}-${hash}`, 'statefulset.kubernetes.io/pod-name': name });
      }
    }
  }

  private reconcileDeployment(deployment: Obj): void {
    const replicas = Number((deployment.spec as Json).replicas ?? 1);
    const hash = this.templateHash(deployment);
    const pods = this.podsOf(deployment);
    for (const pod of pods) if (pod.metadata.labels?.['pod-template-hash'] !== hash) this.remove(this.typeOf('Pod'), pod, 'Background');
    const current = this.podsOf(deployment);
    if (current.length > replicas) {
      const cost = (p: Obj) => Number(p.metadata.annotations?.['controller.kubernetes.io/pod-deletion-cost'] ?? 0);
      const ready = (p: Obj) => ((p.status as Json).conditions as Json[] | undefined)?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
      // The ReplicaSet controller removes not-ready pods first, then the lowest deletion cost, then the newest.
      const victims = current.sort((a, b) => Number(ready(a)) - Number(ready(b)) || cost(a) - cost(b) || String(b.metadata.creationTimestamp).localeCompare(String(a.metadata.creationTimestamp)));
      for (const pod of victims.slice(0, current.length - replicas)) this.remove(this.typeOf('Pod'), pod, 'Background');
    }
    for (let i = current.length; i < replicas; i++) this.newPod(deployment, `${deployment.metadata.name}-${hash}-${randomSuffix()}`, { 'pod-template-hash': hash });
  }

  private reconcileClaim(claim: Obj): void {
    const status = claim.status as Json | undefined;
    if (status?.phase === 'Bound') return;
    const storageClass = ((claim.spec as Json).storageClassName as string | undefined) ?? 'standard';
    if (this.options.unbindableStorageClasses.includes(storageClass)) return;
    this.store(this.typeOf('PersistentVolumeClaim'), { ...claim, status: { phase: 'Bound', accessModes: (claim.spec as Json).accessModes, capacity: ((claim.spec as Json).resources as Json | undefined)?.requests } } as Obj, claim);
  }

  private reconcilePod(pod: Obj): void {
    const spec = pod.spec as Json;
    const containers = (spec.containers as Json[]) ?? [];
    const key = this.key(this.typeOf('Pod'), pod.metadata.namespace!, pod.metadata.name);
    // Every time the simulated kubelet reports is the pod's creation: a status computed twice is
    // the same status, so the controllers settle instead of rewriting it on every pass.
    const now = String(pod.metadata.creationTimestamp);
    const set = (status: Json) => {
      if (JSON.stringify(status) !== JSON.stringify(pod.status)) this.store(this.typeOf('Pod'), { ...pod, status } as Obj, pod);
    };
    const unschedulable = (message: string) =>
      set({ phase: 'Pending', conditions: [{ type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message, lastTransitionTime: now }] });
    // The scheduler: claims first, then room on the node.
    for (const volume of (spec.volumes as Json[] | undefined) ?? []) {
      const claimName = (volume.persistentVolumeClaim as Json | undefined)?.claimName as string | undefined;
      if (!claimName) continue;
      const claim = this.objects.get(this.key(this.typeOf('PersistentVolumeClaim'), pod.metadata.namespace!, claimName));
      if (!claim) return unschedulable(`0/1 nodes are available: persistentvolumeclaim "${claimName}" not found. preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling.`);
      if ((claim.status as Json | undefined)?.phase !== 'Bound') return unschedulable('0/1 nodes are available: pod has unbound immediate PersistentVolumeClaims. preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling.');
    }
    const short: string[] = [];
    const requests = containers.map((c) => ((c.resources as Json | undefined)?.requests ?? {}) as Record<string, string>);
    const sum = (name: string, parse: (v: string) => number) => requests.reduce((n, r) => n + (r[name] ? parse(r[name]) : 0), 0);
    if (sum('cpu', parseCpu) > this.options.node.cpu) short.push('Insufficient cpu');
    if (sum('memory', parseMemoryMb) > this.options.node.memoryMb) short.push('Insufficient memory');
    for (const r of requests) for (const name of Object.keys(r)) if (name.includes('/') && Number(r[name]) > (this.options.node.gpus?.[name] ?? 0)) short.push(`Insufficient ${name}`);
    if (short.length) return unschedulable(`0/1 nodes are available: ${[...new Set(short)].map((s) => `1 ${s}`).join(', ')}. preemption: 0/1 nodes are available: 1 No preemption victims found for incoming pod.`);
    // The kubelet.
    const main = containers[0] ?? {};
    const image = String(main.image ?? '');
    const behaviour = this.images.get(image) ?? { kind: 'ready' };
    const podIP = (pod.status as Json | undefined)?.podIP ?? this.options.podIP ?? `10.244.0.${(Number(pod.metadata.resourceVersion) % 250) + 2}`;
    const scheduled = { type: 'PodScheduled', status: 'True', lastTransitionTime: now };
    const base = { podIP, podIPs: [{ ip: podIP }], hostIP: '192.168.49.2', startTime: (pod.status as Json | undefined)?.startTime ?? now };
    const keepTimes = (conditions: Json[]) => {
      const old = ((pod.status as Json | undefined)?.conditions as Json[] | undefined) ?? [];
      return conditions.map((c) => {
        const prev = old.find((o) => o.type === c.type && o.status === c.status);
        return prev ? { ...c, lastTransitionTime: prev.lastTransitionTime } : c;
      });
    };
    const name = String(main.name ?? 'main');
    // The kubelet: Secret volumes are mounted before any container is made, then each container's environment is resolved.
    const secretOf = (secretName: string) => this.objects.get(this.key(this.typeOf('Secret'), pod.metadata.namespace!, secretName));
    const waiting = (reason: string, message?: string) =>
      set({
        ...base,
        phase: 'Pending',
        conditions: keepTimes([scheduled, { type: 'Ready', status: 'False', reason: 'ContainersNotReady', lastTransitionTime: now }]),
        containerStatuses: [{ name, image, imageID: '', ready: false, restartCount: 0, started: false, state: { waiting: { reason, ...(message ? { message } : {}) } } }],
      });
    for (const volume of (spec.volumes as Json[] | undefined) ?? []) {
      const secret = volume.secret as { secretName?: string; optional?: boolean } | undefined;
      if (secret?.secretName && !secret.optional && !secretOf(secret.secretName)) return waiting('ContainerCreating');
    }
    const env: Record<string, string> = {};
    for (const e of (main.env as { name: string; value?: string; valueFrom?: { secretKeyRef?: { name: string; key: string; optional?: boolean } } }[] | undefined) ?? []) {
      const ref = e.valueFrom?.secretKeyRef;
      if (!ref) {
        env[e.name] = e.value ?? '';
        continue;
      }
      const secret = secretOf(ref.name);
      const value = (secret?.data as Record<string, string> | undefined)?.[ref.key];
      if (value === undefined) {
        if (ref.optional) continue;
        return waiting('CreateContainerConfigError', secret ? `couldn't find key ${ref.key} in Secret ${pod.metadata.namespace}/${ref.name}` : `secret "${ref.name}" not found`);
      }
      env[e.name] = Buffer.from(value, 'base64').toString('utf8');
    }
    // What the program printed when it started (once per pod; appendLog adds to it).
    if ('log' in behaviour && behaviour.log && !this.podLogs.has(key)) {
      this.podLogs.set(key, typeof behaviour.log === 'function' ? behaviour.log(env) : behaviour.log);
    }
    switch (behaviour.kind) {
      case 'pull-failure':
        return set({
          ...base,
          phase: 'Pending',
          conditions: keepTimes([scheduled, { type: 'Ready', status: 'False', reason: 'ContainersNotReady', lastTransitionTime: now }]),
          containerStatuses: [
            { name, image, imageID: '', ready: false, restartCount: 0, started: false, state: { waiting: { reason: 'ImagePullBackOff', message: `Back-off pulling image "${image}": ErrImagePull: failed to pull and unpack image "${image}": not found` } } },
          ],
        });
      case 'crash-loop':
        return set({
          ...base,
          phase: 'Running',
          conditions: keepTimes([scheduled, { type: 'Ready', status: 'False', reason: 'ContainersNotReady', lastTransitionTime: now }]),
          containerStatuses: [
            {
              name,
              image,
              imageID: `${image}@sha256:0`,
              ready: false,
              restartCount: 4,
              started: false,
              state: { waiting: { reason: 'CrashLoopBackOff', message: `back-off 1m20s restarting failed container=${name} pod=${pod.metadata.name}` } },
              lastState: { terminated: { exitCode: behaviour.exitCode ?? 1, reason: 'Error', startedAt: now, finishedAt: now } },
            },
          ],
        });
      case 'not-ready':
      case 'ready': {
        const ready = behaviour.kind === 'ready';
        return set({
          ...base,
          phase: 'Running',
          conditions: keepTimes([scheduled, { type: 'Initialized', status: 'True', lastTransitionTime: now }, { type: 'Ready', status: ready ? 'True' : 'False', lastTransitionTime: now }]),
          containerStatuses: [{ name, image, imageID: `${image}@sha256:0`, ready, restartCount: 0, started: true, state: { running: { startedAt: now } } }],
        });
      }
    }
  }

  private updateWorkloadStatus(owner: Obj): void {
    const pods = this.podsOf(owner);
    const ready = pods.filter((p) => ((p.status as Json).conditions as Json[] | undefined)?.some((c) => c.type === 'Ready' && c.status === 'True')).length;
    const status: Json = {
      ...((owner.status as Json | undefined) ?? {}),
      observedGeneration: owner.metadata.generation,
      replicas: pods.length,
      readyReplicas: ready,
      availableReplicas: ready,
      updatedReplicas: pods.length,
    };
    if (owner.kind === 'StatefulSet') {
      status.currentRevision = `${owner.metadata.name}-${this.templateHash(owner)}`;
      status.updateRevision = status.currentRevision;
    }
    if (JSON.stringify(status) !== JSON.stringify(owner.status)) this.store(this.typeOf(owner.kind), { ...owner, status } as Obj, owner);
  }

  private reconcileEndpointSlice(service: Obj): void {
    const spec = service.spec as Json;
    const selector = spec.selector as Record<string, string> | undefined;
    if (!selector) return;
    const ns = service.metadata.namespace!;
    const name = `${service.metadata.name}-slice`;
    const pods = [...this.objects.values()].filter((o) => o.kind === 'Pod' && o.metadata.namespace === ns && Object.entries(selector).every(([k, v]) => o.metadata.labels?.[k] === v) && (o.status as Json | undefined)?.podIP);
    const firstContainerPorts = (p: Obj) => (((p.spec as Json).containers as Json[])[0]?.ports as Json[] | undefined) ?? [];
    const ports = ((spec.ports as Json[] | undefined) ?? []).map((port) => {
      const target = port.targetPort ?? port.port;
      const resolved = typeof target === 'string' ? (pods.map((p) => firstContainerPorts(p).find((cp) => cp.name === target)?.containerPort).find((v) => v !== undefined) ?? null) : target;
      return { name: port.name ?? '', port: resolved, protocol: port.protocol ?? 'TCP' };
    });
    const endpoints = pods
      .sort((a, b) => a.metadata.name.localeCompare(b.metadata.name))
      .map((p) => {
        const ready = ((p.status as Json).conditions as Json[] | undefined)?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
        return { addresses: [(p.status as Json).podIP], conditions: { ready, serving: ready, terminating: false }, targetRef: { kind: 'Pod', namespace: ns, name: p.metadata.name, uid: p.metadata.uid }, nodeName: 'standin-node' };
      });
    const slice = {
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      metadata: {
        name,
        namespace: ns,
        // The real controller copies the Service's labels onto its slices, then adds its own two.
        labels: { ...(service.metadata.labels ?? {}), 'kubernetes.io/service-name': service.metadata.name, 'endpointslice.kubernetes.io/managed-by': 'endpointslice-controller.k8s.io' },
        ownerReferences: [{ apiVersion: 'v1', kind: 'Service', name: service.metadata.name, uid: service.metadata.uid!, controller: true, blockOwnerDeletion: true }],
      },
      addressType: 'IPv4',
      endpoints,
      ports,
    } as unknown as Obj;
    const type = this.typeOf('EndpointSlice');
    const existing = this.objects.get(this.key(type, ns, name));
    if (!existing) this.create(type, ns, slice);
    else if (existing.metadata.ownerReferences?.[0]?.uid !== service.metadata.uid) {
      this.remove(type, existing, 'Background');
    } else this.store(type, { ...slice, metadata: { ...existing.metadata, labels: slice.metadata.labels } } as Obj, existing);
  }
}

// --- label selectors (https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/#label-selectors)

type Requirement = { key: string; op: 'in' | 'notin' | 'exists' | '!exists'; values: string[] };
type Selector = Requirement[];

function parseSelector(text: string | null): Selector {
  if (!text) return [];
  const out: Requirement[] = [];
  // Split on commas outside parentheses.
  const terms: string[] = [];
  let depth = 0;
  let current = '';
  for (const ch of text) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      terms.push(current);
      current = '';
    } else current += ch;
  }
  if (current) terms.push(current);
  for (const raw of terms) {
    const term = raw.trim();
    let m: RegExpExecArray | null;
    if ((m = /^([^\s!=]+)\s+(in|notin)\s+\(([^)]*)\)$/.exec(term))) out.push({ key: m[1]!, op: m[2] as 'in' | 'notin', values: m[3]!.split(',').map((v) => v.trim()) });
    else if ((m = /^([^\s!=]+)\s*!=\s*(\S*)$/.exec(term))) out.push({ key: m[1]!, op: 'notin', values: [m[2]!] });
    else if ((m = /^([^\s!=]+)\s*==?\s*(\S*)$/.exec(term))) out.push({ key: m[1]!, op: 'in', values: [m[2]!] });
    else if ((m = /^!([^\s!=]+)$/.exec(term))) out.push({ key: m[1]!, op: '!exists', values: [] });
    else if ((m = /^([^\s!=]+)$/.exec(term))) out.push({ key: m[1]!, op: 'exists', values: [] });
    else throw new HttpError(400, 'BadRequest', `unable to parse requirement: ${term}`);
  }
  return out;
}

function matches(selector: Selector, labels: Record<string, string> | undefined): boolean {
  const l = labels ?? {};
  return selector.every((r) => {
    const has = Object.prototype.hasOwnProperty.call(l, r.key);
    switch (r.op) {
      case 'in':
        return has && r.values.includes(l[r.key]!);
      case 'notin':
        return !has || !r.values.includes(l[r.key]!);
      case 'exists':
        return has;
      case '!exists':
        return !has;
    }
  });
}

function parseFieldSelector(text: string | null): string | null {
  if (!text) return null;
  const m = /^metadata\.name==?(.+)$/.exec(text.trim());
  if (!m) throw new HttpError(400, 'BadRequest', `"${text}" is not a known field selector: only metadata.name is supported here`);
  return m[1]!;
}

function selectorString(labels: Record<string, string> | undefined): string {
  return Object.entries(labels ?? {})
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
}

// --- patches ---------------------------------------------------------------------------------

/** RFC 7386 JSON merge patch. */
function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isPlain(patch)) return clone(patch);
  const out: Json = isPlain(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

/** Lists merged by a key in strategic merge patch (the `patchMergeKey`s of the types the driver uses). */
const MERGE_KEYS: Record<string, string> = {
  containers: 'name',
  initContainers: 'name',
  env: 'name',
  volumes: 'name',
  volumeMounts: 'mountPath',
  ownerReferences: 'uid',
  ports: 'containerPort',
  imagePullSecrets: 'name',
};

/** Recursive merge: objects merged, nulls delete; lists replaced, or (strategic) merged by their key. */
function deepMerge(target: Json, patch: Json, strategic: boolean): Json {
  const out: Json = { ...target };
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else if (isPlain(v) && isPlain(out[k])) out[k] = deepMerge(out[k] as Json, v, strategic);
    else if (strategic && Array.isArray(v) && Array.isArray(out[k]) && MERGE_KEYS[k]) {
      const mergeKey = MERGE_KEYS[k]!;
      const list = [...(out[k] as Json[])];
      for (const item of v as Json[]) {
        const i = list.findIndex((x) => isPlain(x) && isPlain(item) && x[mergeKey] === item[mergeKey]);
        if (i >= 0) list[i] = deepMerge(list[i]!, item, strategic);
        else list.push(clone(item));
      }
      out[k] = list;
    } else out[k] = clone(v);
  }
  return out;
}

type JsonPatchOp = { op: 'add' | 'remove' | 'replace' | 'test' | 'move' | 'copy'; path: string; value?: unknown; from?: string };

/** RFC 6902 JSON patch (add, remove, replace, test). */
function jsonPatch(doc: Json, ops: JsonPatchOp[]): Json {
  if (!Array.isArray(ops)) throw new HttpError(400, 'BadRequest', 'a JSON patch must be an array of operations');
  const root = clone(doc);
  for (const op of ops) {
    const segments = op.path.split('/').slice(1).map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
    const last = segments.pop();
    let parent: unknown = root;
    for (const s of segments) parent = (parent as Record<string, unknown>)?.[s];
    if (parent === undefined || last === undefined) throw new HttpError(422, 'Invalid', `the path ${op.path} does not exist`);
    const container = parent as Record<string, unknown> & unknown[];
    switch (op.op) {
      case 'add':
        if (Array.isArray(container)) container.splice(last === '-' ? container.length : Number(last), 0, op.value);
        else (container as Record<string, unknown>)[last] = op.value;
        break;
      case 'replace':
        if (!(last in container)) throw new HttpError(422, 'Invalid', `replace operation does not apply: doc is missing key: ${op.path}`);
        container[last as never] = op.value as never;
        break;
      case 'remove':
        if (!(last in container)) throw new HttpError(422, 'Invalid', `remove operation does not apply: doc is missing path: ${op.path}`);
        if (Array.isArray(container)) container.splice(Number(last), 1);
        else delete container[last];
        break;
      case 'test':
        if (JSON.stringify(container[last as never]) !== JSON.stringify(op.value)) throw new HttpError(422, 'Invalid', `the test at ${op.path} failed`);
        break;
      default:
        throw new HttpError(422, 'Invalid', `JSON patch operation ${op.op} is not supported by the stand-in`);
    }
  }
  return root;
}

/** Leaf field paths of an applied configuration (dot-joined; lists are atomic leaves). */
function leafPaths(value: unknown, prefix: string): Set<string> {
  const out = new Set<string>();
  if (isPlain(value)) {
    for (const [k, v] of Object.entries(value)) {
      if (prefix === '' && (k === 'apiVersion' || k === 'kind' || k === 'status')) continue;
      if (prefix === 'metadata' && (k === 'name' || k === 'namespace' || k === 'resourceVersion')) continue;
      const path = prefix ? `${prefix}\u0000${k}` : k;
      if (isPlain(v) && Object.keys(v).length > 0) for (const p of leafPaths(v, path)) out.add(p);
      else out.add(path);
    }
  }
  return out;
}

function getPath(obj: unknown, path: string): unknown {
  return path.split('\u0000').reduce<unknown>((o, k) => (isPlain(o) ? o[k] : undefined), obj);
}

function deletePath(obj: Json, path: string): void {
  const keys = path.split('\u0000');
  const last = keys.pop()!;
  const parents: Json[] = [obj];
  for (const k of keys) {
    const next = parents[parents.length - 1]![k];
    if (!isPlain(next)) return;
    parents.push(next);
  }
  delete parents[parents.length - 1]![last];
  // Drop objects left empty by the removal, as the server's structured merge does.
  for (let i = keys.length - 1; i >= 0; i--) {
    if (Object.keys(parents[i + 1]!).length === 0) delete parents[i]![keys[i]!];
    else break;
  }
}

// --- misc ------------------------------------------------------------------------------------

function parseJson(body: string): unknown {
  try {
    return JSON.parse(body);
  } catch {
    throw new HttpError(400, 'BadRequest', 'the body is not JSON (the stand-in takes apply-patch+yaml bodies as JSON, which is YAML)');
  }
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function randomSuffix(): string {
  const alphabet = 'bcdfghjklmnpqrstvwxz2456789';
  return Array.from({ length: 5 }, () => alphabet[Math.floor(Math.random() * alphabet.length)]).join('');
}

/** Kubernetes quantities: "500m", "2", "0.5" cores. */
function parseCpu(v: string): number {
  return v.endsWith('m') ? Number(v.slice(0, -1)) / 1000 : Number(v);
}

/** "512Mi", "2Gi", "1G", "1000000" bytes → MiB. */
function parseMemoryMb(v: string): number {
  const m = /^(\d+(?:\.\d+)?)(Ki|Mi|Gi|Ti|k|M|G|T)?$/.exec(v);
  if (!m) return Number.NaN;
  const n = Number(m[1]);
  const factor: Record<string, number> = { Ki: 1 / 1024, Mi: 1, Gi: 1024, Ti: 1024 * 1024, k: 1000 / 1048576, M: 1e6 / 1048576, G: 1e9 / 1048576, T: 1e12 / 1048576 };
  return m[2] ? n * factor[m[2]]! : n / 1048576;
}
