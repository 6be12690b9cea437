import { repositoryProblems } from './repository-policy.js';

describe("a project's repositories, checked as they are written", () => {
  const policy = { hosts: ['gitlab.example.com'], allowFile: false };

  it('names each URL that would not be cloned, where it is, and the rule it breaks', () => {
    expect(
      repositoryProblems(
        [{ url: 'https://gitlab.example.com/lab/ok.git' }, { url: 'https://github.com/lab/x.git' }, { url: 'http://gitlab.example.com/lab/y.git' }, { url: 'file:///srv/repo' }],
        policy,
      ),
    ).toEqual([
      { path: 'repositories.1.url', message: 'https://github.com/lab/x.git: host github.com is not one this installation clones from (REPOSITORY_HOSTS: gitlab.example.com)' },
      { path: 'repositories.2.url', message: 'http://gitlab.example.com/lab/y.git: must use https, not http (a plain-text clone can be tampered with on the way)' },
      { path: 'repositories.3.url', message: 'file:///srv/repo: file:// repositories are for development only (ALLOW_FILE_REPOSITORIES); use an https or ssh remote' },
    ]);
  });

  it('takes what the runtimes would clone', () => {
    expect(repositoryProblems([{ url: 'git@gitlab.example.com:lab/tools' }, { url: 'ssh://git@gitlab.example.com/lab/x.git' }], policy)).toEqual([]);
    expect(repositoryProblems([{ url: 'file:///srv/repo' }], { hosts: null, allowFile: true })).toEqual([]);
  });
});
