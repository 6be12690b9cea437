import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Browser, chromium } from 'playwright-core';
import { killWorkloads, ROOT, waitFor } from '../tools/testing/harness.js';
import { appProgramEnvironment, quickAppsEnv } from '../tools/testing/programs/apps.js';
import { call, startPlatform, type TestPlatform } from '../tools/testing/platform.js';

const SESSION_PROGRAM = join(ROOT, 'tools', 'testing', 'programs', 'session-program.mjs');
const HOSTILE_APP = join(ROOT, 'tools', 'testing', 'programs', 'hostile-app.mjs');

/**
 * The attack of issue 10, replayed in a real browser (the machine's Chromium): a signed-in victim
 * opens a malicious app's share link. Its page runs in the victim's browser with the victim's
 * cookies at hand, and tries to read the victim's session, their private app and the API, to open
 * their kernel's and app's WebSockets, to frame their session, to read their credentials, and to
 * register a service worker that captures their later sign-ins. Each session and app being its
 * own origin, every attempt fails; the same page on its own origin works, as an app should.
 */
describe('a malicious app opened by a signed-in victim, in a real browser', () => {
  let p: TestPlatform;
  let browser: Browser;
  let sessionsDir: string;
  let appsDir: string;
  let victim: string, attacker: string;
  let sessionUrl: string, privateAppUrl: string, hostileUrl: string;
  let hostileLauncher: string;

  beforeAll(async () => {
    sessionsDir = mkdtempSync(join(tmpdir(), 'lp-browser-sessions-'));
    appsDir = mkdtempSync(join(tmpdir(), 'lp-browser-apps-'));
    p = await startPlatform(
      { sessions: { RUNTIME_DATA_DIR: sessionsDir, RECONCILE_INTERVAL_MS: '1000' }, apps: quickAppsEnv(appsDir, { APP_IDLE_GRACE_MS: '600000' }) },
      { services: ['sessions', 'apps'] },
    );
    const admin = await p.token('root', true);
    [victim, attacker] = await Promise.all([p.token('vera'), p.token('mallory')]);
    // The victim's private project: a session and a members-only app.
    expect((await call(`${p.api}/projects/901`, { method: 'PUT', token: admin, body: { path: 'vera/private', name: 'Private', visibility: 'private' } })).status).toBe(200);
    expect((await call(`${p.api}/projects/901/members/vera`, { method: 'PUT', token: admin, body: { role: 'owner' } })).status).toBe(200);
    // The attacker's public project, with the malicious app.
    expect((await call(`${p.api}/projects/902`, { method: 'PUT', token: admin, body: { path: 'mallory/tools', name: 'Tools', visibility: 'public' } })).status).toBe(200);
    expect((await call(`${p.api}/projects/902/members/mallory`, { method: 'PUT', token: admin, body: { role: 'owner' } })).status).toBe(200);

    const sessionLauncher = await call(`${p.api}/projects/901/launchers`, {
      method: 'POST',
      token: victim,
      body: { name: 'Notebook', kind: 'session', environment: { kind: 'custom', image: 'lab/notebook:1', port: 8888, command: [process.execPath], args: [SESSION_PROGRAM] } },
    });
    const session = await call(`${p.api}/sessions`, { method: 'POST', token: victim, body: { launcherId: sessionLauncher.body.id } });
    expect(session.status).toBe(201);
    const privateApp = await call(`${p.api}/projects/901/launchers`, { method: 'POST', token: victim, body: { name: 'Results', kind: 'app', environment: appProgramEnvironment() } });
    const hostile = await call(`${p.api}/projects/902/launchers`, {
      method: 'POST',
      token: attacker,
      body: { name: 'Dashboard', kind: 'app', environment: { kind: 'custom', image: 'mallory/dash:1', port: 8000, command: [process.execPath], args: [HOSTILE_APP] } },
    });
    hostileLauncher = hostile.body.id;
    const [privateActive, hostileActive] = await Promise.all([
      call(`${p.api}/apps/${privateApp.body.id}/activate`, { method: 'POST', token: victim, body: { access: 'members', minReplicas: 1 } }),
      call(`${p.api}/apps/${hostileLauncher}/activate`, { method: 'POST', token: attacker, body: { minReplicas: 1 } }),
    ]);
    privateAppUrl = privateActive.body.url;
    hostileUrl = hostileActive.body.url;
    const running = await waitFor(
      'the victim\'s session to run',
      async () => {
        const s = await call(`${p.api}/sessions/${session.body.id}`, { token: victim });
        return s.body.status === 'running' ? s.body : undefined;
      },
      90_000,
      250,
    );
    sessionUrl = running.url;
    browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
  }, 240_000);

  afterAll(async () => {
    await browser?.close();
    await p?.stop();
    for (const dir of [sessionsDir, appsDir]) {
      if (!dir) continue;
      killWorkloads(dir);
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('reads nothing of the victim\'s, opens none of their sockets, and captures none of their sign-ins', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    // The victim signs in to their session and their app, as the README shows: a link with the token once.
    const signedIn = await page.goto(`${sessionUrl}?token=${victim}`);
    expect(signedIn?.status()).toBe(200);
    expect(page.url()).toBe(sessionUrl);
    expect(await page.textContent('body')).toContain('"url":"/"');
    const app = await page.goto(`${privateAppUrl}?token=${victim}`);
    expect(app?.status()).toBe(200);
    expect(page.url()).toBe(privateAppUrl);

    // Then opens the attacker's link.
    const session = new URL(sessionUrl);
    const targets = {
      read: { session: sessionUrl, sessionFiles: `${session.origin}/api/contents`, app: privateAppUrl, api: `${p.gateway.url}/api/v1/sessions`, oldSessionPath: `${p.gateway.url}/sessions/${session.hostname.split('.')[0]}/` },
      sockets: { kernel: `${session.origin.replace('http', 'ws')}/api/kernels/k/channels`, appSocket: `${privateAppUrl.replace('http', 'ws')}socket` },
      frames: { framedSession: sessionUrl },
      workerAt: { session: session.origin, app: new URL(privateAppUrl).origin },
    };
    await page.goto(`${hostileUrl}?targets=${encodeURIComponent(JSON.stringify(targets))}`);
    await page.waitForFunction(() => (window as unknown as { results: { done?: boolean } }).results?.done === true, undefined, { timeout: 60_000 });
    const results = (await page.evaluate(() => (window as unknown as { results: Record<string, unknown> }).results)) as Record<string, string>;

    // Nothing of the victim's is readable across origins, and the API takes no cookies.
    for (const name of ['session', 'sessionFiles', 'app', 'api', 'oldSessionPath']) {
      expect([name, results[name]]).toEqual([name, expect.stringMatching(/^refused: /)]);
    }
    // Neither WebSocket opens: the gateway refuses another origin's upgrade.
    expect(results.kernel).toBe('refused');
    expect(results.appSocket).toBe('refused');
    // The victim's session cannot be framed and read.
    expect(results.framedSession).toMatch(/^refused: /);
    // No credential of the victim's is visible to the page.
    expect(results.cookies).not.toMatch(/launchpad_/);
    expect(results.cookies).not.toContain(victim);
    expect(results.storage).toBe('{}');
    // It may register a worker for its own origin only; not for the victim's.
    expect(results.serviceWorker).toBe(`registered with scope ${new URL(hostileUrl).origin}/`);
    expect(results['serviceWorker:session']).toMatch(/^refused: /);
    expect(results['serviceWorker:app']).toMatch(/^refused: /);

    // Later, the victim signs in again: the attacker's worker sees none of it.
    await page.goto(`${sessionUrl}?token=${victim}`);
    expect(page.url()).toBe(sessionUrl);
    await page.goto(`${privateAppUrl}?token=${victim}`);
    const logs = await call(`${p.api}/apps/${hostileLauncher}/logs?lines=500`, { token: attacker });
    expect(logs.status).toBe(200);
    const captured = (logs.body.lines as string[]).filter((l) => l.includes('captured '));
    expect(captured.join('\n')).not.toContain(victim);
    expect(captured.join('\n')).not.toContain(session.hostname);
    // The page's own requests reached it (the log is real): it did run, and its worker did register.
    expect((logs.body.lines as string[]).some((l) => l.includes('GET /sw.js'))).toBe(true);

    // The credentials the browser holds: host-only cookies of the victim's session and app, never the API token.
    const cookies = await context.cookies();
    const ours = cookies.filter((c) => c.name.startsWith('launchpad_'));
    expect(ours.map((c) => [c.name, c.domain]).sort()).toEqual(
      [
        ['launchpad_app', new URL(privateAppUrl).hostname],
        ['launchpad_session', session.hostname],
      ].sort(),
    );
    for (const c of ours) {
      expect(c.value).toMatch(/^v1\./);
      expect(c.value).not.toContain(victim);
      expect(c.httpOnly).toBe(true);
    }
    await context.close();
  });
});
