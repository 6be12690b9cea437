import { supersedes } from './apply-rule.js';

const T1 = '2026-11-25T12:00:00.000Z';
const T2 = '2026-11-25T13:00:00.000Z';

describe('the read model’s apply rule', () => {
  it('takes the first copy of a row it hears of, whatever its version', () => {
    expect(supersedes(null, { version: 7 })).toBe(true);
    expect(supersedes(null, { version: 0 })).toBe(true);
  });

  it('takes a newer version and ignores an older one, so the order of delivery does not matter', () => {
    expect(supersedes({ version: 3 }, { version: 4 })).toBe(true);
    expect(supersedes({ version: 4 }, { version: 3 })).toBe(false);
  });

  it('changes nothing on the same version seen again (a duplicate delivery, or a launch’s fresh copy of what it holds)', () => {
    expect(supersedes({ version: 4 }, { version: 4 })).toBe(false);
  });

  it('lets a removal’s tombstone win over the membership it ends, and a later re-add win over the tombstone', () => {
    const added = { version: 10 };
    const removed = { version: 12 };
    const addedAgain = { version: 15 };
    expect(supersedes(added, removed)).toBe(true);
    expect(supersedes(removed, added)).toBe(false);
    expect(supersedes(removed, addedAgain)).toBe(true);
    // The removal delivered late, after the member was added again: no effect.
    expect(supersedes(addedAgain, removed)).toBe(false);
  });

  it('applies an event from before versions only over a copy as old, by the source’s updatedAt', () => {
    expect(supersedes({ version: 0, updatedAt: T1 }, { version: 0, updatedAt: T2 })).toBe(true);
    expect(supersedes({ version: 0, updatedAt: T2 }, { version: 0, updatedAt: T1 })).toBe(false);
    // Members and member-removed v1 have no time to compare: the last one applied wins, as before versions.
    expect(supersedes({ version: 0 }, { version: 0 })).toBe(true);
  });

  it('ignores an event from before versions once a versioned copy is held', () => {
    expect(supersedes({ version: 5, updatedAt: T1 }, { version: 0, updatedAt: T2 })).toBe(false);
    expect(supersedes({ version: 0, updatedAt: T2 }, { version: 5, updatedAt: T1 })).toBe(true);
  });

  it('keeps a deleted launcher deleted, whatever comes after', () => {
    expect(supersedes({ version: 3, final: true }, { version: 9 })).toBe(false);
    expect(supersedes({ version: 0, final: true }, { version: 0, updatedAt: T2 })).toBe(false);
  });
});
