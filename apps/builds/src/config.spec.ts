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
});
