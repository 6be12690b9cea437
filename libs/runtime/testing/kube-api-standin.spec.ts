// The stand-in keeps the API server's semantics for what the kubernetes driver uses; these tests
// pin them down over plain HTTP, as `kubectl` or any client would see them.
import { KubeApiStandin } from './kube-api-standin.js';

let api: KubeApiStandin;
let base: string;
const NS = 'ns';

beforeEach(async () => {
  api = new KubeApiStandin({ controllers: false });
  base = await api.start();
});
afterEach(async () => {
  await api.stop();
});

async function req(method: string, path: string, body?: unknown, contentType = 'application/json') {
  const res = await fetch(`${base}${path}`, { method, headers: body === undefined ? {} : { 'content-type': contentType }, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as Record<string, any>) : {} };
}
const services = `/api/v1/namespaces/${NS}/services`;
const svc = (name: string, labels: Record<string, string> = {}) => ({ apiVersion: 'v1', kind: 'Service', metadata: { name, labels }, spec: { ports: [{ port: 80 }] } });

describe('the Kubernetes API stand-in', () => {
  it('creates once (409 AlreadyExists), gets, and 404s an unknown name with a Status', async () => {
    const created = await req('POST', services, svc('a'));
    expect(created.status).toBe(201);
    expect(created.body.metadata).toMatchObject({ name: 'a', namespace: NS, uid: expect.any(String), resourceVersion: expect.any(String) });
    expect(await req('POST', services, svc('a'))).toMatchObject({ status: 409, body: { kind: 'Status', reason: 'AlreadyExists', code: 409 } });
    expect((await req('GET', `${services}/a`)).body.metadata.uid).toBe(created.body.metadata.uid);
    expect(await req('GET', `${services}/nope`)).toMatchObject({ status: 404, body: { reason: 'NotFound' } });
  });

  it('keeps a Secret\'s data in base64, merges write-only stringData into it, and refuses data that is not base64', async () => {
    const secrets = `/api/v1/namespaces/${NS}/secrets`;
    const created = await req('POST', secrets, { apiVersion: 'v1', kind: 'Secret', metadata: { name: 's' }, data: { a: Buffer.from('one').toString('base64') }, stringData: { b: 'two' } });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ type: 'Opaque', data: { a: 'b25l', b: 'dHdv' } });
    expect(created.body.stringData).toBeUndefined();
    const patched = await req('PATCH', `${secrets}/s`, { stringData: { a: 'uno' } }, 'application/merge-patch+json');
    expect(patched.body.data).toEqual({ a: 'dW5v', b: 'dHdv' });
    expect((await req('GET', `${secrets}/s`)).body.stringData).toBeUndefined();
    expect(await req('POST', secrets, { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'bad' }, data: { a: 'not base64!' } })).toMatchObject({ status: 400, body: { reason: 'BadRequest' } });
    expect(api.get('secrets', NS, 'bad')).toBeUndefined();
  });

  it('refuses a write from a stale resourceVersion with 409 Conflict', async () => {
    const created = (await req('POST', services, svc('b'))).body;
    const updated = await req('PUT', `${services}/b`, { ...created, metadata: { ...created.metadata, labels: { x: '1' } } });
    expect(updated.status).toBe(200);
    const stale = await req('PUT', `${services}/b`, { ...created, metadata: { ...created.metadata, labels: { x: '2' } } });
    expect(stale).toMatchObject({ status: 409, body: { reason: 'Conflict' } });
    expect(stale.body.message).toMatch(/the object has been modified/);
  });

  it('merges patches by content type, and applies server-side with field managers', async () => {
    await req('POST', services, svc('c', { a: '1', b: '2' }));
    expect((await req('PATCH', `${services}/c`, { metadata: { labels: { b: null, c: '3' } } }, 'application/merge-patch+json')).body.metadata.labels).toEqual({ a: '1', c: '3' });
    expect((await req('PATCH', `${services}/c`, [{ op: 'add', path: '/metadata/labels/d', value: '4' }], 'application/json-patch+json')).body.metadata.labels).toEqual({ a: '1', c: '3', d: '4' });
    expect((await req('PATCH', `${services}/c`, {}, 'text/plain')).status).toBe(415);

    const apply = (manager: string, labels: Record<string, string>, force = false) =>
      req('PATCH', `${services}/d?fieldManager=${manager}${force ? '&force=true' : ''}`, { apiVersion: 'v1', kind: 'Service', metadata: { name: 'd', labels }, spec: { ports: [{ port: 80 }] } }, 'application/apply-patch+yaml');
    expect((await req('PATCH', `${services}/d`, svc('d'), 'application/apply-patch+yaml')).status).toBe(400); // fieldManager required
    expect((await apply('one', { owned: 'x', dropped: 'y' })).status).toBe(201); // creates
    expect((await apply('one', { owned: 'x' })).body.metadata.labels).toEqual({ owned: 'x' }); // what it stops applying goes
    expect(await apply('two', { owned: 'other' })).toMatchObject({ status: 409, body: { reason: 'Conflict' } });
    expect((await apply('two', { owned: 'other' }, true)).body.metadata.labels).toEqual({ owned: 'other' });
  });

  it('selects by label, lists at a version, and answers a list from a compacted version with 410', async () => {
    await req('POST', services, svc('e1', { tier: 'web', app: 'x' }));
    await req('POST', services, svc('e2', { tier: 'db' }));
    const names = async (selector: string) => ((await req('GET', `${services}?labelSelector=${encodeURIComponent(selector)}`)).body.items as { metadata: { name: string } }[]).map((i) => i.metadata.name);
    expect(await names('tier=web')).toEqual(['e1']);
    expect(await names('tier!=web')).toEqual(['e2']);
    expect(await names('tier in (web,db)')).toEqual(['e1', 'e2']);
    expect(await names('app')).toEqual(['e1']);
    expect(await names('!app')).toEqual(['e2']);
    const list = await req('GET', services);
    api.compact();
    expect(await req('GET', `${services}?resourceVersion=${list.body.metadata.resourceVersion}&resourceVersionMatch=Exact`)).toMatchObject({ status: 410, body: { reason: 'Expired' } });
  });

  it('streams watch events from a version, and a watch from a compacted one gets ERROR 410', async () => {
    await req('POST', services, svc('w0'));
    // resourceVersion "0" would mean "any version" (the current state, then changes): take a real one.
    const rv = (await req('GET', services)).body.metadata.resourceVersion as string;
    expect(rv).not.toBe('0');
    await req('POST', services, svc('w'));
    const res = await fetch(`${base}${services}?watch=true&resourceVersion=${rv}`);
    const reader = res.body!.getReader();
    const first = JSON.parse(new TextDecoder().decode((await reader.read()).value).split('\n')[0]!);
    expect(first).toMatchObject({ type: 'ADDED', object: { metadata: { name: 'w' } } });
    api.expireWatches();
    const rest = new TextDecoder().decode((await reader.read()).value);
    expect(JSON.parse(rest.split('\n')[0]!)).toMatchObject({ type: 'ERROR', object: { kind: 'Status', code: 410, reason: 'Expired' } });
    const again = await fetch(`${base}${services}?watch=true&resourceVersion=${rv}`);
    expect(again.status).toBe(200);
    expect(JSON.parse((await again.text()).split('\n')[0]!)).toMatchObject({ type: 'ERROR', object: { code: 410 } });
  });

  it('deletes dependents in the background through their owner references, and scales through /scale', async () => {
    const deployment = (
      await req('POST', `/apis/apps/v1/namespaces/${NS}/deployments`, {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: 'web' },
        spec: { replicas: 1, selector: { matchLabels: { app: 'web' } }, template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'main', image: 'x' }] } } },
      })
    ).body;
    await req('POST', services, { ...svc('web'), metadata: { name: 'web', ownerReferences: [{ apiVersion: 'apps/v1', kind: 'Deployment', name: 'web', uid: deployment.metadata.uid, controller: true }] } });
    const scaled = await req('PATCH', `/apis/apps/v1/namespaces/${NS}/deployments/web/scale`, { spec: { replicas: 3 } }, 'application/merge-patch+json');
    expect(scaled.body).toMatchObject({ kind: 'Scale', apiVersion: 'autoscaling/v1', spec: { replicas: 3 }, status: { selector: 'app=web' } });
    expect((await req('GET', `/apis/apps/v1/namespaces/${NS}/deployments/web`)).body.spec.replicas).toBe(3);
    expect((await req('DELETE', `/apis/apps/v1/namespaces/${NS}/deployments/web`)).status).toBe(200);
    await new Promise((r) => setTimeout(r, 50));
    expect((await req('GET', `${services}/web`)).status).toBe(404);
  });
});
