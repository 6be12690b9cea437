import { hashSecret, sameSecret, VerifiedTokens, verifySecret } from './token-hash.js';

describe('webhook secrets', () => {
  it('stores a salted scrypt hash, never the secret, and verifies against it', async () => {
    const stored = await hashSecret('s3cret-token-for-gitlab');
    expect(stored).toMatch(/^scrypt\$16384\$8\$1\$[\w-]+\$[\w-]+$/);
    expect(stored).not.toContain('s3cret');
    expect(await hashSecret('s3cret-token-for-gitlab')).not.toBe(stored);
    expect(await verifySecret('s3cret-token-for-gitlab', stored)).toBe(true);
    expect(await verifySecret('s3cret-token-for-gitlaB', stored)).toBe(false);
    expect(await verifySecret('anything', 'plain-text')).toBe(false);
  });

  it('compares strings of different lengths without throwing', () => {
    expect(sameSecret('a', 'a')).toBe(true);
    expect(sameSecret('a', 'ab')).toBe(false);
  });

  it('remembers a verified token per stored hash only', () => {
    const tokens = new VerifiedTokens(2);
    tokens.remember('hash-1', 'token');
    expect(tokens.has('hash-1', 'token')).toBe(true);
    expect(tokens.has('hash-1', 'other')).toBe(false);
    expect(tokens.has('hash-2', 'token')).toBe(false);
    tokens.remember('hash-2', 'x');
    tokens.remember('hash-3', 'y');
    expect(tokens.has('hash-1', 'token')).toBe(false);
  });
});
