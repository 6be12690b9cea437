import { type ErrorDetail, type Repository, type RepositoryUrlPolicy, repositoryUrlProblem } from '@launchpad/contracts';

/** The installation's repository URL policy (REPOSITORY_HOSTS, ALLOW_FILE_REPOSITORIES), the one the runtimes clone under. */
export const REPOSITORY_POLICY = Symbol('REPOSITORY_POLICY');

/**
 * Why each repository of a project would not be cloned, by the very rule the runtimes apply
 * before they clone (repositoryUrlProblem): refused when the project is written, rather than
 * found out by every session that starts from it. Empty when all of them will do.
 */
export function repositoryProblems(repositories: readonly Pick<Repository, 'url'>[], policy: RepositoryUrlPolicy): ErrorDetail[] {
  return repositories.flatMap((r, i) => {
    const problem = repositoryUrlProblem(r.url, policy);
    return problem ? [{ path: `repositories.${i}.url`, message: `${r.url}: ${problem}` }] : [];
  });
}
