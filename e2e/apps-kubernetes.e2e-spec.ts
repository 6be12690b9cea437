import { randomBytes } from 'node:crypto';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, waitFor } from '../tools/testing/harness.js';
import { KubeApiStandin, NAMESPACE, writeKubeconfig } from '../tools/testing/kubernetes.js';
import { originFetch } from '../tools/testing/origins.js';
import { call, startPlatform, type TestPlatform } from '../tools/testing/platform.js';
import { readSse } from '../tools/testing/sse.js';
import { APP_PROGRAM, quickAppsEnv } from '../tools/testing/programs/apps.js';

/**
 * The apps service with APP_RUNTIME=kubernetes, every service its own process, against the API
 * server stand-in (libs/runtime/testing/kube-api-standin.ts): its Deployment controller makes and
 * removes the app's pods as the replica count says (set through the scale subresource), its
 * kubelet reports them ready, and its EndpointSlice controller lists them under the app Service.
 * The stand-in gives every pod the address 127.0.0.1 (as pods with hostNetwork on this machine
 * would), and the test runs the program a pod would run — the stand-in app — on the container
 * port itself, so that the activator that dials an EndpointSlice address reaches a real program.
 */
describe('apps on the kubernetes runtime', () => {
  let p: TestPlatform;
  let api: KubeApiStandin;
  let dir: string;
  let program: ChildProcess;
  let port: number;
  let dana: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'lp-k8s-apps-'));
    api = new KubeApiStandin({ podIP: '127.0.0.1' });
    const server = await api.start();
    // What the kubelet keeps of the container's output (the program itself runs beside the test).
    api.images.set('ghcr.io/lab/dashboard:3', { kind: 'ready', log: ['dashboard: listening'] });
    port = await freePort();
    program = spawn(process.execPath, [APP_PROGRAM], { env: { PATH: process.env.PATH ?? '', PORT: String(port), LAUNCHPAD_HOST: '127.0.0.1' }, stdio: 'ignore' });
    p = await startPlatform(
      { apps: { ...quickAppsEnv(join(dir, 'unused')), APP_RUNTIME: 'kubernetes', KUBECONFIG: writeKubeconfig(dir, server, NAMESPACE), KUBERNETES_NAMESPACE: NAMESPACE, RUNTIME_SPEC_HASH_KEY: randomBytes(32).toString('base64') } },
      { services: ['apps'] },
    );
    const admin = await p.token('root', true);
    dana = await p.token('dana');
    expect((await call(`${p.api}/projects/961`, { method: 'PUT', token: admin, body: { path: 'lab/cluster-apps', name: 'Cluster apps', visibility: 'public' } })).status).toBe(200);
    expect((await call(`${p.api}/projects/961/members/dana`, { method: 'PUT', token: admin, body: { role: 'developer' } })).status).toBe(200);
  });

  afterAll(async () => {
    if (process.env.SHOW_LOGS) console.log(p?.services.apps?.logs().slice(-10000));
    await p?.stop();
    await api?.stop();
    program?.kill();
    rmSync(dir, { recursive: true, force: true });
  });

  const deployment = (id: string) => api.get('deployments', NAMESPACE, `a-${id}`) as any;
  const pods = (id: string) => api.list('pods', NAMESPACE).filter((o) => o.metadata.labels?.['launchpad.io/app'] === id && !o.metadata.deletionTimestamp);

  it('wakes an app at zero replicas on a request (a pod through the scale subresource, reached at its EndpointSlice address), follows its pod log, and scales it back to zero when idle', async () => {
    // No command and no repository: on a cluster, the image's own entrypoint runs.
    const launcher = await call(`${p.api}/projects/961/launchers`, {
      method: 'POST',
      token: dana,
      body: { name: 'Dashboard', kind: 'app', environment: { kind: 'custom', image: 'ghcr.io/lab/dashboard:3', port, uid: 1001, gid: 100, command: [], args: [] } },
    });
    expect(launcher.status).toBe(201);
    const id = launcher.body.id as string;
    const activated = await call(`${p.api}/apps/${id}/activate`, { method: 'POST', token: dana });
    expect(activated.body).toMatchObject({ status: 'active', desiredReplicas: 0 });
    const app = async () => (await call(`${p.api}/apps/${id}`, { token: dana })).body;
    await waitFor('the image entrypoint to be chosen', async () => (await app()).command?.source === 'image');
    const made = await waitFor('the Deployment, at zero replicas', async () => deployment(id));
    expect(made.spec.replicas).toBe(0);
    expect(made.spec.template.spec.securityContext).toMatchObject({ runAsUser: 1001, runAsGroup: 100, fsGroup: 100 });
    expect(made.spec.template.spec.containers[0].command).toBeUndefined();
    // Applied just after the Deployment (it names the Deployment as its owner).
    await waitFor('the app Service', async () => api.get('services', NAMESPACE, `a-${id}`));
    expect(pods(id)).toEqual([]);

    // A request wakes it: one replica, set through the scale subresource, and the request is answered.
    const res = await originFetch(`${activated.body.url}reports?year=2026`);
    expect(res.status).toBe(200);
    expect(res.headers.get('x-launchpad-activation')).toMatch(/^cold-start; waited=\d+ms$/);
    expect((await res.json()).url).toBe('/reports?year=2026');
    expect(deployment(id).spec.replicas).toBe(1);
    expect(pods(id)).toHaveLength(1);
    expect(api.requests.some((r) => r.method === 'PATCH' && r.path.endsWith(`/deployments/a-${id}/scale`))).toBe(true);
    expect(await app()).toMatchObject({ desiredReplicas: 1, readyReplicas: 1 });

    // Its output followed through the pod's log (follow=true on pods/{name}/log): the last lines, then what it writes.
    const pod = pods(id)[0]!.metadata.name;
    const following = readSse(`${p.api}/apps/${id}/logs?follow=true&lines=10`, { authorization: `Bearer ${dana}` }, (events) => events.some((e) => e.data.line === `[${pod}] GET /later`));
    await waitFor('the follow to start', async () => api.requests.some((r) => r.path.endsWith(`/pods/${pod}/log`) && r.query.get('follow') === 'true'));
    api.appendLog(NAMESPACE, pod, 'GET /later');
    const { events } = await following;
    expect(events.map((e) => e.data.line)).toEqual([`[${pod}] dashboard: listening`, `[${pod}] GET /later`]);

    // Idle past APP_IDLE_GRACE_MS: back to zero, and the pod goes.
    await waitFor('the app to scale to zero', async () => {
      const s = await app();
      return s.desiredReplicas === 0 && deployment(id)?.spec.replicas === 0 && pods(id).length === 0;
    }, 30_000);
    expect((await app()).status).toBe('active');
  });
});
