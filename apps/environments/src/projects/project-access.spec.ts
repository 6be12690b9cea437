import { canEditLaunchers, canReadProject, hasRoleAtLeast } from './project-access.js';

const alice = { userId: 'alice', admin: false };
const admin = { userId: 'root', admin: true };
const project = (visibility: 'private' | 'internal' | 'public') => ({ id: '1', path: 'g/p', visibility });

describe('project access', () => {
  it('hides a private project from non-members but not from members or admins', () => {
    expect(canReadProject(project('private'), null, alice)).toBe(false);
    expect(canReadProject(project('private'), 'guest', alice)).toBe(true);
    expect(canReadProject(project('private'), null, admin)).toBe(true);
  });

  it('lets every signed-in user read internal and public projects', () => {
    expect(canReadProject(project('internal'), null, alice)).toBe(true);
    expect(canReadProject(project('public'), null, alice)).toBe(true);
  });

  it('orders roles as GitLab does', () => {
    expect(hasRoleAtLeast('maintainer', 'developer')).toBe(true);
    expect(hasRoleAtLeast('reporter', 'developer')).toBe(false);
    expect(hasRoleAtLeast(null, 'guest')).toBe(false);
  });

  it('lets developers and above, and admins, edit launchers', () => {
    expect(canEditLaunchers('guest', alice)).toBe(false);
    expect(canEditLaunchers('reporter', alice)).toBe(false);
    expect(canEditLaunchers('developer', alice)).toBe(true);
    expect(canEditLaunchers('owner', alice)).toBe(true);
    expect(canEditLaunchers(null, admin)).toBe(true);
  });
});
