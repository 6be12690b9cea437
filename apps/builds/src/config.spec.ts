import { ConfigError, parseEnv } from '@launchpad/config';
import { buildsConfigSchema } from './config.js';

const problemsOf = (env: NodeJS.ProcessEnv): string[] => {
  try {
    parseEnv('builds', buildsConfigSchema, env);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
};

describe('the builds service configuration', () => {
  it('refuses a GitLab API token without the GitLab it belongs to, rather than sending it to gitlab.com', () => {
    expect(problemsOf({ GITLAB_API_TOKEN: 'glpat-secret' })).toEqual([expect.stringMatching(/^GITLAB_URL: required when GITLAB_API_TOKEN is set/)]);
    expect(problemsOf({ GITLAB_API_TOKEN: 'glpat-secret', GITLAB_URL: 'https://gitlab.example.com' })).toEqual([]);
  });

  it('needs no GitLab URL when there is no token (webhooks only)', () => {
    expect(problemsOf({})).toEqual([]);
  });

  it('refuses a GitLab over plain http, saying why, but for one on this machine (development)', () => {
    expect(problemsOf({ GITLAB_URL: 'http://gitlab.example.com' })).toEqual([
      'GITLAB_URL: must be https (the API token and clones would otherwise cross the network in plain text); http is accepted only for a GitLab on this machine (localhost, 127.0.0.1, ::1), in development (got "http://gitlab.example.com")',
    ]);
    for (const local of ['http://127.0.0.1:8929', 'http://localhost:8080', 'http://gitlab.localhost', 'http://[::1]:3000']) expect(problemsOf({ GITLAB_URL: local })).toEqual([]);
    expect(problemsOf({ GITLAB_URL: 'http://127.0.0.1.evil.example' })).toHaveLength(1);
  });
});
