import type { MigrationInterface, QueryRunner } from 'typeorm';
import { DEFAULT_JUPYTER_ARGS } from '../default-environment.js';

/** The default environment's arguments as AddEnvironmentAuth1764000000712 left them. */
const BEFORE = [
  'notebook',
  '--no-browser',
  '--ip=$(LAUNCHPAD_HOST)',
  '--port=$(LAUNCHPAD_PORT)',
  '--ServerApp.base_url=$(LAUNCHPAD_BASE_URL)',
  '--NotebookApp.base_url=$(LAUNCHPAD_BASE_URL)',
  '--ServerApp.root_dir=$(LAUNCHPAD_WORK_DIR)',
  '--NotebookApp.notebook_dir=$(LAUNCHPAD_WORK_DIR)',
  '--ServerApp.allow_root=True',
  '--NotebookApp.allow_root=True',
  '--ServerApp.allow_remote_access=True',
  '--NotebookApp.allow_remote_access=True',
];

/**
 * Jupyter serves on the port it is given or not at all (`port_retries=0`): by default, finding
 * the port taken, it moves to the next one, which the runtime neither probes nor guards, and a
 * workload that bound the given port first would be the one the gateway talked to. The default
 * environment as seeded gets the argument (and, from the row-version trigger, a new version, so
 * read models take it); one an admin changed since is left alone. Sessions take it when next launched or resumed.
 */
export class JupyterKeepsItsPort1764000002300 implements MigrationInterface {
  name = 'JupyterKeepsItsPort1764000002300';

  async up(q: QueryRunner): Promise<void> {
    await q.query(
      `UPDATE environments SET args = $1::text[], updated_at = now()
        WHERE kind = 'global' AND created_by = 'system' AND command = ARRAY['jupyter'] AND args = $2::text[]`,
      [DEFAULT_JUPYTER_ARGS, BEFORE],
    );
  }

  async down(): Promise<void> {
    throw new Error('forward-only migration');
  }
}
