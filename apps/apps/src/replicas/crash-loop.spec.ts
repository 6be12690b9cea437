import { afterCrash, type CrashPolicy } from './crash-loop.js';

const policy: CrashPolicy = { limit: 5, windowMs: 60_000, backoffMs: 1000, maxBackoffMs: 5000 };
const NOW = 1_000_000;

describe('a replica that keeps crashing', () => {
  it('is started again after a pause that doubles with each quick crash, up to a cap', () => {
    expect(afterCrash(0, 2000, NOW, policy)).toEqual({ kind: 'restart', crashes: 1, notBefore: NOW + 1000 });
    expect(afterCrash(1, 2000, NOW, policy)).toEqual({ kind: 'restart', crashes: 2, notBefore: NOW + 2000 });
    expect(afterCrash(2, 2000, NOW, policy)).toEqual({ kind: 'restart', crashes: 3, notBefore: NOW + 4000 });
    expect(afterCrash(3, 2000, NOW, { ...policy, limit: 10 })).toEqual({ kind: 'restart', crashes: 4, notBefore: NOW + 5000 });
  });

  it('fails the app after the limit of quick crashes in a row', () => {
    expect(afterCrash(4, 59_999, NOW, policy)).toEqual({ kind: 'fail', crashes: 5 });
  });

  it('starts counting again after a crash that came after a long run', () => {
    expect(afterCrash(4, 60_000, NOW, policy)).toEqual({ kind: 'restart', crashes: 1, notBefore: NOW + 1000 });
  });
});
