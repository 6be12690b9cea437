import { VERIFIED_FOR_MS, VerifiedTokens } from './verified-tokens.js';

describe('VerifiedTokens', () => {
  const alice = { userId: 'alice', admin: false };
  let now: number;
  const make = () => new VerifiedTokens(() => now);
  beforeEach(() => (now = 1_000_000));

  it('answers for the very token verified, and for no other', () => {
    const tokens = make();
    tokens.set('a.b.c', alice, now + 3_600_000);
    expect(tokens.get('a.b.c')).toEqual(alice);
    expect(tokens.get('a.b.d')).toBeUndefined();
  });

  it('forgets a token when it expires', () => {
    const tokens = make();
    tokens.set('a.b.c', alice, now + 5_000);
    now += 5_000;
    expect(tokens.get('a.b.c')).toBeUndefined();
    expect(tokens.size).toBe(0);
  });

  it('verifies again after VERIFIED_FOR_MS however long the token is valid', () => {
    const tokens = make();
    tokens.set('a.b.c', alice, now + 3_600_000);
    now += VERIFIED_FOR_MS - 1;
    expect(tokens.get('a.b.c')).toEqual(alice);
    now += 1;
    expect(tokens.get('a.b.c')).toBeUndefined();
  });

  it('keeps nothing for a token already expired', () => {
    const tokens = make();
    tokens.set('a.b.c', alice, now);
    expect(tokens.size).toBe(0);
  });

  it('holds at most 10,000 tokens, dropping the oldest first', () => {
    const tokens = make();
    for (let i = 0; i <= 10_000; i++) tokens.set(`t${i}`, alice, undefined);
    expect(tokens.size).toBe(10_000);
    expect(tokens.get('t0')).toBeUndefined();
    expect(tokens.get('t10000')).toEqual(alice);
  });
});
