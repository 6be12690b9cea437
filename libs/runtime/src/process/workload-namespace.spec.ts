import { mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { distinctPaths, NamespaceError, namespacedLaunch } from './workload-namespace.js';

describe('namespacedLaunch', () => {
  const tools = { unshare: '/usr/bin/unshare', setpriv: '/usr/bin/setpriv' };
  const user = { uid: 100123, gid: 100123 };

  it('unshares the mount table, covers the hidden paths, drops to the uid, then runs the command', () => {
    const launch = namespacedLaunch(tools, ['/run/postgresql', '/srv/keys'], user, { PATH: '/usr/bin' }, ['/bin/sh', '-c', 'echo hi']);
    expect(launch.executable).toBe('/usr/bin/unshare');
    expect(launch.args.slice(0, 4)).toEqual(['--mount', '--propagation', 'private', '--']);
    const hide = launch.args.indexOf('launchpad-hide');
    expect(launch.args.slice(hide + 1, hide + 9)).toEqual(['/run/postgresql', '/srv/keys', '--', '/usr/bin/setpriv', '--reuid=100123', '--regid=100123', '--clear-groups', '--']);
    expect(launch.args.slice(-3)).toEqual(['/bin/sh', '-c', 'echo hi']);
  });

  it("keeps the workload's variables from the root steps under their own names (no LD_PRELOAD for root)", () => {
    const launch = namespacedLaunch(tools, [], user, { LD_PRELOAD: '/work/evil.so', PATH: '/work/bin', TOKEN: "it's $secret" }, ['/bin/true']);
    expect(launch.env).toEqual({
      PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
      LAUNCHPAD_ENV_LD_PRELOAD: '/work/evil.so',
      LAUNCHPAD_ENV_PATH: '/work/bin',
      LAUNCHPAD_ENV_TOKEN: "it's $secret",
      LAUNCHPAD_ENV_NAMES: 'LD_PRELOAD PATH TOKEN',
    });
    // Values travel in the environment only, never on a command line others can read.
    expect(launch.args.join(' ')).not.toContain('evil.so');
  });

  it('refuses a variable name the shell could not export', () => {
    expect(() => namespacedLaunch(tools, [], user, { 'A;rm -rf /': 'x' }, ['/bin/true'])).toThrow(NamespaceError);
  });
});

describe('distinctPaths', () => {
  it('keeps one path per directory it resolves to, and a path that does not exist yet as given', async () => {
    const root = mkdtempSync(join(tmpdir(), 'lp-distinct-'));
    try {
      mkdirSync(join(root, 'run', 'postgresql'), { recursive: true });
      symlinkSync(join(root, 'run'), join(root, 'var-run'));
      const paths = await distinctPaths([join(root, 'run', 'postgresql'), join(root, 'var-run', 'postgresql'), join(root, 'later')]);
      expect(paths).toEqual([join(root, 'run', 'postgresql'), join(root, 'later')]);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
