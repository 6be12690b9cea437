import {
  createDataConnectorInputSchema,
  createUserDataConnectorInputSchema,
  dataConnectorCredentialsInputSchema,
  storageProblems,
  updateDataConnectorInputSchema,
  updateUserDataConnectorInputSchema,
} from './data-connectors.js';

const SECRET = '00000000-0000-4000-8000-000000000001';

describe('what a data connector may ask rclone for', () => {
  it.each(['webdav', 's3', 'sftp', 'swift', 'azureblob'])('takes the remote storage %s', (storageType) => {
    expect(storageProblems(storageType, { url: 'https://dav.example.org', user: 'dana' })).toEqual([]);
  });

  // rclone runs as the sessions service: a backend on this machine's disk, or one wrapping another
  // remote (which may then be a local path or an on-the-fly ":local:" or ":webdav,...:" remote), reads its files.
  it.each(['local', 'alias', 'union', 'crypt', 'combine', 'chunker', 'hasher', 'compress', 'cache'])('refuses the backend %s', (storageType) => {
    expect(storageProblems(storageType, {})).toEqual([expect.objectContaining({ path: 'storageType' })]);
  });

  // bearer_token_command runs a program as the service; *_file options read its files; env_auth and
  // use_msi lend it the service's own cloud identity.
  it.each(['bearer_token_command', 'ssh', 'server_command', 'key_file', 'service_account_file', 'shared_credentials_file', 'known_hosts_file', 'env_auth', 'use_msi'])(
    'refuses the option %s',
    (option) => {
      expect(storageProblems('webdav', { url: 'https://dav.example.org', [option]: 'touch /tmp/owned' })).toEqual([expect.objectContaining({ path: `configuration.${option}` })]);
    },
  );

  it('is the rule of the API: declaring, changing and filling a connector', () => {
    const body = { name: 'Survey', storageType: 'webdav', configuration: { url: 'https://dav.example.org' }, targetPath: 'survey' };
    expect(createDataConnectorInputSchema.safeParse(body).success).toBe(true);
    expect(createDataConnectorInputSchema.safeParse({ ...body, configuration: { ...body.configuration, bearer_token_command: 'id' } }).success).toBe(false);
    expect(createDataConnectorInputSchema.safeParse({ ...body, storageType: 'local' }).success).toBe(false);
    expect(updateDataConnectorInputSchema.safeParse({ configuration: { bearer_token_command: 'id' } }).success).toBe(false);
    expect(updateDataConnectorInputSchema.safeParse({ storageType: 'alias' }).success).toBe(false);
    // A member's credentials are merged into the configuration: their option names obey the same rule.
    expect(dataConnectorCredentialsInputSchema.safeParse({ secrets: { pass: SECRET } }).success).toBe(true);
    expect(dataConnectorCredentialsInputSchema.safeParse({ secrets: { bearer_token_command: SECRET } }).success).toBe(false);
    expect(dataConnectorCredentialsInputSchema.safeParse({ secrets: { key_file: SECRET } }).success).toBe(false);
  });

  it('is the rule for a user’s own connector too, whose credentials come with it', () => {
    const body = { name: 'My notes', storageType: 'webdav', configuration: { url: 'https://dav.example.org' }, targetPath: 'notes' };
    expect(createUserDataConnectorInputSchema.parse(body)).toEqual({ ...body, sourcePath: '', readonly: true, credentials: {} });
    expect(createUserDataConnectorInputSchema.parse({ ...body, credentials: { pass: SECRET } }).credentials).toEqual({ pass: SECRET });
    for (const bad of [
      { ...body, targetPath: '../etc' },
      { ...body, targetPath: '..' },
      { ...body, storageType: 'local' },
      { ...body, configuration: { bearer_token_command: 'id' } },
      { ...body, credentials: { bearer_token_command: SECRET } },
      { ...body, credentials: { pass: 'not-a-uuid' } },
      { ...body, projectId: '801' },
    ]) {
      expect(createUserDataConnectorInputSchema.safeParse(bad).success).toBe(false);
    }
    expect(updateUserDataConnectorInputSchema.safeParse({ credentials: { pass: SECRET } }).success).toBe(true);
    expect(updateUserDataConnectorInputSchema.safeParse({}).success).toBe(false);
    expect(updateUserDataConnectorInputSchema.safeParse({ credentials: { key_file: SECRET } }).success).toBe(false);
    expect(updateUserDataConnectorInputSchema.safeParse({ userId: 'gus' }).success).toBe(false);
  });
});
