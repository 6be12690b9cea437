import { canOperate, hasRoleAtLeast } from './project-access.js';

describe('project access', () => {
  it('compares GitLab roles in their order', () => {
    expect(hasRoleAtLeast('developer', 'developer')).toBe(true);
    expect(hasRoleAtLeast('owner', 'developer')).toBe(true);
    expect(hasRoleAtLeast('reporter', 'developer')).toBe(false);
    expect(hasRoleAtLeast(null, 'guest')).toBe(false);
    expect(hasRoleAtLeast('superuser', 'guest')).toBe(false);
  });

  it('lets developers and above, and admins, operate a project', () => {
    expect(canOperate('maintainer', { userId: 'm', admin: false })).toBe(true);
    expect(canOperate('guest', { userId: 'g', admin: false })).toBe(false);
    expect(canOperate(null, { userId: 'root', admin: true })).toBe(true);
  });
});
