import { DOC_SYSTEM_HOOKS } from '../../../../tools/testing/gitlab.js';
import { readSystemHook, roleForAccessLevel } from './system-hooks.js';

describe("reading GitLab's documented system hooks", () => {
  it('maps access levels, as words or numbers, to our roles', () => {
    expect(['Guest', 'Planner', 'Reporter', 'Developer', 'Maintainer', 'Owner'].map(roleForAccessLevel)).toEqual([
      'guest',
      'guest',
      'reporter',
      'developer',
      'maintainer',
      'owner',
    ]);
    expect([10, 15, 20, 30, 40, 50].map(roleForAccessLevel)).toEqual(['guest', 'guest', 'reporter', 'developer', 'maintainer', 'owner']);
    expect(roleForAccessLevel('Minimal Access')).toBeNull();
    expect(roleForAccessLevel(5)).toBeNull();
    expect(roleForAccessLevel('Admiral')).toBeUndefined();
  });

  it('refuses a project path that would take its repository URL off the configured GitLab', () => {
    for (const path of ['../../evil.example/x', '@evil.example/x', 'lab/../x']) {
      expect(() => readSystemHook({ ...DOC_SYSTEM_HOOKS.project_create, path_with_namespace: path }, 'username')).toThrow(/must be a GitLab project path/);
    }
    expect(() => readSystemHook({ ...DOC_SYSTEM_HOOKS.project_rename, old_path_with_namespace: '../x' }, 'username')).toThrow(/must be a GitLab project path/);
  });

  it('reads project_create, project_rename and project_destroy', () => {
    expect(readSystemHook(DOC_SYSTEM_HOOKS.project_create, 'username')).toEqual({
      kind: 'projection',
      change: {
        kind: 'project',
        event: 'created',
        projectId: '74',
        path: 'jsmith/storecloud',
        name: 'StoreCloud',
        visibility: 'private',
        previousPath: null,
        place: { at: new Date('2012-07-21T07:38:22Z'), rank: 0 },
      },
    });
    expect(readSystemHook(DOC_SYSTEM_HOOKS.project_rename, 'username')).toMatchObject({
      change: { kind: 'project', event: 'renamed', projectId: '73', path: 'jsmith/underscore', previousPath: 'jsmith/overscore', visibility: 'internal', place: { rank: 1 } },
    });
    expect(readSystemHook(DOC_SYSTEM_HOOKS.project_destroy, 'username')).toMatchObject({ change: { kind: 'project-destroyed', projectId: '73', place: { rank: 2 } } });
  });

  it('reads team member events, naming members by username (or GitLab id)', () => {
    expect(readSystemHook(DOC_SYSTEM_HOOKS.user_add_to_team, 'username')).toMatchObject({
      change: { kind: 'member', event: 'added', projectId: '74', userId: 'johnsmith', role: 'maintainer', project: { path: 'jsmith/storecloud', name: 'StoreCloud', visibility: 'private' } },
    });
    expect(readSystemHook(DOC_SYSTEM_HOOKS.user_update_for_team, 'id')).toMatchObject({ change: { kind: 'member', event: 'updated', userId: '41' } });
    expect(readSystemHook(DOC_SYSTEM_HOOKS.user_remove_from_team, 'username')).toMatchObject({ change: { kind: 'member-removed', userId: 'johnsmith', place: { rank: 2 } } });
  });

  it('a member lowered to minimal access leaves the project; an unknown level changes nothing', () => {
    expect(readSystemHook({ ...DOC_SYSTEM_HOOKS.user_update_for_team, access_level: 'Minimal Access' }, 'username')).toMatchObject({ change: { kind: 'member-removed' } });
    expect(readSystemHook({ ...DOC_SYSTEM_HOOKS.user_update_for_team, access_level: 'Admiral' }, 'username')).toMatchObject({ kind: 'ignored' });
  });

  it('reads user_rename (members named by username move to the new name) and user_destroy', () => {
    expect(readSystemHook(DOC_SYSTEM_HOOKS.user_rename, 'username')).toEqual({
      kind: 'projection',
      change: { kind: 'user-renamed', from: 'old-boring-name', to: 'new-exciting-name', place: { at: new Date('2017-11-01T14:04:47Z'), rank: 1 } },
    });
    expect(readSystemHook(DOC_SYSTEM_HOOKS.user_rename, 'id')).toMatchObject({ kind: 'ignored', reason: expect.stringMatching(/GitLab id/) });
    expect(readSystemHook(DOC_SYSTEM_HOOKS.user_destroy, 'username')).toMatchObject({ change: { kind: 'user-destroyed', userId: 'js', place: { rank: 2 } } });
    expect(readSystemHook(DOC_SYSTEM_HOOKS.user_destroy, 'id')).toMatchObject({ change: { kind: 'user-destroyed', userId: '41' } });
  });

  it('ignores system hooks about anything else', () => {
    expect(readSystemHook({ event_name: 'user_create', user_id: 41 }, 'username')).toMatchObject({ kind: 'ignored' });
  });
});
