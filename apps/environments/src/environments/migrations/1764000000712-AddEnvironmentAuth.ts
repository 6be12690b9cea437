import type { MigrationInterface, QueryRunner } from 'typeorm';
import { DEFAULT_JUPYTER_ARGS } from '../default-environment.js';

/**
 * Environments say how their program takes a secret of its own (`auth`), so that Jupyter keeps
 * its authentication on behind the gateway. The default environment as it was seeded ran Jupyter
 * with no token, no password, every origin allowed and XSRF checks off: it gets the new arguments
 * and `jupyter-token`. One an admin changed since (no longer the seeded flags) is left alone.
 * Sessions take the new settings when they are next launched or resumed.
 */
export class AddEnvironmentAuth1764000000712 implements MigrationInterface {
  name = 'AddEnvironmentAuth1764000000712';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE environments ADD COLUMN auth jsonb NOT NULL DEFAULT '{"kind": "none"}'::jsonb`);
    await q.query(
      `UPDATE environments
          SET args = $1::text[], auth = '{"kind": "jupyter-token"}'::jsonb, updated_at = now()
        WHERE kind = 'global' AND created_by = 'system' AND command = ARRAY['jupyter']
          AND '--NotebookApp.disable_check_xsrf=True' = ANY(args) AND '--NotebookApp.token=' = ANY(args)`,
      [DEFAULT_JUPYTER_ARGS],
    );
  }

  async down(): Promise<void> {
    throw new Error('forward-only migration');
  }
}
