import { AuthorizationError, TimeoutError } from '@nats-io/nats-core';
import { natsAuthFailure } from './nats.js';

describe('a NATS refusal of our credentials, in words', () => {
  const refused = new AuthorizationError('Authorization Violation');

  it('names the server, who we said we were and what to check, never the secret', () => {
    const failure = natsAuthFailure(refused, 'nats://nats:4222', { user: 'sessions', password: 's3cret' })!;
    expect(failure.name).toBe('NatsAuthError');
    expect(failure.message).toMatch(/^NATS at nats:\/\/nats:4222 refused user "sessions" \(Authorization Violation\): check NATS_USER and NATS_PASSWORD \(or NATS_PASSWORD_FILE\)/);
    expect(failure.message).not.toContain('s3cret');
    expect(natsAuthFailure(refused, 'nats://n:4222', { token: 't0ken' })!.message).toMatch(/refused the token in NATS_TOKEN .*check NATS_TOKEN/);
    expect(natsAuthFailure(refused, 'nats://n:4222', { credsFile: '/run/secrets/sessions.creds' })!.message).toMatch(/refused the credentials in \/run\/secrets\/sessions\.creds .*check NATS_CREDS/);
    expect(natsAuthFailure(refused, 'nats://n:4222', {})!.message).toMatch(/refused a client without credentials .*takes no anonymous client/);
  });

  it('is no refusal when the error is another', () => {
    expect(natsAuthFailure(new TimeoutError(), 'nats://n:4222', {})).toBeNull();
    expect(natsAuthFailure(new Error('ECONNREFUSED'), 'nats://n:4222', {})).toBeNull();
  });
});
