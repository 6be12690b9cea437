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
    args: DEFAULT_JUPYTER_ARGS,
    env: {},
    // Each session gets a random secret of its own as JUPYTER_TOKEN, which the gateway adds to what it proxies.
    auth: { kind: 'jupyter-token' },
  };
}

/**
 * `jupyter notebook` with both spellings of each option: Notebook 7 and JupyterLab images read
 * the ServerApp ones, Debian's Notebook 6 (what the process runtime finds on a workstation) the
 * NotebookApp ones, and each ignores the other's. Jupyter keeps its own authentication on: its
 * token is the session's secret, which it reads from JUPYTER_TOKEN (set by the sessions service)
 * and the gateway sends with every request it proxies; XSRF and origin checks stay on (the page
 * and its WebSockets are same-origin on the session's own origin). Remote access is allowed because
 * the Host is the session's origin (<id>.<SESSIONS_DOMAIN>), not "localhost".
 */
export const DEFAULT_JUPYTER_ARGS = [
  'notebook',
  '--no-browser',
  '--ip=$(LAUNCHPAD_HOST)',
  '--port=$(LAUNCHPAD_PORT)',
  ...both('base_url', '$(LAUNCHPAD_BASE_URL)'),
  '--ServerApp.root_dir=$(LAUNCHPAD_WORK_DIR)',
  '--NotebookApp.notebook_dir=$(LAUNCHPAD_WORK_DIR)',
  ...both('allow_root', 'True'),
  ...both('allow_remote_access', 'True'),
  // Its own port or none: never the next one free, which nothing probes or guards.
  ...both('port_retries', '0'),
];

function both(option: string, value: string): string[] {
  return [`--ServerApp.${option}=${value}`, `--NotebookApp.${option}=${value}`];
}
