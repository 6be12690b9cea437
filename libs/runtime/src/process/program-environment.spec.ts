import { programEnvironment } from './program-environment.js';

describe('programEnvironment', () => {
  const input = {
    hostEnv: { PATH: '/usr/bin:/bin', LANG: 'en_GB.UTF-8', SECRET: 'do not leak', HOME: '/root' },
    home: '/data/s1/home',
    specEnv: { JUPYTER_TOKEN: 'abc' },
    port: 41234,
    baseUrl: '/sessions/s1/',
    workDir: '/data/s1/work',
  };

  it('passes PATH, LANG, HOME and the spec environment, and nothing else of ours', () => {
    expect(programEnvironment(input)).toEqual({
      PATH: '/usr/bin:/bin',
      LANG: 'en_GB.UTF-8',
      HOME: '/data/s1/home',
      JUPYTER_TOKEN: 'abc',
      LAUNCHPAD_HOST: '127.0.0.1',
      LAUNCHPAD_PORT: '41234',
      PORT: '41234',
      LAUNCHPAD_BASE_URL: '/sessions/s1/',
      LAUNCHPAD_WORK_DIR: '/data/s1/work',
    });
  });

  it('lets the spec override PATH and HOME but not the port or the work directory', () => {
    const env = programEnvironment({ ...input, specEnv: { PATH: '/opt/bin', HOME: '/elsewhere', PORT: '1', LAUNCHPAD_WORK_DIR: '/work' } });
    expect(env.PATH).toBe('/opt/bin');
    expect(env.HOME).toBe('/elsewhere');
    expect(env.PORT).toBe('41234');
    expect(env.LAUNCHPAD_WORK_DIR).toBe('/data/s1/work');
  });

  it('has a PATH and a LANG even when our own environment has none', () => {
    const env = programEnvironment({ ...input, hostEnv: {} });
    expect(env.PATH).toContain('/usr/bin');
    expect(env.LANG).toBe('C.UTF-8');
  });
});
