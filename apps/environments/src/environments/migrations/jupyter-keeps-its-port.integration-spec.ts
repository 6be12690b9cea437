import 'reflect-metadata';
import { createServiceDataSource, migrate } from '@launchpad/persistence';
import type { DataSource } from 'typeorm';
import { ADMIN_DATABASE_URL, uniqueSuffix } from '../../../../../tools/testing/harness.js';
import { environmentsEntities, environmentsMigrations } from '../../environments.module.js';
import { DEFAULT_JUPYTER_ARGS } from '../default-environment.js';
import { JupyterKeepsItsPort1764000002300 } from './1764000002300-JupyterKeepsItsPort.js';

/** Against the machine's Postgres: an installation whose default environment was seeded before the migration. */
describe('JupyterKeepsItsPort1764000002300', () => {
  const schema = `env_port_retries_${uniqueSuffix()}`;
  let before: DataSource;
  let after: DataSource;
  const seededArgs = DEFAULT_JUPYTER_ARGS.filter((arg) => !arg.includes('port_retries'));

  beforeAll(async () => {
    const earlier = environmentsMigrations.filter((m) => m !== JupyterKeepsItsPort1764000002300);
    before = createServiceDataSource({ url: ADMIN_DATABASE_URL, schema, entities: environmentsEntities, migrations: earlier, applicationName: 'port-retries-test' });
    await before.initialize();
    await migrate(before, schema);
    const row = (name: string, createdBy: string, args: string[]) =>
      before.query(
        `INSERT INTO environments (kind, name, is_default, image, port, default_url, working_directory, mount_directory, uid, gid, command, args, created_by)
         VALUES ('global', $1, $2, 'jupyter/base:1', 8888, '/lab', '/work', '/work', 1000, 100, ARRAY['jupyter'], $3::text[], $4)`,
        [name, createdBy === 'system', args, createdBy],
      );
    await row('Jupyter', 'system', seededArgs);
    await row('Tuned Jupyter', 'root', [...seededArgs, '--NotebookApp.iopub_data_rate_limit=1e10']);
    await before.destroy();
    after = createServiceDataSource({ url: ADMIN_DATABASE_URL, schema, entities: environmentsEntities, migrations: environmentsMigrations, applicationName: 'port-retries-test' });
    await after.initialize();
  });

  afterAll(async () => {
    await after?.query(`DROP SCHEMA "${schema}" CASCADE`);
    await after?.destroy();
  });

  it('gives the seeded default environment port_retries=0 and a new version, and leaves one an admin made alone', async () => {
    const read = () => after.query(`SELECT name, args, version FROM environments ORDER BY name`) as Promise<{ name: string; args: string[]; version: string }[]>;
    const [jupyterBefore, tunedBefore] = await read();
    expect(jupyterBefore!.args).toEqual(seededArgs);
    expect(await migrate(after, schema)).toEqual(['JupyterKeepsItsPort1764000002300']);
    const [jupyter, tuned] = await read();
    expect(jupyter!.args).toEqual(DEFAULT_JUPYTER_ARGS);
    expect(jupyter!.args).toEqual(expect.arrayContaining(['--ServerApp.port_retries=0', '--NotebookApp.port_retries=0']));
    expect(Number(jupyter!.version)).toBeGreaterThan(Number(jupyterBefore!.version));
    expect(tuned).toEqual(tunedBefore);
  });
});
