/** `{ perProject }`: how many launchers one project may hold (LAUNCHERS_PER_PROJECT). */
export const LAUNCHER_LIMITS = Symbol('LAUNCHER_LIMITS');
export interface LauncherLimits {
  perProject: number;
}

/**
 * The refusal a person reads when a project already holds as many launchers as the installation
 * allows (each is an environment a colleague may start, and a row every service keeps a copy of);
 * null while there is room.
 */
export function launcherLimitProblem(projectPath: string, limit: number, count: number): string | null {
  if (count < limit) return null;
  return `project "${projectPath}" already has ${count} launcher${count === 1 ? '' : 's'}, the most a project may have here (${limit}, LAUNCHERS_PER_PROJECT): delete one it no longer needs, or edit one instead`;
}
