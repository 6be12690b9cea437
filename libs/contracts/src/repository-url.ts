/**
 * Which git remotes this installation clones: https and ssh only (git's other transports run
 * programs or read the machine's files), to the hosts the operator lists where they list any
 * (REPOSITORY_HOSTS), and `file://` only behind an explicit development setting
 * (ALLOW_FILE_REPOSITORIES, which tests turn on for their local repositories). Checked where
 * repositories are taken (the environments service) and again by the runtime before it clones.
 */
export interface RepositoryUrlPolicy {
  /** Lower-case host names; null or empty: any host. */
  hosts: readonly string[] | null;
  allowFile: boolean;
}

export const DEFAULT_REPOSITORY_URL_POLICY: RepositoryUrlPolicy = { hosts: null, allowFile: false };

/** `gitlab.example.com, github.com` → ['gitlab.example.com', 'github.com']; empty → null. */
export function parseRepositoryHosts(text: string | undefined): string[] | null {
  const hosts = (text ?? '')
    .split(/[\s,]+/)
    .map((h) => h.trim().toLowerCase())
    .filter(Boolean);
  return hosts.length > 0 ? hosts : null;
}

// A host starts with a letter or digit: a leading "-" would reach ssh as an option.
const HOST = '[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?';
const SCP_LIKE = new RegExp(`^([A-Za-z0-9._-]+)@(${HOST}):([^\\s]+)$`);

/** The host a remote names, and its transport, or null when it is none git would take from us. */
export function repositoryUrlHost(url: string): { transport: 'https' | 'ssh' | 'file' | 'http'; host: string } | null {
  if (/\s/.test(url) || url.startsWith('-')) return null;
  // A local path is what git would clone from this machine's files: file:// by another name.
  if (url.startsWith('/')) return { transport: 'file', host: '' };
  const scp = SCP_LIKE.exec(url);
  if (scp && !url.includes('://')) return { transport: 'ssh', host: scp[2]!.toLowerCase() };
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return null;
  }
  const transport = parsed.protocol.slice(0, -1);
  if (transport === 'file') return parsed.hostname === '' ? { transport, host: '' } : null;
  if (transport !== 'https' && transport !== 'ssh' && transport !== 'http') return null;
  if (!new RegExp(`^${HOST}$`).test(parsed.hostname) && !/^\[[0-9a-f:.]+\]$/i.test(parsed.hostname)) return null;
  return { transport, host: parsed.hostname.toLowerCase() };
}

/** Why this installation will not clone `url`, in words that say what to give instead; null if it will. */
export function repositoryUrlProblem(url: string, policy: RepositoryUrlPolicy): string | null {
  const remote = repositoryUrlHost(url);
  if (!remote) return 'must be an https or ssh git remote, e.g. https://host/group/repo.git or git@host:group/repo.git';
  if (remote.transport === 'http') return 'must use https, not http (a plain-text clone can be tampered with on the way)';
  if (remote.transport === 'file') {
    return policy.allowFile ? null : 'file:// repositories are for development only (ALLOW_FILE_REPOSITORIES); use an https or ssh remote';
  }
  const hosts = policy.hosts;
  if (hosts && hosts.length > 0 && !hosts.includes(remote.host)) {
    return `host ${remote.host} is not one this installation clones from (REPOSITORY_HOSTS: ${hosts.join(', ')})`;
  }
  return null;
}

/** The transports git may use for a clone under `policy` (GIT_ALLOW_PROTOCOL), so a redirect or submodule cannot switch to another. */
export function allowedGitProtocols(policy: RepositoryUrlPolicy): string {
  return policy.allowFile ? 'https:ssh:file' : 'https:ssh';
}
