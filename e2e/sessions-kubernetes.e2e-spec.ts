import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitFor } from '../tools/testing/harness.js';
import { KubeApiStandin, NAMESPACE, writeKubeconfig } from '../tools/testing/kubernetes.js';
import { call, startPlatform, type TestPlatform } from '../tools/testing/platform.js';

const IMAGE = 'ghcr.io/lab/notebook:2025.1';

/**
 * The sessions service with SESSION_RUNTIME=kubernetes, every service its own process, against the
 * API server stand-in (libs/runtime/testing/kube-api-standin.ts) instead of a cluster. What the
 * stand-in does in place of a real control plane: the StatefulSet controller makes the session's
 * pod `<statefulset>-0` from its template (and removes it at replicas 0); the persistent volume
 * controller binds the claim; the scheduler places a pod whose requests (GPUs included) fit its one
 * node; its kubelet reports the pod Running but not Ready until the test says the program answers
 * (as a readiness probe would); deleting the StatefulSet lets the garbage collector take what it owns.
 */
describe('sessions on the kubernetes runtime', () => {
  let p: TestPlatform;
  let api: KubeApiStandin;
  let dir: string;
  let admin: string, dana: string;
  let launcherId: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'lp-k8s-sessions-'));
    api = new KubeApiStandin({ node: { cpu: 32, memoryMb: 131072, gpus: { 'nvidia.com/gpu': 2 } } });
    const server = await api.start();
    // The program in the image starts and does not answer yet: the pod runs, not ready.
    api.images.set(IMAGE, { kind: 'not-ready', log: ['[I ServerApp] starting'] });
    p = await startPlatform(
      {
        sessions: {
          SESSION_RUNTIME: 'kubernetes',
          KUBECONFIG: writeKubeconfig(dir, server, NAMESPACE),
          KUBERNETES_NAMESPACE: NAMESPACE,
          // The key of the spec-hash annotations (a Secret in the manifests).
          RUNTIME_SPEC_HASH_KEY: randomBytes(32).toString('base64'),
          KUBERNETES_IMAGE_PULL_SECRETS: 'regcred',
          KUBERNETES_STORAGE_CLASS: 'standard',
          RECONCILE_INTERVAL_MS: '1000',
          LEADER_ELECTION_INTERVAL_MS: '500',
        },
      },
      { services: ['sessions'] },
    );
    [admin, dana] = await Promise.all([p.token('root', true), p.token('dana')]);
    expect((await call(`${p.api}/projects/951`, { method: 'PUT', token: admin, body: { path: 'lab/cluster', name: 'Cluster', visibility: 'private' } })).status).toBe(200);
    expect((await call(`${p.api}/projects/951/members/dana`, { method: 'PUT', token: admin, body: { role: 'developer' } })).status).toBe(200);
    const pool = await call(`${p.api}/resource-pools`, {
      method: 'POST',
      token: admin,
      body: {
        name: 'GPU',
        public: true,
        quota: { cpu: 16, memoryGb: 64, gpu: 2 },
        classes: [
          {
            id: 'a100',
            name: 'A100',
            cpu: 4,
            memoryGb: 16,
            gpu: 1,
            diskGb: 10,
            maxStorageGb: 50,
            isDefault: true,
            gpuResourceName: 'nvidia.com/gpu',
            nodeSelector: { 'nvidia.com/gpu.product': 'A100' },
            tolerations: [{ key: 'nvidia.com/gpu', operator: 'Exists', effect: 'NoSchedule' }],
            cpuLimit: 8,
            memoryLimitGb: 24,
            storageClassName: 'fast-ssd',
          },
        ],
      },
    });
    expect(pool.status).toBe(201);
    expect(pool.body.classes[0]).toMatchObject({ gpuResourceName: 'nvidia.com/gpu', cpuLimit: 8, memoryLimitGb: 24, storageClassName: 'fast-ssd', tolerations: [{ key: 'nvidia.com/gpu', operator: 'Exists' }] });
    // No command: the image's own entrypoint runs, with these arguments.
    const launcher = await call(`${p.api}/projects/951/launchers`, {
      method: 'POST',
      token: dana,
      body: { name: 'Notebook', kind: 'session', resourceClassId: 'a100', diskStorageGb: 20, environment: { kind: 'custom', image: IMAGE, port: 8888, uid: 1001, gid: 100, command: [], args: ['--ServerApp.base_url=$(LAUNCHPAD_BASE_URL)'] } },
    });
    expect(launcher.status).toBe(201);
    launcherId = launcher.body.id;
  });

  afterAll(async () => {
    if (process.env.SHOW_LOGS) console.log(p?.services.sessions?.logs().slice(-10000));
    await p?.stop();
    await api?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const session = async (id: string) => (await call(`${p.api}/sessions/${id}`, { token: dana })).body;
  const statefulSet = (id: string) => api.get('statefulsets', NAMESPACE, `s-${id}`) as any;

  it('launches a StatefulSet, claim and Service with the class’s and environment’s settings; ready when the pod is; hibernates keeping the claim; resumes; deletes everything', async () => {
    const launched = await call(`${p.api}/sessions`, { method: 'POST', token: dana, body: { launcherId } });
    expect(launched.status).toBe(201);
    const id = launched.body.id as string;

    // The objects, as the driver wrote them.
    const sts = await waitFor('the StatefulSet', async () => statefulSet(id));
    const claim = await waitFor('the claim', async () => api.get('persistentvolumeclaims', NAMESPACE, `s-${id}-work`) as any);
    const service = await waitFor('the Service', async () => api.get('services', NAMESPACE, `s-${id}`) as any);
    expect(sts.spec.replicas).toBe(1);
    expect(sts.metadata.labels).toMatchObject({ 'app.kubernetes.io/managed-by': 'launchpad', 'launchpad.io/workload': id, 'launchpad.io/owner-service': 'sessions', 'launchpad.io/owner-id': id });
    const pod = sts.spec.template.spec;
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 1001, runAsGroup: 100, fsGroup: 100 });
    expect(pod.imagePullSecrets).toEqual([{ name: 'regcred' }]);
    expect(pod.nodeSelector).toEqual({ 'nvidia.com/gpu.product': 'A100' });
    expect(pod.tolerations).toEqual([{ key: 'nvidia.com/gpu', operator: 'Exists', effect: 'NoSchedule' }]);
    expect(pod.automountServiceAccountToken).toBe(false);
    const main = pod.containers[0];
    expect(main.image).toBe(IMAGE);
    expect(main.command).toBeUndefined(); // the image's entrypoint
    expect(main.args).toEqual(['--ServerApp.base_url=$(LAUNCHPAD_BASE_URL)']);
    expect(main.resources).toEqual({ requests: { cpu: '4000m', memory: '16384Mi', 'nvidia.com/gpu': '1' }, limits: { cpu: '8000m', memory: '24576Mi', 'nvidia.com/gpu': '1' } });
    expect(claim.spec).toMatchObject({ storageClassName: 'fast-ssd', resources: { requests: { storage: '20Gi' } } });
    expect(claim.metadata.ownerReferences).toEqual([expect.objectContaining({ kind: 'StatefulSet', uid: sts.metadata.uid })]);
    expect(service.spec.ports).toEqual([expect.objectContaining({ port: 8888 })]);

    // Running, not ready: the session is starting. Then the program answers (the kubelet's probe passes).
    await waitFor('the pod to run', async () => (api.get('pods', NAMESPACE, `s-${id}-0`)?.status as any)?.phase === 'Running');
    expect((await session(id)).status).toBe('starting');
    api.images.set(IMAGE, { kind: 'ready' });
    api.kick();
    const running = await waitFor('the session to run', async () => {
      const s = await session(id);
      return s.status === 'running' ? s : undefined;
    });
    expect(running.diskStorageGb).toBe(20);

    // Hibernation: replicas 0 through the scale subresource, the pod gone, the claim (the files) kept.
    expect((await call(`${p.api}/sessions/${id}`, { method: 'PATCH', token: dana, body: { state: 'hibernated' } })).status).toBe(200);
    await waitFor('the session to hibernate', async () => (await session(id)).status === 'hibernated');
    expect(statefulSet(id).spec.replicas).toBe(0);
    await waitFor('its pod to go', async () => !api.get('pods', NAMESPACE, `s-${id}-0`));
    expect(api.get('persistentvolumeclaims', NAMESPACE, `s-${id}-work`)?.metadata.uid).toBe(claim.metadata.uid);
    expect(api.requests.some((r) => r.method === 'PATCH' && r.path.endsWith(`/statefulsets/s-${id}/scale`))).toBe(true);

    // Resume: one replica again, on the same claim.
    expect((await call(`${p.api}/sessions/${id}`, { method: 'PATCH', token: dana, body: { state: 'running' } })).status).toBe(200);
    await waitFor('the session to run again', async () => (await session(id)).status === 'running');
    expect(statefulSet(id).spec.replicas).toBe(1);
    expect(api.get('persistentvolumeclaims', NAMESPACE, `s-${id}-work`)?.metadata.uid).toBe(claim.metadata.uid);

    // Deletion removes every object of the session.
    expect((await call(`${p.api}/sessions/${id}`, { method: 'DELETE', token: dana })).status).toBe(204);
    await waitFor('the session to be gone', async () => (await call(`${p.api}/sessions/${id}`, { token: dana })).status === 404);
    await waitFor('its objects to be gone', async () =>
      !statefulSet(id) && !api.get('services', NAMESPACE, `s-${id}`) && !api.get('persistentvolumeclaims', NAMESPACE, `s-${id}-work`) && !api.get('pods', NAMESPACE, `s-${id}-0`),
    );
  });

  it('keeps the program’s token in the session’s own Secret, never in the StatefulSet or its pod, and deletes it with the session', async () => {
    const tokenLauncher = await call(`${p.api}/projects/951/launchers`, {
      method: 'POST',
      token: dana,
      body: { name: 'With a token', kind: 'session', resourceClassId: 'a100', environment: { kind: 'custom', image: IMAGE, port: 8888, uid: 1001, gid: 100, command: [], args: [], auth: { kind: 'jupyter-token' } } },
    });
    expect(tokenLauncher.status).toBe(201);
    const launched = await call(`${p.api}/sessions`, { method: 'POST', token: dana, body: { launcherId: tokenLauncher.body.id } });
    expect(launched.status).toBe(201);
    const id = launched.body.id as string;
    // Made before the StatefulSet (no pod starts without it), then owned by it.
    const secret = await waitFor('the Secret, owned', async () => (api.get('secrets', NAMESPACE, `s-${id}-secrets`)?.metadata.ownerReferences ? api.get('secrets', NAMESPACE, `s-${id}-secrets`) : undefined) as any);
    const sts = await waitFor('the StatefulSet', async () => statefulSet(id));
    const token = Buffer.from(secret.data['env.JUPYTER_TOKEN'], 'base64').toString('utf8');
    expect(token).toMatch(/^[0-9a-f]{64}$/);
    expect(secret.metadata.ownerReferences).toEqual([expect.objectContaining({ kind: 'StatefulSet', uid: sts.metadata.uid })]);
    expect(sts.spec.template.spec.containers[0].env).toEqual(expect.arrayContaining([{ name: 'JUPYTER_TOKEN', valueFrom: { secretKeyRef: { name: `s-${id}-secrets`, key: 'env.JUPYTER_TOKEN' } } }]));
    expect(JSON.stringify(sts)).not.toContain(token);
    const pod = await waitFor('the pod', async () => api.get('pods', NAMESPACE, `s-${id}-0`));
    expect(JSON.stringify(pod)).not.toContain(token);

    expect((await call(`${p.api}/sessions/${id}`, { method: 'DELETE', token: dana })).status).toBe(204);
    await waitFor('its Secret to be gone', async () => !statefulSet(id) && !api.get('secrets', NAMESPACE, `s-${id}-secrets`));
  });
});
