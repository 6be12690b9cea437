import { commandNotFoundMessage, exitCodeOf, exitMessage, readinessTimeoutMessage, redactUrl } from './failure-messages.js';

describe('failure messages', () => {
  it('says how a program exited, before or after it was ready, followed by its last output', () => {
    expect(exitMessage({ code: 3, signal: null }, true, ['boom', 'bye'])).toBe('exited with code 3 before it was ready; last output:\nboom\nbye');
    expect(exitMessage({ code: 0, signal: null }, false, [])).toBe('exited with code 0');
    expect(exitMessage({ code: null, signal: 'SIGKILL' }, false, [])).toBe('was killed by SIGKILL');
    expect(exitMessage({ code: null, signal: null }, true, [])).toBe('exited (exit code unknown) before it was ready');
  });

  it('reports a death by signal as 128 + its number, as a shell does', () => {
    expect(exitCodeOf({ code: null, signal: 'SIGKILL' })).toBe(137);
    expect(exitCodeOf({ code: 2, signal: null })).toBe(2);
    expect(exitCodeOf({ code: null, signal: null })).toBeNull();
  });

  it('names the port, the path and the time waited when a program never answers', () => {
    expect(readinessTimeoutMessage(41234, '/sessions/s1/lab', 120_000, ['starting'])).toBe(
      'did not answer on port 41234 at /sessions/s1/lab within 120 s; last output:\nstarting',
    );
    expect(readinessTimeoutMessage(1, '/', 1500, [])).toBe('did not answer on port 1 at / within 1.5 s');
  });

  it('tells the person what to do about a missing command', () => {
    expect(commandNotFoundMessage('jupyter')).toBe(
      "command not found: jupyter (the process runtime runs the environment's command on this machine: install it, or change the environment's command)",
    );
  });

  it('keeps credentials out of repository URLs', () => {
    expect(redactUrl('https://user:token@github.com/org/repo.git')).toBe('https://***@github.com/org/repo.git');
    expect(redactUrl('git@github.com:org/repo.git')).toBe('git@github.com:org/repo.git');
    expect(redactUrl('/tmp/repo')).toBe('/tmp/repo');
  });
});
