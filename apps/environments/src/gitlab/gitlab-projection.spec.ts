import { withGitLabRepository } from './gitlab-projection.js';

describe("a project's GitLab repository", () => {
  const url = 'https://gitlab.example.com/lab/study.git';

  it('comes first in a project without repositories', () => {
    expect(withGitLabRepository([], url, null)).toEqual([{ url, name: 'study' }]);
  });

  it('replaces the old URL in place on a rename, keeping repositories added by hand', () => {
    const extra = { url: 'https://github.com/x/tools.git', name: 'tools' };
    const old = { url: 'https://gitlab.example.com/lab/old.git', name: 'old' };
    expect(withGitLabRepository([extra, old], url, old.url)).toEqual([extra, { url, name: 'study' }]);
  });

  it('is not doubled when announced twice, and gets another directory name on a clash', () => {
    expect(withGitLabRepository([{ url, name: 'study' }], url, null)).toEqual([{ url, name: 'study' }]);
    expect(withGitLabRepository([{ url: 'https://github.com/x/study.git', name: 'study' }], url, null)).toEqual([
      { url, name: 'study-gitlab' },
      { url: 'https://github.com/x/study.git', name: 'study' },
    ]);
  });
});
