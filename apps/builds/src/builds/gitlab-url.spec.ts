import { GITLAB_PATH, onGitLab } from './gitlab-url.js';

describe('URLs from GitLab payloads', () => {
  const gitlab = 'https://gitlab.example.com';

  it('keeps links on the configured GitLab', () => {
    expect(onGitLab('https://gitlab.example.com/lab/study/-/pipelines/31', gitlab)).toBe('https://gitlab.example.com/lab/study/-/pipelines/31');
    expect(onGitLab('https://GitLab.Example.com/lab/study', gitlab)).toBe('https://gitlab.example.com/lab/study');
  });

  it('drops links to anywhere else, whatever they look like', () => {
    for (const forged of [
      'https://evil.example/lab/study/-/pipelines/31',
      'https://gitlab.example.com.evil.example/lab',
      'https://gitlab.example.com:8443/lab',
      'http://gitlab.example.com/lab',
      'https://user:pw@gitlab.example.com/lab',
      'javascript:alert(document.cookie)',
      'data:text/html,<script>1</script>',
      '//evil.example/lab',
      'not a url',
    ]) {
      expect(onGitLab(forged, gitlab)).toBeNull();
    }
    expect(onGitLab(null, gitlab)).toBeNull();
  });

  it('keeps a GitLab served under a path to that path', () => {
    const sub = 'https://example.com/gitlab';
    expect(onGitLab('https://example.com/gitlab/lab/study', sub)).toBe('https://example.com/gitlab/lab/study');
    expect(onGitLab('https://example.com/gitlabx/lab', sub)).toBeNull();
    expect(onGitLab('https://example.com/other/lab', sub)).toBeNull();
  });

  it('takes GitLab project paths and no path that climbs out or reads as an option', () => {
    for (const ok of ['lab/study', 'jsmith/storecloud', 'group/sub.group/my_project-2', 'a']) expect(GITLAB_PATH.test(ok)).toBe(true);
    for (const bad of ['../evil.example/x', 'lab/../../x', 'lab/./x', '-lab/x', 'lab//x', 'lab/x?y', 'lab/x#y', '@evil.example/x', 'lab x', '/lab/x', 'lab/x/']) {
      expect(GITLAB_PATH.test(bad)).toBe(false);
    }
  });
});
