import { mayOpen, needsMembership } from './app-access.js';

const alice = { userId: 'alice', admin: false };
const root = { userId: 'root', admin: true };

describe('who may open an app', () => {
  it('opens a public app of a public project to anyone, signed in or not', () => {
    expect(mayOpen({ access: 'public', visibility: 'public' }, null, null)).toBe(true);
    expect(needsMembership({ access: 'public', visibility: 'public' }, alice)).toBe(false);
  });

  it('follows the project otherwise: internal for anyone signed in, private for members', () => {
    expect(mayOpen({ access: 'public', visibility: 'internal' }, null, null)).toBe(false);
    expect(mayOpen({ access: 'public', visibility: 'internal' }, alice, null)).toBe(true);
    expect(mayOpen({ access: 'public', visibility: 'private' }, alice, null)).toBe(false);
    expect(mayOpen({ access: 'public', visibility: 'private' }, alice, 'guest')).toBe(true);
    expect(needsMembership({ access: 'public', visibility: 'private' }, alice)).toBe(true);
  });

  it('keeps a members-only app to signed-in members, whatever the project', () => {
    expect(mayOpen({ access: 'members', visibility: 'public' }, null, null)).toBe(false);
    expect(mayOpen({ access: 'members', visibility: 'public' }, alice, null)).toBe(false);
    expect(mayOpen({ access: 'members', visibility: 'public' }, alice, 'reporter')).toBe(true);
    expect(needsMembership({ access: 'members', visibility: 'public' }, null)).toBe(false);
  });

  it('opens every app to admins', () => {
    expect(mayOpen({ access: 'members', visibility: 'private' }, root, null)).toBe(true);
    expect(needsMembership({ access: 'members', visibility: 'private' }, root)).toBe(false);
  });
});
