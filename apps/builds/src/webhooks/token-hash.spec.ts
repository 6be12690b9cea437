import { sameSecret, SecretDigests } from './token-hash.js';

const pepper = Buffer.from('a-server-side-pepper-of-at-least-32-characters');

describe('webhook secrets', () => {
  it('stores a keyed HMAC-SHA256 digest (cheap to check, so wrong tokens cost nothing), never the secret, and verifies against it', () => {
    const digests = new SecretDigests(pepper);
    const stored = digests.digest('s3cret-token-for-gitlab');
    expect(stored).toMatch(/^hmac-sha256\$[\w-]{8}\$[\w-]{43}$/);
    expect(stored).not.toContain('s3cret');
    expect(digests.matches('s3cret-token-for-gitlab', stored)).toBe(true);
    expect(digests.matches('s3cret-token-for-gitlaB', stored)).toBe(false);
    expect(digests.matches('', stored)).toBe(false);
  });

  it('says no, doing the same work, when no digest is stored or it is not ours', () => {
    const digests = new SecretDigests(pepper);
    expect(digests.matches('anything-at-all-here', null)).toBe(false);
    expect(digests.matches('', null)).toBe(false);
    expect(digests.matches('anything', 'scrypt$16384$8$1$c2FsdA$aGFzaA')).toBe(false);
    expect(digests.matches('anything', 'plain-text')).toBe(false);
  });

  it('a digest made under another pepper does not verify, and is recognised as such', () => {
    const before = new SecretDigests(pepper);
    const after = new SecretDigests(Buffer.from('another-server-side-pepper-of-32-characters'));
    const stored = before.digest('s3cret-token-for-gitlab');
    expect(after.matches('s3cret-token-for-gitlab', stored)).toBe(false);
    expect(after.madeWithAnotherKey(stored)).toBe(true);
    expect(before.madeWithAnotherKey(stored)).toBe(false);
    expect(before.madeWithAnotherKey('scrypt$16384$8$1$c2FsdA$aGFzaA')).toBe(true);
  });

  it('compares strings of different lengths without throwing', () => {
    expect(sameSecret('a', 'a')).toBe(true);
    expect(sameSecret('a', 'ab')).toBe(false);
  });
});
