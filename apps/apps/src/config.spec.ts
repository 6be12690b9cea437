import { ConfigError } from '@launchpad/config';
import { parseAppsConfig } from './config.js';

const SECRET = { APPS_CALLER_SECRET: 'x'.repeat(32) };

const problemsOf = (env: NodeJS.ProcessEnv): string[] => {
  try {
    parseAppsConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
};

describe('the apps service configuration', () => {
  it('starts on the defaults with a caller secret, listening on every address unless told otherwise', () => {
    const config = parseAppsConfig(SECRET);
    expect(config.http).toEqual({ port: 3003, host: '0.0.0.0' });
    expect(config.activator.callerSecret).toBe(SECRET.APPS_CALLER_SECRET);
    expect(config.replicas.drainMs).toBeGreaterThan(config.activator.routeRefreshMs + config.activator.reportIntervalMs);
    expect(parseAppsConfig({ ...SECRET, LISTEN_HOST: '127.0.0.1' }).http.host).toBe('127.0.0.1');
  });

  it('refuses to start without the secret it shares with the gateway, or with a short one', () => {
    expect(problemsOf({})).toEqual([expect.stringMatching(/^APPS_CALLER_SECRET: required: the secret the gateway signs callers with/)]);
    expect(problemsOf({ APPS_CALLER_SECRET: 'short' })).toEqual([expect.stringMatching(/^APPS_CALLER_SECRET: must be at least 32 characters/)]);
  });

  it('refuses a drain time no longer than it takes every activator to hear that a replica left', () => {
    const problems = problemsOf({ ...SECRET, APP_DRAIN_MS: '5000', ACTIVATOR_ROUTE_REFRESH_MS: '5000', ACTIVATOR_REPORT_INTERVAL_MS: '1000' });
    expect(problems).toEqual([
      'APP_DRAIN_MS: must be longer than ACTIVATOR_ROUTE_REFRESH_MS + ACTIVATOR_REPORT_INTERVAL_MS (5000 + 1000 = 6000), so that every activator has stopped sending requests to a replica before it stops (got "5000")',
    ]);
    expect(problemsOf({ ...SECRET, APP_DRAIN_MS: '6001', ACTIVATOR_ROUTE_REFRESH_MS: '5000', ACTIVATOR_REPORT_INTERVAL_MS: '1000' })).toEqual([]);
    expect(problemsOf({ ...SECRET, APP_DRAIN_MS: '20000', APP_DRAIN_MAX_MS: '15000' })).toEqual(['APP_DRAIN_MAX_MS: must not be shorter than APP_DRAIN_MS (20000) (got "15000")']);
  });

  it('takes the ports and paths workloads are kept from, and refuses ones that are not', () => {
    expect(parseAppsConfig(SECRET).runtime).toMatchObject({ blockedPorts: [], hiddenPaths: [] });
    expect(parseAppsConfig({ ...SECRET, RUNTIME_BLOCKED_PORTS: '3001, 3004', RUNTIME_HIDDEN_PATHS: '/run/secrets,/srv/keys' }).runtime).toMatchObject({
      blockedPorts: [3001, 3004],
      hiddenPaths: ['/run/secrets', '/srv/keys'],
    });
    expect(problemsOf({ ...SECRET, RUNTIME_BLOCKED_PORTS: '3001,70000', RUNTIME_HIDDEN_PATHS: 'relative/path' })).toEqual([
      expect.stringMatching(/^RUNTIME_BLOCKED_PORTS: must be TCP ports \(1-65535\)/),
      expect.stringMatching(/^RUNTIME_HIDDEN_PATHS: must be absolute paths other than \//),
    ]);
  });

  it('runs apps on the kubernetes runtime in the namespace it is given, and refuses it without one', () => {
    expect(problemsOf({ ...SECRET, APP_RUNTIME: 'kubernetes' })).toEqual([
      expect.stringMatching(/^KUBERNETES_NAMESPACE: required with APP_RUNTIME=kubernetes/),
      expect.stringMatching(/^RUNTIME_SPEC_HASH_KEY: required with APP_RUNTIME=kubernetes/),
    ]);
    const config = parseAppsConfig({ ...SECRET, APP_RUNTIME: 'kubernetes', KUBERNETES_NAMESPACE: 'launchpad', RUNTIME_SPEC_HASH_KEY: Buffer.alloc(32, 7).toString('base64'), KUBERNETES_IMAGE_PULL_SECRETS: 'regcred, gitlab-registry' });
    expect(config.runtime.kind).toBe('kubernetes');
    expect(config.kubernetes).toMatchObject({ namespace: 'launchpad', imagePullSecrets: ['regcred', 'gitlab-registry'], gitImage: 'alpine/git:v2.45.1' });
  });

  it('refuses a git image without a version: :latest (or no tag) changes under a running installation', () => {
    for (const image of ['alpine/git:latest', 'alpine/git', 'registry.example.com:5000/mirror/git']) {
      expect(problemsOf({ ...SECRET, KUBERNETES_GIT_IMAGE: image })).toEqual([expect.stringMatching(/^KUBERNETES_GIT_IMAGE: must name a version/)]);
    }
    expect(problemsOf({ ...SECRET, KUBERNETES_GIT_IMAGE: 'registry.example.com:5000/mirror/git@sha256:' + 'a'.repeat(64) })).toEqual([]);
  });
});
