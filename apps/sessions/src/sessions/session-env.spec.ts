import { randomBytes } from 'node:crypto';
import { SecretBox } from '@launchpad/persistence';
import { composeSessionEnv, openSecretEnv, sealSecretEnv } from './session-env.js';

const launcher = {
  envVariables: [
    { name: 'GREETING', value: 'hello', secret: false },
    { name: 'TOKEN', value: null, secret: true },
  ],
};

describe('composeSessionEnv', () => {
  it('layers environment, launcher and overrides, keeping secret values apart from the plain ones', () => {
    const env = composeSessionEnv({ GREETING: 'env', TOKEN: 'from-environment', BASE: '1' }, launcher, { TOKEN: 's3cret' }, [
      { name: 'GREETING', value: 'override' },
      { name: 'EXTRA', value: 'x' },
    ]);
    expect(env.plain).toEqual({ BASE: '1', GREETING: 'override', EXTRA: 'x' });
    expect(env.plainOverrides).toEqual([{ name: 'GREETING', value: 'override' }, { name: 'EXTRA', value: 'x' }]);
    expect(env.secret).toEqual({ env: { TOKEN: 's3cret' }, overrides: {} });
  });

  it('keeps an override of a secret variable secret, for the resume too', () => {
    const env = composeSessionEnv({}, launcher, { TOKEN: 's3cret' }, [{ name: 'TOKEN', value: 'mine' }]);
    expect(env.plain).toEqual({ GREETING: 'hello' });
    expect(env.plainOverrides).toEqual([]);
    expect(env.secret).toEqual({ env: { TOKEN: 'mine' }, overrides: { TOKEN: 'mine' } });
  });

  it('has nothing to seal without secret variables', () => {
    expect(composeSessionEnv({ A: '1' }, { envVariables: [] }, {}, []).secret).toBeNull();
  });

  it('seals per session: the sealed env opens for its own session only', () => {
    const box = new SecretBox([{ id: 'k', key: randomBytes(32) }]);
    const sealed = sealSecretEnv(box, 's1', { env: { TOKEN: 'v' }, overrides: {} });
    expect(sealed).not.toContain('"v"');
    expect(openSecretEnv(box, 's1', sealed)).toEqual({ env: { TOKEN: 'v' }, overrides: {} });
    expect(() => openSecretEnv(box, 's2', sealed)).toThrow();
    expect(() => sealSecretEnv(new SecretBox([]), 's1', { env: { TOKEN: 'v' }, overrides: {} })).toThrow(/SECRETS_ENCRYPTION_KEYS/);
  });
});
