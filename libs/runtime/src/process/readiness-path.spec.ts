import { readinessPath } from './readiness-path.js';

describe('readinessPath', () => {
  it.each([
    ['/sessions/s1/', '/lab', '/sessions/s1/lab'],
    ['/sessions/s1/', 'lab', '/sessions/s1/lab'],
    ['/sessions/s1', '/lab', '/sessions/s1/lab'],
    ['/sessions/s1', 'lab', '/sessions/s1/lab'],
    ['/sessions/s1/', '', '/sessions/s1/'],
    ['/sessions/s1/', '/', '/sessions/s1/'],
    ['/', '/', '/'],
    ['/', '', '/'],
    ['', '', '/'],
    ['', '/health', '/health'],
    ['/apps/a/', '/?tab=1', '/apps/a/?tab=1'],
    ['/apps/a//', '//lab', '/apps/a/lab'],
  ])('%s + %s = %s', (base, defaultUrl, expected) => {
    expect(readinessPath(base, defaultUrl)).toBe(expected);
  });
});
