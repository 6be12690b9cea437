import { parseRepositoryHosts, repositoryUrlProblem } from './repository-url.js';

const any = { hosts: null, allowFile: false };

describe('repositoryUrlProblem', () => {
  it('takes https and ssh remotes, in both ssh spellings', () => {
    for (const url of ['https://gitlab.example.com/lab/study.git', 'ssh://git@gitlab.example.com:2222/lab/study.git', 'git@gitlab.example.com:lab/study.git']) {
      expect(repositoryUrlProblem(url, any)).toBeNull();
    }
  });

  it("refuses git's other transports and option-shaped remotes", () => {
    for (const url of ['ext::sh -c touch% /tmp/pwned', 'fd::3', 'git://host/repo', '-uhost:repo', 'git@-oProxyCommand=x:repo', 'ftp://host/repo', 'not a url']) {
      expect(repositoryUrlProblem(url, any)).toMatch(/must be an https or ssh git remote/);
    }
    expect(repositoryUrlProblem('http://host/repo.git', any)).toMatch(/must use https, not http/);
  });

  it('takes file URLs and local paths only with the development setting', () => {
    expect(repositoryUrlProblem('file:///srv/repo', any)).toMatch(/development only \(ALLOW_FILE_REPOSITORIES\)/);
    expect(repositoryUrlProblem('/srv/repo', any)).toMatch(/development only/);
    expect(repositoryUrlProblem('file:///srv/repo', { hosts: null, allowFile: true })).toBeNull();
    expect(repositoryUrlProblem('file://otherhost/srv/repo', { hosts: null, allowFile: true })).toMatch(/must be an https or ssh/);
  });

  it('keeps to the listed hosts, whatever the case or the spelling', () => {
    const policy = { hosts: parseRepositoryHosts('GitLab.example.com, github.com'), allowFile: false };
    expect(policy.hosts).toEqual(['gitlab.example.com', 'github.com']);
    expect(repositoryUrlProblem('https://GITLAB.example.com/a/b.git', policy)).toBeNull();
    expect(repositoryUrlProblem('git@github.com:a/b.git', policy)).toBeNull();
    expect(repositoryUrlProblem('https://gitlab.example.com.evil.net/a/b.git', policy)).toMatch(/host gitlab\.example\.com\.evil\.net is not one this installation clones from \(REPOSITORY_HOSTS: gitlab\.example\.com, github\.com\)/);
    expect(repositoryUrlProblem('https://user@evil.net/a/b.git', policy)).toMatch(/host evil\.net/);
    expect(parseRepositoryHosts('  ')).toBeNull();
  });
});
