import { z } from 'zod';
import { ConfigError, envVars, parseEnv } from './index.js';

describe('parseEnv', () => {
  const schema = z.object({ PORT: envVars.port(3000), DATABASE_URL: envVars.databaseUrl, NATS_URL: envVars.natsUrl });

  it('fills defaults for an empty environment', () => {
    expect(parseEnv('svc', schema, {})).toEqual({
      PORT: 3000,
      DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/launchpad',
      NATS_URL: 'nats://127.0.0.1:4222',
    });
  });

  it('lists every bad variable at once, with the value it got', () => {
    let caught: unknown;
    try {
      parseEnv('svc', schema, { PORT: 'eighty', DATABASE_URL: 'mysql://x', NATS_URL: 'nats://ok:4222' });
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(ConfigError);
    const problems = (caught as ConfigError).problems;
    expect(problems).toHaveLength(2);
    expect(problems[0]).toMatch(/^PORT: .*got "eighty"/);
    expect(problems[1]).toMatch(/^DATABASE_URL: must be a postgres:\/\/ URL/);
  });
});
