// The kubernetes driver against the API server stand-in (libs/runtime/testing/kube-api-standin.ts,
// which says which real behaviour each of its parts stands for): real HTTP, real
// @kubernetes/client-node, real list/watch streams; only the cluster is simulated.
import type * as k8s from '@kubernetes/client-node';
import { NAMESPACE, appSpec, sessionSpec, startKubernetes, waitFor } from '../../testing/kubernetes-fixtures.js';
import type { KubeApiStandin } from '../../testing/kube-api-standin.js';
import type { KubernetesRuntime } from './kubernetes-runtime.js';
import { RuntimeError, RuntimeErrorCode } from '../runtime-error.js';
import type { WorkloadEvent } from '../runtime.js';

let api: KubeApiStandin;
let runtime: KubernetesRuntime;
let close: () => Promise<void>;

beforeEach(async () => {
  ({ api, runtime, close } = await startKubernetes());
});
afterEach(async () => {
  await close();
});

const managedBy = { 'app.kubernetes.io/managed-by': 'launchpad' };

describe('a session', () => {
  it('is a StatefulSet of one replica with a claim for /work, a clone init container and a Service, all labelled and owned', async () => {
    const spec = sessionSpec('s1', { imagePullSecrets: ['regcred'] });
    await runtime.ensureRunning(spec);
    const sts = api.get('statefulsets', NAMESPACE, 's-s1') as unknown as k8s.V1StatefulSet;
    expect(sts.metadata?.labels).toMatchObject({ ...managedBy, 'app.kubernetes.io/component': 'session', 'launchpad.io/workload': 's1', 'launchpad.io/owner-service': 'sessions', 'launchpad.io/owner-id': 's1' });
    expect(sts.spec?.replicas).toBe(1);
    const pod = sts.spec!.template.spec!;
    expect(pod.automountServiceAccountToken).toBe(false);
    expect(pod.enableServiceLinks).toBe(false);
    expect(pod.securityContext).toEqual({ runAsNonRoot: true, runAsUser: 1000, runAsGroup: 100, fsGroup: 100, fsGroupChangePolicy: 'OnRootMismatch', seccompProfile: { type: 'RuntimeDefault' } });
    expect(pod.imagePullSecrets).toEqual([{ name: 'regcred' }]);
    expect(pod.volumes).toEqual([{ name: 'work', persistentVolumeClaim: { claimName: 's-s1-work' } }]);
    const [clone] = pod.initContainers!;
    expect(clone!.image).toBe('alpine/git:2.49.1');
    expect(clone!.command!.slice(-2)).toEqual(['analysis', 'https://gitlab.example.com/group/analysis.git']);
    const main = pod.containers[0]!;
    expect(main.command).toEqual(['jupyter', 'lab']);
    expect(main.securityContext).toEqual({ allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] }, seccompProfile: { type: 'RuntimeDefault' } });
    expect(main.resources).toEqual({ requests: { cpu: '1000m', memory: '2048Mi' }, limits: { memory: '2048Mi' } });
    expect(main.readinessProbe?.httpGet).toEqual({ path: '/sessions/s1/lab', port: 'http' });
    expect(main.env).toEqual(expect.arrayContaining([{ name: 'JUPYTER_TOKEN', value: 'secret' }, { name: 'LAUNCHPAD_HOST', value: '0.0.0.0' }, { name: 'PORT', value: '8888' }]));

    const claim = api.get('persistentvolumeclaims', NAMESPACE, 's-s1-work') as unknown as k8s.V1PersistentVolumeClaim;
    expect(claim.spec).toMatchObject({ accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '5Gi' } }, storageClassName: 'standard' });
    const service = api.get('services', NAMESPACE, 's-s1') as unknown as k8s.V1Service;
    expect(service.spec?.selector).toEqual({ ...managedBy, 'launchpad.io/workload': 's1' });
    for (const dependent of [claim, service]) {
      expect(dependent.metadata?.labels).toMatchObject({ ...managedBy, 'launchpad.io/workload': 's1' });
      expect(dependent.metadata?.ownerReferences).toEqual([{ apiVersion: 'apps/v1', kind: 'StatefulSet', name: 's-s1', uid: sts.metadata!.uid, controller: true }]);
    }
    // Written with server-side apply under our field manager.
    expect(api.requests.some((r) => r.method === 'PATCH' && r.path.endsWith('/statefulsets/s-s1') && r.contentType === 'application/apply-patch+yaml' && r.query.get('fieldManager') === 'launchpad')).toBe(true);

    const ready = await waitFor('the session to be ready', async () => {
      const s = await runtime.status('s1');
      return s?.phase === 'ready' ? s : null;
    });
    expect(ready).toMatchObject({ kind: 'session', endpoint: `http://s-s1.${NAMESPACE}.svc.cluster.local:8888`, specHash: expect.stringMatching(/^[0-9a-f]{16}$/) });
  });

  it('hibernates by scaling to zero through the scale subresource and keeps its claim; resumes with the same claim', async () => {
    await runtime.ensureRunning(sessionSpec('s2'));
    await waitFor('ready', async () => (await runtime.status('s2'))?.phase === 'ready');
    const claimUid = api.get('persistentvolumeclaims', NAMESPACE, 's-s2-work')!.metadata.uid;
    await runtime.stop('s2');
    expect(api.requests.some((r) => r.method === 'PATCH' && r.path.endsWith('/statefulsets/s-s2/scale'))).toBe(true);
    await waitFor('stopped with no pod', async () => (await runtime.status('s2'))?.phase === 'stopped' && !api.get('pods', NAMESPACE, 's-s2-0'));
    expect(api.get('statefulsets', NAMESPACE, 's-s2')!.spec).toMatchObject({ replicas: 0 });
    expect(api.get('persistentvolumeclaims', NAMESPACE, 's-s2-work')!.metadata.uid).toBe(claimUid);

    await runtime.ensureRunning(sessionSpec('s2'));
    await waitFor('ready again', async () => (await runtime.status('s2'))?.phase === 'ready');
    expect(api.get('persistentvolumeclaims', NAMESPACE, 's-s2-work')!.metadata.uid).toBe(claimUid);
  });

  it('leaves nothing behind when removed', async () => {
    await runtime.ensureRunning(sessionSpec('s3'));
    await waitFor('ready', async () => (await runtime.status('s3'))?.phase === 'ready');
    await runtime.remove('s3');
    await waitFor('every object gone', () =>
      ['statefulsets', 'services', 'persistentvolumeclaims', 'pods', 'endpointslices'].every((r) => api.list(r, NAMESPACE).length === 0),
    );
    expect(await runtime.status('s3')).toBeNull();
    await runtime.remove('s3'); // idempotent
  });

  it('rolls its pod when the spec changes, keeping the claim', async () => {
    await runtime.ensureRunning(sessionSpec('s4'));
    const first = await waitFor('ready', async () => {
      const s = await runtime.status('s4');
      return s?.phase === 'ready' ? s : null;
    });
    await runtime.ensureRunning(sessionSpec('s4', { image: 'quay.io/jupyter/base-notebook:2025-02-01' }));
    const second = await waitFor('ready on the new spec', async () => {
      const s = await runtime.status('s4');
      return s?.phase === 'ready' && s.specHash !== first.specHash ? s : null;
    });
    expect(second.specHash).not.toBe(first.specHash);
    expect(api.get('pods', NAMESPACE, 's-s4-0')!.spec).toMatchObject({ containers: [expect.objectContaining({ image: 'quay.io/jupyter/base-notebook:2025-02-01' })] });
  });

  it('comes back when its Service is deleted (drift repair), and an orphaned Service is deleted', async () => {
    await runtime.ensureRunning(sessionSpec('s5'));
    await waitFor('ready', async () => (await runtime.status('s5'))?.phase === 'ready');
    const before = api.get('services', NAMESPACE, 's-s5')!.metadata.uid;
    api.delete('services', NAMESPACE, 's-s5');
    const after = await waitFor('the Service re-created', () => {
      const s = api.get('services', NAMESPACE, 's-s5');
      return s && s.metadata.uid !== before ? s : null;
    });
    expect(after.metadata.ownerReferences?.[0]).toMatchObject({ kind: 'StatefulSet', name: 's-s5' });
    // An orphan: a Service of ours whose session's StatefulSet is gone, with no owner reference.
    api.put('services', {
      metadata: { name: 's-ghost', namespace: NAMESPACE, labels: { ...managedBy, 'app.kubernetes.io/component': 'session', 'launchpad.io/workload': 'ghost' } },
      spec: { selector: { 'launchpad.io/workload': 'ghost' }, ports: [{ name: 'http', port: 80 }] },
    });
    await waitFor('the orphan deleted', () => !api.get('services', NAMESPACE, 's-ghost'));
    expect(api.get('services', NAMESPACE, 's-s5')).toBeDefined();
  });

  it('says why it cannot run: image not pullable, crash loop with its last lines, no room, no volume', async () => {
    api.images.set('registry.example.com/missing:1', { kind: 'pull-failure' });
    api.images.set('registry.example.com/crashes:1', { kind: 'crash-loop', exitCode: 3, log: ['starting', 'Traceback (most recent call last):', 'ModuleNotFoundError: No module named numpy'] });
    await runtime.ensureRunning(sessionSpec('pull', { image: 'registry.example.com/missing:1' }));
    await runtime.ensureRunning(sessionSpec('crash', { image: 'registry.example.com/crashes:1' }));
    await runtime.ensureRunning(sessionSpec('big', { resources: { cpu: 64, memoryMb: 1024, gpu: 2, diskGb: 5 } }));
    await runtime.ensureRunning(sessionSpec('novol', { storageClassName: 'never-binds' }));

    expect(await waitFor('pull failure', async () => (await runtime.status('pull'))?.phase === 'failed' && runtime.status('pull'))).toMatchObject({
      reason: 'ImagePullFailed',
      message: 'image not found or not pullable: registry.example.com/missing:1',
    });
    const crash = await waitFor('crash loop with its log', async () => {
      const s = await runtime.status('crash');
      return s?.reason === 'CrashLoopBackOff' && s.message?.includes('numpy') ? s : null;
    });
    expect(crash).toMatchObject({ phase: 'failed', exitCode: 3, restarts: 4 });
    expect(crash.message).toContain('the program keeps exiting (exit code 3)');
    const big = await waitFor('unschedulable', async () => {
      const s = await runtime.status('big');
      return s?.reason === 'Unschedulable' ? s : null;
    });
    expect(big.phase).toBe('pending');
    expect(big.message).toMatch(/^waiting for resources: not enough cpu, nvidia\.com\/gpu on any node/);
    expect(await waitFor('unbound claim', async () => (await runtime.status('novol'))?.reason === 'ClaimPending' && runtime.status('novol'))).toMatchObject({
      phase: 'pending',
      message: 'waiting for a volume',
    });
  });

  it('clones only what the repository policy allows, by the rule the process runtime clones under', async () => {
    await close();
    ({ api, runtime, close } = await startKubernetes({}, { repositoryPolicy: { hosts: ['gitlab.example.com'], allowFile: false } }));
    for (const url of ['https://github.com/lab/x.git', 'file:///etc', 'http://gitlab.example.com/group/analysis.git']) {
      await expect(runtime.ensureRunning(sessionSpec('elsewhere', { repositories: [{ name: 'x', url }] }))).rejects.toMatchObject({
        code: RuntimeErrorCode.INVALID_SPEC,
        message: expect.stringContaining(`repository ${url} is not cloned: `),
      });
    }
    expect(api.list('statefulsets', NAMESPACE)).toEqual([]);
    await runtime.ensureRunning(sessionSpec('allowed'));
    const clone = (api.get('statefulsets', NAMESPACE, 's-allowed') as unknown as k8s.V1StatefulSet).spec!.template.spec!.initContainers![0]!;
    expect(clone.env).toEqual(expect.arrayContaining([{ name: 'GIT_ALLOW_PROTOCOL', value: 'https:ssh' }]));
  });

  it('refuses what cannot be a cluster object or would run as root', async () => {
    await expect(runtime.ensureRunning(sessionSpec('Not_A_Label'))).rejects.toMatchObject({ code: RuntimeErrorCode.INVALID_SPEC });
    await expect(runtime.ensureRunning(sessionSpec('root', { security: { uid: 0, gid: 0, fsGroup: 0 } }))).rejects.toBeInstanceOf(RuntimeError);
    expect(api.list('statefulsets', NAMESPACE)).toEqual([]);
  });

  it('reports phase changes to watchers from the informers, without polling', async () => {
    const events: WorkloadEvent[] = [];
    runtime.watch((e) => events.push(e));
    await runtime.ensureRunning(sessionSpec('s6'));
    await waitFor('a ready event', () => events.some((e) => e.id === 's6' && e.status.phase === 'ready'));
    expect(api.requests.filter((r) => r.query.get('watch') === 'true').length).toBeGreaterThanOrEqual(4);
  });
});

describe('the informers', () => {
  it('survive a 410 Gone mid-watch: they re-list, and see what changed meanwhile', async () => {
    await runtime.ensureRunning(sessionSpec('w1'));
    await waitFor('ready', async () => (await runtime.status('w1'))?.phase === 'ready');
    const before = runtime.informerStats().statefulSets!;
    // The API server's watch cache expires every watch: ERROR 410, history compacted.
    api.expireWatches();
    // A change the driver never saw as a watch event: someone scales the session down meanwhile.
    const sts = api.get('statefulsets', NAMESPACE, 's-w1')!;
    api.put('statefulsets', { ...sts, spec: { ...(sts.spec as object), replicas: 0 } });
    await waitFor('the re-list', () => runtime.informerStats().statefulSets!.gone > before.gone && runtime.informerStats().statefulSets!.lists > before.lists);
    await waitFor('the change seen', async () => (await runtime.status('w1'))?.phase === 'stopped');
    await waitFor('watching again', () => api.openWatches >= 8);
    // And the watch works again after it: a new session is seen.
    await runtime.ensureRunning(sessionSpec('w2'));
    await waitFor('w2 ready', async () => (await runtime.status('w2'))?.phase === 'ready');
  });

  it('re-list when a watch from a compacted version is answered with 410', async () => {
    await runtime.ensureRunning(sessionSpec('w3'));
    await waitFor('ready', async () => (await runtime.status('w3'))?.phase === 'ready');
    const gone = runtime.informerStats().sessionPods!.gone;
    // Compaction, then every watch ends normally (its timeout): each informer watches again from
    // the version it had, which is compacted now, and is told so with ERROR 410.
    // Another client's write moves the revision past what the pod informer last saw.
    api.put('services', { metadata: { name: 'someone-elses', namespace: NAMESPACE }, spec: { ports: [{ port: 80 }] } });
    api.compact();
    api.endWatches();
    await waitFor('re-listed', () => runtime.informerStats().sessionPods!.gone > gone);
    expect((await runtime.status('w3'))?.phase).toBe('ready');
    await runtime.ensureRunning(sessionSpec('w3b'));
    await waitFor('w3b ready', async () => (await runtime.status('w3b'))?.phase === 'ready');
  });

  it('retry after the API server fails, and list() answers from the cache', async () => {
    await runtime.ensureRunning(sessionSpec('w4'));
    await waitFor('ready', async () => (await runtime.status('w4'))?.phase === 'ready');
    const lists = api.requests.filter((r) => r.method === 'GET' && !r.query.get('watch')).length;
    for (let i = 0; i < 5; i++) expect((await runtime.list()).map((s) => s.id)).toContain('w4');
    expect(api.requests.filter((r) => r.method === 'GET' && !r.query.get('watch')).length).toBe(lists);
    api.injectFault((method, path) => method === 'PATCH' && path.includes('/statefulsets/'), 503);
    await expect(runtime.ensureRunning(sessionSpec('w5'))).rejects.toMatchObject({ code: RuntimeErrorCode.UNAVAILABLE, retryable: true });
    await runtime.ensureRunning(sessionSpec('w5'));
    await waitFor('w5 ready', async () => (await runtime.status('w5'))?.phase === 'ready');
  });

  it('re-try a write that meets 409 Conflict', async () => {
    api.injectFault((method, path) => method === 'PATCH' && path.endsWith('/statefulsets/s-c1'), 409);
    await runtime.ensureRunning(sessionSpec('c1'));
    expect(api.requests.filter((r) => r.method === 'PATCH' && r.path.endsWith('/statefulsets/s-c1')).length).toBe(2);
    await waitFor('ready', async () => (await runtime.status('c1'))?.phase === 'ready');
  });
});

describe('an app', () => {
  it('is a Deployment and a Service, owned and labelled; its endpoints come from its EndpointSlices', async () => {
    await runtime.ensureApp(appSpec('dash', { replicas: 2 }));
    const deployment = api.get('deployments', NAMESPACE, 'a-dash') as unknown as k8s.V1Deployment;
    expect(deployment.metadata?.labels).toMatchObject({ ...managedBy, 'app.kubernetes.io/component': 'app', 'launchpad.io/app': 'dash' });
    expect(deployment.spec?.replicas).toBe(2);
    expect(deployment.spec?.template.spec?.automountServiceAccountToken).toBe(false);
    expect(deployment.spec?.template.spec?.containers[0]?.lifecycle?.preStop).toEqual({ sleep: { seconds: 10 } });
    const service = api.get('services', NAMESPACE, 'a-dash')!;
    expect(service.metadata.ownerReferences).toEqual([expect.objectContaining({ kind: 'Deployment', name: 'a-dash', uid: deployment.metadata!.uid })]);
    const status = await waitFor('two endpoints', async () => {
      const s = await runtime.appStatus('dash');
      return s?.endpoints.length === 2 ? s : null;
    });
    const ips = api.list('pods', NAMESPACE).map((p) => `http://${(p.status as { podIP: string }).podIP}:8000`);
    expect([...status.endpoints].sort()).toEqual([...ips].sort());
    expect(status).toMatchObject({ appId: 'dash', generation: 1, replicas: 2 });
    expect(status.instances.map((i) => i.owner)).toEqual([
      { service: 'apps', id: 'dash' },
      { service: 'apps', id: 'dash' },
    ]);
    expect((await runtime.list()).filter((w) => w.kind === 'app')).toHaveLength(2);
  });

  it('scales through the scale subresource, removing the replica asked for first', async () => {
    await runtime.ensureApp(appSpec('scaled', { replicas: 3 }));
    const three = await waitFor('three ready', async () => {
      const s = await runtime.appStatus('scaled');
      return s?.readyReplicas === 3 && s.endpoints.length === 3 ? s : null;
    });
    const victim = three.instances[1]!.id;
    await runtime.scaleApp('scaled', 2, [victim]);
    expect(api.requests.some((r) => r.method === 'PATCH' && r.path.endsWith('/deployments/a-scaled/scale'))).toBe(true);
    const two = await waitFor('two left', async () => {
      const s = await runtime.appStatus('scaled');
      return s?.instances.length === 2 && s.endpoints.length === 2 ? s : null;
    });
    expect(two.instances.map((i) => i.id)).not.toContain(victim);
    await runtime.scaleApp('scaled', 0);
    await waitFor('zero', async () => (await runtime.appStatus('scaled'))?.endpoints.length === 0 && api.list('pods', NAMESPACE).length === 0);
    expect(await runtime.scaleApp('no-such-app', 1)).toBeNull();
  });

  it('is rolled by a new generation, gets its Service back, and leaves nothing when removed', async () => {
    await runtime.ensureApp(appSpec('roll'));
    const first = await waitFor('ready', async () => {
      const s = await runtime.appStatus('roll');
      return s?.endpoints.length === 1 ? s : null;
    });
    await runtime.ensureApp(appSpec('roll', { generation: 2 }));
    await waitFor('a replica of generation 2', async () => {
      const s = await runtime.appStatus('roll');
      return s?.generation === 2 && s.endpoints.length === 1 && s.instances.every((i) => i.id !== first.instances[0]!.id);
    });
    api.delete('services', NAMESPACE, 'a-roll');
    await waitFor('the Service back', () => api.get('services', NAMESPACE, 'a-roll'));
    await runtime.removeApp('roll');
    await waitFor('nothing left', () => ['deployments', 'services', 'pods', 'endpointslices'].every((r) => api.list(r, NAMESPACE).length === 0));
    expect(await runtime.appStatus('roll')).toBeNull();
  });

  it('serves a replica log', async () => {
    api.images.set('python:3.12-slim', { kind: 'ready', log: ['Serving HTTP on 0.0.0.0 port 8000', 'GET / 200'] });
    await runtime.ensureApp(appSpec('logs'));
    const status = await waitFor('ready', async () => {
      const s = await runtime.appStatus('logs');
      return s?.instances[0]?.phase === 'ready' ? s : null;
    });
    const id = status.instances[0]!.id;
    expect(await runtime.logs(id, 1)).toEqual(['GET / 200']);
    const streamed: string[] = [];
    for await (const line of runtime.streamLogs(id, { tailLines: 2 })) streamed.push(line.text);
    expect(streamed).toEqual(['Serving HTTP on 0.0.0.0 port 8000', 'GET / 200']);
    expect(await runtime.logs('nobody', 5)).toEqual([]);
  });
});

describe('secrets', () => {
  const TOKEN = 'tok-3f9a1c0e77d24b5e';
  const PASSWORD = 'pw-9c8b7a6d5e4f';
  const KEY_FILE = '-----BEGIN KEY-----\nc2VjcmV0LWZpbGUtY29udGVudA\n-----END KEY-----\n';
  const secretSpec = (id: string, password = PASSWORD) =>
    sessionSpec(id, {
      env: { PLAIN: 'visible', DB_PASSWORD: 'plain-loses' },
      secretEnv: { JUPYTER_TOKEN: TOKEN, DB_PASSWORD: password },
      secretFiles: [{ name: 'id_ed25519', content: KEY_FILE }],
    });
  const b64 = (text: string) => Buffer.from(text, 'utf8').toString('base64');
  const decoded = (secret: object) => Object.fromEntries(Object.entries(((secret as { data?: Record<string, string> }).data ?? {})).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]));
  const leaks = (json: string, ...values: string[]) => values.filter((v) => json.includes(v) || json.includes(b64(v)));

  it('keeps secret variables and files in a Secret of their own: the StatefulSet and its pod hold neither, the container refers to it and mounts /secrets', async () => {
    api.images.set('quay.io/jupyter/base-notebook:2025-01-01', { kind: 'ready', log: (env) => [`token=${env.JUPYTER_TOKEN} db=${env.DB_PASSWORD} plain=${env.PLAIN}`] });
    await runtime.ensureRunning(secretSpec('sec1'));
    const sts = api.get('statefulsets', NAMESPACE, 's-sec1') as unknown as k8s.V1StatefulSet;
    expect(leaks(JSON.stringify(sts), TOKEN, PASSWORD, KEY_FILE)).toEqual([]);

    const secret = api.get('secrets', NAMESPACE, 's-sec1-secrets') as unknown as k8s.V1Secret;
    expect(secret.type).toBe('Opaque');
    expect(secret.metadata?.labels).toMatchObject({ ...managedBy, 'app.kubernetes.io/component': 'session', 'launchpad.io/workload': 'sec1', 'launchpad.io/owner-id': 'sec1' });
    expect(secret.metadata?.ownerReferences).toEqual([{ apiVersion: 'apps/v1', kind: 'StatefulSet', name: 's-sec1', uid: sts.metadata!.uid, controller: true }]);
    expect(secret.data).toEqual({ 'env.JUPYTER_TOKEN': b64(TOKEN), 'env.DB_PASSWORD': b64(PASSWORD), 'file.id_ed25519': b64(KEY_FILE) });

    const pod = sts.spec!.template.spec!;
    const main = pod.containers[0]!;
    expect(main.env).toEqual(
      expect.arrayContaining([
        { name: 'PLAIN', value: 'visible' },
        { name: 'JUPYTER_TOKEN', valueFrom: { secretKeyRef: { name: 's-sec1-secrets', key: 'env.JUPYTER_TOKEN' } } },
        { name: 'DB_PASSWORD', valueFrom: { secretKeyRef: { name: 's-sec1-secrets', key: 'env.DB_PASSWORD' } } },
        { name: 'LAUNCHPAD_SECRETS_DIR', value: '/secrets' },
      ]),
    );
    // A secret variable wins over a plain one of the same name, as on the process driver.
    expect(main.env!.filter((e) => e.name === 'DB_PASSWORD')).toHaveLength(1);
    expect(main.volumeMounts).toEqual(expect.arrayContaining([{ name: 'secrets', mountPath: '/secrets', readOnly: true }]));
    expect(pod.volumes).toEqual(expect.arrayContaining([{ name: 'secrets', secret: { secretName: 's-sec1-secrets', defaultMode: 0o400, items: [{ key: 'file.id_ed25519', path: 'id_ed25519' }] } }]));
    expect(sts.spec!.template.metadata!.annotations!['launchpad.io/secrets-hash']).toMatch(/^[0-9a-f]{16}$/);

    await waitFor('ready', async () => (await runtime.status('sec1'))?.phase === 'ready');
    const running = api.get('pods', NAMESPACE, 's-sec1-0')!;
    expect(leaks(JSON.stringify(running), TOKEN, PASSWORD, KEY_FILE)).toEqual([]);
    // The kubelet resolved the references: the program sees the values.
    expect(await runtime.logs('sec1', 1)).toEqual([`token=${TOKEN} db=${PASSWORD} plain=visible`]);
  });

  it('rolls the pod when a secret value changes, and removes the Secret with the session', async () => {
    await runtime.ensureRunning(secretSpec('sec2'));
    await waitFor('ready', async () => (await runtime.status('sec2'))?.phase === 'ready');
    const before = api.get('statefulsets', NAMESPACE, 's-sec2')!;
    const podUid = api.get('pods', NAMESPACE, 's-sec2-0')!.metadata.uid;

    await runtime.ensureRunning(secretSpec('sec2', 'pw-changed-0042'));
    const after = api.get('statefulsets', NAMESPACE, 's-sec2')!;
    expect(JSON.stringify((after.spec as { template: unknown }).template)).not.toBe(JSON.stringify((before.spec as { template: unknown }).template));
    expect(leaks(JSON.stringify(after), 'pw-changed-0042')).toEqual([]);
    expect(decoded(api.get('secrets', NAMESPACE, 's-sec2-secrets')!)['env.DB_PASSWORD']).toBe('pw-changed-0042');
    await waitFor('a new pod, ready', async () => (await runtime.status('sec2'))?.phase === 'ready' && api.get('pods', NAMESPACE, 's-sec2-0')?.metadata.uid !== podUid);

    // Hibernated, it keeps no Secret (as the process driver keeps no secret files); resumed, it has it again.
    await runtime.stop('sec2');
    expect(api.get('secrets', NAMESPACE, 's-sec2-secrets')).toBeUndefined();
    await waitFor('stopped', async () => (await runtime.status('sec2'))?.phase === 'stopped');
    await runtime.ensureRunning(secretSpec('sec2', 'pw-changed-0042'));
    expect(decoded(api.get('secrets', NAMESPACE, 's-sec2-secrets')!)['env.DB_PASSWORD']).toBe('pw-changed-0042');
    await waitFor('ready again', async () => (await runtime.status('sec2'))?.phase === 'ready');

    await runtime.remove('sec2');
    expect(api.get('secrets', NAMESPACE, 's-sec2-secrets')).toBeUndefined();
    await waitFor('every object gone', () => ['statefulsets', 'services', 'persistentvolumeclaims', 'pods', 'secrets'].every((r) => api.list(r, NAMESPACE).length === 0));
  });

  it('makes no Secret for a session without secrets, and deletes it when its secrets are gone', async () => {
    await runtime.ensureRunning(sessionSpec('sec3'));
    expect(api.list('secrets', NAMESPACE)).toEqual([]);
    expect(JSON.stringify(api.get('statefulsets', NAMESPACE, 's-sec3'))).not.toContain('secretKeyRef');

    await runtime.ensureRunning(secretSpec('sec4'));
    expect(api.get('secrets', NAMESPACE, 's-sec4-secrets')).toBeDefined();
    await runtime.ensureRunning({ ...secretSpec('sec4'), secretEnv: {}, secretFiles: [] });
    expect(api.get('secrets', NAMESPACE, 's-sec4-secrets')).toBeUndefined();
    const sts = api.get('statefulsets', NAMESPACE, 's-sec4') as unknown as k8s.V1StatefulSet;
    expect(sts.spec!.template.spec!.volumes!.map((v) => v.name)).toEqual(['work']);
    expect(sts.spec!.template.metadata!.annotations!['launchpad.io/secrets-hash']).toBeUndefined();
  });

  it('sweeps a Secret whose session is gone (an orphan)', async () => {
    await runtime.ensureRunning(secretSpec('sec5'));
    // Deleted with --cascade=orphan: the garbage collector leaves the Secret.
    api.delete('statefulsets', NAMESPACE, 's-sec5', 'Orphan');
    await waitFor('the orphaned Secret deleted', () => !api.get('secrets', NAMESPACE, 's-sec5-secrets'));
  });

  it('gives an app template its own Secret too, owned by the Deployment and gone with the app', async () => {
    await runtime.ensureApp(appSpec('secapp', { template: { ...appSpec('secapp').template, secretEnv: { API_KEY: TOKEN }, secretFiles: [{ name: 'cert.pem', content: KEY_FILE }] } }));
    const deployment = api.get('deployments', NAMESPACE, 'a-secapp')!;
    expect(leaks(JSON.stringify(deployment), TOKEN, KEY_FILE)).toEqual([]);
    const secret = api.get('secrets', NAMESPACE, 'a-secapp-secrets')!;
    expect(decoded(secret)).toEqual({ 'env.API_KEY': TOKEN, 'file.cert.pem': KEY_FILE });
    expect(secret.metadata.ownerReferences).toEqual([{ apiVersion: 'apps/v1', kind: 'Deployment', name: 'a-secapp', uid: deployment.metadata.uid, controller: true }]);
    await waitFor('ready', async () => (await runtime.appStatus('secapp'))?.endpoints.length === 1);
    for (const pod of api.list('pods', NAMESPACE)) expect(leaks(JSON.stringify(pod), TOKEN, KEY_FILE)).toEqual([]);
    await runtime.removeApp('secapp');
    expect(api.get('secrets', NAMESPACE, 'a-secapp-secrets')).toBeUndefined();
  });
});
