import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from '@nats-io/transport-node';
import WebSocket from 'ws';
import { signCaller } from '@launchpad/contracts';
import { isRunning, killWorkloads, waitFor } from '../tools/testing/harness.js';
import { APP_JS, quickAppsEnv } from '../tools/testing/programs/apps.js';
import { makeRepository } from '../tools/testing/programs/make-repository.js';
import { call, startPlatform, type TestPlatform } from '../tools/testing/platform.js';
import { appOrigin, cookieFrom, originFetch, originWebSocket, rawRequest } from '../tools/testing/origins.js';
import { readSse } from '../tools/testing/sse.js';
import { readStream } from '../tools/testing/streams.js';
import { echoed } from '../tools/testing/programs/echoed.js';

/**
 * An app as a new user meets it: its code in a project repository with a Procfile, activated by a
 * developer, opened through its share link by someone who is not signed in, scaled to zero when
 * idle and woken by the next request; its logs; switched off; kept to members.
 */
describe('apps through the gateway', () => {
  let p: TestPlatform;
  let dataDir: string;
  let admin: string, dana: string, eve: string;
  let launcherId: string;
  let link: string;
  let slug: string;
  const repo = makeRepository('study', {
    Procfile: '# how Heroku would run it\nweb: node app.js\nworker: node worker.js\n',
    'app.js': APP_JS,
  });

  const app = async () => (await call(`${p.api}/apps/${launcherId}`, { token: dana })).body;

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'lp-apps-'));
    p = await startPlatform({ apps: quickAppsEnv(dataDir) }, { services: ['apps'] });
    [admin, dana, eve] = await Promise.all([p.token('root', true), p.token('dana'), p.token('eve')]);
    const project = await call(`${p.api}/projects/501`, {
      method: 'PUT',
      token: admin,
      body: { path: 'lab/study', name: 'Study', visibility: 'public', repositories: [{ url: repo.url }] },
    });
    expect(project.status).toBe(200);
    expect((await call(`${p.api}/projects/501/members/dana`, { method: 'PUT', token: admin, body: { role: 'developer' } })).status).toBe(200);
    const launcher = await call(`${p.api}/projects/501/launchers`, {
      method: 'POST',
      token: dana,
      body: { name: 'Dashboard', kind: 'app', environment: { kind: 'custom', image: 'ghcr.io/lab/dashboard:1', port: 8000 } },
    });
    expect(launcher.status).toBe(201);
    launcherId = launcher.body.id;
  });

  afterAll(async () => {
    if (process.env.SHOW_LOGS) console.log(p.services.apps?.logs().slice(-10000), p.gateway.logs().slice(-3000));
    await p?.stop();
    killWorkloads(dataDir);
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(join(repo.dir, '..'), { recursive: true, force: true });
  });

  it('shows an app launcher that was never activated as off', async () => {
    expect(await app()).toMatchObject({ launcherId, status: 'inactive', slug: null, url: null, desiredReplicas: 0, readyReplicas: 0, targetConcurrency: 10 });
  });

  it('activates the app: a share link of its own origin, named after project path, launcher name and id, no replica until someone comes', async () => {
    const res = await call(`${p.api}/apps/${launcherId}/activate`, { method: 'POST', token: dana });
    expect(res.status).toBe(200);
    slug = res.body.slug;
    expect(slug).toBe(`lab-study-dashboard--${launcherId.replace(/-/g, '').slice(0, 12)}`);
    expect(res.body).toMatchObject({ status: 'active', path: '/', desiredReplicas: 0, minReplicas: 0, maxReplicas: 5, access: 'public', activatedBy: 'dana' });
    expect(res.body.url).toBe(`${appOrigin(p.gateway.port, slug)}/`);
    link = `${appOrigin(p.gateway.port, slug)}/`;
    // It finds its command in the repository's Procfile.
    const resolved = await waitFor('the Procfile to be read', async () => ((await app()).command ? app() : undefined));
    expect(resolved.command).toEqual({ source: 'procfile', repository: 'study', line: 'node app.js' });
    expect(resolved.readyReplicas).toBe(0);
  });

  let firstPid: number;

  it('answers someone who is not signed in, waking the app for them (and says it did)', async () => {
    const res = await originFetch(`${link}reports?year=2026`);
    expect(res.status).toBe(200);
    expect(res.headers.get('x-launchpad-activation')).toMatch(/^cold-start; waited=\d+ms$/);
    const seen = await echoed(res);
    // A Procfile app is served at its root, from its repository's directory, with PORT set.
    expect(seen.url).toBe('/reports?year=2026');
    expect(seen.headers['x-launchpad-caller']).toBeUndefined();
    expect(res.headers.get('referrer-policy')).toBe('no-referrer');
    expect(seen.cwd).toMatch(/\/work\/study$/);
    firstPid = seen.pid;
    const warm = await originFetch(link);
    expect(warm.status).toBe(200);
    expect(warm.headers.get('x-launchpad-activation')).toBeNull();
    expect((await echoed(warm)).pid).toBe(firstPid);
    const status = await app();
    expect(status).toMatchObject({ status: 'active', desiredReplicas: 1, readyReplicas: 1 });
    expect(status.replicas).toEqual([expect.objectContaining({ phase: 'ready' })]);
  });

  it('answers a malformed share link 4xx and goes on serving, through the gateway and straight to the activator', async () => {
    const activator = p.services.apps!.url;
    expect((await originFetch(`${activator}/a/%E0%A4%A/`)).status).toBe(404);
    expect((await originFetch(`${activator}/a/lab-study-dashboard%ZZ/`)).status).toBe(404);
    // Old path-based links on the API's origin: a malformed slug (`;` included) is a 404 problem, never a 500.
    for (const path of ['/a/%E0%A4%A/', '/a/lab-study-dashboard%ZZ/', '/a/x;y/', '/a/x/../../metrics']) {
      const res = await rawRequest(p.gateway.port, path);
      expect([path, res.status]).toEqual([path, 404]);
      expect(res.headers['content-type']).toMatch(/problem\+json/);
    }
    // A name under the apps domain that no slug can be.
    expect((await originFetch(`http://x_y.apps.localhost:${p.gateway.port}/`)).status).toBe(404);
    const refused = await new Promise<number>((resolve, reject) => {
      const socket = new WebSocket(`${activator.replace('http', 'ws')}/a/%E0%A4%A/`);
      socket.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      socket.once('open', () => reject(new Error('a WebSocket to a malformed link opened')));
      socket.once('error', () => undefined);
    });
    expect(refused).toBe(404);
    expect((await originFetch(`${activator}/readyz`)).status).toBe(200);
    expect((await originFetch(link)).status).toBe(200);
  });

  it('sends old share links to the app\'s own origin, and keeps the app at the root of it', async () => {
    const old = await originFetch(`${p.gateway.url}/a/${slug}/reports?x=1`, { redirect: 'manual' });
    expect(old.status).toBe(308);
    expect(old.headers.get('location')).toBe(`${appOrigin(p.gateway.port, slug)}/reports?x=1`);
    const redirect = await originFetch(`${link}redirect`, { redirect: 'manual' });
    expect(redirect.status).toBe(302);
    expect(redirect.headers.get('location')).toBe('/landing');
    // Dot segments are resolved once, at the gateway: nothing climbs out of the app to the activator's own paths.
    const climbing = await rawRequest(p.gateway.port, '/x/../../../metrics', { host: new URL(link).host });
    expect(climbing.status).toBe(200);
    expect(JSON.parse(climbing.body).url).toBe('/metrics');
  });

  it('keeps what an app must not tell a browser from reaching it: a wider service worker scope, cookies for sibling origins', async () => {
    const res = await originFetch(`${link}hostile`);
    expect(res.status).toBe(200);
    expect(res.headers.get('service-worker-allowed')).toBeNull();
    expect(res.headers.getSetCookie()).toEqual(['own=1; Path=/']);
    expect(res.headers.get('referrer-policy')).toBe('no-referrer');
  });

  it('breaks off the answer of an app that breaks off, rather than ending it as if it were whole', async () => {
    const res = await originFetch(`${link}truncated`);
    expect(res.status).toBe(200);
    // Chunked: an end written for it would make the first half look like the whole answer.
    await expect(res.text()).rejects.toThrow();
  });

  it('keeps the same headers from the answers to a WebSocket handshake: its 101, and its refusal', async () => {
    const ws = link.replace('http', 'ws');
    const upgraded = await new Promise<Record<string, string | string[] | undefined>>((resolve, reject) => {
      const socket = originWebSocket(`${ws}hostile`);
      socket.once('upgrade', (res) => resolve(res.headers));
      socket.once('open', () => socket.close());
      socket.once('error', reject);
    });
    expect(upgraded['service-worker-allowed']).toBeUndefined();
    expect(upgraded['set-cookie']).toEqual(['own=1; Path=/']);
    const refused = await new Promise<{ status: number; headers: Record<string, string | string[] | undefined> }>((resolve, reject) => {
      const socket = originWebSocket(`${ws}hostile-refused`);
      socket.once('unexpected-response', (_req, res) => resolve({ status: res.statusCode ?? 0, headers: res.headers }));
      socket.once('open', () => reject(new Error('the refused WebSocket opened')));
      socket.once('error', () => undefined);
    });
    expect(refused.status).toBe(403);
    expect(refused.headers['service-worker-allowed']).toBeUndefined();
    expect(refused.headers['set-cookie']).toBeUndefined();
    expect(refused.headers['x-own']).toBe('1');
  });

  it('streams request and response bodies, server-sent events and WebSockets through', async () => {
    const body = 'x'.repeat(300_000);
    const echo = await originFetch(`${link}echo`, { method: 'POST', body, headers: { 'content-type': 'text/plain' } });
    expect(echo.status).toBe(200);
    expect(await echo.text()).toBe(body);
    const sse = await readSse(`${link}sse?events=3&every=50`, {}, (events) => events.length >= 3);
    expect(sse.contentType).toMatch(/^text\/event-stream/);
    expect(sse.events.map((e) => e.data.n)).toEqual([1, 2, 3]);
    const socket = originWebSocket(`${link.replace('http', 'ws')}socket`);
    const reply = await new Promise<string>((resolve, reject) => {
      socket.once('open', () => socket.send('hello'));
      socket.once('message', (data) => resolve(String(data)));
      socket.once('error', reject);
    });
    socket.close();
    expect(reply).toBe('echo: hello');
  });

  it('records when it was last used', async () => {
    const status = await waitFor('the last request time', async () => ((await app()).lastRequestAt ? app() : undefined));
    expect(Date.parse(status.lastRequestAt)).toBeGreaterThan(Date.now() - 60_000);
  });

  it('returns recent lines from every replica, each prefixed with its replica, and follows them', async () => {
    const res = await call(`${p.api}/apps/${launcherId}/logs?lines=50`, { token: dana });
    expect(res.status).toBe(200);
    expect(res.body.lines).toEqual(expect.arrayContaining([expect.stringMatching(/^\[r1\] app program listening on \d+$/), '[r1] GET /reports?year=2026']));
    const following = readSse(`${p.api}/apps/${launcherId}/logs?follow=true&lines=1`, { authorization: `Bearer ${dana}` }, (events) =>
      events.some((e) => e.data.line === '[r1] GET /followed'),
    );
    await new Promise((r) => setTimeout(r, 500));
    expect((await originFetch(`${link}followed`)).status).toBe(200);
    const { status, contentType, events } = await following;
    expect(status).toBe(200);
    expect(contentType).toMatch(/^text\/event-stream/);
    expect(events.at(-1)).toEqual({ event: 'log', data: { replica: 'r1', line: '[r1] GET /followed' } });
    // The client is gone: the apps service stops following (its next batch or heartbeat, at most 5 s on, finds nobody).
    const follows = async () => Number(/^launchpad_app_log_follows (\d+)$/m.exec(await (await fetch(`${p.services.apps!.url}/metrics`)).text())?.[1] ?? NaN);
    await waitFor('the follow to end with its client', async () => (await follows()) === 0, 15_000);
  });

  it('scales to zero when idle, and the next request is answered all the same', async () => {
    await waitFor('the app to scale to zero', async () => {
      const s = await app();
      return s.desiredReplicas === 0 && s.readyReplicas === 0 && s.replicas.every((r: { phase: string }) => r.phase === 'stopped');
    }, 30_000);
    // "stopped" is reported once the stop is under way; the program itself must be gone soon after.
    await waitFor('the replica program to exit', async () => !isRunning(firstPid), 10_000);
    expect(isRunning(firstPid)).toBe(false);
    const res = await originFetch(link);
    expect(res.status).toBe(200);
    expect(res.headers.get('x-launchpad-activation')).toMatch(/^cold-start; waited=\d+ms$/);
    expect((await echoed(res)).pid).not.toBe(firstPid);
  });

  it('switches the app off: every replica stops and the link says the app is off', async () => {
    const pid = (await echoed(await originFetch(link))).pid;
    const res = await call(`${p.api}/apps/${launcherId}/deactivate`, { method: 'POST', token: dana });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ status: 'inactive', desiredReplicas: 0, slug });
    const page = await waitFor('the link to say the app is off', async () => {
      const r = await originFetch(link);
      return r.status === 404 ? r : undefined;
    });
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(await page.text()).toMatch(/This app is off/);
    const json = await call(link, { headers: { accept: 'application/json' } });
    expect(json.status).toBe(404);
    expect(json.headers.get('content-type')).toMatch(/problem\+json/);
    expect(json.body).toMatchObject({ status: 404, code: 'APP_OFF' });
    await waitFor('its replicas to be gone', async () => (await app()).replicas.length === 0 && !isRunning(pid));
    // Its state file goes first (the replica is gone from then on), the rest of its directory (the
    // cloned repository) a moment later: under load that moment can outlast the check above.
    await waitFor('its directory to be removed', async () => readdirSync(dataDir).filter((d) => d.startsWith(launcherId)).length === 0, 10_000);
    expect((await originFetch(`${appOrigin(p.gateway.port, 'no-such-app')}/`)).status).toBe(404);
  });

  it('keeps a members-only app to signed-in members of its project', async () => {
    const res = await call(`${p.api}/apps/${launcherId}/activate`, { method: 'POST', token: dana, body: { access: 'members', minReplicas: 1 } });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ status: 'active', access: 'members', minReplicas: 1, slug });
    const anonymous = await originFetch(link);
    expect(anonymous.status).toBe(404);
    expect(await anonymous.text()).toMatch(/No app here/);
    expect((await originFetch(link, { headers: { authorization: `Bearer ${eve}` } })).status).toBe(404);
    const member = await originFetch(link, { headers: { authorization: `Bearer ${dana}` } });
    expect(member.status).toBe(200);
    // The app sees neither the token nor who the gateway says the caller is.
    const seen = await echoed(member);
    expect(seen.headers.authorization).toBeUndefined();
    expect(seen.headers['x-launchpad-caller']).toBeUndefined();
    // A browser: the link with a token once, then a cookie for this app only.
    const open = await originFetch(`${link}?token=${dana}`, { redirect: 'manual' });
    expect(open.status).toBe(303);
    expect(open.headers.get('location')).toBe('/');
    // A link whose path starts with "//" is sent back into this origin, never to another host
    // (any signed-in user's token would do: the app's link then redirected anyone anywhere).
    const sneaky = await originFetch(`${link.replace(/\/$/, '')}//evil.example/x?token=${eve}`, { redirect: 'manual' });
    expect(sneaky.status).toBe(303);
    expect(sneaky.headers.get('location')).toBe('/evil.example/x');
    // Host-only, for this origin, holding a credential for this app: never the API token.
    expect(open.headers.get('set-cookie')).toMatch(/^launchpad_app=v1\.[^;]+; Max-Age=\d+; Path=\/; HttpOnly; SameSite=Lax$/);
    expect(open.headers.get('set-cookie')).not.toContain(dana);
    const cookie = cookieFrom(open);
    const withCookie = await originFetch(link, { headers: { cookie: `${cookie}; theme=dark` } });
    expect(withCookie.status).toBe(200);
    expect((await echoed(withCookie)).headers.cookie).toBe('theme=dark');
    // Bound to this app: another app's origin takes it for nobody.
    expect((await originFetch(`${appOrigin(p.gateway.port, 'other--000000000000')}/`, { headers: { cookie } })).status).toBe(404);
    // The browser sends the cookie with what pages of other apps ask for too (sibling origins are
    // same-site): a page elsewhere gets no member's access with it, neither to change anything
    // (CSRF) nor to embed the app's content; opening the link in a tab still signs the member in.
    const sibling = appOrigin(p.gateway.port, 'evil--000000000000');
    const csrf = await originFetch(`${link}delete`, { method: 'POST', headers: { cookie, origin: sibling, 'content-type': 'text/plain', 'sec-fetch-site': 'same-site', 'sec-fetch-mode': 'no-cors' }, body: 'all' });
    expect(csrf.status).toBe(404);
    const embedded = await originFetch(`${link}data.js`, { headers: { cookie, 'sec-fetch-site': 'same-site', 'sec-fetch-mode': 'no-cors', 'sec-fetch-dest': 'script' } });
    expect(embedded.status).toBe(404);
    const tab = await originFetch(link, { headers: { cookie, 'sec-fetch-site': 'same-site', 'sec-fetch-mode': 'navigate', 'sec-fetch-dest': 'document' } });
    expect(tab.status).toBe(200);
    const ownPage = await originFetch(`${link}save`, { method: 'POST', headers: { cookie, origin: link.replace(/\/$/, ''), 'sec-fetch-site': 'same-origin' }, body: 'x' });
    expect(ownPage.status).toBe(200);
    // The ?token= links above left the API tokens in no log line of the gateway.
    expect(p.gateway.logs()).not.toContain(dana.split('.')[2]);
    expect(p.gateway.logs()).not.toContain(eve.split('.')[2]);
    // Someone forging the gateway's header is nobody, through the gateway or straight to the
    // activator (as an app replica on the same machine could): only the gateway's signature counts.
    const forgedCaller = { 'x-launchpad-caller': JSON.stringify({ userId: 'dana', admin: true }) };
    expect((await originFetch(link, { headers: forgedCaller })).status).toBe(404);
    const direct = `${p.services.apps!.url}/a/${slug}/`;
    // Straight to the activator, what the gateway did not sign is refused outright.
    expect((await originFetch(direct, { headers: forgedCaller })).status).toBe(403);
    const badSignature = { ...forgedCaller, 'x-launchpad-caller-signature': `t=${Date.now()},n=0123456789abcdef,v1=${'0'.repeat(64)}` };
    expect((await originFetch(direct, { headers: badSignature })).status).toBe(403);
    const otherSecret = signCaller('not-the-secret-the-gateway-and-apps-share', { userId: 'root', admin: true }, 'GET', `/a/${slug}/`);
    expect((await originFetch(direct, { headers: otherSecret })).status).toBe(403);
    // WebSockets too: the gateway signs the upgrade for a member; nobody else gets one.
    const wsLink = `${link.replace('http', 'ws')}socket`;
    const reply = await new Promise<string>((resolve, reject) => {
      const socket = originWebSocket(wsLink, { headers: { authorization: `Bearer ${dana}` } });
      socket.once('open', () => socket.send('members only'));
      socket.once('message', (data) => {
        resolve(String(data));
        socket.close();
      });
      socket.once('error', reject);
    });
    expect(reply).toBe('echo: members only');
    for (const headers of [{}, forgedCaller]) {
      const refused = await new Promise<number>((resolve, reject) => {
        const socket = originWebSocket(wsLink, { headers });
        socket.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
        socket.once('open', () => reject(new Error('a WebSocket to a members-only app opened for nobody')));
        socket.once('error', () => undefined);
      });
      expect(refused).toBe(404);
    }
    // From a page of another origin, not even a member's browser opens it (nor would it with a ?token=).
    const foreign = await new Promise<number>((resolve, reject) => {
      const socket = originWebSocket(`${wsLink}?token=${dana}`, { headers: { origin: 'http://evil--000000000000.apps.localhost:8080' } });
      socket.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      socket.once('open', () => reject(new Error('a WebSocket from another origin opened')));
      socket.once('error', () => undefined);
    });
    expect(foreign).toBe(403);
    // Signed as the gateway signs, the same request opens it; once.
    const vouched = signCaller(p.appsCallerSecret, { userId: 'dana', admin: false }, 'GET', `/a/${slug}/`);
    expect((await originFetch(direct, { headers: vouched })).status).toBe(200);
    expect((await originFetch(direct, { headers: vouched })).status).toBe(403);
  });

  it('announces what happened to the app on the APPS stream', async () => {
    const nc = await connect({ servers: p.nats.url, ...p.nats.auth });
    try {
      const events = await waitFor('the app events', async () => {
        const all = await readStream(nc, 'APPS', 'apps.app.>');
        return all.some((e) => e.subject === 'apps.app.deactivated') && all.filter((e) => e.subject === 'apps.app.activated').length === 2 ? all : undefined;
      });
      const subjects = events.map((e) => e.subject);
      expect(subjects[0]).toBe('apps.app.activated');
      expect(subjects).toEqual(expect.arrayContaining(['apps.app.scaled', 'apps.app.deactivated']));
      const wake = events.find((e) => e.subject === 'apps.app.scaled' && e.data.data.from === 0);
      expect(wake?.data).toMatchObject({ type: 'apps.app.scaled', version: 1, data: { launcherId, slug, from: 0, to: 1 } });
      const zero = events.find((e) => e.subject === 'apps.app.scaled' && e.data.data.to === 0);
      expect(zero?.data.data.reason).toMatch(/idle for .*: scaling to zero/);
    } finally {
      await nc.close();
    }
  });

  it('deactivates and removes the app when its launcher is deleted', async () => {
    expect((await call(`${p.api}/launchers/${launcherId}`, { method: 'DELETE', token: dana })).status).toBe(204);
    await waitFor('the link to be gone', async () => (await originFetch(link, { headers: { authorization: `Bearer ${dana}` } })).status === 404);
    await waitFor('its replicas to be removed', async () => readdirSync(dataDir).filter((d) => d.startsWith(launcherId)).length === 0);
    expect((await call(`${p.api}/apps/${launcherId}`, { token: dana })).status).toBe(404);
  });
});
