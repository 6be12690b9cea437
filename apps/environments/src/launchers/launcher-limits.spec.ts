import { launcherLimitProblem } from './launcher-limits.js';

describe("a project's launchers", () => {
  it('may be added up to the limit, and the next is refused naming the project, the limit and what to do', () => {
    expect(launcherLimitProblem('lab/analysis', 3, 2)).toBeNull();
    expect(launcherLimitProblem('lab/analysis', 3, 3)).toBe(
      'project "lab/analysis" already has 3 launchers, the most a project may have here (3, LAUNCHERS_PER_PROJECT): delete one it no longer needs, or edit one instead',
    );
  });
});
