import { SignJWT } from 'jose';
import type { GatewayConfig } from '../config.js';
import { TokenVerifier } from './token-verifier.js';

const KEY = 'a development signing key of enough length 0123456789';
const config = { auth: { jwksUrl: undefined, devSigningKey: KEY, issuer: undefined, audience: undefined, adminRole: 'admin', userClaim: 'sub' } } as unknown as GatewayConfig;
const sign = (sub: string, expiresIn: string | number = '1h') =>
  new SignJWT({ roles: [] }).setProtectedHeader({ alg: 'HS256' }).setSubject(sub).setExpirationTime(expiresIn).sign(new TextEncoder().encode(KEY));

/** known(): what authenticate would answer from the tokens verified lately, without verifying anything (the lane of kept-lists.ts takes only these). */
describe('TokenVerifier.known', () => {
  it('knows a token only once authenticate has verified it, and names its user', async () => {
    const verifier = new TokenVerifier(config);
    const header = `Bearer ${await sign('alice')}`;
    expect(verifier.known(header)).toBeUndefined();
    expect((await verifier.authenticate(header)).principal).toEqual({ userId: 'alice', admin: false });
    expect(verifier.known(header)).toEqual({ userId: 'alice', admin: false });
    expect(verifier.known(`bearer   ${header.slice('Bearer '.length)}`)).toEqual({ userId: 'alice', admin: false });
  });

  it('knows no refused token, no other token and no header of another form', async () => {
    const verifier = new TokenVerifier(config);
    const forged = `Bearer ${(await sign('alice')).slice(0, -2)}xx`;
    await expect(verifier.authenticate(forged)).rejects.toThrow(/signature/);
    expect(verifier.known(forged)).toBeUndefined();
    const good = await sign('bob');
    await verifier.authenticate(`Bearer ${good}`);
    expect(verifier.known(undefined)).toBeUndefined();
    expect(verifier.known('')).toBeUndefined();
    expect(verifier.known(good)).toBeUndefined();
    expect(verifier.known(`Token ${good}`)).toBeUndefined();
    expect(verifier.known(`Bearer ${good} extra`)).toBeUndefined();
  });

  it('forgets a token when it expires', async () => {
    const verifier = new TokenVerifier(config);
    const header = `Bearer ${await sign('carol', Math.floor(Date.now() / 1000) + 2)}`;
    await verifier.authenticate(header);
    expect(verifier.known(header)).toBeDefined();
    await new Promise((r) => setTimeout(r, 2_100));
    expect(verifier.known(header)).toBeUndefined();
  });
});
