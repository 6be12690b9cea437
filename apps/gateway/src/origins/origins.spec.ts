import { ConfigError } from '@launchpad/config';
import { parseGatewayConfig } from '../config.js';
import { APP_COOKIE, credentialCookie, credentialCookieName, OriginCredentials, SESSION_COOKIE } from './origin-credential.js';
import { Origins } from './origins.js';
import { forwardedUrl, normalisedTarget, redirectTarget, sanitiseResponseHeaders } from './proxy-hygiene.js';

const dev = { AUTH_DEV_SIGNING_KEY: 'k'.repeat(32), APPS_CALLER_SECRET: 's'.repeat(32) };
const problemsOf = (env: Record<string, string>) => {
  try {
    parseGatewayConfig(env);
    return [];
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
};
const SESSION = '0b6f4b7e-2f7e-4b8e-9a55-3f2d9c1e7a10';

describe('origins of sessions and apps', () => {
  const origins = new Origins(parseGatewayConfig({ ...dev, PORT: '8080' }));

  it('names each session and app by a host of its own, with the gateway\'s scheme and port', () => {
    expect(origins.session(SESSION)).toBe(`http://${SESSION}.sessions.localhost:8080`);
    expect(origins.app('lab-board--3f2b6c1e8d4a')).toBe('http://lab-board--3f2b6c1e8d4a.apps.localhost:8080');
    const production = new Origins(parseGatewayConfig({ ...dev, PUBLIC_URL: 'https://launchpad.example.com/', SESSIONS_DOMAIN: 'Sessions.Example-Usercontent.com.' }));
    expect(production.session(SESSION)).toBe(`https://${SESSION}.sessions.example-usercontent.com`);
  });

  it('routes by Host: a session, an app, a name under our domains that is neither, or the API', () => {
    expect(origins.classify(`${SESSION}.sessions.localhost:8080`)).toEqual({ kind: 'session', id: SESSION });
    expect(origins.classify(`${SESSION.toUpperCase()}.Sessions.Localhost`)).toEqual({ kind: 'session', id: SESSION });
    expect(origins.classify('lab-board--3f2b6c1e8d4a.apps.localhost:8080')).toEqual({ kind: 'app', slug: 'lab-board--3f2b6c1e8d4a' });
    expect(origins.classify('not-a-uuid.sessions.localhost')).toEqual({ kind: 'unknown', under: 'session' });
    expect(origins.classify(`x.${SESSION}.sessions.localhost`)).toEqual({ kind: 'unknown', under: 'session' });
    expect(origins.classify('a;b.apps.localhost')).toEqual({ kind: 'unknown', under: 'app' });
    expect(origins.classify('apps.localhost')).toEqual({ kind: 'unknown', under: 'app' });
    expect(origins.classify('localhost:8080')).toEqual({ kind: 'api' });
    expect(origins.classify('127.0.0.1:8080')).toEqual({ kind: 'api' });
    expect(origins.classify(undefined)).toEqual({ kind: 'api' });
  });

  it('refuses at start domains that would put user content on the API\'s origin or sessions beside apps', () => {
    expect(problemsOf({ ...dev, SESSIONS_DOMAIN: 'apps.localhost' })).toEqual([expect.stringMatching(/^APPS_DOMAIN: must be neither SESSIONS_DOMAIN/)]);
    expect(problemsOf({ ...dev, APPS_DOMAIN: 'x.sessions.localhost' })).toEqual([expect.stringMatching(/^APPS_DOMAIN: /)]);
    expect(problemsOf({ ...dev, PUBLIC_URL: 'https://api.example.com', SESSIONS_DOMAIN: 'example.com' })).toEqual([expect.stringMatching(/^SESSIONS_DOMAIN: must not contain the API's host api\.example\.com/)]);
    expect(problemsOf({ ...dev, APPS_DOMAIN: 'localhost' })).toEqual(expect.arrayContaining([expect.stringMatching(/^APPS_DOMAIN: must be a DNS domain of two labels or more/)]));
    expect(problemsOf({ ...dev, APPS_DOMAIN: 'bad_name.example.com' })).toEqual([expect.stringMatching(/^APPS_DOMAIN: must be a DNS domain/)]);
  });

  it('requires issuer, audience and a cookie secret with an OIDC provider', () => {
    const jwks = { APPS_CALLER_SECRET: 's'.repeat(32), AUTH_JWKS_URL: 'https://keycloak.example.com/realms/x/protocol/openid-connect/certs' };
    const problems = problemsOf(jwks);
    expect(problems).toEqual(expect.arrayContaining([expect.stringMatching(/^AUTH_ISSUER: with AUTH_JWKS_URL, set both/), expect.stringMatching(/^ORIGIN_COOKIE_SECRET: required with AUTH_JWKS_URL/)]));
    expect(problemsOf({ ...jwks, AUTH_ISSUER: 'https://keycloak.example.com/realms/x', AUTH_AUDIENCE: 'launchpad', ORIGIN_COOKIE_SECRET: 'c'.repeat(32) })).toEqual([]);
  });
});

describe('sign-in credentials of an origin', () => {
  const credentials = new OriginCredentials('c'.repeat(32), 3600_000);
  const dana = { userId: 'dana', admin: false };

  it('opens only the session or app it was issued for, until it expires', () => {
    const now = 1_760_000_000_000;
    const { value, expiresAt } = credentials.issue({ kind: 'session', id: SESSION }, dana, undefined, now);
    expect(value).toMatch(/^v1\./);
    expect(expiresAt).toBe(now / 1000 + 3600);
    expect(credentials.verify(value, { kind: 'session', id: SESSION }, now + 1000)).toEqual(dana);
    expect(credentials.verify(value, { kind: 'session', id: SESSION.replace('0b', '1b') }, now)).toBeNull();
    expect(credentials.verify(value, { kind: 'app', slug: SESSION }, now)).toBeNull();
    expect(credentials.verify(value, { kind: 'session', id: SESSION }, now + 3600_000)).toBeNull();
    // Signed with another key, or changed: nobody.
    expect(new OriginCredentials('d'.repeat(32), 3600_000).verify(value, { kind: 'session', id: SESSION }, now)).toBeNull();
    const [v, body, mac] = value.split('.');
    const admin = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(body!, 'base64url').toString()), a: true })).toString('base64url');
    expect(credentials.verify(`${v}.${admin}.${mac}`, { kind: 'session', id: SESSION }, now)).toBeNull();
    expect(credentials.verify('garbage', { kind: 'session', id: SESSION }, now)).toBeNull();
  });

  it('checks a credential again, as the first time, once more than the kept ones have been seen since', () => {
    const now = 1_760_000_000_000;
    const kept = new OriginCredentials('c'.repeat(32), 3600_000);
    const first = kept.issue({ kind: 'session', id: SESSION }, dana, undefined, now).value;
    expect(kept.verify(first, { kind: 'session', id: SESSION }, now)).toEqual(dana);
    for (let i = 0; i < 10_001; i++) kept.verify(kept.issue({ kind: 'app', slug: `app-${i}` }, dana, undefined, now).value, { kind: 'app', slug: `app-${i}` }, now);
    expect(kept.verify(first, { kind: 'session', id: SESSION }, now)).toEqual(dana);
    expect(kept.verify(first, { kind: 'session', id: SESSION }, now + 3600_000)).toBeNull();
  });

  it('is a __Host- cookie over https, which a sibling origin cannot plant with a Domain', () => {
    expect(credentialCookieName(SESSION_COOKIE, true)).toBe('__Host-launchpad_session');
    expect(credentialCookieName(APP_COOKIE, true)).toBe('__Host-launchpad_app');
    expect(credentialCookieName(SESSION_COOKIE, false)).toBe('launchpad_session');
    // What a browser demands of a __Host- cookie, or it drops it: Secure, Path=/ and no Domain.
    const header = credentialCookie(credentialCookieName(SESSION_COOKIE, true), { value: 'v1.x.y', expiresAt: 1_760_003_600 }, true, 1_760_000_000_000);
    expect(header).toMatch(/^__Host-launchpad_session=v1\.x\.y;/);
    expect(header).toMatch(/; Secure/);
    expect(header).toMatch(/; Path=\/(;|$)/);
    expect(header).not.toMatch(/Domain=/i);
  });

  it('never outlives the API token it was traded for', () => {
    const now = 1_760_000_000_000;
    expect(credentials.issue({ kind: 'app', slug: 'x--1' }, dana, now / 1000 + 60, now).expiresAt).toBe(now / 1000 + 60);
  });
});

describe('what the proxy forwards', () => {
  it('resolves dot segments once, keeps the query, and drops the ?token=', () => {
    const target = normalisedTarget('/x/../../metrics?a=1&token=secret');
    expect(target.path).toBe('/metrics');
    expect(forwardedUrl(target)).toBe('/metrics?a=1');
    expect(normalisedTarget('/%2e%2e/%2E./etc').path).toBe('/etc');
    expect(normalisedTarget('//evil.example/x').path).toBe('//evil.example/x');
    expect(() => normalisedTarget('http://evil.example/x')).toThrow(/must be a path/);
  });

  it('sends the browser back into its own origin after a ?token= link, never to another host', () => {
    expect(redirectTarget(normalisedTarget('/tree?token=t&x=1'))).toBe('/tree?x=1');
    expect(redirectTarget(normalisedTarget('//evil.example/x?token=t'))).toBe('/evil.example/x');
    expect(redirectTarget(normalisedTarget('/\\evil.example/x?token=t'))).toBe('/evil.example/x');
    expect(redirectTarget(normalisedTarget('///evil.example'))).toBe('/evil.example');
  });

  it('drops what an app must not tell a browser, and adds no-referrer', () => {
    const headers: Record<string, string | string[] | undefined> = { 'service-worker-allowed': '/', 'set-cookie': ['a=1; Domain=apps.localhost', 'b=2; Path=/', 'c=3;domain=.x'] };
    sanitiseResponseHeaders(headers);
    expect(headers).toEqual({ 'set-cookie': ['b=2; Path=/'], 'referrer-policy': 'no-referrer' });
  });
});
