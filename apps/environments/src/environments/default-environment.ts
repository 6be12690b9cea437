import type { z } from 'zod';
import type { createEnvironmentInputSchema } from '@launchpad/contracts';

/**
 * The environment every fresh platform starts with: Jupyter's own Python image. `$(VAR)` in args
 * is expanded from the container's environment, as Kubernetes does and the process runtime
 * mirrors, so the same settings work on both.
 */
export function defaultJupyterEnvironment(image: string): z.output<typeof createEnvironmentInputSchema> {
  return {
    name: 'Python/Jupyter',
    // What it is, not what one might wish: Jupyter's minimal image has no scientific libraries, and
    // on the process runtime it is the Notebook that tools/setup/system-packages.sh installs.
    description:
      "Jupyter Notebook with Python 3 (Jupyter's minimal-notebook image; on the process runtime, the Jupyter installed on the machine). No scientific libraries are preinstalled: pip install numpy, pandas or matplotlib in a session, or choose an environment whose image has them.",
    keywords: ['python', 'jupyter'],
    isDefault: true,
    isArchived: false,
    image,
    port: 8888,
    defaultUrl: '/tree',
    workingDirectory: '/work',
    mountDirectory: '/work',
    uid: 1000,
    gid: 100,
    command: ['jupyter'],
    // `jupyter notebook` with both spellings of each option: Notebook 7 and JupyterLab images read
    // the ServerApp ones, Debian's Notebook 6 (what the process runtime finds on a workstation) the
    // NotebookApp ones, and each ignores the other's. The gateway authenticates and authorises
    // every request, so Jupyter's own token and XSRF checks are off; the cookie is SameSite=Lax.
    args: [
      'notebook',
      '--no-browser',
      '--ip=$(LAUNCHPAD_HOST)',
      '--port=$(LAUNCHPAD_PORT)',
      ...both('base_url', '$(LAUNCHPAD_BASE_URL)'),
      '--ServerApp.root_dir=$(LAUNCHPAD_WORK_DIR)',
      '--NotebookApp.notebook_dir=$(LAUNCHPAD_WORK_DIR)',
      '--IdentityProvider.token=',
      ...both('token', ''),
      ...both('password', ''),
      ...both('allow_origin', '*'),
      ...both('disable_check_xsrf', 'True'),
      ...both('allow_root', 'True'),
      // Each session is its own origin, <id>.<SESSIONS_DOMAIN>: a Host that is not "localhost".
      ...both('allow_remote_access', 'True'),
    ],
    env: {},
  };
}

function both(option: string, value: string): string[] {
  return [`--ServerApp.${option}=${value}`, `--NotebookApp.${option}=${value}`];
}
