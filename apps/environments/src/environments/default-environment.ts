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
    description: 'JupyterLab with Python 3 and the scientific Python stack (numpy, pandas, matplotlib).',
    keywords: ['python', 'jupyter'],
    isDefault: true,
    image,
    port: 8888,
    defaultUrl: '/lab',
    workingDirectory: '/work',
    mountDirectory: '/work',
    uid: 1000,
    gid: 100,
    command: ['jupyter'],
    args: [
      'lab',
      '--no-browser',
      '--ip=0.0.0.0',
      '--port=$(LAUNCHPAD_PORT)',
      '--ServerApp.base_url=$(LAUNCHPAD_BASE_URL)',
      '--ServerApp.root_dir=$(LAUNCHPAD_WORK_DIR)',
      '--IdentityProvider.token=',
      '--ServerApp.allow_origin=*',
    ],
    env: {},
  };
}
