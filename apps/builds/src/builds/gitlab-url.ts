/**
 * URLs that GitLab's payloads carry (a project's `web_url`, a pipeline's `url`, the API's
 * `web_url`s) are shown to users as links, and a delivery is only as trustworthy as the project
 * whose token signed it: a project's maintainer could send any URL. One is kept only when it is
 * http(s) on the configured GitLab: its scheme, host and port, under its path, with no user name
 * or password in it. Anything else (another host, `javascript:`, a look-alike) is dropped (null).
 */
export function onGitLab(candidate: string | null | undefined, gitlabUrl: string): string | null {
  if (!candidate) return null;
  let url: URL;
  let base: URL;
  try {
    url = new URL(candidate);
    base = new URL(gitlabUrl);
  } catch {
    return null;
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return null;
  if (url.origin !== base.origin || url.username !== '' || url.password !== '') return null;
  const prefix = base.pathname.replace(/\/+$/, '');
  if (prefix !== '' && url.pathname !== prefix && !url.pathname.startsWith(`${prefix}/`)) return null;
  return url.href;
}

/**
 * A GitLab project path (`group/subgroup/project`): segments of letters, digits, `_`, `-` and `.`,
 * none of them `.` or `..` nor starting with `-` (GitLab's own rule), so that the repository URL
 * made of it (`<GITLAB_URL>/<path>.git`) stays on the configured GitLab.
 */
export const GITLAB_PATH = /^(?!-)(?!\.{1,2}(?:\/|$))[A-Za-z0-9_.-]+(?:\/(?!-)(?!\.{1,2}(?:\/|$))[A-Za-z0-9_.-]+)*$/;
