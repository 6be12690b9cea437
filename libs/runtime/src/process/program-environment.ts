export interface ProgramEnvironmentInput {
  /** The environment of our own process; only PATH and LANG are taken from it. */
  hostEnv: Readonly<Record<string, string | undefined>>;
  home: string;
  specEnv: Readonly<Record<string, string>>;
  port: number;
  baseUrl: string;
  workDir: string;
  /** The workload's own uid, when it has one: named in USER and LOGNAME (it has no passwd entry). */
  user?: { uid: number } | null;
}

const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/**
 * The program's whole environment, kept minimal so nothing of ours (credentials, service
 * configuration) leaks into a user's program: PATH, LANG and HOME, then the environment's own
 * variables, then what the runtime decides and the environment may not override.
 */
export function programEnvironment(input: ProgramEnvironmentInput): Record<string, string> {
  return {
    PATH: input.hostEnv.PATH ?? DEFAULT_PATH,
    LANG: input.hostEnv.LANG ?? 'C.UTF-8',
    HOME: input.home,
    ...(input.user ? { USER: `launchpad-${input.user.uid}`, LOGNAME: `launchpad-${input.user.uid}` } : {}),
    ...input.specEnv,
    // Loopback only: on one machine nothing but the gateway's proxy (which authenticates) may reach it.
    LAUNCHPAD_HOST: '127.0.0.1',
    LAUNCHPAD_PORT: String(input.port),
    PORT: String(input.port),
    LAUNCHPAD_BASE_URL: input.baseUrl,
    LAUNCHPAD_WORK_DIR: input.workDir,
  };
}
