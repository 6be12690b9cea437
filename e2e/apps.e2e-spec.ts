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
import { readSse } from '../tools/testing/sse.js';
import { readStream } from '../tools/testing/streams.js';

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

  it('activates the app: a share link made of project path and launcher name, no replica until someone comes', async () => {
    const res = await call(`${p.api}/apps/${launcherId}/activate`, { method: 'POST', token: dana });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ status: 'active', slug: 'lab-study-dashboard', path: '/a/lab-study-dashboard/', desiredReplicas: 0, minReplicas: 0, maxReplicas: 5, access: 'public', activatedBy: 'dana' });
    expect(res.body.url).toMatch(/^http:\/\/[^/]+\/a\/lab-study-dashboard\/$/);
    link = `${p.gateway.url}/a/lab-study-dashboard/`;
    // It finds its command in the repository's Procfile.
    const resolved = await waitFor('the Procfile to be read', async () => ((await app()).command ? app() : undefined));
    expect(resolved.command).toEqual({ source: 'procfile', repository: 'study', line: 'node app.js' });
    expect(resolved.readyReplicas).toBe(0);
  });

  let firstPid: number;

  it('answers someone who is not signed in, waking the app for them (and says it did)', async () => {
    const res = await fetch(`${link}reports?year=2026`);
    expect(res.status).toBe(200);
    expect(res.headers.get('x-launchpad-activation')).toMatch(/^cold-start; waited=\d+ms$/);
    const seen = await res.json();
    // A Procfile app is served at its root, from its repository's directory, with PORT set.
    expect(seen.url).toBe('/reports?year=2026');
    expect(seen.headers['x-forwarded-prefix']).toBe('/a/lab-study-dashboard');
    expect(seen.headers['x-launchpad-caller']).toBeUndefined();
    expect(seen.cwd).toMatch(/\/work\/study$/);
    firstPid = seen.pid;
    const warm = await fetch(link);
    expect(warm.status).toBe(200);
    expect(warm.headers.get('x-launchpad-activation')).toBeNull();
    expect((await warm.json()).pid).toBe(firstPid);
    const status = await app();
    expect(status).toMatchObject({ status: 'active', desiredReplicas: 1, readyReplicas: 1 });
    expect(status.replicas).toEqual([expect.objectContaining({ phase: 'ready' })]);
  });

  it('answers a malformed share link 404 and goes on serving, through the gateway and straight to the activator', async () => {
    const activator = p.services.apps!.url;
    for (const base of [p.gateway.url, activator]) {
      expect((await fetch(`${base}/a/%E0%A4%A/`)).status).toBe(404);
      expect((await fetch(`${base}/a/lab-study-dashboard%ZZ/`)).status).toBe(404);
      const refused = await new Promise<number>((resolve, reject) => {
        const socket = new WebSocket(`${base.replace('http', 'ws')}/a/%E0%A4%A/`);
        socket.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
        socket.once('open', () => reject(new Error('a WebSocket to a malformed link opened')));
        socket.once('error', () => undefined);
      });
      expect(refused).toBe(404);
    }
    expect((await fetch(`${activator}/readyz`)).status).toBe(200);
    expect((await fetch(link)).status).toBe(200);
  });

  it('keeps the app’s paths under the share link: redirects, the link without its slash', async () => {
    const redirect = await fetch(`${link}redirect`, { redirect: 'manual' });
    expect(redirect.status).toBe(302);
    expect(redirect.headers.get('location')).toBe('/a/lab-study-dashboard/landing');
    const bare = await fetch(`${p.gateway.url}/a/lab-study-dashboard?x=1`, { redirect: 'manual' });
    expect(bare.status).toBe(308);
    expect(bare.headers.get('location')).toBe('/a/lab-study-dashboard/?x=1');
  });

  it('streams request and response bodies, server-sent events and WebSockets through', async () => {
    const body = 'x'.repeat(300_000);
    const echo = await fetch(`${link}echo`, { method: 'POST', body, headers: { 'content-type': 'text/plain' } });
    expect(echo.status).toBe(200);
    expect(await echo.text()).toBe(body);
    const sse = await readSse(`${link}sse?events=3&every=50`, {}, (events) => events.length >= 3);
    expect(sse.contentType).toMatch(/^text\/event-stream/);
    expect(sse.events.map((e) => e.data.n)).toEqual([1, 2, 3]);
    const socket = new WebSocket(`${link.replace('http', 'ws')}socket`);
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
    expect((await fetch(`${link}followed`)).status).toBe(200);
    const { status, contentType, events } = await following;
    expect(status).toBe(200);
    expect(contentType).toMatch(/^text\/event-stream/);
    expect(events.at(-1)).toEqual({ event: 'log', data: { replica: 'r1', line: '[r1] GET /followed' } });
  });

  it('scales to zero when idle, and the next request is answered all the same', async () => {
    await waitFor('the app to scale to zero', async () => {
      const s = await app();
      return s.desiredReplicas === 0 && s.readyReplicas === 0 && s.replicas.every((r: { phase: string }) => r.phase === 'stopped');
    }, 30_000);
    expect(isRunning(firstPid)).toBe(false);
    const res = await fetch(link);
    expect(res.status).toBe(200);
    expect(res.headers.get('x-launchpad-activation')).toMatch(/^cold-start; waited=\d+ms$/);
    expect((await res.json()).pid).not.toBe(firstPid);
  });

  it('switches the app off: every replica stops and the link says the app is off', async () => {
    const pid = (await (await fetch(link)).json()).pid;
    const res = await call(`${p.api}/apps/${launcherId}/deactivate`, { method: 'POST', token: dana });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ status: 'inactive', desiredReplicas: 0, slug: 'lab-study-dashboard' });
    const page = await waitFor('the link to say the app is off', async () => {
      const r = await fetch(link);
      return r.status === 404 ? r : undefined;
    });
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(await page.text()).toMatch(/This app is off/);
    const json = await call(link, { headers: { accept: 'application/json' } });
    expect(json.status).toBe(404);
    expect(json.headers.get('content-type')).toMatch(/problem\+json/);
    expect(json.body).toMatchObject({ status: 404, code: 'APP_OFF' });
    await waitFor('its replicas to be gone', async () => (await app()).replicas.length === 0 && !isRunning(pid));
    expect(readdirSync(dataDir).filter((d) => d.startsWith(launcherId))).toEqual([]);
    expect((await fetch(`${p.gateway.url}/a/no-such-app/`)).status).toBe(404);
  });

  it('keeps a members-only app to signed-in members of its project', async () => {
    const res = await call(`${p.api}/apps/${launcherId}/activate`, { method: 'POST', token: dana, body: { access: 'members', minReplicas: 1 } });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ status: 'active', access: 'members', minReplicas: 1, slug: 'lab-study-dashboard' });
    const anonymous = await fetch(link);
    expect(anonymous.status).toBe(404);
    expect(await anonymous.text()).toMatch(/No app here/);
    expect((await fetch(link, { headers: { authorization: `Bearer ${eve}` } })).status).toBe(404);
    const member = await fetch(link, { headers: { authorization: `Bearer ${dana}` } });
    expect(member.status).toBe(200);
    // The app sees neither the token nor who the gateway says the caller is.
    const seen = await member.json();
    expect(seen.headers.authorization).toBeUndefined();
    expect(seen.headers['x-launchpad-caller']).toBeUndefined();
    // A browser: the link with a token once, then a cookie for this app only.
    const open = await fetch(`${link}?token=${dana}`, { redirect: 'manual' });
    expect(open.status).toBe(303);
    expect(open.headers.get('location')).toBe('/a/lab-study-dashboard/');
    const cookie = open.headers.get('set-cookie')!;
    expect(cookie).toMatch(/^launchpad_app=[^;]+; Max-Age=\d+; Path=\/a\/lab-study-dashboard\/; HttpOnly; SameSite=Lax/);
    const withCookie = await fetch(link, { headers: { cookie: `${cookie.split(';')[0]}; theme=dark` } });
    expect(withCookie.status).toBe(200);
    expect((await withCookie.json()).headers.cookie).toBe('theme=dark');
    // Someone forging the gateway's header is nobody, through the gateway or straight to the
    // activator (as an app replica on the same machine could): only the gateway's signature counts.
    const forgedCaller = { 'x-launchpad-caller': JSON.stringify({ userId: 'dana', admin: true }) };
    expect((await fetch(link, { headers: forgedCaller })).status).toBe(404);
    const direct = `${p.services.apps!.url}/a/lab-study-dashboard/`;
    expect((await fetch(direct, { headers: forgedCaller })).status).toBe(404);
    const badSignature = { ...forgedCaller, 'x-launchpad-caller-signature': `t=${Date.now()},v1=${'0'.repeat(64)}` };
    expect((await fetch(direct, { headers: badSignature })).status).toBe(404);
    const otherSecret = signCaller('not-the-secret-the-gateway-and-apps-share', { userId: 'root', admin: true }, 'GET', '/a/lab-study-dashboard/');
    expect((await fetch(direct, { headers: otherSecret })).status).toBe(404);
    // WebSockets too: the gateway signs the upgrade for a member; nobody else gets one.
    const wsLink = `${link.replace('http', 'ws')}socket`;
    const echoed = await new Promise<string>((resolve, reject) => {
      const socket = new WebSocket(wsLink, { headers: { authorization: `Bearer ${dana}` } });
      socket.once('open', () => socket.send('members only'));
      socket.once('message', (data) => {
        resolve(String(data));
        socket.close();
      });
      socket.once('error', reject);
    });
    expect(echoed).toBe('echo: members only');
    for (const headers of [{}, forgedCaller]) {
      const refused = await new Promise<number>((resolve, reject) => {
        const socket = new WebSocket(wsLink, { headers });
        socket.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
        socket.once('open', () => reject(new Error('a WebSocket to a members-only app opened for nobody')));
        socket.once('error', () => undefined);
      });
      expect(refused).toBe(404);
    }
    // Signed as the gateway signs, the same request opens it.
    const vouched = signCaller(p.appsCallerSecret, { userId: 'dana', admin: false }, 'GET', '/a/lab-study-dashboard/');
    expect((await fetch(direct, { headers: vouched })).status).toBe(200);
  });

  it('announces what happened to the app on the APPS stream', async () => {
    const nc = await connect({ servers: p.nats.url });
    try {
      const events = await waitFor('the app events', async () => {
        const all = await readStream(nc, 'APPS', 'apps.app.>');
        return all.some((e) => e.subject === 'apps.app.deactivated') && all.filter((e) => e.subject === 'apps.app.activated').length === 2 ? all : undefined;
      });
      const subjects = events.map((e) => e.subject);
      expect(subjects[0]).toBe('apps.app.activated');
      expect(subjects).toEqual(expect.arrayContaining(['apps.app.scaled', 'apps.app.deactivated']));
      const wake = events.find((e) => e.subject === 'apps.app.scaled' && e.data.data.from === 0);
      expect(wake?.data).toMatchObject({ type: 'apps.app.scaled', version: 1, data: { launcherId, slug: 'lab-study-dashboard', from: 0, to: 1 } });
      const zero = events.find((e) => e.subject === 'apps.app.scaled' && e.data.data.to === 0);
      expect(zero?.data.data.reason).toMatch(/idle for .*: scaling to zero/);
    } finally {
      await nc.close();
    }
  });

  it('deactivates and removes the app when its launcher is deleted', async () => {
    expect((await call(`${p.api}/launchers/${launcherId}`, { method: 'DELETE', token: dana })).status).toBe(204);
    await waitFor('the link to be gone', async () => (await fetch(link, { headers: { authorization: `Bearer ${dana}` } })).status === 404);
    await waitFor('its replicas to be removed', async () => readdirSync(dataDir).filter((d) => d.startsWith(launcherId)).length === 0);
    expect((await call(`${p.api}/apps/${launcherId}`, { token: dana })).status).toBe(404);
  });
});
