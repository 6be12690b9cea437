import { randomBytes } from 'node:crypto';
import { parseSecretKeys, SecretBox, SecretBoxErrorCode } from './secret-box.js';

const key = (id: string) => ({ id, key: randomBytes(32) });

describe('SecretBox', () => {
  it('opens what it sealed, and the sealed form does not contain the value', () => {
    const box = new SecretBox([key('k1')]);
    const sealed = box.seal('hunter2-very-secret', 'launcher:1:TOKEN');
    expect(sealed).not.toContain('hunter2');
    expect(sealed.startsWith('lp1.k1.')).toBe(true);
    expect(box.open(sealed, 'launcher:1:TOKEN')).toBe('hunter2-very-secret');
  });

  it('refuses a sealed value moved to another context', () => {
    const box = new SecretBox([key('k1')]);
    const sealed = box.seal('v', 'launcher:1:A');
    expect(() => box.open(sealed, 'launcher:2:A')).toThrow(expect.objectContaining({ code: SecretBoxErrorCode.CORRUPT }));
  });

  it('rotates: a new key opens nothing old, until old values are rewrapped; the old key can then go', () => {
    const k1 = key('k1');
    const k2 = key('k2');
    const old = new SecretBox([k1]).seal('value', 'ctx');
    const rotating = new SecretBox([k2, k1]);
    expect(rotating.needsRewrap(old)).toBe(true);
    const rewrapped = rotating.rewrap(old, 'ctx');
    expect(rotating.needsRewrap(rewrapped)).toBe(false);
    // The ciphertext of the value is the same: only the data key was re-wrapped.
    expect(rewrapped.split('.')[3]).toBe(old.split('.')[3]);
    expect(new SecretBox([k2]).open(rewrapped, 'ctx')).toBe('value');
    expect(() => new SecretBox([k2]).open(old, 'ctx')).toThrow(expect.objectContaining({ code: SecretBoxErrorCode.UNKNOWN_KEY }));
  });

  it('without keys says that secrets are not configured', () => {
    expect(() => new SecretBox([]).seal('v', 'c')).toThrow(expect.objectContaining({ code: SecretBoxErrorCode.NOT_CONFIGURED }));
  });

  it('parses SECRETS_ENCRYPTION_KEYS and names what is wrong', () => {
    const a = randomBytes(32).toString('base64');
    expect(parseSecretKeys(`k2:${a}, k1:${a}`)).toEqual({ keys: [expect.objectContaining({ id: 'k2' }), expect.objectContaining({ id: 'k1' })] });
    expect(parseSecretKeys(undefined)).toEqual({ keys: [] });
    expect(parseSecretKeys('k1:c2hvcnQ=')).toEqual({ problem: expect.stringContaining('32 bytes') });
    expect(parseSecretKeys(`nocolon`)).toEqual({ problem: expect.stringContaining('<id>:<base64 key>') });
    expect(parseSecretKeys(`k1:${a},k1:${a}`)).toEqual({ problem: expect.stringContaining('twice') });
  });
});
